"""When a clearinghouse's claims go out, and what the file is called (SPEC 7)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from edi_gateway.domain.model import TransactionType, UsageIndicator


@dataclass(frozen=True)
class BatchKey:
    """Claims batch together per tenant, clearinghouse, transaction type and usage
    indicator: one interchange carries one of each."""

    tenant_id: str
    clearinghouse_id: str
    transaction_type: TransactionType
    usage_indicator: UsageIndicator


def is_batch_due(
    *, oldest_age_seconds: float, pending: int, window_seconds: int, max_claims: int
) -> bool:
    """The window closed (the oldest pending claim waited ``window_seconds``) or the batch
    is full (``max_claims``), whichever comes first."""
    return pending > 0 and (oldest_age_seconds >= window_seconds or pending >= max_claims)


_UNSAFE = re.compile(r"[^A-Za-z0-9-]+")


def interchange_file_name(
    tenant_id: str, clearinghouse_id: str, transaction_type: TransactionType, isa13: int
) -> str:
    """``<tenant>_<clearinghouse>_837P_<ISA13>.x12`` (or ``_837I_``): ids only, never PHI; the same
    interchange always gets the same name, so a resend after a crash overwrites nothing
    else and makes no second file."""
    parts = (tenant_id, clearinghouse_id, transaction_type.value)
    return "_".join(_UNSAFE.sub("-", part) for part in parts) + f"_{isa13:09d}.x12"
