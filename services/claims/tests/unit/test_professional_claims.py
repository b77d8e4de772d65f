"""Building and scrubbing professional claims (SPEC 6), on the sample tenant `demo-bh`:
billing provider HARBOR BEHAVIORAL HEALTH, NPI 1999999984; group-therapy bands from
2026-01-01 Small 3-5 $50, Medium 6-10 $40, Large 11+ $30."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from claims.domain.building import (
    ClaimInputs,
    OpenClaim,
    build_professional_claim,
    claim_key_for,
    plan_claim_assignment,
)
from claims.domain.charges import (
    ChargeOnFile,
    ChargeRouting,
    GroupContext,
    Holder,
    hold_outlasts,
)
from claims.domain.charges import route_charge_change as route
from claims.domain.claims import (
    ClaimStatus,
    ScrubIssue,
    build_fingerprint,
    check_submittable,
    check_transition,
    patient_control_number,
    status_after_scrub,
)
from claims.domain.code_sets import PatternDiagnosisCodeSet
from claims.domain.projections import ClaimMember, Coverage, Person, Provider
from claims.domain.scrubbing import scrub_professional_claim
from common.errors import DomainError
from common.testing.processes import SAMPLE_TENANTS
from contracts.tenant import TenantConfig, load_tenant_config

TENANT = load_tenant_config(SAMPLE_TENANTS / "demo-bh.yaml")
BILLING_NPI = "1999999984"
DAY = date(2026, 3, 9)
ANN = Provider("prov-ann", "1700000007", "ANN", "JONES", "1041C0700X", True)
PATTERN = PatternDiagnosisCodeSet()


def charge(n: int = 1, **changes: object) -> ChargeOnFile:
    base = ChargeOnFile(
        charge_id=f"ch-{n}",
        charge_version=1,
        status="READY",
        kind="GROUP",
        filing_type="PROFESSIONAL",
        member_id="m-1",
        program_id="group-therapy",
        facility_id="fac-1",
        date_of_service=DAY,
        units=Decimal("1"),
        amount=Decimal("50.00"),
        rate=Decimal("50.00"),
        payer_id="acme-commercial",
        coverage_id="cov-1",
        procedure_code="90853",
        modifiers=("HQ",),
        rendering_provider_id="prov-ann",
        place_of_service="11",
        session_id=f"gs-{n}",
        group=GroupContext(f"gs-{n}", 1, 5, "Small", ("prov-ann",), "IL"),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def member(**changes: object) -> ClaimMember:
    base = ClaimMember(
        member_id="m-1",
        active=True,
        person=Person("JANE", "DOE", date(1970, 3, 15), "F"),
        coverages=(
            Coverage("cov-1", "acme-commercial", "ACM884201937", "18", True, date(2025, 1, 1)),
        ),
        diagnoses=("F332", "F411"),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def inputs(
    *charges: ChargeOnFile,
    who: ClaimMember | None = None,
    providers: dict[str, Provider] | None = None,
    tenant: TenantConfig = TENANT,
) -> ClaimInputs:
    charges = charges or (charge(),)
    return ClaimInputs(
        patient_control_number="P000000001",
        version=1,
        key=claim_key_for(charges[0], BILLING_NPI),
        charges=charges,
        member=who,
        providers={"prov-ann": ANN} if providers is None else providers,
        tenant=tenant,
    )


def scrub(claim_inputs: ClaimInputs) -> list[ScrubIssue]:
    content = build_professional_claim(claim_inputs)
    return list(scrub_professional_claim(claim_inputs, content, PATTERN))


def codes(issues: list[ScrubIssue]) -> list[str]:
    return [issue.code for issue in issues]


# --------------------------------------------------------------------------- which claim


def test_a_group_of_five_members_makes_five_claims() -> None:
    five = [charge(n, member_id=f"m-{n}", session_id="gs-1") for n in range(1, 6)]
    plan = plan_claim_assignment(five, [], BILLING_NPI)
    assert [c.key.member_id for c in plan.new_claims] == ["m-1", "m-2", "m-3", "m-4", "m-5"]
    assert all(len(c.charge_ids) == 1 for c in plan.new_claims)


def test_fifty_one_sessions_of_one_member_on_one_day_split_into_fifty_and_one() -> None:
    plan = plan_claim_assignment([charge(n) for n in range(1, 52)], [], BILLING_NPI)
    assert [len(c.charge_ids) for c in plan.new_claims] == [50, 1]


def test_a_charge_joins_the_open_claim_of_its_key_while_it_has_room() -> None:
    key = claim_key_for(charge(), BILLING_NPI)
    plan = plan_claim_assignment(
        [charge(1), charge(2)], [OpenClaim("clm-open", key, 49)], BILLING_NPI
    )
    assert plan.to_existing == {"clm-open": ("ch-1",)}
    assert [c.charge_ids for c in plan.new_claims] == [("ch-2",)]


def test_another_payer_or_another_day_is_another_claim() -> None:
    plan = plan_claim_assignment(
        [
            charge(1),
            charge(2, payer_id="il-medicaid"),
            charge(3, date_of_service=date(2026, 3, 10)),
        ],
        [],
        BILLING_NPI,
    )
    assert len(plan.new_claims) == 3


# --------------------------------------------------------------------------- content


def test_a_line_prints_the_charges_code_modifiers_units_amount_and_pointers() -> None:
    content = build_professional_claim(inputs(who=member()))
    [line] = content.lines
    assert (line.procedure_code, line.modifiers, line.units, line.amount) == (
        "90853",
        ("HQ",),
        Decimal("1"),
        Decimal("50.00"),
    )
    assert (line.date_of_service, line.diagnosis_pointers) == (DAY, (1, 2))
    assert line.line_control_number == "P000000001-1-1"
    assert content.diagnoses == ("F332", "F411")
    assert content.total_charge == Decimal("50.00")
    assert content.place_of_service == "11" and line.place_of_service is None


def test_pointers_name_at_most_the_first_four_of_twelve_diagnoses() -> None:
    twelve = tuple(f"F{n:02d}9" for n in range(10, 22))
    content = build_professional_claim(inputs(who=member(diagnoses=twelve)))
    assert content.diagnoses == twelve
    assert content.lines[0].diagnosis_pointers == (1, 2, 3, 4)


def test_the_rendering_provider_is_printed_when_not_the_billing_provider() -> None:
    content = build_professional_claim(inputs(who=member()))
    rendering = content.lines[0].rendering_provider
    assert rendering is not None and (rendering.npi, rendering.last_name) == ("1700000007", "JONES")


def test_the_rendering_provider_is_omitted_when_it_is_the_billing_provider() -> None:
    same = dataclasses.replace(ANN, npi=BILLING_NPI)
    content = build_professional_claim(inputs(who=member(), providers={"prov-ann": same}))
    assert content.lines[0].rendering_provider is None


def test_a_self_subscriber_is_the_member_and_there_is_no_patient_loop() -> None:
    content = build_professional_claim(inputs(who=member()))
    assert content.subscriber is not None and content.patient is None
    assert (content.subscriber.person.last_name, content.subscriber.member_id) == ("DOE", "m-1")
    assert content.subscriber.relationship_to_subscriber == "18"


def test_a_dependent_is_the_patient_under_the_policy_holders_subscriber_loop() -> None:
    holder = Person("JOHN", "DOE", date(1968, 11, 2), "M")
    spouse = Coverage(
        "cov-1", "acme-commercial", "ACM1", "01", True, date(2025, 1, 1), subscriber=holder
    )
    content = build_professional_claim(inputs(who=member(coverages=(spouse,))))
    assert content.subscriber is not None and content.patient is not None
    assert content.subscriber.person.first_name == "JOHN"
    assert content.subscriber.relationship_to_subscriber == "01"
    assert (content.patient.member_id, content.patient.person.first_name) == ("m-1", "JANE")


def test_payer_and_billing_provider_come_from_the_tenant_configuration() -> None:
    content = build_professional_claim(inputs(who=member()))
    assert content.payer is not None
    assert (content.payer.edi_payer_id, content.payer.claim_filing_indicator) == ("ACMEH", "CI")
    assert content.clearinghouse_id == "local-dev"
    assert (content.billing_provider.npi, content.billing_provider.tax_id) == (
        BILLING_NPI,
        "371234568",
    )
    assert content.pay_to_address is not None and content.pay_to_address.line1 == "PO BOX 4410"


def test_an_unchanged_rebuild_has_the_same_fingerprint_whatever_its_version() -> None:
    first = build_professional_claim(inputs(who=member()))
    second = build_professional_claim(dataclasses.replace(inputs(who=member()), version=2))
    assert build_fingerprint(first, []) == build_fingerprint(second, [])
    changed = build_professional_claim(inputs(charge(amount=Decimal("40.00")), who=member()))
    assert build_fingerprint(first, []) != build_fingerprint(changed, [])


# --------------------------------------------------------------------------- scrub


def test_a_complete_group_claim_scrubs_clean_and_is_ready() -> None:
    issues = scrub(inputs(who=member()))
    assert issues == []
    assert status_after_scrub(issues) is ClaimStatus.READY


def test_without_the_member_record_the_claim_waits_as_draft_with_missing_member() -> None:
    issues = scrub(inputs(who=None))
    assert codes(issues) == ["MISSING_MEMBER"]
    assert status_after_scrub(issues) is ClaimStatus.DRAFT


def test_no_coverage_with_the_payer_on_the_date_is_missing_subscriber() -> None:
    ended = Coverage(
        "cov-1", "acme-commercial", "ACM1", "18", True, date(2025, 1, 1), date(2026, 2, 28)
    )
    assert codes(scrub(inputs(who=member(coverages=(ended,))))) == ["MISSING_SUBSCRIBER"]


def test_no_diagnosis_is_missing_diagnosis() -> None:
    assert codes(scrub(inputs(who=member(diagnoses=())))) == ["MISSING_DIAGNOSIS"]


def test_an_invalid_diagnosis_is_an_error_naming_its_position_not_the_code() -> None:
    class Known:
        name = "test code set"

        def is_billable(self, code: str) -> bool:
            return code == "F332"

    claim_inputs = inputs(who=member())
    content = build_professional_claim(claim_inputs)
    issues = list(scrub_professional_claim(claim_inputs, content, Known()))
    assert codes(issues) == ["INVALID_DIAGNOSIS"]
    assert "diagnosis 2" in issues[0].message and "F411" not in issues[0].message


def test_a_rendering_npi_failing_the_check_digit_is_invalid_npi() -> None:
    bad = dataclasses.replace(ANN, npi="1700000008")
    issues = scrub(inputs(who=member(), providers={"prov-ann": bad}))
    assert codes(issues) == ["INVALID_NPI"]
    assert issues[0].line_number == 1


def test_a_billing_npi_failing_the_check_digit_is_invalid_npi() -> None:
    provider = TENANT.billing_provider.model_copy(update={"npi": "1999999985"})
    tenant = TENANT.model_copy(update={"billing_provider": provider})
    assert codes(scrub(inputs(who=member(), tenant=tenant))) == ["INVALID_NPI"]


def test_a_rendering_provider_not_yet_known_blocks() -> None:
    assert codes(scrub(inputs(who=member(), providers={}))) == ["MISSING_RENDERING_PROVIDER"]


def test_a_per_diem_charge_on_a_professional_program_is_a_filing_type_mismatch() -> None:
    day = charge(kind="PER_DIEM", procedure_code=None, revenue_code="1001", group=None)
    assert codes(scrub(inputs(day, who=member()))) == ["FILING_TYPE_MISMATCH"]


def test_a_group_charge_on_an_institutional_program_is_a_filing_type_mismatch() -> None:
    issues = scrub(inputs(charge(program_id="residential"), who=member()))
    assert "FILING_TYPE_MISMATCH" in codes(issues)


def test_two_billable_participants_are_below_the_minimum_and_block() -> None:
    two = charge(group=GroupContext("gs-1", 1, 2, None, ("prov-ann",), "IL"))
    issues = scrub(inputs(two, who=member()))
    assert codes(issues) == ["GROUP_SIZE_BELOW_MINIMUM"]
    assert status_after_scrub(issues) is ClaimStatus.DRAFT


def test_a_band_the_count_does_not_make_is_a_charge_context_mismatch() -> None:
    wrong = charge(group=GroupContext("gs-1", 1, 7, "Small", ("prov-ann",), "IL"))
    assert codes(scrub(inputs(wrong, who=member()))) == ["GROUP_CONTEXT_MISMATCH"]


def test_a_rate_that_is_not_the_bands_is_a_charge_context_mismatch() -> None:
    issues = scrub(inputs(charge(rate=Decimal("45.00")), who=member()))
    assert codes(issues) == ["GROUP_CONTEXT_MISMATCH"]


def test_no_supervisor_present_blocks() -> None:
    alone = charge(group=GroupContext("gs-1", 1, 5, "Small", (), "IL"))
    assert codes(scrub(inputs(alone, who=member()))) == ["NO_SUPERVISOR_PRESENT"]


def test_a_supervision_ratio_breach_is_a_warning_and_the_claim_is_ready() -> None:
    # IL allows 12 per supervisor: 13 billable participants with one supervisor breach it.
    crowded = charge(
        rate=Decimal("30.00"),
        amount=Decimal("30.00"),
        group=GroupContext("gs-1", 1, 13, "Large", ("prov-ann",), "IL"),
    )
    issues = scrub(inputs(crowded, who=member()))
    assert codes(issues) == ["SUPERVISION_RATIO_BREACH"]
    assert status_after_scrub(issues) is ClaimStatus.READY


# --------------------------------------------------------------------------- charge changes


def holder(status: ClaimStatus, same_key: bool = True) -> Holder:
    return Holder("clm-1", status, same_key)


def test_a_ready_charge_on_no_claim_joins_one() -> None:
    assert route(charge(), None, None) is ChargeRouting.JOIN


def test_a_needs_fix_or_institutional_charge_joins_nothing() -> None:
    assert route(charge(status="NEEDS_FIX"), None, None) is ChargeRouting.NOTHING
    assert route(charge(filing_type="INSTITUTIONAL"), None, None) is ChargeRouting.NOTHING


def test_a_charge_held_after_a_void_stays_held_through_the_echo_of_the_void() -> None:
    billed = charge(status="BILLED")
    assert hold_outlasts(charge(charge_version=2), billed)


def test_a_charge_held_after_a_void_is_let_go_once_it_bills_differently_or_not_at_all() -> None:
    billed = charge(status="BILLED")
    corrected = charge(charge_version=3, amount=Decimal("40.00"), rate=Decimal("40.00"))
    assert not hold_outlasts(corrected, billed)
    assert not hold_outlasts(charge(status="VOID"), billed)
    assert not hold_outlasts(charge(status="NEEDS_FIX"), billed)


def test_a_voided_charge_leaves_its_draft_or_ready_claim() -> None:
    for status in (ClaimStatus.DRAFT, ClaimStatus.READY):
        assert route(charge(status="VOID"), charge(), holder(status)) is ChargeRouting.LEAVE_HOLDER


def test_a_voided_charge_marks_its_submitted_claim_stale() -> None:
    voided = charge(status="VOID", charge_version=2)
    assert route(voided, charge(), holder(ClaimStatus.SUBMITTED)) is ChargeRouting.STALE_HOLDER


def test_the_on_claim_echo_of_a_charge_changes_nothing() -> None:
    echo = charge(status="ON_CLAIM", charge_version=2)
    for status in (ClaimStatus.READY, ClaimStatus.SUBMITTED):
        assert route(echo, charge(), holder(status)) is ChargeRouting.NOTHING


def test_a_repriced_charge_rebuilds_its_unsubmitted_claim() -> None:
    fixed = charge(charge_version=2, amount=Decimal("40.00"))
    assert route(fixed, charge(), holder(ClaimStatus.DRAFT)) is ChargeRouting.REBUILD_HOLDER


def test_a_charge_whose_payer_changed_moves_to_another_claim() -> None:
    moved = charge(charge_version=2, payer_id="il-medicaid")
    assert route(moved, charge(), holder(ClaimStatus.DRAFT, False)) is ChargeRouting.MOVE


# --------------------------------------------------------------------------- lifecycle


def test_patient_control_numbers_are_p_and_nine_digits() -> None:
    assert patient_control_number(1) == "P000000001"
    assert len(patient_control_number(999_999_999)) == 10
    with pytest.raises(ValueError):
        patient_control_number(1_000_000_000)


def test_only_a_ready_claim_can_be_submitted() -> None:
    check_submittable("clm-1", ClaimStatus.READY)
    for status in (ClaimStatus.DRAFT, ClaimStatus.SUBMITTED, ClaimStatus.REJECTED):
        with pytest.raises(DomainError) as refused:
            check_submittable("clm-1", status)
        assert refused.value.code == "CLAIM_NOT_READY"


def test_a_submitted_claim_cannot_go_back_to_draft() -> None:
    with pytest.raises(DomainError) as refused:
        check_transition("clm-1", ClaimStatus.SUBMITTED, ClaimStatus.DRAFT)
    assert refused.value.code == "ILLEGAL_CLAIM_TRANSITION"


def test_units_other_than_the_programs_per_session_units_are_a_context_mismatch() -> None:
    assert codes(scrub(inputs(charge(units=Decimal("2")), who=member()))) == [
        "GROUP_CONTEXT_MISMATCH"
    ]


def test_modifiers_other_than_the_program_and_payer_rules_give_are_a_context_mismatch() -> None:
    # il-medicaid replaces the injected HQ with HG on 90853.
    medicaid = Coverage("cov-1", "il-medicaid", "MCD1", "18", True, date(2025, 1, 1))
    who = member(coverages=(medicaid,))
    assert scrub(inputs(charge(payer_id="il-medicaid", modifiers=("HG",)), who=who)) == []
    wrong = charge(payer_id="il-medicaid", modifiers=("HQ",))
    assert codes(scrub(inputs(wrong, who=who))) == ["GROUP_CONTEXT_MISMATCH"]
