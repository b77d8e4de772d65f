"""Professional claims (SPEC 6): what one claim holds, its lifecycle, and the coded issues
its scrub reports. Pure: the parties are plain values copied from the member, provider
and tenant records at build time, so a claim version prints the same forever."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from group_billing import Severity

from common.errors import DomainError

MAX_PROFESSIONAL_LINES = 50  # 837P loop 2400 repeats at most 50 times
MAX_DIAGNOSES = 12  # one HI segment: ABK plus 11 ABF
MAX_POINTERS = 4  # SV107: up to 4 diagnosis pointers
PATIENT_CONTROL_NUMBER_PREFIX = "P"
PATIENT_CONTROL_NUMBER_DIGITS = 9


class ClaimStatus(StrEnum):
    DRAFT = "DRAFT"
    READY = "READY"
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    STALE = "STALE"
    REVERSED = "REVERSED"
    REPLACED = "REPLACED"
    CANCELLED = "CANCELLED"  # emptied before it was submitted (its charges left)

    @property
    def open_for_change(self) -> bool:
        """Still ours to rebuild in place (a new version)."""
        return self in (ClaimStatus.DRAFT, ClaimStatus.READY)

    @property
    def left_our_hands(self) -> bool:
        """Sent to the clearinghouse: a change needs a reverse or a replacement (#5)."""
        return self in (ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED, ClaimStatus.REJECTED)


# The legal moves. A cycle claim not yet submitted goes STALE when a stay event lands on
# it, and is built again (DRAFT/READY) or cancelled; a claim that left our hands stays
# STALE until reversed (a void, frequency 8) or replaced (frequency 7). A replacement
# passes through REPLACED (the old version) and reads SUBMITTED again on the new one.
_LEFT = (ClaimStatus.REVERSED, ClaimStatus.REPLACED)
TRANSITIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    ClaimStatus.DRAFT: frozenset(
        {ClaimStatus.DRAFT, ClaimStatus.READY, ClaimStatus.CANCELLED, ClaimStatus.STALE}
    ),
    ClaimStatus.READY: frozenset(
        {
            ClaimStatus.DRAFT,
            ClaimStatus.READY,
            ClaimStatus.SUBMITTED,
            ClaimStatus.CANCELLED,
            ClaimStatus.STALE,
        }
    ),
    ClaimStatus.SUBMITTED: frozenset(
        {ClaimStatus.ACCEPTED, ClaimStatus.REJECTED, ClaimStatus.STALE, *_LEFT}
    ),
    ClaimStatus.ACCEPTED: frozenset({ClaimStatus.REJECTED, ClaimStatus.STALE, *_LEFT}),
    ClaimStatus.REJECTED: frozenset({ClaimStatus.STALE}),
    ClaimStatus.STALE: frozenset(
        {
            ClaimStatus.REVERSED,
            ClaimStatus.REPLACED,
            ClaimStatus.DRAFT,
            ClaimStatus.READY,
            ClaimStatus.CANCELLED,
        }
    ),
    ClaimStatus.REVERSED: frozenset(),
    ClaimStatus.REPLACED: frozenset({ClaimStatus.SUBMITTED}),
    ClaimStatus.CANCELLED: frozenset(),
}


class ClaimRuleViolation(DomainError):
    """A claim cannot do what was asked; ``code`` is stable."""


class UnknownClaim(DomainError):
    def __init__(self, claim_id: str) -> None:
        super().__init__("CLAIM_NOT_FOUND", "no claim with this id", claim_id=claim_id)


def check_transition(claim_id: str, current: ClaimStatus, new: ClaimStatus) -> None:
    if new not in TRANSITIONS[current]:
        raise ClaimRuleViolation(
            "ILLEGAL_CLAIM_TRANSITION",
            f"a {current} claim cannot become {new}",
            claim_id=claim_id,
            claim_status=current.value,
            legal_next=sorted(s.value for s in TRANSITIONS[current]),
        )


def check_submittable(claim_id: str, status: ClaimStatus) -> None:
    if status is not ClaimStatus.READY:
        raise ClaimRuleViolation(
            "CLAIM_NOT_READY",
            "only a READY claim can be submitted",
            claim_id=claim_id,
            claim_status=status.value,
        )


