"""Events produced by the charges service.

``charges.charges.recorded.v1`` carries the whole state of one or more charges after a
change (built, fixed, voided, put on a claim...), one message per build (a session's
charges, a stay cycle's day charges), so that month-end volume is a few messages, not one
per day. Each charge carries ``charge_version``, which increases with every change:
consumers keep the newest version they have seen, so redelivery and reordering change
nothing. ``charges.group_session.charged.v1`` tells attendance a closed session's charges
exist (the session is then LOCKED). ``charges.stay.charged.v1`` tells that a stay's day
charges are in line with a stay version, even when that version changed none of them."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, Self

from pydantic import Field, model_validator

from contracts.codes import (
    CalendarDate,
    Identifier,
    Modifier,
    Money,
    PlaceOfService,
    ProcedureCode,
    RevenueCode,
    UsState,
)
from contracts.events.base import ContractModel, EventData
from contracts.events.event_types import (
    CHARGES_RECORDED_V1,
    GROUP_SESSION_CHARGED_V1,
    STAY_CHARGED_V1,
)
from contracts.problems import Problem, raise_problems


class ChargeKind(StrEnum):
    GROUP = "GROUP"  # one participant of a group session (837P)
    PER_DIEM = "PER_DIEM"  # one day of a stay (837I)


class ChargeStatus(StrEnum):
    READY = "READY"
    NEEDS_FIX = "NEEDS_FIX"
    ON_CLAIM = "ON_CLAIM"
    BILLED = "BILLED"
    VOID = "VOID"


class FilingType(StrEnum):
    PROFESSIONAL = "PROFESSIONAL"
    INSTITUTIONAL = "INSTITUTIONAL"


class ChargeIssue(ContractModel):
    """Why a charge needs a fix (e.g. NO_ACTIVE_COVERAGE, MISSING_RATE)."""

    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]{2,63}$")
    message: str = Field(min_length=1, max_length=300)


class ChargeSourceKind(StrEnum):
    GROUP_SESSION = "GROUP_SESSION"
    STAY = "STAY"
    MANUAL = "MANUAL"


class ChargeSource(ContractModel):
    kind: ChargeSourceKind
    id: Identifier = Field(description="The session id or the stay id.")
    sequence: int | None = Field(
        default=None, ge=1, description="The session's close_sequence or the stay's version."
    )


class GroupChargeContext(ContractModel):
    """What the claim scrubber needs to re-run the group rules on a group charge."""

    session_id: Identifier
    close_sequence: int = Field(ge=1)
    facility_state: UsState | None = None
    billable_count: int = Field(ge=0)
    band_name: str | None = Field(default=None, max_length=40)
    supervisors_present: list[Identifier] = Field(default_factory=list)
    acknowledged_warnings: list[str] = Field(default_factory=list)


class UnitBasis(StrEnum):
    UNITS = "UN"
    DAYS = "DA"


class Charge(ContractModel):
    charge_id: Identifier
    charge_version: int = Field(ge=1)
    kind: ChargeKind
    filing_type: FilingType
    status: ChargeStatus
    issues: list[ChargeIssue] = Field(default_factory=list)
    member_id: Identifier
    program_id: Identifier
    facility_id: Identifier
    payer_id: Identifier | None = Field(
        default=None, description="From the member's primary coverage on the date of service."
    )
    coverage_id: Identifier | None = None
    date_of_service: CalendarDate
    procedure_code: ProcedureCode | None = Field(default=None, description="Professional.")
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4)
    revenue_code: RevenueCode | None = Field(default=None, description="Institutional.")
    units: Decimal = Field(gt=0, max_digits=9, decimal_places=3)
    unit_basis: UnitBasis = UnitBasis.UNITS
    rate: Money
    amount: Money
    covered: bool = Field(default=True, description="False for LOA (non-covered) days.")
    rendering_provider_id: Identifier | None = None
    place_of_service: PlaceOfService | None = None
    source: ChargeSource
    group: GroupChargeContext | None = None
    claim_id: Identifier | None = Field(default=None, description="Set while ON_CLAIM/BILLED.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[Problem] = []
        if self.kind is ChargeKind.GROUP:
            if self.procedure_code is None:
                problems.append((("procedure_code",), "a group charge has a procedure code"))
            if self.group is None:
                problems.append((("group",), "a group charge carries its session context"))
        if self.kind is ChargeKind.PER_DIEM and self.revenue_code is None:
            problems.append((("revenue_code",), "a day charge has a revenue code"))
        if self.status is ChargeStatus.NEEDS_FIX and not self.issues:
            problems.append((("issues",), "a NEEDS_FIX charge names its issues"))
        if self.status is ChargeStatus.READY and self.payer_id is None:
            problems.append((("payer_id",), "a READY charge has a payer"))
        raise_problems(type(self).__name__, problems)
        return self


class ChargeChange(StrEnum):
    BUILT = "BUILT"
    FIXED = "FIXED"
    VOIDED = "VOIDED"
    RECHECKED = "RECHECKED"
    CLAIMED = "CLAIMED"  # put on / taken off a claim


class ChargesRecorded(EventData):
    """The state of each charge after one change, for many charges at once."""

    event_type: ClassVar[str] = CHARGES_RECORDED_V1

    change: ChargeChange
    reason: str | None = Field(default=None, max_length=300)
    charges: list[Charge] = Field(min_length=1, max_length=5000)


class GroupSessionCharged(EventData):
    """A closed session's charges were built (or rebuilt): attendance locks the session."""

    event_type: ClassVar[str] = GROUP_SESSION_CHARGED_V1

    session_id: Identifier
    close_sequence: int = Field(ge=1)
    charge_ids: list[Identifier] = Field(default_factory=list)
    ready_count: int = Field(ge=0)
    needs_fix_count: int = Field(ge=0)
    band_name: str | None = None
    rate_per_participant: Money | None = None


class DayChargeVersion(ContractModel):
    """One day charge as a stay version left it."""

    charge_id: Identifier
    charge_version: int = Field(ge=1)
    date_of_service: CalendarDate


class StayCharged(EventData):
    """The charges service has brought the stay's day charges in line with
    ``stay_version``: sent once for every stay version it applies, after (and in the same
    transaction as) the ``charges.charges.recorded.v1`` messages of the days that version
    built, rewrote or voided, and sent even when it changed no day.

    ``changed`` lists those days' new versions. A consumer that keeps day charges (claims)
    knows its copy of the stay's days is complete for ``stay_version`` once it holds each
    of them at that version or newer; until then a cycle built from its copy could bill a
    day as an older stay version had it (#10)."""

    event_type: ClassVar[str] = STAY_CHARGED_V1

    stay_id: Identifier
    stay_version: int = Field(ge=1)
    changed: list[DayChargeVersion] = Field(default_factory=list, max_length=50_000)
