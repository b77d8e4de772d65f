"""Pricing a closed session: band rate in force on the date, modifiers, units, place of
service, rendering provider, payer; what cannot be decided is an issue, never a guess."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from charges.domain.charges import PricingOverride, charge_id_for
from charges.domain.pricing import CoverageOnDate, price_session
from charges.domain.projections import CoveragePeriod
from contracts.events.charges import ChargeStatus

from ..group_sessions import DEMO, closed


def covered_by(payer_id: str) -> CoverageOnDate:
    return CoverageOnDate(
        True, CoveragePeriod(f"cov-{payer_id}", payer_id, "18", True, date(2026, 1, 1))
    )


UNCOVERED = CoverageOnDate(True, None)
NONE = PricingOverride()


def test_vector_1_five_billable_price_at_the_small_band_50_dollars_with_hq() -> None:
    pricing = price_session(closed(), DEMO)
    assert pricing.evaluation.billable_count == 5
    assert pricing.context().band_name == "Small"
    terms = pricing.terms_for("m-1", covered_by("acme-commercial"), NONE)
    assert terms.status is ChargeStatus.READY
    assert terms.rate == Decimal("50.00")
    assert terms.amount == Decimal("50.00")
    assert terms.units == Decimal(1)
    assert terms.modifiers == ("HQ",)
    assert terms.place_of_service == "11"
    assert terms.rendering_provider_id == "prov-ann"
    assert (terms.payer_id, terms.coverage_id) == ("acme-commercial", "cov-acme-commercial")
    assert terms.date_of_service == date(2026, 3, 9)


def test_the_medicaid_payer_replaces_hq_with_hg() -> None:
    terms = price_session(closed(), DEMO).terms_for("m-1", covered_by("il-medicaid"), NONE)
    assert terms.modifiers == ("HG",)
    assert terms.amount == Decimal("50.00")


def test_vector_1_with_left_early_billable_six_price_at_the_medium_band_40_dollars() -> None:
    pricing = price_session(closed(billable=("ATTENDED", "LATE", "LEFT_EARLY")), DEMO)
    assert pricing.evaluation.billable_count == 6
    terms = pricing.terms_for("m-6", covered_by("acme-commercial"), NONE)
    assert (terms.group.band_name, terms.rate, terms.amount) == (
        "Medium",
        Decimal("40.00"),
        Decimal("40.00"),
    )


def test_the_rate_in_force_on_the_date_of_service_applies_not_a_later_one() -> None:
    # The sample's 2025 version: Small at $45.00; the 2026 version ($50.00) does not reach back.
    terms = price_session(closed(session_date="2025-12-31"), DEMO).terms_for(
        "m-1", covered_by("acme-commercial"), NONE
    )
    assert terms.rate == Decimal("45.00")


def test_no_primary_coverage_on_the_date_needs_a_fix() -> None:
    terms = price_session(closed(), DEMO).terms_for("m-1", UNCOVERED, NONE)
    assert terms.status is ChargeStatus.NEEDS_FIX
    assert [i.code for i in terms.issues] == ["NO_ACTIVE_COVERAGE"]
    assert terms.payer_id is None
    assert terms.modifiers == ("HQ",)  # the program's injection; no payer rule to apply


def test_an_unknown_member_needs_a_fix_for_coverage_too() -> None:
    terms = price_session(closed(), DEMO).terms_for("m-1", CoverageOnDate(False, None), NONE)
    assert [i.code for i in terms.issues] == ["NO_ACTIVE_COVERAGE"]


def test_no_pricing_version_in_force_is_a_missing_rate_not_a_guess() -> None:
    terms = price_session(closed(session_date="2024-06-03"), DEMO).terms_for(
        "m-1", covered_by("acme-commercial"), NONE
    )
    assert terms.status is ChargeStatus.NEEDS_FIX
    assert [i.code for i in terms.issues] == ["MISSING_RATE"]
    assert (terms.rate, terms.amount) == (Decimal("0.00"), Decimal("0.00"))


def test_a_program_without_group_pricing_is_a_missing_rate() -> None:
    terms = price_session(closed(program_id="residential"), DEMO).terms_for(
        "m-1", covered_by("acme-commercial"), NONE
    )
    assert [i.code for i in terms.issues] == ["MISSING_RATE"]


def test_two_billable_participants_are_below_the_smallest_band() -> None:
    roster = [("m-1", "ATTENDED"), ("m-2", "LATE"), ("m-3", "ABSENT")]
    terms = price_session(closed(roster=roster), DEMO).terms_for(
        "m-1", covered_by("acme-commercial"), NONE
    )
    assert [i.code for i in terms.issues] == ["GROUP_SIZE_BELOW_MINIMUM"]
    assert terms.group.band_name is None
    assert terms.amount == Decimal("0.00")


def test_no_supervisor_present_blocks_billing() -> None:
    pricing = price_session(closed(supervisors=[("prov-ann", "ABSENT")]), DEMO)
    terms = pricing.terms_for("m-1", covered_by("acme-commercial"), NONE)
    assert [i.code for i in terms.issues] == ["NO_SUPERVISOR_PRESENT"]
    assert terms.rendering_provider_id is None


def test_a_payer_missing_from_the_configuration_needs_a_fix() -> None:
    terms = price_session(closed(), DEMO).terms_for("m-1", covered_by("mystery-plan"), NONE)
    assert [i.code for i in terms.issues] == ["PAYER_NOT_CONFIGURED"]


def test_an_override_bills_the_payer_and_rate_the_operator_chose() -> None:
    override = PricingOverride(
        payer_id="il-medicaid", rate=Decimal("47.50"), reason="contract rate"
    )
    terms = price_session(closed(), DEMO).terms_for("m-1", UNCOVERED, override)
    assert terms.status is ChargeStatus.READY
    assert (terms.payer_id, terms.rate, terms.amount, terms.modifiers) == (
        "il-medicaid",
        Decimal("47.50"),
        Decimal("47.50"),
        ("HG",),
    )


def test_a_charge_id_is_the_same_for_a_session_and_member_and_differs_otherwise() -> None:
    first = charge_id_for("demo-bh", "gs-1", "m-1")
    assert first == charge_id_for("demo-bh", "gs-1", "m-1")
    assert len(first) <= 64
    assert first != charge_id_for("demo-bh", "gs-1", "m-2")
    assert charge_id_for("t", "a-b", "c") != charge_id_for("t", "a", "b-c")
    assert first != charge_id_for("other-tenant", "gs-1", "m-1")
