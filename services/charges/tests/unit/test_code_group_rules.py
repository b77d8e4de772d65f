"""The rules of billing code groups, without a database: the code universe, group names,
assignment periods, and what enforcement adds to a group charge."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from charges.adapters.reference import parse_billing_codes, reference_billing_codes
from charges.domain.charges import PricingOverride
from charges.domain.code_groups import (
    AssignmentPeriod,
    BillingCodeGroup,
    CodeAssignmentFacts,
    CodeGroupRuleViolation,
    CodeSource,
    CodeUniverse,
    default_since_after,
    ended_through,
    group_name_key,
)
from charges.domain.pricing import CoverageOnDate, price_session
from charges.domain.projections import CoveragePeriod

from ..group_sessions import DEMO, closed

UNIVERSE = CodeUniverse.for_tenant(reference_billing_codes(), DEMO)
ACME = CoveragePeriod("cov-1", "acme-commercial", "18", True, date(2024, 1, 1))


def test_the_universe_is_the_reference_list_plus_the_programs_service_codes() -> None:
    assert {"90791", "90832", "90834", "90837", "90847", "H0005", "99080"} <= {
        c.code for c in UNIVERSE.codes
    }
    group_code = UNIVERSE.get("90853")
    assert group_code is not None
    assert group_code.sources == (CodeSource.REFERENCE, CodeSource.PROGRAM)


def test_a_program_code_missing_from_the_reference_list_is_in_the_universe() -> None:
    reference = parse_billing_codes("code,kind,nonbillable,description\n90791,CPT,N,Eval\n")
    universe = CodeUniverse.for_tenant(reference, DEMO)
    assert [c.code for c in universe.codes] == ["90791", "90853"]
    assert universe.get("90853") is not None
    assert universe.get("90853").sources == (CodeSource.PROGRAM,)  # type: ignore[union-attr]


def test_codes_are_trimmed_upper_cased_deduplicated_and_sorted() -> None:
    assert UNIVERSE.require([" h0005", "90837", "90837"]) == ["90837", "H0005"]


def test_an_unknown_code_is_refused_naming_every_unknown_one() -> None:
    with pytest.raises(CodeGroupRuleViolation) as refused:
        UNIVERSE.require(["90837", "99999", "ABCDE"])
    assert refused.value.code == "UNKNOWN_BILLING_CODE"
    assert refused.value.details["codes"] == ["99999", "ABCDE"]


def test_the_seeds_ubh_group_leaves_90837_in_the_unassigned_column() -> None:
    assigned, unassigned = UNIVERSE.split(["90791", "90832", "90834", "90847"])
    assert [c.code for c in assigned] == ["90791", "90832", "90834", "90847"]
    assert "90837" in {c.code for c in unassigned}
    assert len(assigned) + len(unassigned) == len(UNIVERSE)


def test_group_names_compare_without_case_or_extra_spaces() -> None:
    assert group_name_key("BCBS Auth Group") == group_name_key("  bcbs   AUTH group ")
    with pytest.raises(CodeGroupRuleViolation) as refused:
        group_name_key("   ")
    assert refused.value.code == "GROUP_NAME_REQUIRED"


def test_an_end_date_before_the_start_date_is_refused() -> None:
    with pytest.raises(CodeGroupRuleViolation) as refused:
        AssignmentPeriod(date(2026, 3, 1), date(2026, 2, 28))
    assert refused.value.code == "END_BEFORE_START"
    one_day = AssignmentPeriod(date(2026, 3, 1), date(2026, 3, 1))
    assert one_day.in_force_on(date(2026, 3, 1))
    assert not one_day.in_force_on(date(2026, 3, 2))


def test_ending_an_assignment_before_it_starts_leaves_it_never_in_force() -> None:
    assert ended_through(date(2026, 1, 1), date(2026, 3, 31)) == date(2026, 3, 31)
    assert ended_through(date(2026, 7, 1), date(2026, 3, 31)) == date(2026, 6, 30)


def test_a_default_group_reaches_who_becomes_active_after_it_was_marked() -> None:
    marked = datetime(2026, 3, 1, 12, tzinfo=UTC)
    group = BillingCodeGroup("t", "g", "Intake", True, True, marked, 1, ("90791",))
    assert group.assigned_automatically_to(datetime(2026, 3, 2, tzinfo=UTC))
    assert not group.assigned_automatically_to(datetime(2026, 2, 28, tzinfo=UTC))
    inactive = BillingCodeGroup("t", "g", "Intake", False, True, marked, 1, ("90791",))
    assert not inactive.assigned_automatically_to(datetime(2026, 3, 2, tzinfo=UTC))
    later = datetime(2026, 4, 1, tzinfo=UTC)
    assert default_since_after(group, True, later) == marked  # stays default: kept
    assert default_since_after(group, False, later) is None
    assert default_since_after(None, True, later) == later


def test_with_enforcement_off_a_group_charge_ignores_code_assignment() -> None:
    pricing = price_session(closed(), DEMO)
    terms = pricing.terms_for("m-1", CoverageOnDate(True, ACME), PricingOverride())
    assert terms.issues == ()


def test_with_enforcement_on_an_unassigned_code_needs_a_fix_for_member_and_staff() -> None:
    enforced = DEMO.model_copy(update={"enforce_code_assignment": True})
    pricing = price_session(closed(), enforced)
    facts = CodeAssignmentFacts(
        "90853", member_assigned=False, staff_id="prov-ann", staff_assigned=False
    )
    terms = pricing.terms_for("m-1", CoverageOnDate(True, ACME), PricingOverride(), facts)
    assert [i.code for i in terms.issues] == [
        "CODE_NOT_ASSIGNED_TO_MEMBER",
        "CODE_NOT_ASSIGNED_TO_STAFF",
    ]
    assert terms.issues[1].message == (
        "code 90853 is not assigned to the rendering staff prov-ann on 2026-03-09"
    )


def test_with_enforcement_on_an_assigned_code_prices_ready() -> None:
    enforced = DEMO.model_copy(update={"enforce_code_assignment": True})
    pricing = price_session(closed(), enforced)
    facts = CodeAssignmentFacts("90853", True, "prov-ann", True)
    terms = pricing.terms_for("m-1", CoverageOnDate(True, ACME), PricingOverride(), facts)
    assert terms.issues == ()
