"""The gateway's own Prometheus metrics (next to the shared ones of ``common.metrics``),
on the same ``/metrics``. Labels are kinds and codes, never claim or file names."""

from __future__ import annotations

from prometheus_client import Counter

FILES_SENT = Counter(
    "rcm_edi_files_sent_total",
    "Interchange files delivered to a clearinghouse, by transaction type",
    ["transaction_type"],
)
DELIVERY_FAILURES = Counter(
    "rcm_edi_delivery_failures_total",
    "Failed delivery attempts of an interchange file (retried later), by error code",
    ["code"],
)
ACKNOWLEDGMENTS = Counter(
    "rcm_edi_acknowledgments_total",
    "Inbound acknowledgment files applied, by kind (TA1, 999, 277CA, UNKNOWN) and result "
    "(APPLIED, PARTLY_MATCHED, UNMATCHED, UNREADABLE)",
    ["kind", "result"],
)
ACKNOWLEDGMENT_ITEMS = Counter(
    "rcm_edi_acknowledgment_items_total",
    "Items of applied acknowledgments, by item kind and what they mean for the claim "
    "(ACCEPTED, REJECTED, INFORMATIONAL)",
    ["item_kind", "outcome"],
)
CONTROL_NUMBERS = Counter(
    "rcm_edi_control_numbers_allocated_total",
    "Control numbers taken from the durable sequences, by kind (ISA, GS, ST); a "
    "rolled-back transaction gives its numbers back but they stay counted here",
    ["kind"],
)
