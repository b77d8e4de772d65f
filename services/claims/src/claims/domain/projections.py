"""What the claims service keeps of other systems' records (SPEC 6): everything a claim
prints about the people and places on it. Unlike charges, this includes PHI (names, birth
dates, addresses, subscriber ids, diagnoses): the 2010BA subscriber and 2010CA patient
loops, the 2300 HI segments and the provider loops are rendered from these records.
Logs carry their ids only.

Projections are replaced whole by each upsert (state transfer) and only by a newer one:
EHR records by the event's time (:class:`SourceStamp`), stays by the stays service's
``stay_version`` first (:class:`StayStamp`), so a late or replayed event never overwrites
what a newer one said."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from common.errors import DomainError

SELF = "18"
"""X12 individual relationship code: the patient is the subscriber."""


class ProjectionRuleViolation(DomainError):
    """A record that cannot describe the real thing; ``code`` is stable."""


class ProjectionOutcome(StrEnum):
    APPLIED = "APPLIED"
    STALE = "STALE"  # an equal or newer version was already kept; nothing changed


@dataclass(frozen=True, order=True)
class SourceStamp:
    """When the source system said it (the CloudEvent ``time``); equal times are ordered
    by event id, arbitrary but fixed, so every replica and replay keeps the same version."""

    time: datetime
    event_id: str

    def __post_init__(self) -> None:
        if self.time.tzinfo is None:
            raise ValueError("a source time carries its UTC offset")


@dataclass(frozen=True, order=True)
class StayStamp:
    """A stay's version as the stays service numbered it, then the event's stamp."""

    stay_version: int
    source: SourceStamp


@dataclass(frozen=True)
class PostalAddress:
    line1: str
    city: str
    state: str
    postal_code: str  # 5 or 9 digits, no hyphen (N403)
    line2: str | None = None


@dataclass(frozen=True)
class Person:
    """A patient or subscriber as the NM1, N3/N4 and DMG segments print them."""

    first_name: str
    last_name: str
    birth_date: date
    sex: str  # X12 DMG03: F, M, U
    middle_name: str | None = None
    address: PostalAddress | None = None


@dataclass(frozen=True)
class Coverage:
    """A coverage of the member with one payer, in force ``effective_from`` through
    ``effective_to`` (inclusive; ``None`` = open-ended)."""

    coverage_id: str
    payer_id: str
    subscriber_id: str
    relationship_to_subscriber: str  # X12 individual relationship code
    is_primary: bool
    effective_from: date
    effective_to: date | None = None
    group_number: str | None = None
    subscriber: Person | None = None  # set exactly when the patient is not the subscriber

    def __post_init__(self) -> None:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ProjectionRuleViolation(
                "COVERAGE_DATES_OUT_OF_ORDER",
                "a coverage's effective_to is before its effective_from",
                coverage_id=self.coverage_id,
            )
        if (self.relationship_to_subscriber == SELF) != (self.subscriber is None):
            raise ProjectionRuleViolation(
                "SUBSCRIBER_MISMATCH",
                "a coverage names its subscriber exactly when the patient is not the subscriber",
                coverage_id=self.coverage_id,
            )

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )

    @property
    def patient_is_subscriber(self) -> bool:
        """True: the claim has no 2000C patient loop and SBR02 is 18."""
        return self.relationship_to_subscriber == SELF


@dataclass(frozen=True)
class ProgramEnrollment:
    """A window during which the member is enrolled in a program (``enrolled_to``
    inclusive; None = open): seed 002's admit-date auto-resolution reads it."""

    program_id: str
    enrolled_from: date
    enrolled_to: date | None = None

    def brackets(self, day: date) -> bool:
        return self.enrolled_from <= day and (self.enrolled_to is None or day <= self.enrolled_to)


