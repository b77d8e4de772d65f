"""Institutional per-diem claims (SPEC 6, "How a cycle claim looks"): what one cycle's 837I
prints, decided here once so the gateway only renders.

- Day charges (PER_DIEM charges in days, one per stay day) are the money and the day
  counts: value code 80 = covered day charges, 81 = non-covered ones (every LOA day).
- Lines: covered accommodation days roll up into one SV2 per revenue code (DA, units =
  days); non-covered (LOA) days into one line per LOA revenue code; ancillary and OTHER or
  unknown codes are one line per charge (never silently rolled up).
- The stay (admission, leaves, discharge) gives the dates and codes: statement period,
  admission date and hour, CL1, span 74 for leaves, occurrence 42 and 55, TOB frequency.
- An operator may correct the context on a claim (:class:`InstitutionalEdits`); the edit
  is kept on the claim and applies to each rebuild.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from claims.domain.building import (
    billing_provider_party,
    payer_party,
    subscriber_and_patient,
)
from claims.domain.charges import BILLABLE_STATUSES, NEEDS_FIX, ChargeOnFile
from claims.domain.claims import (
    Address,
    BillingProviderParty,
    ClaimKey,
    ClaimStatus,
    PatientParty,
    PayerParty,
    ScrubIssue,
    SubscriberParty,
    line_control_number,
)
from claims.domain.cycles import (
    STILL_A_PATIENT,
    Cycle,
    DateRange,
    FrequencyCode,
    StayDays,
    days_in_statement,
    frequency_code,
    statement_through,
)
from claims.domain.projections import (
    ClaimMember,
    Facility,
    Procedure,
    StayContext,
    StayStatus,
)
from claims.domain.reference import RevenueCategory, RevenueCodeTable
from contracts.codes import normalize_icd10cm
from contracts.tenant import InstitutionalBillingVersion, TenantConfig
from contracts.tenant.effective_dating import ConfigLookupError

ONE_DAY = timedelta(days=1)
ZERO = Decimal("0.00")
MAX_OCCURRENCE_SPANS = 24  # HI*BI: 2 segments of 12
MAX_OTHER_DIAGNOSES = 24  # HI*ABF: 2 segments of 12
MAX_OTHER_PROCEDURES = 24  # HI*BBQ
LEAVE_SPAN = "74"
DISCHARGE_OCCURRENCE = "42"
DEATH_OCCURRENCE = "55"
COVERED_DAYS = "80"
NON_COVERED_DAYS = "81"
DEATH_STATUSES = frozenset({"20", "40", "41", "42"})
DAYS = "DA"


class AdmitDateSource(StrEnum):
    STAY = "STAY"  # the stays service's admission
    EDIT = "EDIT"  # an operator's correction on the claim
    ENROLLMENT = "ENROLLMENT"  # the enrollment window bracketing the claim's first date


class DayKind(StrEnum):
    COVERED = "COVERED"
    LEAVE_OF_ABSENCE = "LEAVE_OF_ABSENCE"
    NOT_BILLED = "NOT_BILLED"  # the discharge day (not a stay day)


class LineKind(StrEnum):
    ACCOMMODATION = "ACCOMMODATION"  # covered days rolled up per revenue code
    LEAVE_OF_ABSENCE = "LEAVE_OF_ABSENCE"  # non-covered days rolled up per revenue code
    ANCILLARY = "ANCILLARY"  # one per charge
    OTHER = "OTHER"  # one per charge (unknown codes too)


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class LeaveDates:
    """A leave as a claim reports it; an operator's edit may lack a date (LOA_WITHOUT_DATE)."""

    start_date: date | None
    return_date: date | None
    leave_id: str | None = None

    def away_on(self, day: date) -> bool:
        """Away at the midnight ending ``day`` (an LOA day)."""
        if self.start_date is None or day < self.start_date:
            return False
        return self.return_date is None or day < self.return_date


EDITABLE_FIELDS = (
    "admission_date",
    "admission_hour",
    "admission_type",
    "admission_source",
    "principal_diagnosis",
    "admitting_diagnosis",
    "other_diagnoses",
    "drg",
    "procedures",
    "leaves",
    "covered_days",
    "non_covered_days",
)


