"""Prometheus metrics every service exposes on ``/metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_CONSUMED = Counter(
    "rcm_messages_consumed_total",
    "Events taken off the service queue, by type and outcome",
    ["service", "event_type", "outcome"],
)
MESSAGES_DEAD_LETTERED = Counter(
    "rcm_messages_dead_lettered_total",
    "Events sent to the dead-letter queue, by error code",
    ["service", "code"],
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
HTTP_PROBLEMS = Counter(
    "rcm_http_problems_total", "HTTP problem responses by stable code", ["service", "code"]
)
