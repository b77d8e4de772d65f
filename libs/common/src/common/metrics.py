"""Prometheus metrics every service exposes on ``/metrics``.

Labels are bounded and carry no PHI: service, event type (only types the service
handles), stable error codes, HTTP route templates (never the raw path with its ids)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_CONSUMED = Counter(
    "rcm_messages_consumed_total",
    "Events taken off the service queue, by type and outcome "
    "(applied, duplicate, ignored: not the service's, retried, dead_lettered)",
    ["service", "event_type", "outcome"],
)
MESSAGES_FAILED = Counter(
    "rcm_messages_failed_total",
    "Deliveries whose handling failed transiently and will be retried, by type and error code",
    ["service", "event_type", "code"],
)
MESSAGES_DEAD_LETTERED = Counter(
    "rcm_messages_dead_lettered_total",
    "Events sent to the dead-letter queue, by type and error code",
    ["service", "event_type", "code"],
)
HANDLER_SECONDS = Histogram(
    "rcm_handler_seconds", "Time spent applying one event", ["service", "event_type"]
)
OUTBOX_PUBLISHED = Counter(
    "rcm_outbox_published_total", "Outbox rows published with a broker confirm", ["service"]
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "rcm_outbox_publish_failures_total", "Outbox publish attempts that failed", ["service"]
)
OUTBOX_PENDING = Gauge("rcm_outbox_pending", "Outbox rows waiting to be published", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "rcm_outbox_oldest_pending_age_seconds",
    "Age of the oldest outbox row not yet published (0 when none waits): the relay's lag",
    ["service"],
)
HTTP_REQUESTS = Counter(
    "rcm_http_requests_total",
    "HTTP requests answered, by route template and status code",
    ["service", "method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "rcm_http_request_seconds",
    "Time to answer an HTTP request, by route template",
    ["service", "method", "route"],
)
HTTP_PROBLEMS = Counter(
    "rcm_http_problems_total", "HTTP problem responses by stable code", ["service", "code"]
)