@dataclass(frozen=True)
class InstitutionalEdits:
    """An operator's corrections of a claim's institutional context. Only the fields named
    in ``edited`` apply (a null there clears it, e.g. no DRG)."""

    admission_date: date | None = None
    admission_hour: int | None = None
    admission_type: str | None = None
    admission_source: str | None = None
    principal_diagnosis: str | None = None
    admitting_diagnosis: str | None = None
    other_diagnoses: tuple[str, ...] = ()
    drg: str | None = None
    procedures: tuple[Procedure, ...] = ()
    leaves: tuple[LeaveDates, ...] = ()
    covered_days: int | None = None
    non_covered_days: int | None = None
    edited: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = self.edited - set(EDITABLE_FIELDS)
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}")

    def has(self, name: str) -> bool:
        return name in self.edited


NO_EDITS = InstitutionalEdits()


@dataclass(frozen=True)
class InstitutionalContext:
    """The admission, leaves and discharge a cycle claim reports, after edits."""

    admission_date: date | None
    admission_date_source: AdmitDateSource | None
    admission_hour: int | None
    admission_type: str | None
    admission_source: str | None
    principal_diagnosis: str | None
    admitting_diagnosis: str | None
    other_diagnoses: tuple[str, ...]
    drg: str | None
    procedures: tuple[Procedure, ...]
    leaves: tuple[LeaveDates, ...]
    discharge_date: date | None
    discharge_hour: int | None
    discharge_status: str | None


def enrollment_admit_date(
    member: ClaimMember | None, program_id: str, first_day: date
) -> date | None:
    """Seed 002's auto-resolution: the start of the member's enrollment window in the
    program that brackets the claim's first date."""
    if member is None:
        return None
    for window in member.enrollments:
        if window.program_id == program_id and window.brackets(first_day):
            return window.enrolled_from
    return None


def institutional_context(
    stay: StayContext | None,
    edits: InstitutionalEdits,
    *,
    member: ClaimMember | None,
    program_id: str,
    first_day: date,
) -> InstitutionalContext:
    admission = stay.admission if stay else None
    discharge = stay.discharge if stay else None
    admit: date | None = admission.admit_date if admission else None
    source: AdmitDateSource | None = AdmitDateSource.STAY if admit else None
    if edits.has("admission_date"):
        admit = edits.admission_date
        source = AdmitDateSource.EDIT if admit else None
    if admit is None:
        admit = enrollment_admit_date(member, program_id, first_day)
        source = AdmitDateSource.ENROLLMENT if admit else None
    if edits.has("leaves"):
        leaves = edits.leaves
    elif stay is not None:
        leaves = tuple(LeaveDates(v.start_date, v.return_date, v.leave_id) for v in stay.leaves)
    else:
        leaves = ()
    hour = admission.admit_hour if admission else None
    admission_type = admission.admission_type if admission else None
    admission_source = admission.admission_source if admission else None
    principal = admission.principal_diagnosis if admission else None
    admitting = admission.admitting_diagnosis if admission else None
    others: tuple[str, ...] = admission.other_diagnoses if admission else ()
    drg = admission.drg if admission else None
    procedures: tuple[Procedure, ...] = admission.procedures if admission else ()
    if edits.has("admission_hour"):
        hour = edits.admission_hour
    if edits.has("admission_type"):
        admission_type = edits.admission_type
    if edits.has("admission_source"):
        admission_source = edits.admission_source
    if edits.has("principal_diagnosis"):
        principal = edits.principal_diagnosis
    if edits.has("admitting_diagnosis"):
        admitting = edits.admitting_diagnosis
    if edits.has("other_diagnoses"):
        others = edits.other_diagnoses
    if edits.has("drg"):
        drg = edits.drg
    if edits.has("procedures"):
        procedures = edits.procedures
    return InstitutionalContext(
        admission_date=admit,
        admission_date_source=source,
        admission_hour=hour,
        admission_type=admission_type,
        admission_source=admission_source,
        principal_diagnosis=_code(principal),
        admitting_diagnosis=_code(admitting),
        other_diagnoses=tuple(normalize_icd10cm(c) for c in others),
        drg=drg,
        procedures=tuple(procedures),
        leaves=tuple(leaves),
        discharge_date=discharge.discharge_date if discharge else None,
        discharge_hour=discharge.discharge_hour if discharge else None,
        discharge_status=discharge.patient_status if discharge else None,
    )


def _code(value: str | None) -> str | None:
    return normalize_icd10cm(value) if value else None


# --------------------------------------------------------------------------- days


