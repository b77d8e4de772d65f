"""The claims service's own Prometheus metrics (next to the shared ones of
``common.metrics``), on the same ``/metrics``. Labels are statuses, never claim ids."""

from __future__ import annotations

from prometheus_client import Counter

STATUS_TRANSITIONS = Counter(
    "rcm_claim_status_transitions_total",
    "Claim status changes committed, by the status entered (DRAFT, READY, SUBMITTED, "
    "ACCEPTED, REJECTED, STALE, REVERSED, REPLACED, CANCELLED); a rolled-back change (a "
    "dry run, a failed transaction) is not counted",
    ["status"],
)
