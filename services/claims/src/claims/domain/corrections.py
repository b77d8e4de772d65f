"""After submission (SPEC 6 "Lifecycle", SPEC 7, issue #5): what an acknowledgment does to
a claim, and which claims an operator may void (reverse, frequency 8) or replace
(frequency 7), with which reference to the original (REF*F8). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import TypeVar

from claims.domain.claims import (
    ClaimLine,
    ClaimRuleViolation,
    ClaimStatus,
    ProfessionalClaimContent,
    ScrubIssue,
    line_control_number,
)
from claims.domain.institutional import InstitutionalLine

VOID = "8"
REPLACEMENT = "7"
MAX_REASON = 1000


class AcknowledgmentOutcome(StrEnum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


class AcknowledgmentEffect(StrEnum):
    """What an acknowledgment did to its claim (kept with it in the history)."""

    APPLIED = "APPLIED"  # moved the claim (SUBMITTED -> ACCEPTED / REJECTED)
    UNCHANGED = "UNCHANGED"  # the claim already stood there (a repeat, another party)
    REJECTION_STANDS = "REJECTION_STANDS"  # an acceptance after a rejection of that version
    OLDER_VERSION = "OLDER_VERSION"  # about a version the claim has moved past
    UNKNOWN_VERSION = "UNKNOWN_VERSION"  # about a version we never built
    CLAIM_STALE = "CLAIM_STALE"  # kept; the claim still waits for a reverse or replacement
    VOID_ACKNOWLEDGED = "VOID_ACKNOWLEDGED"  # about the void of a REVERSED claim
    NOT_SUBMITTED = "NOT_SUBMITTED"  # the claim is in no status an acknowledgment moves


@dataclass(frozen=True)
class Acknowledgment:
    """An accepted or rejected word about one claim version (no PHI: codes, numbers, and
    the payer's text about the claim)."""

    claim_id: str
    claim_version: int
    outcome: AcknowledgmentOutcome
    stage: str
    codes: tuple[str, ...]
    message: str | None
    acknowledged_at: datetime
    event_id: str
    party: str | None = None
    payer_claim_control_number: str | None = None
    clearinghouse_trace_number: str | None = None
    status_date: date | None = None
    acknowledgment_file_id: str | None = None
    lines: tuple[dict[str, object], ...] = ()


@dataclass(frozen=True)
class AcknowledgmentDecision:
    effect: AcknowledgmentEffect
    status: ClaimStatus | None = None  # the claim's new status when APPLIED


_MOVES: dict[tuple[ClaimStatus, AcknowledgmentOutcome], ClaimStatus | None] = {
    (ClaimStatus.SUBMITTED, AcknowledgmentOutcome.ACCEPTED): ClaimStatus.ACCEPTED,
    (ClaimStatus.SUBMITTED, AcknowledgmentOutcome.REJECTED): ClaimStatus.REJECTED,
    (ClaimStatus.ACCEPTED, AcknowledgmentOutcome.REJECTED): ClaimStatus.REJECTED,
    (ClaimStatus.ACCEPTED, AcknowledgmentOutcome.ACCEPTED): None,
    (ClaimStatus.REJECTED, AcknowledgmentOutcome.REJECTED): None,
}


def acknowledgment_decision(
    status: ClaimStatus, version: int, acknowledged_version: int, outcome: AcknowledgmentOutcome
) -> AcknowledgmentDecision:
    """Several acknowledgments of one claim (TA1, 999, the clearinghouse's and the payer's
    277CA) come in any order and may come twice: per version, a rejection wins over an
    acceptance, a repeat changes nothing, and one about an older version changes nothing
    (the claim moved past it by a void or a replacement)."""
    if acknowledged_version < version:
        return AcknowledgmentDecision(AcknowledgmentEffect.OLDER_VERSION)
    if acknowledged_version > version:
        return AcknowledgmentDecision(AcknowledgmentEffect.UNKNOWN_VERSION)
    if status is ClaimStatus.STALE:
        return AcknowledgmentDecision(AcknowledgmentEffect.CLAIM_STALE)
    if status is ClaimStatus.REVERSED:
        return AcknowledgmentDecision(AcknowledgmentEffect.VOID_ACKNOWLEDGED)
    if status is ClaimStatus.REJECTED and outcome is AcknowledgmentOutcome.ACCEPTED:
        return AcknowledgmentDecision(AcknowledgmentEffect.REJECTION_STANDS)
    if (status, outcome) not in _MOVES:
        return AcknowledgmentDecision(AcknowledgmentEffect.NOT_SUBMITTED)
    moved = _MOVES[(status, outcome)]
    if moved is None:
        return AcknowledgmentDecision(AcknowledgmentEffect.UNCHANGED)
    return AcknowledgmentDecision(AcknowledgmentEffect.APPLIED, moved)


@dataclass(frozen=True)
class PayerReference:
    """A payer claim control number (277CA REF*1K) some acknowledgment gave a version."""

    claim_version: int
    party: str | None
    payer_claim_control_number: str


def original_reference(
    patient_control_number: str, version: int, references: Sequence[PayerReference]
) -> str:
    """REF*F8 of a void or replacement of ``version``: the payer's claim control number of
    the newest version up to it that got one (a payer's word over a clearinghouse's);
    without one, our patient control number (CLM01), which is what the payer filed the
    original under until it tells us its own number."""
    known = [r for r in references if r.claim_version <= version]
    if not known:
        return patient_control_number
    best = max(known, key=lambda r: (r.claim_version, r.party == "PAYER"))
    return best.payer_claim_control_number


# --------------------------------------------------------------------------- overrides


class OverrideAction(StrEnum):
    REVERSE = "REVERSE"
    REPLACE = "REPLACE"
    REBUILD = "REBUILD"


def checked_reason(claim_id: str, reason: str | None) -> str:
    """An override says why (SPEC 10): a reason is required and kept in the audit log."""
    text = (reason or "").strip()
    if not text:
        raise ClaimRuleViolation(
            "REASON_REQUIRED", "say why: a reason is required for this override", claim_id=claim_id
        )
    if len(text) > MAX_REASON:
        raise ClaimRuleViolation(
            "REASON_TOO_LONG", f"the reason is at most {MAX_REASON} characters", claim_id=claim_id
        )
    return text


def check_correctable(
    claim_id: str,
    action: OverrideAction,
    status: ClaimStatus,
    *,
    reversal_needed: bool,
    stale_from: ClaimStatus | None,
) -> None:
    """A void or a replacement is for a claim that left our hands and may sit on the
    payer's books: SUBMITTED, ACCEPTED, or STALE waiting for a reversal. A REJECTED claim
    never got there: it is rebuilt instead."""
    code = "CLAIM_NOT_REVERSIBLE" if action is OverrideAction.REVERSE else "CLAIM_NOT_REPLACEABLE"
    rejected = status is ClaimStatus.REJECTED or (
        status is ClaimStatus.STALE and stale_from is ClaimStatus.REJECTED
    )
    if rejected:
        raise ClaimRuleViolation(
            code,
            "a rejected claim never reached the payer's books: rebuild it instead "
            "(POST /v1/claims/{claim_id}/rebuild)",
            claim_id=claim_id,
            claim_status=status.value,
        )
    if status in (ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED):
        return
    if status is ClaimStatus.STALE and reversal_needed:
        return
    raise ClaimRuleViolation(
        code,
        "only a claim that left our hands (SUBMITTED, ACCEPTED, or STALE waiting for a "
        "reversal) can be voided or replaced",
        claim_id=claim_id,
        claim_status=status.value,
    )


def check_rebuildable_afresh(
    claim_id: str, status: ClaimStatus, superseded_by: str | None, stale_from: ClaimStatus | None
) -> None:
    """A fresh original (new claim id and number) is built for a REVERSED claim, or for a
    REJECTED one (also one marked STALE after its rejection), once."""
    if superseded_by is not None:
        raise ClaimRuleViolation(
            "CLAIM_ALREADY_REBUILT",
            "a fresh claim was built for this one already",
            claim_id=claim_id,
            rebuilt_as=superseded_by,
        )
    rejected = status is ClaimStatus.REJECTED or (
        status is ClaimStatus.STALE and stale_from is ClaimStatus.REJECTED
    )
    if status is not ClaimStatus.REVERSED and not rejected:
        raise ClaimRuleViolation(
            "CLAIM_SUBMITTED",
            "the claim left our hands: it is reversed and rebuilt, or replaced",
            claim_id=claim_id,
            claim_status=status.value,
        )


def rebuilt_afresh(status: ClaimStatus, stale_from: ClaimStatus | None) -> bool:
    """Whether an operator's rebuild of a claim in ``status`` makes a fresh original."""
    return status in (ClaimStatus.REVERSED, ClaimStatus.REJECTED) or (
        status is ClaimStatus.STALE and stale_from is ClaimStatus.REJECTED
    )


class ReplacementNotClean(ClaimRuleViolation):
    """The replacement scrubs with errors: nothing is changed, the issues say why."""

    def __init__(self, claim_id: str, issues: Sequence[ScrubIssue]) -> None:
        blocking = [i for i in issues if i.blocks]
        super().__init__(
            "REPLACEMENT_NOT_CLEAN",
            "the replacement scrubs with errors: " + ", ".join(sorted({i.code for i in blocking})),
            claim_id=claim_id,
            issues=[
                {
                    "code": i.code,
                    "severity": i.severity.value,
                    "message": i.message,
                    "line_number": i.line_number,
                    "charge_id": i.charge_id,
                }
                for i in issues
            ],
        )


def nothing_changed(claim_id: str, version: int) -> ClaimRuleViolation:
    return ClaimRuleViolation(
        "NOTHING_CHANGED",
        f"a replacement would bill exactly what version {version} billed",
        claim_id=claim_id,
        claim_version=version,
    )


# --------------------------------------------------------------------------- renumbering


L = TypeVar("L", ClaimLine, InstitutionalLine)


def renumbered(lines: Sequence[L], pcn: str, version: int) -> tuple[L, ...]:
    """The lines with the line control numbers of ``version`` (REF*6R is unique per
    tenant: a void repeats the original's lines under its own numbers)."""
    return tuple(
        replace(line, line_control_number=line_control_number(pcn, version, line.line_number))
        for line in lines
    )


def bills_alike(one: ProfessionalClaimContent, other: ProfessionalClaimContent) -> bool:
    """Two professional claim versions bill the same (line control numbers, which name the
    version, and charge versions, which a status echo bumps, aside)."""

    def plain(content: ProfessionalClaimContent) -> ProfessionalClaimContent:
        lines = tuple(
            replace(line, line_control_number="", charge_version=0) for line in content.lines
        )
        return replace(content, lines=lines)

    return plain(one) == plain(other)