def is_day_charge(charge: ChargeOnFile) -> bool:
    """A PER_DIEM charge in days: one stay day (SPEC 5)."""
    return charge.kind == "PER_DIEM" and charge.unit_basis == DAYS


class BlockReason(StrEnum):
    MISSING = "MISSING"  # no day charge (or only voided ones)
    NEEDS_FIX = "NEEDS_FIX"


@dataclass(frozen=True)
class BlockedDay:
    day: date
    reason: BlockReason
    charge_ids: tuple[str, ...] = ()
    issue_codes: tuple[str, ...] = ()


def blocked_days(days: Sequence[date], charges: Sequence[ChargeOnFile]) -> list[BlockedDay]:
    """The stay days of a cycle without a READY day charge: a cycle is built only when
    there are none (SPEC 6)."""
    by_day: dict[date, list[ChargeOnFile]] = {}
    for charge in charges:
        if is_day_charge(charge):
            by_day.setdefault(charge.date_of_service, []).append(charge)
    blocked: list[BlockedDay] = []
    for day in days:
        found = by_day.get(day, [])
        if any(c.status in BILLABLE_STATUSES for c in found):
            continue
        fixing = [c for c in found if c.status == NEEDS_FIX]
        if fixing:
            blocked.append(
                BlockedDay(
                    day,
                    BlockReason.NEEDS_FIX,
                    tuple(sorted(c.charge_id for c in fixing)),
                    tuple(sorted({code for c in fixing for code in c.issue_codes})),
                )
            )
        else:
            blocked.append(BlockedDay(day, BlockReason.MISSING))
    return blocked


@dataclass(frozen=True)
class CycleDay:
    """One date of the statement period: what the stay makes of it and what was billed."""

    day: date
    expected: DayKind
    billed_as: DayKind | None  # None: no billable day charge
    charge_ids: tuple[str, ...] = ()
    revenue_code: str | None = None
    amount: Decimal = ZERO


@dataclass(frozen=True)
class DayCalculation:
    """The per-diem day calculation of a claim (seed 001's per-diem panel)."""

    statement_from: date
    statement_through: date
    days_in_period: int
    covered_days: int  # value code 80 as reported
    non_covered_days: int  # value code 81 as reported
    billed_covered_days: int  # from the day charges
    billed_non_covered_days: int
    expected_leave_days: int  # LOA nights in the period per the stay (or the edit)
    days: tuple[CycleDay, ...]


def billable_claim_charges(charges: Sequence[ChargeOnFile]) -> list[ChargeOnFile]:
    return [c for c in charges if c.status in BILLABLE_STATUSES and c.kind == "PER_DIEM"]


def day_calculation(
    *,
    statement_from: date,
    through: date,
    days_in_period: int,
    stay_day: Mapping[date, bool],
    context: InstitutionalContext,
    charges: Sequence[ChargeOnFile],
    edits: InstitutionalEdits,
) -> DayCalculation:
    billed: dict[date, list[ChargeOnFile]] = {}
    for charge in charges:
        if is_day_charge(charge):
            billed.setdefault(charge.date_of_service, []).append(charge)
    days: list[CycleDay] = []
    expected_leave = 0
    day = statement_from
    while day <= through:
        if not stay_day.get(day, False):
            expected = DayKind.NOT_BILLED
        elif any(leave.away_on(day) for leave in context.leaves):
            expected = DayKind.LEAVE_OF_ABSENCE
            expected_leave += 1
        else:
            expected = DayKind.COVERED
        found = billed.get(day, [])
        billed_as = None
        if found:
            billed_as = (
                DayKind.COVERED if all(c.covered for c in found) else DayKind.LEAVE_OF_ABSENCE
            )
        days.append(
            CycleDay(
                day,
                expected,
                billed_as,
                tuple(sorted(c.charge_id for c in found)),
                found[0].revenue_code if found else None,
                sum((c.amount for c in found), ZERO),
            )
        )
        day += ONE_DAY
    day_charges = [c for c in charges if is_day_charge(c)]
    covered = sum(1 for c in day_charges if c.covered)
    non_covered = len(day_charges) - covered
    return DayCalculation(
        statement_from=statement_from,
        statement_through=through,
        days_in_period=days_in_period,
        covered_days=edits.covered_days
        if edits.has("covered_days") and edits.covered_days is not None
        else covered,
        non_covered_days=edits.non_covered_days
        if edits.has("non_covered_days") and edits.non_covered_days is not None
        else non_covered,
        billed_covered_days=covered,
        billed_non_covered_days=non_covered,
        expected_leave_days=expected_leave,
        days=tuple(days),
    )


