"""Day charges of a stay (SPEC 5 per-diem, SPEC 6 the midnight rule): which days bill, how
each is priced, and when a day is complete enough to write.

- A day D is a stay day when the member is a patient at midnight ending D: the admission
  day counts, the discharge day does not unless the program bills it (the version in force
  on the discharge date says), a same-day admission and discharge is one day. An open stay
  has every day from its admission on. A stay entered in error has none.
- A stay day inside a leave (``start_date`` .. ``return_date`` - 1; an open leave from
  ``start_date`` on) is an LOA day: the LOA revenue code for the leave's reason,
  non-covered, at the payer's bed-hold rate in force for the program and code, else the
  program's LOA rate ($0.00 unless it bills BED_HOLD). Any other stay day is a covered day
  at the accommodation revenue code and daily rate in force on that date.
- A day is written once it is complete: the midnight after it has passed where the
  facility is. At discharge the stay's remaining days are written at once (the discharge
  day too, when billed).

What pricing cannot decide it names as an issue (NEEDS_FIX) instead of guessing: no primary
coverage on the date, no institutional version in force (MISSING_RATE; the codes then come
from the version nearest the date, so the day still says what it is)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from charges.domain.charges import (
    ChargeTerms,
    Issue,
    IssueCode,
    PricingOverride,
    StayDayContext,
    money,
)
from charges.domain.pricing import (
    CoverageOnDate,
    bill_to,
    configured_payer,
    no_coverage_issue,
)
from common.errors import DomainError
from contracts.codes import LeaveReason
from contracts.events.charges import UnitBasis
from contracts.events.stays import StayStatus
from contracts.tenant import TenantConfig
from contracts.tenant.effective_dating import ConfigLookupError
from contracts.tenant.model import InstitutionalBillingVersion, Program

ONE_DAY = timedelta(days=1)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class StayLeave:
    """A leave of absence: away at midnight from ``start_date``, back (a covered day) on
    ``return_date``; still away while it is None."""

    leave_id: str
    start_date: date
    return_date: date | None
    reason: LeaveReason

    def away_on(self, day: date) -> bool:
        return self.start_date <= day and (self.return_date is None or day < self.return_date)


@dataclass(frozen=True)
class Stay:
    """What charges keeps of one version of a stay (``stays.stay.*``): enough to know its
    days and price them; no diagnosis, nothing of the admission beyond its date."""

    stay_id: str
    stay_version: int
    member_id: str
    facility_id: str
    program_id: str
    status: StayStatus
    admit_date: date
    discharge_date: date | None = None
    leaves: tuple[StayLeave, ...] = ()


@dataclass(frozen=True)
class StayLedger:
    """The newest stay version seen, and the last day its day charges are written
    through (None: none yet)."""

    tenant_id: str
    stay: Stay
    written_through: date | None = None


class StayNotBilledPerDiem(DomainError):
    """The stay's program is unknown or bills no stays per diem: no day can be priced. The
    event is dead-lettered with the code, to replay once the configuration says how."""

    def __init__(self, stay_id: str, program_id: str, why: str) -> None:
        super().__init__("PROGRAM_NOT_INSTITUTIONAL", why, stay_id=stay_id, program_id=program_id)


def _institutional_program(tenant: TenantConfig, stay: Stay) -> Program:
    try:
        program = tenant.program(stay.program_id)
    except ConfigLookupError as exc:
        raise StayNotBilledPerDiem(stay.stay_id, stay.program_id, str(exc)) from exc
    if not program.institutional:
        raise StayNotBilledPerDiem(
            stay.stay_id,
            stay.program_id,
            f"program '{program.id}' bills no stays per diem (it is {program.filing_type.value})",
        )
    return program


def _version_on(program: Program, day: date) -> InstitutionalBillingVersion | None:
    try:
        return program.institutional_billing_on(day)
    except ConfigLookupError:
        return None


def _nearest_version(program: Program, day: date) -> InstitutionalBillingVersion:
    """The version in force on ``day``, else the last one before it, else the first."""
    ordered = sorted(program.institutional, key=lambda v: v.effective_from)
    earlier = [v for v in ordered if v.effective_from <= day]
    return earlier[-1] if earlier else ordered[0]


@dataclass(frozen=True)
class StayDayPlan:
    """The days of one stay version under one tenant configuration."""

    stay: Stay
    program: Program
    discharge_day_billable: bool

    @classmethod
    def of(cls, stay: Stay, tenant: TenantConfig) -> StayDayPlan:
        program = _institutional_program(tenant, stay)
        billable = False
        if stay.discharge_date is not None:
            version = _version_on(program, stay.discharge_date)
            billable = version is not None and version.discharge_day_billable
        return cls(stay, program, billable)

    @property
    def stay_id(self) -> str:
        return self.stay.stay_id

    @property
    def first_day(self) -> date | None:
        """The admission day; None when the stay was entered in error (no day bills)."""
        if self.stay.status is StayStatus.ENTERED_IN_ERROR:
            return None
        return self.stay.admit_date

    @property
    def last_day(self) -> date | None:
        """The last stay day of a discharged stay; None while it is open."""
        discharged = self.stay.discharge_date
        if discharged is None:
            return None
        if self.discharge_day_billable or discharged == self.stay.admit_date:
            return discharged
        return discharged - ONE_DAY

    @property
    def closed(self) -> bool:
        """No day will ever be added without a new stay version (discharged, or void)."""
        return self.first_day is None or self.last_day is not None

    def has(self, day: date) -> bool:
        first, last = self.first_day, self.last_day
        return first is not None and first <= day and (last is None or day <= last)

    def write_through(self, complete_through: date) -> date | None:
        """The last day to write now: every remaining day of a discharged stay; the last
        complete day of an open one. None when the stay has no day at all."""
        if self.first_day is None:
            return None
        return self.last_day if self.last_day is not None else complete_through

    def days(self, after: date | None, through: date | None) -> Iterator[date]:
        """The stay days after ``after`` (all when None) through ``through``."""
        first = self.first_day
        if first is None or through is None:
            return
        day = first if after is None or after < first else after + ONE_DAY
        last = through if self.last_day is None else min(through, self.last_day)
        while day <= last:
            yield day
            day += ONE_DAY

    def leave_on(self, day: date) -> StayLeave | None:
        """The leave the member is away on at midnight ending ``day``."""
        return next((leave for leave in self.stay.leaves if leave.away_on(day)), None)

    def next_day_to_write(self, written_through: date | None) -> date | None:
        """The first day not written yet that time alone will bring; None when no day
        comes by time alone (a discharged or void stay)."""
        if self.closed:
            return None
        first = self.first_day
        assert first is not None
        if written_through is None or written_through < first:
            return first
        return written_through + ONE_DAY

    def price(
        self,
        tenant: TenantConfig,
        day: date,
        coverage: CoverageOnDate,
        override: PricingOverride,
    ) -> ChargeTerms:
        """The day charge's terms for ``day`` (a stay day)."""
        stay = self.stay
        issues: list[Issue] = []
        payer_id, coverage_id = bill_to(coverage, override)
        if payer_id is None:
            issues.append(no_coverage_issue(coverage, day))
        payer = configured_payer(tenant, payer_id, issues)

        in_force = _version_on(self.program, day)
        version = in_force or _nearest_version(self.program, day)
        leave = self.leave_on(day)
        if leave is not None:
            revenue_code = version.loa_revenue_code_for(leave.reason)
            rate = version.program_loa_daily_rate()
            if payer is not None:
                bed_hold = payer.bed_hold_rate_on(
                    program_id=stay.program_id, revenue_code=revenue_code, on=day
                )
                rate = bed_hold if bed_hold is not None else rate
        else:
            revenue_code = version.accommodation_revenue_code
            rate = version.daily_rate
        if override.rate is not None:
            rate = override.rate
        elif in_force is None:
            issues.append(
                Issue(
                    IssueCode.MISSING_RATE,
                    f"program '{self.program.id}' has no institutional billing version in "
                    f"force on {day.isoformat()}",
                )
            )
            rate = ZERO
        # No code-assignment check (enforce_code_assignment): a day bills a revenue code,
        # not a CPT/HCPCS code a billing code group holds, and names no rendering staff.
        units = Decimal(1)
        return ChargeTerms(
            member_id=stay.member_id,
            program_id=stay.program_id,
            facility_id=stay.facility_id,
            date_of_service=day,
            procedure_code=None,
            modifiers=(),
            units=units,
            rate=money(rate),
            amount=money(rate * units),
            payer_id=payer_id,
            coverage_id=coverage_id,
            rendering_provider_id=None,
            place_of_service=None,
            issues=tuple(issues),
            stay=StayDayContext(stay.stay_id, stay.stay_version),
            revenue_code=revenue_code,
            unit_basis=UnitBasis.DAYS,
            covered=leave is None,
        )