@dataclass(frozen=True)
class ClaimMember:
    """A member as a claim prints one."""

    member_id: str
    active: bool
    person: Person
    coverages: tuple[Coverage, ...] = ()
    diagnoses: tuple[str, ...] = ()  # ICD-10-CM as the 837 prints them, principal first
    enrollments: tuple[ProgramEnrollment, ...] = ()

    def __post_init__(self) -> None:
        ids = [c.coverage_id for c in self.coverages]
        if len(ids) != len(set(ids)):
            raise ProjectionRuleViolation(
                "DUPLICATE_COVERAGE",
                "a member lists one coverage id twice",
                member_id=self.member_id,
            )

    def coverage_for_claim(
        self, payer_id: str, day: date, coverage_id: str | None = None
    ) -> Coverage | None:
        """The coverage a claim to ``payer_id`` for a service on ``day`` bills: the one the
        charge named when it is in force, else the primary one in force with that payer,
        else any in force with that payer; None when the member has none."""
        in_force = [c for c in self.coverages if c.payer_id == payer_id and c.in_force_on(day)]
        named = [c for c in in_force if c.coverage_id == coverage_id]
        primary = [c for c in in_force if c.is_primary]
        for candidates in (named, primary, in_force):
            if candidates:
                return candidates[0]
        return None

    def subscriber_under(self, coverage: Coverage) -> Person:
        """Who the 2010BA subscriber loop names for ``coverage``: the member when the
        member is the subscriber, the policy holder otherwise."""
        return self.person if coverage.subscriber is None else coverage.subscriber


@dataclass(frozen=True)
class Provider:
    """A rendering, supervising or attending provider (NM1*82 / *71, PRV taxonomy)."""

    provider_id: str
    npi: str
    first_name: str
    last_name: str
    taxonomy_code: str
    active: bool
    middle_name: str | None = None
    credential: str | None = None


@dataclass(frozen=True)
class Facility:
    """A facility: billing or service-location identity (NPI, tax id, address) and the
    time zone that makes its business dates local."""

    facility_id: str
    name: str
    npi: str
    tax_id: str
    address: PostalAddress
    time_zone: str
    taxonomy_code: str
    active: bool


class StayStatus(StrEnum):
    ADMITTED = "ADMITTED"
    DISCHARGED = "DISCHARGED"
    ENTERED_IN_ERROR = "ENTERED_IN_ERROR"


@dataclass(frozen=True)
class Procedure:
    """An ICD-10-PCS procedure with its date (HI*BBR / HI*BBQ)."""

    code: str
    performed_on: date


@dataclass(frozen=True)
class Admission:
    """What CL1, DTP*435 and the diagnosis HI segments of every cycle claim carry.
    Diagnosis codes are kept as the 837 prints them: upper case, no decimal point."""

    admit_date: date
    admit_hour: int
    admission_type: str  # CL101
    admission_source: str  # CL102
    principal_diagnosis: str  # HI*ABK
    admitting_diagnosis: str | None = None  # HI*ABJ
    other_diagnoses: tuple[str, ...] = ()  # HI*ABF
    drg: str | None = None  # HI*DR
    procedures: tuple[Procedure, ...] = ()


@dataclass(frozen=True)
class Leave:
    """A leave of absence: away at midnight from ``start_date``, back (a covered day)
    on ``return_date``; ``None`` while still away."""

    leave_id: str
    start_date: date
    reason: str
    return_date: date | None = None


@dataclass(frozen=True)
class Discharge:
    discharge_date: date
    discharge_hour: int
    patient_status: str  # CL103 on the final claim


@dataclass(frozen=True)
class StayContext:
    """The stay as institutional claims read it: the newest state the stays service
    published (admission, leaves, discharge)."""

    stay_id: str
    stay_version: int
    member_id: str
    facility_id: str
    program_id: str
    status: StayStatus
    admission: Admission
    leaves: tuple[Leave, ...] = ()
    discharge: Discharge | None = None


class UnknownMember(DomainError):
    """No ``ehr.member.upserted`` event has told this tenant about the member (yet)."""

    def __init__(self, member_id: str) -> None:
        super().__init__("MEMBER_NOT_FOUND", "no member with this id", member_id=member_id)
