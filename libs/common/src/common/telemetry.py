"""OpenTelemetry tracing: the tracer provider from settings, and W3C ``traceparent``
propagation through the outbox and the broker.

How one trace crosses services:

1. Whatever changes state runs inside a span (an HTTP request, or the consumer span of an
   event). ``UnitOfWork.publish`` stamps the event with that span's ``traceparent``
   (the CloudEvents distributed-tracing extension); the outbox row stores the whole
   envelope, so the context survives until the relay runs, in another task or replica.
2. The relay publishes each row in a PRODUCER span whose parent is the context stored
   in the row (not the relay's own), and writes that span's ``traceparent`` into the
   AMQP message headers.
3. The consumer continues from the message headers (falling back to the envelope's
   ``traceparent``) in a CONSUMER span; the events its handler publishes carry it on.
4. Background work acting for a claim (the gateway's batcher sending its file, the
   acknowledgment poller applying its 277CA) runs in a span :func:`continuing` the
   traceparent stored with the claim, so one trace spans scheduling event -> charge ->
   claim -> file -> acknowledgment.

Spans carry ids only (event id and type, tenant, routing key), never PHI.

``OTEL_TRACES_EXPORTER`` = ``none`` (default; spans are still made, so ids reach the
logs) | ``console`` | ``otlp`` (``OTEL_EXPORTER_OTLP_ENDPOINT``, HTTP/protobuf).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from structlog.typing import EventDict, WrappedLogger

TRACER_NAME = "rcm"
TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
EXPORTERS = ("none", "console", "otlp")

_propagator = TraceContextTextMapPropagator()
_configured: TracerProvider | None = None


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def build_tracer_provider(
    service: str,
    exporter: str = "none",
    otlp_endpoint: str | None = None,
    *,
    processors: tuple[SpanProcessor, ...] = (),
) -> TracerProvider:
    """A provider naming ``service``, exporting as ``exporter`` says; ``processors`` are
    added too (a test's in-memory exporter)."""
    if exporter not in EXPORTERS:
        raise ValueError(f"OTEL_TRACES_EXPORTER must be one of {', '.join(EXPORTERS)}")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    span_exporter: SpanExporter | None = None
    if exporter == "console":
        span_exporter = ConsoleSpanExporter(service_name=service)
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = otlp_endpoint.rstrip("/") + "/v1/traces" if otlp_endpoint else None
        span_exporter = OTLPSpanExporter(endpoint=endpoint)
    if span_exporter is not None:
        provider.add_span_processor(
            SimpleSpanProcessor(span_exporter)
            if exporter == "console"
            else BatchSpanProcessor(span_exporter)
        )
    for processor in processors:
        provider.add_span_processor(processor)
    return provider


def configure_tracing(
    service: str, exporter: str = "none", otlp_endpoint: str | None = None
) -> TracerProvider:
    """Install the process's tracer provider (once: OpenTelemetry allows one global
    provider; later calls keep the first)."""
    global _configured
    if _configured is None:
        current = trace.get_tracer_provider()
        if isinstance(current, TracerProvider):  # installed by the embedding process
            _configured = current
        else:
            _configured = build_tracer_provider(service, exporter, otlp_endpoint)
            trace.set_tracer_provider(_configured)
        propagate.set_global_textmap(_propagator)
    return _configured


def shutdown_tracing() -> None:
    if _configured is not None:
        _configured.force_flush()


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, or None outside any (valid) span."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get(TRACEPARENT)


def context_from_traceparent(traceparent: str | None) -> otel_context.Context | None:
    """A context whose parent is ``traceparent``; None when it is missing or invalid."""
    if not traceparent:
        return None
    return context_from_headers({TRACEPARENT: traceparent})


def context_from_headers(headers: Mapping[str, Any] | None) -> otel_context.Context | None:
    """The remote parent carried in message or request headers, if any."""
    if not headers:
        return None
    carrier = {
        key.lower(): value.decode() if isinstance(value, bytes) else str(value)
        for key, value in headers.items()
        if key.lower() in (TRACEPARENT, TRACESTATE) and value is not None
    }
    if TRACEPARENT not in carrier:
        return None
    extracted = _propagator.extract(carrier)
    span_context = trace.get_current_span(extracted).get_span_context()
    return extracted if span_context.is_valid else None


@contextmanager
def continuing(traceparent: str | None, name: str, **attributes: str | int) -> Iterator[trace.Span]:
    """A span continuing the trace ``traceparent`` names (a new trace when it is missing):
    for background work (batches, acknowledgment polls) that acts for something whose
    trace started elsewhere, so the events it publishes carry that trace on."""
    with tracer().start_as_current_span(
        name, context=context_from_traceparent(traceparent), attributes=attributes
    ) as span:
        yield span


def inject_headers(headers: MutableMapping[str, Any]) -> None:
    """Write the current span's ``traceparent`` (and ``tracestate``) into ``headers``."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    headers.update(carrier)


def trace_ids() -> dict[str, str]:
    """``trace_id`` and ``span_id`` (hex) of the current span; empty outside any."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return {}
    return {
        "trace_id": format(span_context.trace_id, "032x"),
        "span_id": format(span_context.span_id, "016x"),
    }


def add_trace_ids(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: every line written inside a span names its trace."""
    for key, value in trace_ids().items():
        event_dict.setdefault(key, value)
    return event_dict
