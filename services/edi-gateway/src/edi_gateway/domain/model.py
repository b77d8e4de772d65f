"""Control numbers and interchanges (SPEC 7). Pure rules, no I/O.

Every interchange (ISA13), functional group (GS06) and transaction set (ST02) the gateway
writes takes its number from a durable sequence per tenant, sender and kind. Numbers are
handed out in order and never twice; only a transaction that rolls back gives its numbers
back (nothing carrying them was ever committed, so nothing carrying them was ever sent).

ISA13 is exactly 9 digits and may not be 0, so the interchange sequence runs
1 .. 999 999 999 and then wraps to 1. GS06 and ST02 may be 1 to 9 digits; they use the same
range and the same wrap, so one rule serves the three kinds. Rendering pads ISA13 to 9
digits (and ST02 to at least 4); the stored number is a plain integer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from common.errors import DomainError

CONTROL_NUMBER_MAX: Final = 999_999_999
"""The largest control number; the next one after it is 1."""


class ControlNumberKind(StrEnum):
    INTERCHANGE = "ISA"  # ISA13 / IEA02
    GROUP = "GS"  # GS06 / GE02
    TRANSACTION_SET = "ST"  # ST02 / SE02


class UsageIndicator(StrEnum):
    """ISA15: test or production data."""

    TEST = "T"
    PRODUCTION = "P"


class TransactionType(StrEnum):
    """The 837 implementation a functional group carries (GS08)."""

    PROFESSIONAL = "837P"  # 005010X222A1
    INSTITUTIONAL = "837I"  # 005010X223A2


class InterchangeStatus(StrEnum):
    """Where an interchange is. Acknowledgments add states."""

    ALLOCATED = "ALLOCATED"  # numbers taken, nothing rendered
    PENDING = "PENDING"  # rendered, validated and archived; not yet delivered
    SENT = "SENT"  # delivered to the clearinghouse
    DISCARDED = "DISCARDED"  # refused by the validator; its numbers stay spent


class ClaimSubmissionStatus(StrEnum):
    """Where a submitted claim version is in the gateway."""

    PENDING = "PENDING"  # waiting for its batch window
    BATCHED = "BATCHED"  # in an interchange that is not delivered yet
    TRANSMITTED = "TRANSMITTED"  # its interchange was delivered
    REJECTED = "REJECTED"  # refused before sending (validator, rendering, configuration)
    WITHDRAWN = "WITHDRAWN"  # asked back by the claims service before it was batched


def withdrawable(status: ClaimSubmissionStatus) -> bool:
    """Whether a withdrawal request can still keep the version from leaving: only while it
    waits for its batch, or when an earlier request withdrew it already. Once batched it
    is in a rendered file whose control numbers are spent, and a rejected one was answered
    as rejected: the claims service corrects either as a claim that went."""
    return status in (ClaimSubmissionStatus.PENDING, ClaimSubmissionStatus.WITHDRAWN)


class ControlNumberRuleViolation(DomainError):
    """A request for control numbers that could not be honoured without reusing one."""


def advance(last: int, count: int) -> int:
    """The sequence's last number after ``count`` more are taken after ``last`` (0 when
    none was ever taken). Wraps from :data:`CONTROL_NUMBER_MAX` to 1."""
    check_count(count)
    return (last + count - 1) % CONTROL_NUMBER_MAX + 1


def numbers_ending_at(last: int, count: int) -> list[int]:
    """The ``count`` numbers a single allocation took, given the sequence's ``last`` number
    after it: ``numbers_ending_at(2, 3) == [999999999, 1, 2]``."""
    check_count(count)
    if not 1 <= last <= CONTROL_NUMBER_MAX:
        raise ValueError("a control number is 1 .. 999999999")
    first = (last - count) % CONTROL_NUMBER_MAX + 1
    return [(first - 1 + i) % CONTROL_NUMBER_MAX + 1 for i in range(count)]


def check_count(count: int) -> None:
    # More than the whole range in one call would hand out a number twice.
    if not 1 <= count < CONTROL_NUMBER_MAX:
        raise ControlNumberRuleViolation(
            "CONTROL_NUMBER_COUNT_INVALID",
            f"a control number allocation takes 1 .. {CONTROL_NUMBER_MAX - 1} numbers",
            count=count,
        )


@dataclass(frozen=True)
class Interchange:
    """One ISA/IEA envelope as allocated: its numbers and where it goes. One interchange
    carries one functional group (one clearinghouse, transaction type and usage indicator)."""

    tenant_id: str
    interchange_id: str
    clearinghouse_id: str
    sender_id: str
    transaction_type: TransactionType
    usage_indicator: UsageIndicator
    isa13: int
    gs06: int
    status: InterchangeStatus
    created_at: datetime
    receiver_id: str | None = None
    claim_count: int = 0
    transaction_set_control_numbers: tuple[int, ...] = ()
    file_id: str | None = None
    file_name: str | None = None
    file_sha256: str | None = None
    sent_at: datetime | None = None
    validation_issues: tuple[str, ...] = ()
    delivery_attempts: int = 0
    last_delivery_error: str | None = None
    last_delivery_attempt_at: datetime | None = None


@dataclass(frozen=True)
class ClaimSubmission:
    """One submitted claim version as the gateway holds it."""

    row_id: int
    tenant_id: str
    claim_id: str
    claim_version: int
    patient_control_number: str
    clearinghouse_id: str
    transaction_type: TransactionType
    usage_indicator: UsageIndicator | None  # None: refused on or withdrawn before arrival
    status: ClaimSubmissionStatus
    received_at: datetime
    interchange_id: str | None = None
    rejection_codes: tuple[str, ...] = ()
    rejection_message: str | None = None


@dataclass(frozen=True)
class Transmission:
    """A claim's place in an interchange: what acknowledgments map back by."""

    tenant_id: str
    interchange_id: str
    clearinghouse_id: str
    claim_id: str
    claim_version: int
    patient_control_number: str
    isa13: int
    gs06: int
    st02: int
    line_control_numbers: tuple[str, ...]
    created_at: datetime | None = None


@dataclass(frozen=True)
class ArchivedFile:
    """A file that left (or, later, arrived), kept byte for byte with its hash."""

    tenant_id: str
    file_id: str
    direction: str
    clearinghouse_id: str
    interchange_id: str | None
    file_name: str
    sha256: str
    size_bytes: int
    created_at: datetime
    content: bytes | None = None
