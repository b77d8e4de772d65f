"""Every HTTP request in a SERVER span (continuing a caller's ``traceparent``) and counted
by route template and status. The template (``/claims/{claim_id}``), never the raw path:
paths carry ids, and a label per id would be an unbounded series."""

from __future__ import annotations

import time
from typing import Any

from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.metrics import HTTP_REQUESTS, HTTP_SECONDS
from common.telemetry import context_from_headers, tracer

# Probes and scrapes: counted, but no span each (they would drown the traces).
UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class RequestTelemetry:
    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = str(scope.get("method", "GET"))
        status = 500
        started = time.perf_counter()

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            if scope.get("path") in UNTRACED_PATHS:
                await self.app(scope, receive, send_recording_status)
            else:
                await self._traced(scope, receive, send_recording_status, method)
        finally:
            route = route_template(scope)
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            HTTP_SECONDS.labels(self.service, method, route).observe(time.perf_counter() - started)

    async def _traced(self, scope: Scope, receive: Receive, send: Send, method: str) -> None:
        headers: dict[str, Any] = {
            key.decode("latin-1"): value.decode("latin-1")
            for key, value in scope.get("headers", [])
        }
        status: int | None = None

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with tracer().start_as_current_span(
            f"{method} request",
            context=context_from_headers(headers),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "rcm.service": self.service},
        ) as span:
            try:
                await self.app(scope, receive, send_and_note)
            finally:
                route = route_template(scope)
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
                if status is not None:
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
