"""What a cycle claim prints (SPEC 6 "How a cycle claim looks") and how it scrubs: the
line shapes, span 74, value codes 80/81, occurrence 42/55, and each scrub code."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal

from claims.adapters.reference_data import ReferenceCatalog
from claims.domain.charges import ChargeOnFile, only_bookkeeping
from claims.domain.claims import IssueCode
from claims.domain.cycles import Cycle, StayDays, plan_cycles
from claims.domain.institutional import (
    AdmitDateSource,
    CycleClaimInputs,
    InstitutionalClaimContent,
    InstitutionalContext,
    InstitutionalEdits,
    LeaveDates,
    LineKind,
    billing_fingerprint,
    blocked_days,
    build_cycle_claim,
    content_fingerprint,
    discharge_occurrences,
)
from claims.domain.institutional_scrub import scrub_cycle_claim
from claims.domain.projections import (
    Admission,
    ClaimMember,
    Coverage,
    Discharge,
    Facility,
    Leave,
    Person,
    PostalAddress,
    Procedure,
    ProgramEnrollment,
    StayContext,
    StayStatus,
)
from claims.domain.stay_changes import StayChangeCode, describe_stay_change
from common.testing.processes import SAMPLE_TENANTS
from contracts.tenant import BillingPeriod, load_tenant_configs

D = date.fromisoformat
TENANT = load_tenant_configs(SAMPLE_TENANTS)["demo-bh"]
TABLES = ReferenceCatalog.load_packaged().packaged()
MEMBER = ClaimMember(
    "m-1",
    True,
    Person("JANE", "DOE", D("1970-03-15"), "F"),
    coverages=(Coverage("cov-1", "il-medicaid", "MCD000123456", "18", True, D("2025-01-01")),),
)
FACILITY = Facility(
    "fac-1",
    "HARBOR RESIDENTIAL CENTER",
    "1333333338",
    "371234568",
    PostalAddress("210 OAK AVE", "SPRINGFIELD", "IL", "627020002"),
    "America/Chicago",
    "323P00000X",
    True,
)


class FakeDiagnoses:
    name = "test code set"

    def is_billable(self, code: str) -> bool:
        return code in {"F332", "F411", "F1020"}


def stay(
    *,
    admit: str = "2026-01-10",
    leaves: tuple[Leave, ...] = (Leave("loa-1", D("2026-01-20"), "THERAPEUTIC", D("2026-01-23")),),
    discharge: Discharge | None = Discharge(D("2026-02-03"), 10, "01"),
    program: str = "residential",
    drg: str | None = "885",
    principal: str = "F332",
) -> StayContext:
    return StayContext(
        "stay-1",
        4,
        "m-1",
        "fac-1",
        program,
        StayStatus.DISCHARGED if discharge else StayStatus.ADMITTED,
        Admission(
            D(admit),
            14,
            "3",
            "1",
            principal,
            "F332",
            ("F411",),
            drg,
            (Procedure("GZHZZZZ", D(admit)), Procedure("GZ3ZZZZ", D(admit) + timedelta(days=2))),
        ),
        leaves,
        discharge,
    )


def charge(
    day: date,
    *,
    code: str = "1001",
    amount: str = "300.00",
    covered: bool = True,
    basis: str = "DA",
    program: str = "residential",
    payer: str | None = "il-medicaid",
    status: str = "READY",
) -> ChargeOnFile:
    return ChargeOnFile(
        f"c-{day}-{code}",
        1,
        status,
        "PER_DIEM",
        "INSTITUTIONAL",
        "m-1",
        program,
        "fac-1",
        day,
        Decimal(1),
        Decimal(amount),
        Decimal(amount),
        payer_id=payer,
        coverage_id="cov-1",
        revenue_code=code,
        unit_basis=basis,
        covered=covered,
        stay_id="stay-1",
    )


def stay_charges(
    the_stay: StayContext,
    first: str,
    last: str,
    *,
    loa_code: str = "0183",
    loa_amount: str = "0.00",
) -> list[ChargeOnFile]:
    found = []
    day = D(first)
    while day <= D(last):
        away = any(
            v.start_date <= day and (v.return_date is None or day < v.return_date)
            for v in the_stay.leaves
        )
        found.append(
            charge(day, code=loa_code, amount=loa_amount, covered=False) if away else charge(day)
        )
        day += timedelta(days=1)
    return found


def cycles_of(the_stay: StayContext, period: BillingPeriod = BillingPeriod.MONTHLY) -> list[Cycle]:
    discharge = the_stay.discharge.discharge_date if the_stay.discharge else None
    days = StayDays(the_stay.admission.admit_date, discharge)
    return plan_cycles(days, lambda _: period, today=D("2026-11-23"))


def build(
    the_stay: StayContext | None,
    cycle: Cycle,
    charges: list[ChargeOnFile],
    *,
    member: ClaimMember | None = MEMBER,
    facility: Facility | None = FACILITY,
    edits: InstitutionalEdits = InstitutionalEdits(),
) -> tuple[InstitutionalClaimContent, set[str]]:
    inputs = CycleClaimInputs(
        "P000000042",
        1,
        "stay-1",
        "m-1",
        the_stay.program_id if the_stay else "residential",
        cycle,
        the_stay,
        tuple(charges),
        member,
        facility,
        TENANT,
        TABLES.revenue_codes,
        edits,
    )
    content = build_cycle_claim(inputs)
    issues = scrub_cycle_claim(inputs, content, FakeDiagnoses(), TABLES.drg_master)
    return content, {i.code for i in issues}


# --------------------------------------------------------------------------- vector 2


def test_vector_2_january_prints_as_spec_12_says() -> None:
    s = stay()
    january, _ = cycles_of(s)
    content, issues = build(s, january, stay_charges(s, "2026-01-10", "2026-01-31"))
    assert issues == set()
    assert (content.type_of_bill, content.frequency_code.value) == ("86", "2")
    assert (content.statement_from, content.statement_through) == (D("2026-01-10"), D("2026-01-31"))
    assert content.patient_status == "30" and content.discharge_hour is None
    assert [(v.code, v.amount) for v in content.value_codes] == [
        ("80", Decimal(19)),
        ("81", Decimal(3)),
    ]
    assert [(s.code, s.start, s.end) for s in content.occurrence_spans] == [
        ("74", D("2026-01-20"), D("2026-01-22"))
    ]
    assert [(ln.revenue_code, ln.units, ln.unit_basis, ln.amount) for ln in content.lines] == [
        ("1001", Decimal(19), "DA", Decimal("5700.00")),
        ("0183", Decimal(3), "DA", Decimal("0.00")),
    ]
    assert content.total_charge == Decimal("5700.00")
    assert [ln.line_control_number for ln in content.lines] == ["P000000042-1-1", "P000000042-1-2"]
    assert content.drg == "885" and content.other_diagnoses == ("F411",)
    assert [p.code for p in content.procedures] == ["GZHZZZZ", "GZ3ZZZZ"]  # BBR, then BBQ


def test_vector_2_february_is_the_final_claim_with_the_discharge() -> None:
    s = stay()
    _, february = cycles_of(s)
    content, issues = build(s, february, stay_charges(s, "2026-02-01", "2026-02-02"))
    assert issues == set()
    assert (content.frequency_code.value, content.patient_status) == ("4", "01")
    assert (content.statement_from, content.statement_through) == (D("2026-02-01"), D("2026-02-03"))
    assert [(v.code, v.amount) for v in content.value_codes] == [
        ("80", Decimal(2)),
        ("81", Decimal(0)),
    ]
    assert content.occurrence_spans == () and content.occurrences == ()
    assert content.discharge_hour == 10
    assert content.admission_date == D("2026-01-10")  # the original admission
    assert [(ln.revenue_code, ln.units, ln.amount) for ln in content.lines] == [
        ("1001", Decimal(2), Decimal("600.00"))
    ]


# --------------------------------------------------------------------------- shapes


def test_ancillary_and_unknown_codes_are_one_line_per_charge_never_rolled_up() -> None:
    s = stay(leaves=())
    january, _ = cycles_of(s)
    charges = stay_charges(s, "2026-01-10", "2026-01-31")
    charges += [
        charge(D("2026-01-11"), code="0250", amount="12.50", basis="UN"),  # pharmacy
        charge(D("2026-01-12"), code="0250", amount="8.00", basis="UN"),
        charge(D("2026-01-12"), code="0559", amount="40.00", basis="UN"),  # not in the table
    ]
    content, _ = build(s, january, charges)
    assert [(ln.kind, ln.revenue_code, ln.amount) for ln in content.lines] == [
        (LineKind.ACCOMMODATION, "1001", Decimal("6600.00")),
        (LineKind.ANCILLARY, "0250", Decimal("12.50")),
        (LineKind.ANCILLARY, "0250", Decimal("8.00")),
        (LineKind.OTHER, "0559", Decimal("40.00")),
    ]
    # Only day charges count days.
    assert [v.amount for v in content.value_codes] == [Decimal(22), Decimal(0)]


def test_bed_hold_leave_days_bill_their_rate_on_the_loa_line() -> None:
    s = stay(leaves=(Leave("loa-1", D("2026-01-20"), "HOSPITALIZATION", D("2026-01-23")),))
    january, _ = cycles_of(s)
    charges = stay_charges(s, "2026-01-10", "2026-01-31", loa_code="0185", loa_amount="100.00")
    content, issues = build(s, january, charges)
    assert issues == set()
    assert [(ln.revenue_code, ln.units, ln.amount) for ln in content.lines] == [
        ("1001", Decimal(19), Decimal("5700.00")),
        ("0185", Decimal(3), Decimal("300.00")),
    ]


def test_a_leave_across_two_months_is_a_span_in_each_clipped_to_its_statement() -> None:
    s = stay(leaves=(Leave("loa-1", D("2026-01-29"), "THERAPEUTIC", D("2026-02-02")),))
    january, february = cycles_of(s)
    jan, _ = build(s, january, stay_charges(s, "2026-01-10", "2026-01-31"))
    feb, _ = build(s, february, stay_charges(s, "2026-02-01", "2026-02-02"))
    assert [(x.start, x.end) for x in jan.occurrence_spans] == [(D("2026-01-29"), D("2026-01-31"))]
    assert [(x.start, x.end) for x in feb.occurrence_spans] == [(D("2026-02-01"), D("2026-02-01"))]
    assert [v.amount for v in feb.value_codes] == [Decimal(1), Decimal(1)]


def test_a_death_reports_occurrence_55_and_never_46() -> None:
    s = stay(leaves=(), discharge=Discharge(D("2026-02-03"), 4, "20"))
    _, february = cycles_of(s)
    content, _ = build(s, february, stay_charges(s, "2026-02-01", "2026-02-02"))
    assert [(o.code, o.on) for o in content.occurrences] == [("55", D("2026-02-03"))]
    assert content.patient_status == "20"


def test_occurrence_42_only_when_a_final_through_date_is_not_the_discharge_date() -> None:
    context = InstitutionalContext(
        D("2026-01-10"),
        AdmitDateSource.STAY,
        14,
        "3",
        "1",
        "F332",
        None,
        (),
        None,
        (),
        (),
        D("2026-02-03"),
        10,
        "01",
    )
    assert discharge_occurrences(context, final=True, through=D("2026-02-03")) == ()
    [occurrence] = discharge_occurrences(context, final=True, through=D("2026-02-02"))
    assert (occurrence.code, occurrence.on) == ("42", D("2026-02-03"))
    assert discharge_occurrences(context, final=False, through=D("2026-01-31")) == ()


def test_a_span_program_bills_the_whole_stay_as_one_admit_through_discharge_claim() -> None:
    s = stay()
    [whole] = cycles_of(s, BillingPeriod.SPAN)
    content, issues = build(s, whole, stay_charges(s, "2026-01-10", "2026-02-02"))
    assert issues == set()
    assert content.frequency_code.value == "1"
    assert [v.amount for v in content.value_codes] == [Decimal(21), Decimal(3)]
    assert content.days.days_in_period == 24


# --------------------------------------------------------------------------- scrub codes


def test_stay_day_mismatch_when_the_day_charges_miss_a_leave() -> None:
    s = stay()
    january, _ = cycles_of(s)
    covered_everywhere = [charge(d.day) for d in build(s, january, [])[0].days.days]
    _, issues = build(s, january, covered_everywhere)
    assert IssueCode.STAY_DAY_MISMATCH in issues


def test_stay_day_mismatch_when_covered_plus_non_covered_is_not_the_days_in_the_period() -> None:
    s = stay(leaves=())
    _, february = cycles_of(s)
    discharge_day = charge(D("2026-02-03"))  # not a stay day: no charge belongs there
    charges = [*stay_charges(s, "2026-02-01", "2026-02-02"), discharge_day]
    content, issues = build(s, february, charges)
    assert content.days.covered_days == 3 and content.days.days_in_period == 2
    assert IssueCode.STAY_DAY_MISMATCH in issues


def test_loa_outside_stay_and_loa_without_date_from_an_edit() -> None:
    s = stay()
    january, _ = cycles_of(s)
    charges = stay_charges(s, "2026-01-10", "2026-01-31")
    edits = InstitutionalEdits(
        leaves=(LeaveDates(D("2026-01-05"), D("2026-01-08")), LeaveDates(None, D("2026-01-23"))),
        edited=frozenset({"leaves"}),
    )
    _, issues = build(s, january, charges, edits=edits)
    assert {IssueCode.LOA_OUTSIDE_STAY, IssueCode.LOA_WITHOUT_DATE} <= issues
    open_on_discharge = InstitutionalEdits(
        leaves=(LeaveDates(D("2026-01-20"), None),), edited=frozenset({"leaves"})
    )
    _, issues = build(s, january, charges, edits=open_on_discharge)
    assert IssueCode.LOA_WITHOUT_DATE in issues


def test_missing_admit_date_without_a_stay_record_or_an_enrollment_window() -> None:
    cycle = Cycle(D("2026-04-03"), D("2026-04-07"), D("2026-04-07"), False, None)
    charges = [charge(D("2026-04-03") + timedelta(days=n)) for n in range(5)]
    content, issues = build(None, cycle, charges)
    assert content.admission_date is None
    assert IssueCode.MISSING_ADMIT_DATE in issues


def test_the_admit_date_is_auto_resolved_from_the_enrollment_window_with_a_warning() -> None:
    enrolled = ClaimMember(
        MEMBER.member_id,
        True,
        MEMBER.person,
        MEMBER.coverages,
        enrollments=(
            ProgramEnrollment("group-therapy", D("2026-03-01")),
            ProgramEnrollment("residential", D("2026-04-01"), D("2026-06-30")),
        ),
    )
    cycle = Cycle(D("2026-04-03"), D("2026-04-07"), D("2026-04-07"), False, None)
    charges = [charge(D("2026-04-03") + timedelta(days=n)) for n in range(5)]
    inputs_edits = InstitutionalEdits(
        admission_type="3",
        admission_source="1",
        principal_diagnosis="F332",
        edited=frozenset({"admission_type", "admission_source", "principal_diagnosis"}),
    )
    content, issues = build(None, cycle, charges, member=enrolled, edits=inputs_edits)
    assert (content.admission_date, content.admission_date_source) == (
        D("2026-04-01"),
        AdmitDateSource.ENROLLMENT,
    )
    assert issues == {IssueCode.INSTITUTIONAL_ADMIT_AUTO_RESOLVED}  # a warning: READY


def test_drg_not_in_master() -> None:
    s = stay(drg="000")
    january, _ = cycles_of(s)
    _, issues = build(s, january, stay_charges(s, "2026-01-10", "2026-01-31"))
    assert issues == {IssueCode.DRG_NOT_IN_MASTER}


def test_filing_type_mismatch_for_a_day_charge_of_a_professional_program() -> None:
    s = stay(leaves=())
    _, february = cycles_of(s)
    charges = [charge(D("2026-02-01"), program="group-therapy"), charge(D("2026-02-02"))]
    _, issues = build(s, february, charges)
    assert issues == {IssueCode.FILING_TYPE_MISMATCH}
    _, issues = build(stay(leaves=(), program="group-therapy"), february, [])
    assert IssueCode.FILING_TYPE_MISMATCH in issues


def test_invalid_diagnosis() -> None:
    s = stay(principal="F33")  # a category, not a billable code
    january, _ = cycles_of(s)
    _, issues = build(s, january, stay_charges(s, "2026-01-10", "2026-01-31"))
    assert issues == {IssueCode.INVALID_DIAGNOSIS}


def test_invalid_npi_of_the_service_facility() -> None:
    s = stay()
    january, _ = cycles_of(s)
    broken = Facility(
        "fac-1",
        "X",
        "1234567890",
        "371234568",
        FACILITY.address,
        "America/Chicago",
        "323P00000X",
        True,
    )
    _, issues = build(s, january, stay_charges(s, "2026-01-10", "2026-01-31"), facility=broken)
    assert issues == {IssueCode.INVALID_NPI}


def test_missing_subscriber_without_coverage_with_the_payer() -> None:
    s = stay()
    january, _ = cycles_of(s)
    uncovered = ClaimMember("m-1", True, MEMBER.person)
    content, issues = build(
        s, january, stay_charges(s, "2026-01-10", "2026-01-31"), member=uncovered
    )
    assert content.subscriber is None
    assert issues == {IssueCode.MISSING_SUBSCRIBER}


# --------------------------------------------------------------------------- stay changes


def test_a_stay_change_says_what_changed_by_ids_and_kinds() -> None:
    before = stay(leaves=(), discharge=None)
    after = stay()
    changes = describe_stay_change(before, after, version=4)
    assert [c.code for c in changes] == [
        StayChangeCode.LEAVE_RECORDED,
        StayChangeCode.DISCHARGE_RECORDED,
    ]
    assert (
        changes[0].message == "leave loa-1 was recorded after the claim was built (stay version 4)"
    )
    assert changes[0].touches_period(D("2026-01-01"), D("2026-01-31"))
    assert not changes[0].touches_period(D("2026-02-01"), D("2026-02-28"))
    assert describe_stay_change(None, after, version=1) == ()


# --------------------------------------------------------------------------- echoes (#10)


def echo(of: ChargeOnFile, status: str, **changes: object) -> ChargeOnFile:
    """The charges service's next version of a day charge."""
    return dataclasses.replace(of, charge_version=of.charge_version + 1, status=status, **changes)


