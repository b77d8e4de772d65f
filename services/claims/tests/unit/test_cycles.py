"""Billing cycles of a stay (SPEC 6): each billing period's cut, the fold of an unbillable
discharge day, frequency codes, day counts, billed and explicit ranges; and a property
test over random stays, leaves, discharges and every billing period."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from claims.adapters.reference_data import PACKAGED
from claims.domain.charges import ChargeOnFile
from claims.domain.claims import IssueCode
from claims.domain.code_sets import PatternDiagnosisCodeSet
from claims.domain.cycles import (
    BilledRange,
    Cycle,
    DateRange,
    FrequencyCode,
    StayDays,
    days_in_statement,
    frequency_code,
    period_containing,
    plan_cycles,
)
from claims.domain.institutional import CycleClaimInputs, build_cycle_claim
from claims.domain.institutional_scrub import scrub_cycle_claim
from claims.domain.projections import Admission, Discharge, Leave, StayContext, StayStatus
from claims.domain.reference import parse_drg_master, parse_revenue_codes
from common.testing.processes import SAMPLE_TENANTS
from contracts.tenant import BillingPeriod, load_tenant_configs

D = date.fromisoformat
TODAY = D("2026-11-23")
TENANT = load_tenant_configs(SAMPLE_TENANTS)["demo-bh"]
REVENUE_CODES = parse_revenue_codes((PACKAGED / "revenue_codes.csv").read_text())
DRGS = parse_drg_master((Path(PACKAGED) / "ms_drg.csv").read_text())


def spans(cycles: list[Cycle]) -> list[tuple[str, str, bool]]:
    return [(c.first_day.isoformat(), c.last_day.isoformat(), c.final) for c in cycles]


def every(period: BillingPeriod):  # type: ignore[no-untyped-def]
    return lambda day: period


# --------------------------------------------------------------------------- periods


def test_weeks_are_monday_anchored_and_months_are_calendar_months() -> None:
    assert period_containing(D("2026-03-08"), BillingPeriod.WEEKLY) == (
        D("2026-03-02"),
        D("2026-03-08"),
    )
    assert period_containing(D("2026-03-09"), BillingPeriod.WEEKLY) == (
        D("2026-03-09"),
        D("2026-03-15"),
    )
    assert period_containing(D("2026-02-14"), BillingPeriod.MONTHLY) == (
        D("2026-02-01"),
        D("2026-02-28"),
    )
    assert period_containing(D("2026-02-14"), BillingPeriod.DAILY) == (
        D("2026-02-14"),
        D("2026-02-14"),
    )
    assert period_containing(D("2026-02-14"), BillingPeriod.SPAN) == (D("2026-02-14"), None)


def test_vector_2_monthly_stay_is_january_then_a_final_february() -> None:
    stay = StayDays(D("2026-01-10"), D("2026-02-03"))
    cycles = plan_cycles(stay, every(BillingPeriod.MONTHLY), today=TODAY)
    assert spans(cycles) == [
        ("2026-01-10", "2026-01-31", False),
        ("2026-02-01", "2026-02-02", True),  # 02-03 is the discharge day, not a stay day
    ]
    assert [frequency_code(c, stay.admit_date) for c in cycles] == [
        FrequencyCode.INTERIM_FIRST,
        FrequencyCode.INTERIM_LAST,
    ]


def test_vector_3_weekly_sunday_and_monday_fall_in_two_cycles() -> None:
    stay = StayDays(D("2026-03-08"), D("2026-03-09"), discharge_day_billable=True)
    cycles = plan_cycles(stay, every(BillingPeriod.WEEKLY), today=TODAY)
    assert spans(cycles) == [
        ("2026-03-08", "2026-03-08", False),
        ("2026-03-09", "2026-03-09", True),
    ]


def test_a_discharge_on_the_first_of_a_month_folds_into_the_month_before() -> None:
    stay = StayDays(D("2026-01-10"), D("2026-02-01"))
    [january] = plan_cycles(stay, every(BillingPeriod.MONTHLY), today=TODAY)
    assert (january.first_day, january.last_day, january.final) == (
        D("2026-01-10"),
        D("2026-01-31"),
        True,
    )
    assert frequency_code(january, stay.admit_date) is FrequencyCode.ADMIT_THROUGH_DISCHARGE


def test_a_daily_program_folds_the_discharge_day_into_the_day_before() -> None:
    stay = StayDays(D("2026-01-10"), D("2026-01-13"))
    cycles = plan_cycles(stay, every(BillingPeriod.DAILY), today=TODAY)
    assert spans(cycles) == [
        ("2026-01-10", "2026-01-10", False),
        ("2026-01-11", "2026-01-11", False),
        ("2026-01-12", "2026-01-12", True),  # statement through the discharge date 01-13
    ]
    assert [frequency_code(c, stay.admit_date).value for c in cycles] == ["2", "3", "4"]


def test_a_same_day_admission_and_discharge_is_one_day() -> None:
    stay = StayDays(D("2026-01-10"), D("2026-01-10"))
    [cycle] = plan_cycles(stay, every(BillingPeriod.MONTHLY), today=TODAY)
    assert (cycle.first_day, cycle.last_day, cycle.final) == (
        D("2026-01-10"),
        D("2026-01-10"),
        True,
    )
    assert days_in_statement(cycle.first_day, D("2026-01-10"), through_is_a_stay_day=True) == 1


def test_span_runs_admission_through_discharge_and_stays_open_until_then() -> None:
    discharged = StayDays(D("2026-01-10"), D("2026-02-03"))
    [cycle] = plan_cycles(discharged, every(BillingPeriod.SPAN), today=TODAY)
    assert (cycle.first_day, cycle.last_day, cycle.final) == (
        D("2026-01-10"),
        D("2026-02-02"),
        True,
    )
    [open_span] = plan_cycles(StayDays(D("2026-01-10")), every(BillingPeriod.SPAN), today=TODAY)
    assert not open_span.closed(TODAY) and not open_span.closed(D("2030-01-01"))


def test_a_cycle_closes_when_its_whole_period_is_past_or_at_discharge() -> None:
    stay = StayDays(D("2026-11-10"))  # still a patient
    [november] = plan_cycles(stay, every(BillingPeriod.MONTHLY), today=TODAY)
    assert november.period_end == D("2026-11-30")
    assert not november.closed(D("2026-11-30"))
    assert november.closed(D("2026-12-01"))


def test_an_open_stay_is_cut_through_the_period_holding_today() -> None:
    stay = StayDays(D("2026-09-20"))
    cycles = plan_cycles(stay, every(BillingPeriod.MONTHLY), today=TODAY)
    assert [(c.first_day.isoformat(), c.closed(TODAY)) for c in cycles] == [
        ("2026-09-20", True),
        ("2026-10-01", True),
        ("2026-11-01", False),
    ]
    assert [frequency_code(c, stay.admit_date).value for c in cycles] == ["2", "3", "3"]


def test_days_billed_by_a_submitted_claim_stay_with_it_and_the_rest_is_cut_around() -> None:
    stay = StayDays(D("2026-01-10"), D("2026-02-03"))
    billed = [BilledRange("clm-1", DateRange(D("2026-01-10"), D("2026-01-31")))]
    cycles = plan_cycles(stay, every(BillingPeriod.WEEKLY), billed=billed, today=TODAY)
    assert cycles[0].billed_by == "clm-1"
    assert spans(cycles) == [
        ("2026-01-10", "2026-01-31", False),
        ("2026-02-01", "2026-02-01", False),  # Sunday: its week ends
        ("2026-02-02", "2026-02-02", True),
    ]


def test_an_explicit_cycle_is_cut_as_asked_and_the_period_resumes_after_it() -> None:
    stay = StayDays(D("2026-01-10"), D("2026-02-03"))
    explicit = [DateRange(D("2026-01-10"), D("2026-01-19"))]
    cycles = plan_cycles(stay, every(BillingPeriod.MONTHLY), explicit=explicit, today=TODAY)
    assert spans(cycles) == [
        ("2026-01-10", "2026-01-19", False),
        ("2026-01-20", "2026-01-31", False),
        ("2026-02-01", "2026-02-02", True),
    ]
    assert cycles[0].billing_period is None


def test_a_billing_period_change_applies_from_the_next_unbilled_cycle() -> None:
    def period_on(day: date) -> BillingPeriod:
        return BillingPeriod.MONTHLY if day < D("2026-02-10") else BillingPeriod.WEEKLY

    stay = StayDays(D("2026-01-10"), D("2026-02-20"))
    cycles = plan_cycles(stay, period_on, today=TODAY)
    assert spans(cycles) == [
        ("2026-01-10", "2026-01-31", False),
        ("2026-02-01", "2026-02-19", True),  # the month began under MONTHLY
    ]


def test_days_in_the_statement_period_count_the_through_date_only_for_a_patient_still_there() -> (
    None
):
    assert days_in_statement(D("2026-01-10"), D("2026-01-31"), through_is_a_stay_day=True) == 22
    assert days_in_statement(D("2026-02-01"), D("2026-02-03"), through_is_a_stay_day=False) == 2


# --------------------------------------------------------------------------- property


@st.composite
def stays(draw: st.DrawFn) -> tuple[StayContext, BillingPeriod, date]:
    admit = draw(st.dates(min_value=D("2025-01-01"), max_value=D("2026-06-30")))
    length = draw(st.integers(min_value=0, max_value=100))
    discharged = draw(st.booleans())
    program = draw(
        st.sampled_from(["residential", "adult-day"])
    )  # adult-day bills the discharge day
    end = admit + timedelta(days=length)
    leaves: list[Leave] = []
    cursor = admit
    for n in range(draw(st.integers(min_value=0, max_value=4))):
        start = cursor + timedelta(days=draw(st.integers(min_value=0, max_value=12)))
        if start >= end:
            break
        back: date | None = start + timedelta(days=draw(st.integers(min_value=1, max_value=9)))
        assert back is not None
        if discharged and back > end:
            back = end
        if not discharged and back >= end and draw(st.booleans()):
            back = None  # still away
        leaves.append(Leave(f"loa-{n}", start, "THERAPEUTIC", back))
        if back is None:
            break
        cursor = back
    stay = StayContext(
        "stay-p",
        1,
        "m-p",
        "fac-p",
        program,
        StayStatus.DISCHARGED if discharged else StayStatus.ADMITTED,
        Admission(admit, 9, "3", "1", "F332"),
        tuple(leaves),
        Discharge(end, 10, "01") if discharged else None,
    )
    today = end + timedelta(days=draw(st.integers(min_value=0, max_value=40)))
    return stay, draw(st.sampled_from(list(BillingPeriod))), today


def day_charges(stay: StayContext, days: list[date]) -> tuple[ChargeOnFile, ...]:
    """One READY day charge per stay day, as the charges service writes them."""
    billing = TENANT.program(stay.program_id).institutional_billing_on(stay.admission.admit_date)
    charges = []
    for day in days:
        away = any(
            v.start_date <= day and (v.return_date is None or day < v.return_date)
            for v in stay.leaves
        )
        amount = Decimal("0.00") if away else billing.daily_rate
        charges.append(
            ChargeOnFile(
                f"dc-{day}",
                1,
                "READY",
                "PER_DIEM",
                "INSTITUTIONAL",
                stay.member_id,
                stay.program_id,
                stay.facility_id,
                day,
                Decimal(1),
                amount,
                amount,
                payer_id="il-medicaid",
                revenue_code=billing.loa_revenue_code
                if away
                else billing.accommodation_revenue_code,
                unit_basis="DA",
                covered=not away,
                stay_id=stay.stay_id,
            )
        )
    return tuple(charges)


@settings(max_examples=150, deadline=None)
@given(stays())
def test_cycles_tile_the_stay_days_count_and_frequencies_run_in_order(
    drawn: tuple[StayContext, BillingPeriod, date],
) -> None:
    stay, period, today = drawn
    billing = TENANT.program(stay.program_id).institutional_billing_on(stay.admission.admit_date)
    discharge = stay.discharge.discharge_date if stay.discharge else None
    days = StayDays(stay.admission.admit_date, discharge, billing.discharge_day_billable)
    cycles = plan_cycles(days, every(period), today=today)

    # The cycles tile the stay days: from the admission, no gap, no overlap.
    assert cycles[0].first_day == days.admit_date
    for before, after in itertools.pairwise(cycles):
        assert after.first_day == before.last_day + timedelta(days=1)
    if days.last_day is not None:
        assert cycles[-1].last_day == days.last_day and cycles[-1].final
        assert all(not c.final for c in cycles[:-1])

    closed = [c for c in cycles if c.closed(today)]
    assert closed == cycles[: len(closed)]
    frequencies = "".join(frequency_code(c, days.admit_date).value for c in closed)
    if days.last_day is not None:
        assert frequencies == "1" or (
            frequencies.startswith("2")
            and frequencies.endswith("4")
            and set(frequencies[1:-1]) <= {"3"}
        )
    else:
        assert frequencies == "" or (frequencies[0] == "2" and set(frequencies[1:]) <= {"3"})

    # Every closed cycle's claim: covered + non-covered = days in its statement period.
    for cycle in closed:
        charges = day_charges(stay, cycle.days.days())
        inputs = CycleClaimInputs(
            "P000000001",
            1,
            stay.stay_id,
            stay.member_id,
            stay.program_id,
            cycle,
            stay,
            charges,
            None,
            None,
            TENANT,
            REVENUE_CODES,
        )
        content = build_cycle_claim(inputs)
        vc = {v.code: int(v.amount) for v in content.value_codes}
        assert vc["80"] + vc["81"] == content.days.days_in_period
        assert vc["81"] == content.days.expected_leave_days
        assert content.frequency_code.value == frequency_code(cycle, days.admit_date).value
        assert (content.patient_status == "30") is (not cycle.final)
        assert all(
            s.start >= content.statement_from and s.end <= content.statement_through
            for s in content.occurrence_spans
        )
        assert bool(content.occurrence_spans) is (vc["81"] > 0)
        issues = scrub_cycle_claim(inputs, content, PatternDiagnosisCodeSet(), DRGS)
        assert IssueCode.STAY_DAY_MISMATCH not in {i.code for i in issues}
