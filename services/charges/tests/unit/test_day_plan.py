"""The days of a stay and how each bills (SPEC 5 per-diem, SPEC 6 the midnight rule), and
a day charge's versions as its stay changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from charges.domain.charges import Charge, PricingOverride, VoidCause, day_charge_id_for
from charges.domain.per_diem import (
    StayDayPlan,
    StayNotBilledPerDiem,
    complete_through,
    completes_at,
    reprice_day,
)
from charges.domain.pricing import CoverageOnDate
from charges.domain.projections import CoveragePeriod
from contracts.events.charges import ChargeStatus, UnitBasis
from contracts.events.claims import ClaimStatus
from contracts.events.stays import StayStatus

from ..group_sessions import DEMO
from ..stays import V2_LEAVE, stay

ACME = CoverageOnDate(
    True, CoveragePeriod("cov-1", "acme-commercial", "18", True, date(2025, 1, 1))
)
MEDICAID = CoverageOnDate(
    True, CoveragePeriod("cov-2", "il-medicaid", "18", True, date(2025, 1, 1))
)
NONE = CoverageOnDate(True, None)
CHICAGO = ZoneInfo("America/Chicago")


def d(iso: str) -> date:
    return date.fromisoformat(iso)


def priced(plan: StayDayPlan, coverage: CoverageOnDate = ACME) -> dict[date, tuple[object, ...]]:
    """Every stay day through the last: (revenue code, rate, covered, status)."""
    through = plan.write_through(d("2026-12-31"))
    days = {}
    for day in plan.days(None, through):
        terms = plan.price(DEMO, day, coverage, PricingOverride())
        days[day] = (terms.revenue_code, terms.amount, terms.covered, terms.status.value)
    return days


# --------------------------------------------------------------------------- the days


def test_vector_2_bills_24_days_22_in_january_3_of_them_leave_and_2_in_february() -> None:
    plan = StayDayPlan.of(stay(leaves=[V2_LEAVE], discharge="2026-02-03"), DEMO)
    days = priced(plan)
    assert (min(days), max(days), len(days)) == (d("2026-01-10"), d("2026-02-02"), 24)
    january = {day: v for day, v in days.items() if day.month == 1}
    february = {day: v for day, v in days.items() if day.month == 2}
    assert len(january) == 22 and len(february) == 2
    leave = [d("2026-01-20"), d("2026-01-21"), d("2026-01-22")]
    for day in leave:
        assert days[day] == ("0183", Decimal("0.00"), False, "READY")
    covered = [v for day, v in days.items() if day not in leave]
    assert covered == [("1001", Decimal("300.00"), True, "READY")] * 21
    assert sum(v[1] for day, v in january.items()) == Decimal("5700.00")  # 19 x $300
    assert sum(v[1] for v in february.values()) == Decimal("600.00")
    assert d("2026-02-03") not in days  # the discharge day does not bill
    assert not plan.has(d("2026-02-03")) and not plan.has(d("2026-01-09"))


def test_a_same_day_admission_and_discharge_is_one_day() -> None:
    plan = StayDayPlan.of(stay(admit="2026-03-02", discharge="2026-03-02"), DEMO)
    assert list(priced(plan)) == [d("2026-03-02")]


def test_the_adult_day_program_bills_the_discharge_day_vector_3() -> None:
    plan = StayDayPlan.of(
        stay(admit="2026-03-08", discharge="2026-03-09", program_id="adult-day"), DEMO
    )
    assert priced(plan) == {
        d("2026-03-08"): ("3103", Decimal("85.00"), True, "READY"),  # Sunday
        d("2026-03-09"): ("3103", Decimal("85.00"), True, "READY"),  # Monday
    }


def test_an_open_stay_writes_through_the_last_complete_day_and_an_open_leave_is_leave_on() -> None:
    plan = StayDayPlan.of(
        stay(admit="2026-03-01", leaves=[("loa-1", "2026-03-05", None, "THERAPEUTIC")]), DEMO
    )
    assert plan.last_day is None and not plan.closed
    days = list(plan.days(None, plan.write_through(d("2026-03-07"))))
    assert days == [d("2026-03-0" + str(n)) for n in range(1, 8)]
    assert [plan.leave_on(day) is not None for day in days] == [False] * 4 + [True] * 3
    assert list(plan.days(d("2026-03-07"), d("2026-03-09"))) == [d("2026-03-08"), d("2026-03-09")]


def test_a_stay_entered_in_error_has_no_day() -> None:
    plan = StayDayPlan.of(stay(status=StayStatus.ENTERED_IN_ERROR), DEMO)
    assert plan.closed and plan.write_through(d("2026-03-01")) is None
    assert not plan.has(d("2026-01-10"))


def test_a_stay_in_a_program_without_per_diem_billing_is_refused() -> None:
    with pytest.raises(StayNotBilledPerDiem) as refusal:
        StayDayPlan.of(stay(program_id="group-therapy"), DEMO)
    assert refusal.value.code == "PROGRAM_NOT_INSTITUTIONAL"


# --------------------------------------------------------------------------- pricing


def test_a_hospital_leave_bills_0185_at_the_medicaid_bed_hold_rate_and_0_for_others() -> None:
    plan = StayDayPlan.of(
        stay(leaves=[("loa-h", "2026-01-20", "2026-01-22", "HOSPITALIZATION")]), DEMO
    )
    medicaid = plan.price(DEMO, d("2026-01-20"), MEDICAID, PricingOverride())
    assert (medicaid.revenue_code, medicaid.amount, medicaid.covered) == (
        "0185",
        Decimal("100.00"),
        False,
    )
    acme = plan.price(DEMO, d("2026-01-21"), ACME, PricingOverride())
    assert (acme.revenue_code, acme.amount) == ("0185", Decimal("0.00"))
    convenience = StayDayPlan.of(
        stay(leaves=[("loa-p", "2026-01-20", "2026-01-21", "PATIENT_CONVENIENCE")]), DEMO
    ).price(DEMO, d("2026-01-20"), MEDICAID, PricingOverride())
    assert (convenience.revenue_code, convenience.amount) == ("0182", Decimal("0.00"))


def test_a_day_is_one_unit_of_days_with_its_payer_and_stay() -> None:
    plan = StayDayPlan.of(stay(version=3), DEMO)
    terms = plan.price(DEMO, d("2026-01-12"), ACME, PricingOverride())
    assert (terms.units, terms.unit_basis, terms.procedure_code) == (1, UnitBasis.DAYS, None)
    assert (terms.payer_id, terms.coverage_id) == ("acme-commercial", "cov-1")
    assert terms.stay is not None and (terms.stay.stay_id, terms.stay.stay_version) == ("stay-1", 3)
    assert terms.kind.value == "PER_DIEM" and terms.filing_type.value == "INSTITUTIONAL"


def test_a_day_without_coverage_needs_a_fix() -> None:
    plan = StayDayPlan.of(stay(), DEMO)
    terms = plan.price(DEMO, d("2026-01-12"), NONE, PricingOverride())
    assert terms.status is ChargeStatus.NEEDS_FIX
    assert [i.code for i in terms.issues] == ["NO_ACTIVE_COVERAGE"]


def test_a_day_without_an_institutional_version_in_force_has_a_missing_rate() -> None:
    # The residential program's only version starts on 2026-02-01 here.
    residential = DEMO.program("residential")
    later = residential.institutional[0].model_copy(update={"effective_from": d("2026-02-01")})
    programs = [
        p.model_copy(update={"institutional": [later]}) if p.id == "residential" else p
        for p in DEMO.programs
    ]
    tenant = DEMO.model_copy(update={"programs": programs})
    plan = StayDayPlan.of(stay(), tenant)
    terms = plan.price(tenant, d("2026-01-31"), ACME, PricingOverride())
    assert (terms.revenue_code, terms.amount, terms.status) == (
        "1001",
        Decimal("0.00"),
        ChargeStatus.NEEDS_FIX,
    )
    assert [i.code for i in terms.issues] == ["MISSING_RATE"]
    fixed = plan.price(tenant, d("2026-01-31"), ACME, PricingOverride(rate=Decimal("280")))
    assert (fixed.amount, fixed.status) == (Decimal("280.00"), ChargeStatus.READY)


def test_an_operators_rate_is_dropped_when_the_day_becomes_a_leave_day() -> None:
    override = PricingOverride(rate=Decimal("250.00"), reason="contract rate")
    covered = StayDayPlan.of(stay(), DEMO)
    terms, kept = reprice_day(covered, DEMO, d("2026-01-20"), ACME, override, "1001")
    assert (terms.amount, kept) == (Decimal("250.00"), override)
    away = StayDayPlan.of(stay(leaves=[V2_LEAVE], version=2), DEMO)
    terms, kept = reprice_day(away, DEMO, d("2026-01-20"), ACME, override, "1001")
    assert (terms.revenue_code, terms.amount, kept) == ("0183", Decimal("0.00"), PricingOverride())


# --------------------------------------------------------------------------- time


def test_a_day_completes_at_the_midnight_after_it_where_the_facility_is() -> None:
    assert completes_at(d("2026-03-12"), CHICAGO) == datetime(2026, 3, 13, 5, tzinfo=UTC)
    just_before = datetime(2026, 3, 13, 4, 59, 59, tzinfo=UTC)
    assert complete_through(just_before, CHICAGO) == d("2026-03-11")
    assert complete_through(just_before + timedelta(seconds=1), CHICAGO) == d("2026-03-12")
    assert complete_through(just_before, ZoneInfo("America/New_York")) == d("2026-03-12")


def test_the_next_day_to_write_of_an_open_stay() -> None:
    plan = StayDayPlan.of(stay(admit="2026-03-09"), DEMO)
    assert plan.next_day_to_write(None) == d("2026-03-09")
    assert plan.next_day_to_write(d("2026-03-08")) == d("2026-03-09")
    assert plan.next_day_to_write(d("2026-03-11")) == d("2026-03-12")
    assert StayDayPlan.of(stay(discharge="2026-03-12"), DEMO).next_day_to_write(None) is None


# --------------------------------------------------------------------------- versions


def day_charge(plan: StayDayPlan, day: str = "2026-01-20") -> Charge:
    terms = plan.price(DEMO, d(day), ACME, PricingOverride())
    return Charge.build("demo-bh", day_charge_id_for("demo-bh", "stay-1", d(day)), terms)


def test_a_day_charge_id_is_stable_per_tenant_stay_and_date() -> None:
    day = d("2026-01-20")
    assert day_charge_id_for("demo-bh", "stay-1", day) == day_charge_id_for(
        "demo-bh", "stay-1", day
    )
    assert day_charge_id_for("demo-bh", "stay-1", day) != day_charge_id_for("other", "stay-1", day)
    assert len(day_charge_id_for("demo-bh", "s" * 64, day)) <= 64


def test_a_newer_stay_version_that_bills_the_day_alike_changes_nothing() -> None:
    charge = day_charge(StayDayPlan.of(stay(), DEMO))
    newer = StayDayPlan.of(stay(version=5), DEMO).price(
        DEMO, d("2026-01-20"), ACME, PricingOverride()
    )
    assert charge.rewritten_from_stay(newer, PricingOverride()) is None


def test_a_late_leave_rewrites_a_covered_day_as_a_leave_day() -> None:
    charge = day_charge(StayDayPlan.of(stay(), DEMO))
    away = StayDayPlan.of(stay(leaves=[V2_LEAVE], version=2), DEMO)
    after = charge.rewritten_from_stay(
        away.price(DEMO, d("2026-01-20"), ACME, PricingOverride()), PricingOverride()
    )
    assert after is not None and (after.version, after.status) == (2, ChargeStatus.READY)
    assert (after.terms.revenue_code, after.terms.covered) == ("0183", False)
    assert after.terms.stay is not None and after.terms.stay.stay_version == 2


def test_a_day_on_a_sent_claim_is_still_rewritten_and_keeps_its_claim() -> None:
    charge = day_charge(StayDayPlan.of(stay(), DEMO))
    held = charge.with_claim_status("clm-1", 1, ClaimStatus.SUBMITTED, named=True)
    assert held is not None and held.status is ChargeStatus.ON_CLAIM
    away = StayDayPlan.of(stay(leaves=[V2_LEAVE], version=2), DEMO)
    after = held.rewritten_from_stay(
        away.price(DEMO, d("2026-01-20"), ACME, PricingOverride()), PricingOverride()
    )
    assert after is not None and after.version == held.version + 1
    assert (after.status, after.claim) == (ChargeStatus.ON_CLAIM, held.claim)
    voided = after.voided_by_stay("entered in error")
    assert voided is not None and (voided.status, voided.claim) == (ChargeStatus.VOID, None)


def test_a_day_the_stay_voided_comes_back_but_one_an_operator_voided_does_not() -> None:
    plan = StayDayPlan.of(stay(), DEMO)
    charge = day_charge(plan)
    terms = plan.price(DEMO, d("2026-01-20"), ACME, PricingOverride())
    by_stay = charge.voided_by_stay("discharged earlier")
    assert by_stay is not None and by_stay.void_cause is VoidCause.SOURCE
    back = by_stay.rewritten_from_stay(terms, PricingOverride())
    assert back is not None and (back.status, back.version) == (ChargeStatus.READY, 3)
    by_operator = charge.voided_by_operator("billed elsewhere")
    assert by_operator is not None and by_operator.void_cause is VoidCause.OPERATOR
    assert by_operator.rewritten_from_stay(terms, PricingOverride()) is None