def patient_control_number(sequence: int) -> str:
    """CLM01 from the tenant's claim sequence: ``P`` + 9 digits, 10 characters (<= 20)."""
    if not 1 <= sequence < 10**PATIENT_CONTROL_NUMBER_DIGITS:
        raise ValueError("the patient control number sequence is exhausted")
    return f"{PATIENT_CONTROL_NUMBER_PREFIX}{sequence:0{PATIENT_CONTROL_NUMBER_DIGITS}d}"


def line_control_number(pcn: str, version: int, line_number: int) -> str:
    """REF*6R: unique per tenant (the claim's number, its version, the line), so a 277CA
    line status maps back to exactly one line of one version."""
    return f"{pcn}-{version}-{line_number}"


@dataclass(frozen=True, order=True)
class ClaimKey:
    """One claim per member, payer, billing provider and claim period (SPEC 6)."""

    member_id: str
    payer_id: str
    billing_provider_npi: str
    period_from: date
    period_to: date


def claim_period_for(day: date) -> tuple[date, date]:
    """The professional claim period holding ``day``: the date of service itself (weekly or
    monthly professional periods are not configurable yet)."""
    return day, day


# --------------------------------------------------------------------------- content


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    state: str
    postal_code: str
    line2: str | None = None


@dataclass(frozen=True)
class BillingProviderParty:
    name: str
    npi: str
    tax_id: str
    taxonomy_code: str
    address: Address
    contact_name: str | None = None
    contact_phone: str | None = None


@dataclass(frozen=True)
class PayerParty:
    payer_id: str
    name: str
    edi_payer_id: str
    payer_id_qualifier: str
    claim_filing_indicator: str


@dataclass(frozen=True)
class PersonParty:
    first_name: str
    last_name: str
    birth_date: date
    sex: str
    middle_name: str | None = None
    address: Address | None = None


@dataclass(frozen=True)
class SubscriberParty:
    person: PersonParty
    subscriber_id: str
    relationship_to_subscriber: str  # the patient's relationship to the subscriber
    member_id: str | None = None  # set when the subscriber is the patient
    group_number: str | None = None


@dataclass(frozen=True)
class PatientParty:
    person: PersonParty
    member_id: str


@dataclass(frozen=True)
class RenderingProviderParty:
    provider_id: str
    npi: str
    first_name: str
    last_name: str
    middle_name: str | None = None
    taxonomy_code: str | None = None


@dataclass(frozen=True)
class ClaimLine:
    line_number: int
    line_control_number: str
    charge_id: str
    charge_version: int
    procedure_code: str | None
    modifiers: tuple[str, ...]
    units: Decimal
    unit_basis: str
    amount: Decimal
    date_of_service: date
    place_of_service: str | None  # only when it differs from the claim's (SV105)
    diagnosis_pointers: tuple[int, ...]
    rendering_provider: RenderingProviderParty | None = None  # only when not the billing one
    session_id: str | None = None


