"""Observability of a real ServiceRuntime over the run's database and broker: one trace
across a hop through the outbox and the broker, its ids on the log lines, and the
Prometheus metrics the hop leaves on ``/metrics`` (SPEC 11)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.propagate import inject
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY
from pydantic import BaseModel

import common.runtime
from common.logging import configure_logging, get_logger
from common.messaging import EventHandlers, HandlerContext
from common.outbox import OUTBOX
from common.runtime import ServiceRuntime
from common.settings import ServiceSettings
from common.telemetry import configure_tracing
from contracts.envelope import CloudEvent
from contracts.topology import Topology

CLOSING = "lib-telemetry-attendance"
CHARGING = "lib-telemetry-charges"
_TAG = uuid.uuid4().hex[:8]
SESSION_ENDED = f"libtest.tel{_TAG}.session_ended.v1"
SESSION_CLOSED = f"libtest.tel{_TAG}.session_closed.v1"

log = get_logger("test")


class SessionEnded(BaseModel):
    session_id: str


class SessionClosed(BaseModel):
    session_id: str


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = configure_tracing("lib-telemetry")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        yield exporter
    finally:
        exporter.shutdown()  # the processor stays on the process's provider, now inert


@pytest.fixture
def runtime_for(
    service_settings: Callable[..., ServiceSettings],
    messaging_schema: Any,
    taps: Any,
    rcm_topology: Topology,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., ServiceRuntime]:
    monkeypatch.setattr(common.runtime, "_contract_phi_keys", frozenset)
    for service in (CLOSING, CHARGING):
        taps.own(rcm_topology.service_queue(service), rcm_topology.dead_letter_queue(service))

    def build(service: str, handlers: EventHandlers, publishes: tuple[str, ...]) -> ServiceRuntime:
        settings = service_settings(service_name=service, db_schema=messaging_schema.name)
        return ServiceRuntime(settings, handlers=handlers, publishes=publishes)

    return build


@pytest.fixture
async def started() -> AsyncIterator[Callable[[ServiceRuntime], Any]]:
    running: list[ServiceRuntime] = []

    async def start(runtime: ServiceRuntime) -> httpx.AsyncClient:
        app = runtime.create_app()
        await runtime.start()
        running.append(runtime)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")

    try:
        yield start
    finally:
        for runtime in running:
            await runtime.stop()


def closing_handlers() -> EventHandlers:
    handlers = EventHandlers()

    @handlers.on(SESSION_ENDED, SessionEnded)
    async def close_session(ctx: HandlerContext) -> None:
        assert isinstance(ctx.data, SessionEnded)
        log.info("closing_session", session_id=ctx.data.session_id)
        ctx.uow.publish(
            type=SESSION_CLOSED, tenant_id=ctx.tenant_id, data={"session_id": ctx.data.session_id}
        )

    return handlers


def charging_handlers(charged: list[str]) -> EventHandlers:
    handlers = EventHandlers()

    @handlers.on(SESSION_CLOSED, SessionClosed)
    async def charge_session(ctx: HandlerContext) -> None:
        assert isinstance(ctx.data, SessionClosed)
        charged.append(ctx.data.session_id)

    return handlers


def finished(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name == name]


def trace_id_of(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.trace_id, "032x")


async def test_one_trace_spans_an_event_its_follow_up_and_the_next_consumer(
    runtime_for: Callable[..., ServiceRuntime],
    started: Any,
    db: Any,
    taps: Any,
    spans: InMemorySpanExporter,
    wait_until: Any,
) -> None:
    spans.clear()
    charged: list[str] = []
    tap = await taps.bound_to_events(SESSION_CLOSED)
    await started(runtime_for(CLOSING, closing_handlers(), (SESSION_CLOSED,)))
    await started(runtime_for(CHARGING, charging_handlers(charged), ()))

    # The scheduling system writes its trace into the envelope (CloudEvents extension).
    with trace.get_tracer("scheduling").start_as_current_span("session ended") as root:
        carrier: dict[str, str] = {}
        inject(carrier)
    ended = CloudEvent.new(
        type=SESSION_ENDED,
        source="scheduling/test",
        tenantid="tenant-a",
        data={"session_id": "gs-1"},
    ).model_copy(update={"traceparent": carrier["traceparent"]})
    await taps.publish(ended.to_json(), SESSION_ENDED, message_id=ended.id)

    assert await wait_until(lambda: _true(charged == ["gs-1"]), within=15.0)
    [message] = await taps.take(tap, 1, within=10.0)

    expected = format(root.get_span_context().trace_id, "032x")
    [closing] = finished(spans, f"{SESSION_ENDED} process")
    [publishing] = finished(spans, f"{SESSION_CLOSED} publish")
    assert await wait_until(lambda: _true(len(finished(spans, f"{SESSION_CLOSED} process")) == 1))
    [charging] = finished(spans, f"{SESSION_CLOSED} process")
    assert {trace_id_of(s) for s in (closing, publishing, charging)} == {expected}
    # The relay published under the context stored with the row, not its own ...
    assert publishing.kind is SpanKind.PRODUCER
    assert publishing.parent is not None and closing.context is not None
    assert publishing.parent.span_id == closing.context.span_id
    # ... and the next consumer went on from the message headers.
    assert charging.kind is SpanKind.CONSUMER
    assert charging.parent is not None and publishing.context is not None
    assert charging.parent.span_id == publishing.context.span_id
    assert str(message.headers["traceparent"]).split("-")[1] == expected
    follow_up = CloudEvent.model_validate_json(message.body)
    assert follow_up.traceparent is not None and follow_up.traceparent.split("-")[1] == expected
    # Ids only on the spans: the event's data never is an attribute.
    attributes = dict(charging.attributes or {})
    assert attributes["cloudevents.event_type"] == SESSION_CLOSED
    assert attributes["cloudevents.event_id"] == follow_up.id
    assert attributes["rcm.tenant_id"] == "tenant-a"
    assert "gs-1" not in json.dumps({k: str(v) for k, v in attributes.items()})


async def test_every_log_line_of_a_handled_event_names_its_correlation_and_trace(
    runtime_for: Callable[..., ServiceRuntime],
    started: Any,
    db: Any,
    taps: Any,
    spans: InMemorySpanExporter,
    wait_until: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(CLOSING, "INFO", json=True)
    await started(runtime_for(CLOSING, closing_handlers(), (SESSION_CLOSED,)))
    ended = CloudEvent.new(
        type=SESSION_ENDED,
        source="scheduling/test",
        tenantid="tenant-a",
        data={"session_id": "gs-2"},
    )
    capsys.readouterr()
    await taps.publish(ended.to_json(), SESSION_ENDED, message_id=ended.id)
    assert await wait_until(lambda: _true(finished_for(spans, ended.id) is not None), within=15.0)

    span = finished_for(spans, ended.id)
    assert span is not None
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    handled = [line for line in lines if line.get("event_id") == ended.id]
    assert {line["event"] for line in handled} >= {"closing_session", "event_applied"}
    for line in handled:
        assert line["correlation_id"] == ended.id
        assert line["trace_id"] == trace_id_of(span)


def finished_for(exporter: InMemorySpanExporter, event_id: str) -> ReadableSpan | None:
    for span in exporter.get_finished_spans():
        if (span.attributes or {}).get("cloudevents.event_id") == event_id and (
            span.kind is SpanKind.CONSUMER
        ):
            return span
    return None


async def test_metrics_count_consumed_dead_lettered_published_and_http_requests(
    runtime_for: Callable[..., ServiceRuntime],
    started: Any,
    db: Any,
    taps: Any,
    wait_until: Any,
) -> None:
    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    applied_before = sample(
        "rcm_messages_consumed_total", service=CLOSING, event_type=SESSION_ENDED, outcome="applied"
    )
    invalid_before = sample(
        "rcm_messages_dead_lettered_total",
        service=CLOSING,
        event_type=SESSION_ENDED,
        code="SCHEMA_INVALID",
    )
    client = await started(runtime_for(CLOSING, closing_handlers(), (SESSION_CLOSED,)))
    good = CloudEvent.new(
        type=SESSION_ENDED,
        source="scheduling/test",
        tenantid="tenant-a",
        data={"session_id": "gs-3"},
    )
    bad = CloudEvent.new(
        type=SESSION_ENDED, source="scheduling/test", tenantid="tenant-a", data={"session": 3}
    )
    await taps.publish(good.to_json(), SESSION_ENDED, message_id=good.id)
    await taps.publish(bad.to_json(), SESSION_ENDED, message_id=bad.id)

    async def published() -> bool:
        return await db.count(OUTBOX, OUTBOX.c.published_at.is_not(None)) >= 1

    assert await wait_until(published, within=15.0)
    async with client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/no-such-route")).status_code == 404
        assert await wait_until(
            lambda: _true(
                sample(
                    "rcm_messages_dead_lettered_total",
                    service=CLOSING,
                    event_type=SESSION_ENDED,
                    code="SCHEMA_INVALID",
                )
                == invalid_before + 1
            )
        )
        text = (await client.get("/metrics")).text

    assert (
        sample(
            "rcm_messages_consumed_total",
            service=CLOSING,
            event_type=SESSION_ENDED,
            outcome="applied",
        )
        == applied_before + 1
    )
    assert (
        f'rcm_messages_dead_lettered_total{{code="SCHEMA_INVALID",event_type="{SESSION_ENDED}",'
        f'service="{CLOSING}"}}' in text
    )
    assert f'rcm_handler_seconds_count{{event_type="{SESSION_ENDED}",service="{CLOSING}"}}' in text
    assert f'rcm_outbox_published_total{{service="{CLOSING}"}}' in text
    assert f'rcm_outbox_oldest_pending_age_seconds{{service="{CLOSING}"}}' in text
    assert (
        f'rcm_http_requests_total{{method="GET",route="/healthz",service="{CLOSING}",'
        'status="200"}' in text
    )
    # A path that matches no route is one label, not one per path.
    assert (
        f'rcm_http_requests_total{{method="GET",route="unmatched",service="{CLOSING}",'
        'status="404"}' in text
    )
    assert "no-such-route" not in text


async def _true(value: bool) -> bool:
    return value