# --------------------------------------------------------------------------- lines


@dataclass(frozen=True)
class InstitutionalLine:
    """An SV2 line: revenue code, charge, unit basis and count, its service dates and the
    charges it bills."""

    line_number: int
    line_control_number: str
    kind: LineKind
    revenue_code: str
    procedure_code: str | None
    modifiers: tuple[str, ...]
    amount: Decimal
    unit_basis: str
    units: Decimal
    service_from: date
    service_to: date
    charge_ids: tuple[str, ...]


def _line_order(charge: ChargeOnFile) -> tuple[object, ...]:
    return (charge.date_of_service, charge.revenue_code or "", charge.charge_id)


def institutional_lines(
    charges: Sequence[ChargeOnFile],
    revenue_codes: RevenueCodeTable,
    *,
    patient_control_number: str,
    version: int,
) -> tuple[InstitutionalLine, ...]:
    """SPEC 6's line shapes, in a fixed order: covered accommodation roll-ups, then
    non-covered (LOA) roll-ups, each by revenue code, then one line per other charge."""
    rolled: dict[tuple[LineKind, str], list[ChargeOnFile]] = {}
    singles: list[tuple[LineKind, ChargeOnFile]] = []
    for charge in sorted(charges, key=_line_order):
        code = charge.revenue_code or ""
        category = revenue_codes.category_of(code)
        known = revenue_codes.get(code)
        if is_day_charge(charge) and category is RevenueCategory.ACCOMMODATION:
            leave = not charge.covered or (known is not None and known.leave_of_absence)
            kind = LineKind.LEAVE_OF_ABSENCE if leave else LineKind.ACCOMMODATION
            rolled.setdefault((kind, code), []).append(charge)
        elif category is RevenueCategory.ANCILLARY:
            singles.append((LineKind.ANCILLARY, charge))
        else:
            singles.append((LineKind.OTHER, charge))
    drafts: list[InstitutionalLine] = []
    order = {LineKind.ACCOMMODATION: 0, LineKind.LEAVE_OF_ABSENCE: 1}
    for (kind, code), group in sorted(rolled.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
        drafts.append(
            InstitutionalLine(
                line_number=0,
                line_control_number="",
                kind=kind,
                revenue_code=code,
                procedure_code=None,
                modifiers=(),
                amount=sum((c.amount for c in group), ZERO),
                unit_basis=DAYS,
                units=Decimal(len(group)),
                service_from=min(c.date_of_service for c in group),
                service_to=max(c.date_of_service for c in group),
                charge_ids=tuple(c.charge_id for c in group),
            )
        )
    for kind, charge in singles:
        drafts.append(
            InstitutionalLine(
                line_number=0,
                line_control_number="",
                kind=kind,
                revenue_code=charge.revenue_code or "",
                procedure_code=charge.procedure_code,
                modifiers=charge.modifiers,
                amount=charge.amount,
                unit_basis=charge.unit_basis,
                units=charge.units,
                service_from=charge.date_of_service,
                service_to=charge.date_of_service,
                charge_ids=(charge.charge_id,),
            )
        )
    return tuple(
        replace(
            draft,
            line_number=number,
            line_control_number=line_control_number(patient_control_number, version, number),
        )
        for number, draft in enumerate(drafts, start=1)
    )


# --------------------------------------------------------------------------- codes


@dataclass(frozen=True)
class OccurrenceSpan:
    code: str
    start: date
    end: date


@dataclass(frozen=True)
class Occurrence:
    code: str
    on: date


@dataclass(frozen=True)
class ValueCode:
    code: str
    amount: Decimal


def leave_spans(
    leaves: Sequence[LeaveDates], statement_from: date, through: date, non_covered_days: int
) -> tuple[OccurrenceSpan, ...]:
    """Span 74 per leave, from its first day through the day before the return, clipped
    to the statement period; none without non-covered days (SPEC 6, PGBA 31398). A leave
    without a start date cannot make one (the scrub says LOA_WITHOUT_DATE)."""
    if non_covered_days <= 0:
        return ()
    spans: list[OccurrenceSpan] = []
    for leave in sorted(leaves, key=lambda v: v.start_date or date.min):
        if leave.start_date is None:
            continue
        last_away = through if leave.return_date is None else leave.return_date - ONE_DAY
        start, end = max(leave.start_date, statement_from), min(last_away, through)
        if start <= end:
            spans.append(OccurrenceSpan(LEAVE_SPAN, start, end))
    return tuple(spans)


def discharge_occurrences(
    context: InstitutionalContext, *, final: bool, through: date
) -> tuple[Occurrence, ...]:
    """42 (date of discharge) only when a final claim's through date is not the discharge
    date; 55 (date of death) with statuses 20, 40, 41, 42. Never 46 (cardiac rehab)."""
    discharged = context.discharge_date
    if not final or discharged is None:
        return ()
    found: list[Occurrence] = []
    if through != discharged:
        found.append(Occurrence(DISCHARGE_OCCURRENCE, discharged))
    if context.discharge_status in DEATH_STATUSES:
        found.append(Occurrence(DEATH_OCCURRENCE, discharged))
    return tuple(found)


# --------------------------------------------------------------------------- the claim


@dataclass(frozen=True)
class FacilityParty:
    """The service facility (the stay's facility record): 2310E on the 837I."""

    facility_id: str
    name: str
    npi: str
    tax_id: str
    taxonomy_code: str
    address: Address


@dataclass(frozen=True)
class InstitutionalClaimContent:
    """Everything the gateway renders for one cycle claim version; None where a record is
    missing (the scrub says so and the claim stays DRAFT)."""

    stay_id: str
    program_id: str
    cycle_first_day: date
    cycle_last_day: date
    billing_period: str | None
    final: bool
    billing_provider: BillingProviderParty
    pay_to_address: Address | None
    payer: PayerParty | None
    clearinghouse_id: str | None
    subscriber: SubscriberParty | None
    patient: PatientParty | None
    service_facility: FacilityParty | None
    type_of_bill: str | None
    frequency_code: FrequencyCode
    statement_from: date
    statement_through: date
    admission_date: date | None
    admission_date_source: AdmitDateSource | None
    admission_hour: int | None
    admission_type: str | None
    admission_source: str | None
    patient_status: str
    discharge_hour: int | None
    principal_diagnosis: str | None
    admitting_diagnosis: str | None
    other_diagnoses: tuple[str, ...]
    drg: str | None
    procedures: tuple[Procedure, ...]
    occurrence_spans: tuple[OccurrenceSpan, ...]
    occurrences: tuple[Occurrence, ...]
    value_codes: tuple[ValueCode, ...]
    lines: tuple[InstitutionalLine, ...]
    days: DayCalculation
    discharge_date: date | None = None  # the stay's, whichever cycle this is
    leaves: tuple[LeaveDates, ...] = ()
    edited: tuple[str, ...] = field(default=())

    @property
    def total_charge(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def charge_ids(self) -> list[str]:
        return [charge_id for line in self.lines for charge_id in line.charge_ids]

    @property
    def diagnoses(self) -> tuple[str, ...]:
        """Principal then other diagnoses: the claim message's top-level list (at most 12)."""
        codes = [self.principal_diagnosis] if self.principal_diagnosis else []
        return tuple([*codes, *self.other_diagnoses][:12])


@dataclass(frozen=True)
class CycleClaimInputs:
    """Everything one cycle claim build reads."""

    patient_control_number: str
    version: int
    stay_id: str
    member_id: str
    program_id: str
    cycle: Cycle
    stay: StayContext | None
    charges: tuple[ChargeOnFile, ...]  # the stay's charges dated in the statement period
    member: ClaimMember | None
    facility: Facility | None
    tenant: TenantConfig
    revenue_codes: RevenueCodeTable
    edits: InstitutionalEdits = NO_EDITS

    def billing_version(self) -> InstitutionalBillingVersion | None:
        try:
            return self.tenant.program(self.program_id).institutional_billing_on(
                self.cycle.first_day
            )
        except ConfigLookupError:
            return None

    def stay_days(self, context: InstitutionalContext) -> StayDays | None:
        if self.stay is None or self.stay.status is StayStatus.ENTERED_IN_ERROR:
            return None
        version = self.billing_version()
        billable = version.discharge_day_billable if version else False
        return StayDays(
            self.stay.admission.admit_date,
            context.discharge_date,
            billable,
        )

    @property
    def payer_id(self) -> str | None:
        payers = [c.payer_id for c in sorted(self.charges, key=_line_order) if c.payer_id]
        return payers[0] if payers else None

    @property
    def payer_ids(self) -> set[str]:
        return {c.payer_id for c in billable_claim_charges(self.charges) if c.payer_id}


def _facility_party(facility: Facility | None) -> FacilityParty | None:
    if facility is None:
        return None
    a = facility.address
    return FacilityParty(
        facility_id=facility.facility_id,
        name=facility.name,
        npi=facility.npi,
        tax_id=facility.tax_id,
        taxonomy_code=facility.taxonomy_code,
        address=Address(a.line1, a.city, a.state, a.postal_code, a.line2),
    )


def build_cycle_claim(inputs: CycleClaimInputs) -> InstitutionalClaimContent:
    """The cycle claim version the inputs make. Pure and deterministic: the same inputs
    make the same content, so an unchanged rebuild is recognised and makes no version."""
    cycle = inputs.cycle
    context = institutional_context(
        inputs.stay,
        inputs.edits,
        member=inputs.member,
        program_id=inputs.program_id,
        first_day=cycle.first_day,
    )
    stay_days = inputs.stay_days(context)
    final = cycle.final and context.discharge_date is not None
    through = (
        statement_through(cycle, stay_days) if stay_days is not None and final else cycle.last_day
    )
    in_cycle = {d: (stay_days.is_stay_day(d) if stay_days else True) for d in cycle.days.days()}
    through_counts = not final or (stay_days is not None and stay_days.last_day == through)
    period_days = days_in_statement(cycle.first_day, through, through_is_a_stay_day=through_counts)
    charges = billable_claim_charges(inputs.charges)
    days = day_calculation(
        statement_from=cycle.first_day,
        through=through,
        days_in_period=period_days,
        stay_day=in_cycle,
        context=context,
        charges=charges,
        edits=inputs.edits,
    )
    tenant = inputs.tenant
    version = inputs.billing_version()
    payer_id = inputs.payer_id
    payer = payer_party(tenant, payer_id) if payer_id else None
    subscriber, patient = (None, None)
    if inputs.member is not None and payer_id is not None:
        named = next((c.coverage_id for c in charges if c.coverage_id), None)
        subscriber, patient = subscriber_and_patient(
            inputs.member, payer_id, cycle.first_day, named
        )
    procedures = context.procedures[: MAX_OTHER_PROCEDURES + 1]
    return InstitutionalClaimContent(
        stay_id=inputs.stay_id,
        program_id=inputs.program_id,
        cycle_first_day=cycle.first_day,
        cycle_last_day=cycle.last_day,
        billing_period=None if cycle.billing_period is None else cycle.billing_period.value,
        final=final,
        billing_provider=billing_provider_party(tenant),
        pay_to_address=_pay_to(tenant),
        payer=payer[0] if payer else None,
        clearinghouse_id=payer[1] if payer else None,
        subscriber=subscriber,
        patient=patient,
        service_facility=_facility_party(inputs.facility),
        type_of_bill=version.type_of_bill if version else None,
        frequency_code=frequency_code(cycle, context.admission_date),
        statement_from=cycle.first_day,
        statement_through=through,
        admission_date=context.admission_date,
        admission_date_source=context.admission_date_source,
        admission_hour=context.admission_hour,
        admission_type=context.admission_type,
        admission_source=context.admission_source,
        patient_status=(context.discharge_status or STILL_A_PATIENT) if final else STILL_A_PATIENT,
        discharge_hour=context.discharge_hour if final else None,
        principal_diagnosis=context.principal_diagnosis,
        admitting_diagnosis=context.admitting_diagnosis,
        other_diagnoses=context.other_diagnoses[:MAX_OTHER_DIAGNOSES],
        drg=context.drg,
        procedures=procedures,
        occurrence_spans=leave_spans(
            context.leaves, cycle.first_day, through, days.non_covered_days
        ),
        occurrences=discharge_occurrences(context, final=final, through=through),
        value_codes=(
            ValueCode(COVERED_DAYS, Decimal(days.covered_days)),
            ValueCode(NON_COVERED_DAYS, Decimal(days.non_covered_days)),
        ),
        lines=institutional_lines(
            charges,
            inputs.revenue_codes,
            patient_control_number=inputs.patient_control_number,
            version=inputs.version,
        ),
        days=days,
        discharge_date=context.discharge_date,
        leaves=context.leaves
        if inputs.edits.has("leaves")
        else tuple(v for v in context.leaves if _away_within(v, cycle.first_day, through)),
        edited=tuple(sorted(inputs.edits.edited)),
    )


def _away_within(leave: LeaveDates, first: date, through: date) -> bool:
    """Away at least one night of ``first``..``through`` (a stay's leave a claim reports)."""
    if leave.start_date is None:
        return True
    return leave.start_date <= through and (leave.return_date is None or leave.return_date > first)


def _pay_to(tenant: TenantConfig) -> Address | None:
    address = tenant.pay_to_address
    if address is None:
        return None
    return Address(address.line1, address.city, address.state, address.postal_code, address.line2)


def without_line_numbers(content: InstitutionalClaimContent) -> InstitutionalClaimContent:
    """The content with the line control numbers (which name the version) blanked."""
    return replace(
        content, lines=tuple(replace(line, line_control_number="") for line in content.lines)
    )


def iter_dates(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += ONE_DAY


# --------------------------------------------------------------------------- the claim header


@dataclass
class CycleClaim:
    """A cycle claim's header: the stay and cycle it bills, where it stands, its current
    version, and the operator's context edits that apply to each rebuild."""

    claim_id: str
    patient_control_number: str
    stay_id: str
    member_id: str
    payer_id: str
    billing_provider_npi: str
    cycle_first_day: date
    cycle_last_day: date
    statement_from: date
    statement_through: date
    status: ClaimStatus
    version: int = 0  # 0 until first built
    frequency_code: str | None = None
    reversal_needed: bool = False
    stale_reason: str | None = None
    edits: InstitutionalEdits = NO_EDITS
    # Its days were let go for a fresh claim (after a void, or a rejection), and the claim
    # built for them then.
    released: bool = False
    superseded_by: str | None = None
    # The submitted version asked back from the gateway, until it answers.
    withdrawal_requested: int | None = None

    @property
    def key(self) -> ClaimKey:
        return ClaimKey(
            self.member_id,
            self.payer_id,
            self.billing_provider_npi,
            self.statement_from,
            self.statement_through,
        )

    @property
    def live(self) -> bool:
        return not self.released and self.status not in (
            ClaimStatus.CANCELLED,
            ClaimStatus.REVERSED,
            ClaimStatus.REPLACED,
        )

    @property
    def holds_its_days(self) -> bool:
        """Left our hands (or is marked for a reverse): it bills its days as it billed them
        until reversed (#5); the other days are cut around it."""
        return self.status.left_our_hands or (
            self.status is ClaimStatus.STALE and self.reversal_needed
        )

    @property
    def rebuildable(self) -> bool:
        """Ours to rebuild in place (a new version)."""
        return self.status.open_for_change or (
            self.status is ClaimStatus.STALE and not self.reversal_needed
        )

    @property
    def days(self) -> DateRange:
        return DateRange(self.cycle_first_day, self.cycle_last_day)


def content_fingerprint(
    content: InstitutionalClaimContent, issues: Sequence[ScrubIssue] | None = None
) -> str:
    """Equal for two builds that print the same claim and scrub the same: such a rebuild
    makes no new version. Left out: line control numbers (they name the version), and the
    stay's leaves and discharge date as such (what they change prints in the spans, the
    days, the codes and the issues), so a leave or discharge outside a cycle leaves it."""
    printed = replace(without_line_numbers(content), leaves=(), discharge_date=None)
    return _digest(repr((printed, tuple(issues or ()))))


def billing_fingerprint(content: InstitutionalClaimContent) -> str:
    """What a claim bills for the stay: dates, codes, lines and days, the parties aside.
    A submitted claim goes STALE (for a reverse and rebuild) when this changes."""
    c = without_line_numbers(content)
    billed = (
        c.stay_id,
        c.cycle_first_day,
        c.cycle_last_day,
        c.final,
        c.type_of_bill,
        c.frequency_code,
        c.statement_from,
        c.statement_through,
        c.admission_date,
        c.admission_hour,
        c.admission_type,
        c.admission_source,
        c.patient_status,
        c.discharge_hour,
        c.principal_diagnosis,
        c.admitting_diagnosis,
        c.other_diagnoses,
        c.drg,
        c.procedures,
        c.occurrence_spans,
        c.occurrences,
        c.value_codes,
        c.lines,
        c.days,
    )
    return _digest(repr(billed))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