@dataclass(frozen=True)
class ProfessionalClaimContent:
    """Everything the gateway renders for one claim version; None where a record is missing
    (the scrub then says so and the claim stays DRAFT)."""

    billing_provider: BillingProviderParty
    pay_to_address: Address | None
    payer: PayerParty | None
    clearinghouse_id: str | None
    subscriber: SubscriberParty | None
    patient: PatientParty | None
    diagnoses: tuple[str, ...]
    place_of_service: str | None
    lines: tuple[ClaimLine, ...]

    @property
    def total_charge(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def charge_ids(self) -> list[str]:
        return [line.charge_id for line in self.lines]

    @property
    def session_ids(self) -> list[str]:
        return sorted({line.session_id for line in self.lines if line.session_id})


def build_fingerprint(
    content: ProfessionalClaimContent, issues: tuple[ScrubIssue, ...] | list[ScrubIssue]
) -> str:
    """Equal for two builds that print the same claim and scrub the same (line control
    numbers, which name the version, aside): such a rebuild makes no new version."""
    lines = tuple(dataclasses.replace(line, line_control_number="") for line in content.lines)
    printed = repr((dataclasses.replace(content, lines=lines), tuple(issues)))
    return hashlib.sha256(printed.encode()).hexdigest()


# --------------------------------------------------------------------------- scrub issues


class IssueCode(StrEnum):
    MISSING_MEMBER = "MISSING_MEMBER"
    MISSING_SUBSCRIBER = "MISSING_SUBSCRIBER"
    MISSING_DIAGNOSIS = "MISSING_DIAGNOSIS"
    INVALID_DIAGNOSIS = "INVALID_DIAGNOSIS"
    INVALID_NPI = "INVALID_NPI"
    MISSING_RENDERING_PROVIDER = "MISSING_RENDERING_PROVIDER"
    UNKNOWN_PAYER = "UNKNOWN_PAYER"
    UNKNOWN_PROGRAM = "UNKNOWN_PROGRAM"
    MISSING_PLACE_OF_SERVICE = "MISSING_PLACE_OF_SERVICE"
    MISSING_PROCEDURE_CODE = "MISSING_PROCEDURE_CODE"
    FILING_TYPE_MISMATCH = "FILING_TYPE_MISMATCH"
    GROUP_CONTEXT_MISMATCH = "GROUP_CONTEXT_MISMATCH"
    GROUP_PRICING_NOT_FOUND = "GROUP_PRICING_NOT_FOUND"
    CLAIM_CONTENT_INVALID = "CLAIM_CONTENT_INVALID"
    # Institutional (837I) cycle claims (SPEC 6).
    STAY_DAY_MISMATCH = "STAY_DAY_MISMATCH"
    LOA_OUTSIDE_STAY = "LOA_OUTSIDE_STAY"
    LOA_WITHOUT_DATE = "LOA_WITHOUT_DATE"
    MISSING_ADMIT_DATE = "MISSING_ADMIT_DATE"
    INSTITUTIONAL_ADMIT_AUTO_RESOLVED = "INSTITUTIONAL_ADMIT_AUTO_RESOLVED"
    DRG_NOT_IN_MASTER = "DRG_NOT_IN_MASTER"
    MISSING_ADMISSION = "MISSING_ADMISSION"
    MISSING_TYPE_OF_BILL = "MISSING_TYPE_OF_BILL"
    PAYER_CHANGES_IN_CYCLE = "PAYER_CHANGES_IN_CYCLE"
    TOO_MANY_LEAVES = "TOO_MANY_LEAVES"
    MISSING_PAYER = "MISSING_PAYER"
    # The group rules' own codes (group_billing.IssueCode) are reported as they are.


@dataclass(frozen=True)
class ScrubIssue:
    """A coded finding of the scrub; an error blocks READY, a warning does not. Messages
    name positions and ids, never the PHI itself (they may reach an event)."""

    code: str
    severity: Severity
    message: str
    line_number: int | None = None
    charge_id: str | None = None

    @property
    def blocks(self) -> bool:
        return self.severity is Severity.ERROR


def error(code: str, message: str, line: ClaimLine | None = None) -> ScrubIssue:
    return ScrubIssue(
        code,
        Severity.ERROR,
        message,
        line.line_number if line else None,
        line.charge_id if line else None,
    )


def warning(code: str, message: str, line: ClaimLine | None = None) -> ScrubIssue:
    return ScrubIssue(
        code,
        Severity.WARNING,
        message,
        line.line_number if line else None,
        line.charge_id if line else None,
    )


def status_after_scrub(issues: tuple[ScrubIssue, ...] | list[ScrubIssue]) -> ClaimStatus:
    return ClaimStatus.DRAFT if any(i.blocks for i in issues) else ClaimStatus.READY


# --------------------------------------------------------------------------- the claim


@dataclass
class ProfessionalClaim:
    """The claim's header: who and what it bills, where it stands, its current version."""

    claim_id: str
    patient_control_number: str
    key: ClaimKey
    status: ClaimStatus
    version: int = 0  # 0 until first built


@dataclass(frozen=True)
class ClaimTransmission:
    """Where the gateway put a claim version: interchange (ISA13), group (GS06),
    transaction set (ST02) and file; acknowledgments map back through these."""

    claim_id: str
    claim_version: int
    patient_control_number: str
    clearinghouse_id: str
    interchange_control_number: str
    group_control_number: str
    transaction_set_control_number: str
    file_name: str
    file_sha256: str
    transmitted_at: datetime