def reprice_day(
    plan: StayDayPlan,
    tenant: TenantConfig,
    day: date,
    coverage: CoverageOnDate,
    override: PricingOverride,
    previous_revenue_code: str | None,
) -> tuple[ChargeTerms, PricingOverride]:
    """The day priced again with the operator's override, which applies while the day is
    what it was when given: a rate set for a covered day is dropped when the day becomes an
    LOA day (another revenue code), and the reverse; a payer override stays."""
    terms = plan.price(tenant, day, coverage, override)
    if (
        override.rate is not None
        and previous_revenue_code is not None
        and terms.revenue_code != previous_revenue_code
    ):
        override = PricingOverride(
            payer_id=override.payer_id, coverage_id=override.coverage_id, reason=override.reason
        )
        if override.empty:
            override = PricingOverride()
        terms = plan.price(tenant, day, coverage, override)
    return terms, override


# --------------------------------------------------------------------------- time


def local_today(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


def complete_through(now: datetime, zone: ZoneInfo) -> date:
    """The last complete day where the facility is: the midnight after it has passed."""
    return local_today(now, zone) - ONE_DAY


def completes_at(day: date, zone: ZoneInfo) -> datetime:
    """The instant ``day`` is complete: the midnight that ends it, in the facility's zone."""
    return datetime.combine(day + ONE_DAY, time(0), tzinfo=zone)