def test_the_echo_of_a_claims_status_on_its_day_charges_is_only_bookkeeping() -> None:
    ready = charge(D("2026-01-12"))
    on_claim = echo(ready, "ON_CLAIM")
    assert only_bookkeeping(on_claim, ready)  # built / submitted
    assert only_bookkeeping(echo(on_claim, "BILLED"), on_claim)  # accepted, paid
    assert only_bookkeeping(echo(on_claim, "READY"), on_claim)  # its claim voided


def test_a_day_charge_that_bills_differently_or_stops_billing_asks_its_stay_again() -> None:
    ready = charge(D("2026-01-12"))
    on_claim = echo(ready, "ON_CLAIM")
    assert not only_bookkeeping(ready, None)  # a first version
    assert not only_bookkeeping(echo(on_claim, "READY", amount=Decimal("310.00")), on_claim)
    assert not only_bookkeeping(echo(on_claim, "READY", covered=False), on_claim)
    assert not only_bookkeeping(echo(on_claim, "READY", revenue_code="0183"), on_claim)
    assert not only_bookkeeping(echo(on_claim, "VOID"), on_claim)
    fixing = echo(ready, "NEEDS_FIX", issue_codes=("RATE_MISSING",))
    assert not only_bookkeeping(fixing, ready)
    assert not only_bookkeeping(echo(fixing, "READY", issue_codes=()), fixing)


def test_a_cycle_decides_and_prints_the_same_whatever_the_bookkeeping_of_its_day_charges() -> None:
    """What makes skipping the stay's reconciliation for such an echo safe: nothing a
    cycle is blocked, built, scrubbed or fingerprinted on reads the difference."""
    s = stay()
    january, _ = cycles_of(s)
    ready = stay_charges(s, "2026-01-10", "2026-01-31")
    for status in ("ON_CLAIM", "BILLED"):
        echoed = [echo(c, status) for c in ready]
        assert all(only_bookkeeping(e, c) for e, c in zip(echoed, ready, strict=True))
        assert blocked_days(january.days.days(), echoed) == blocked_days(january.days.days(), ready)
        before, issues_before = build(s, january, ready)
        after, issues_after = build(s, january, echoed)
        assert issues_after == issues_before
        assert content_fingerprint(after) == content_fingerprint(before)
        assert billing_fingerprint(after) == billing_fingerprint(before)
