"""Tracing from settings, and the trace context an event takes with it (issue 8)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from common.db import UnitOfWork
from common.http.telemetry import RequestTelemetry
from common.runtime import FASTAPI_TELEMETRY_OFF
from common.settings import ServiceSettings
from common.telemetry import (
    build_tracer_provider,
    configure_tracing,
    context_from_traceparent,
    tracer,
)

REMOTE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    configure_tracing("lib-unit").add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


def test_the_exporter_and_endpoint_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    settings = ServiceSettings(service_name="claims")

    assert settings.otel_traces_exporter == "otlp"
    assert settings.otel_exporter_otlp_endpoint == "http://collector:4318"
    assert settings.otel_service_name == "claims"


def test_an_unknown_exporter_is_refused() -> None:
    with pytest.raises(ValueError, match="OTEL_TRACES_EXPORTER"):
        build_tracer_provider("claims", "zipkin")


@pytest.mark.parametrize("exporter", ["none", "console", "otlp"])
def test_each_exporter_builds_a_provider_naming_the_service(exporter: str) -> None:
    provider = build_tracer_provider("edi-gateway", exporter, "http://127.0.0.1:4318")
    assert provider.resource.attributes["service.name"] == "edi-gateway"
    provider.shutdown()


def test_an_event_written_in_a_span_carries_that_spans_traceparent(
    spans: InMemorySpanExporter,
) -> None:
    uow = UnitOfWork(sessionmaker=None, source="rcm/test")  # type: ignore[arg-type]
    with tracer().start_as_current_span("change", context=context_from_traceparent(REMOTE)):
        event = uow.publish(type="charges.charges.recorded.v1", tenant_id="tenant-a", data={})
    outside = uow.publish(type="charges.charges.recorded.v1", tenant_id="tenant-a", data={})

    assert event.traceparent is not None
    assert event.traceparent.split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
    assert outside.traceparent is None


async def test_an_http_request_continues_the_callers_trace_under_its_route_template(
    spans: InMemorySpanExporter,
) -> None:
    app = FastAPI(telemetry=FASTAPI_TELEMETRY_OFF)
    seen: dict[str, Any] = {}

    @app.get("/claims/{claim_id}")
    async def claim(claim_id: str) -> dict[str, str]:
        uow = UnitOfWork(sessionmaker=None, source="rcm/test")  # type: ignore[arg-type]
        seen["event"] = uow.publish(type="claims.claim.submitted.v1", tenant_id="t-1", data={})
        return {"claim_id": claim_id}

    app.add_middleware(RequestTelemetry, service="lib-unit")
    spans.clear()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://svc"
    ) as client:
        response = await client.get("/claims/cl-77", headers={"traceparent": REMOTE})

    assert response.status_code == 200
    [span] = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert span.name == "GET /claims/{claim_id}"
    assert span.context is not None
    assert format(span.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert (span.attributes or {})["http.route"] == "/claims/{claim_id}"
    assert "cl-77" not in str(dict(span.attributes or {}))
    assert seen["event"].traceparent.split("-")[2] == format(span.context.span_id, "016x")
