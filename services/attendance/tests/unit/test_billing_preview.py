"""The billing preview's facts from the tenant configuration (the demo tenant: SPEC 12
vector 1's bands on the group-therapy program from 2026-01-01; ratio 12 per supervisor in
IL, 10 for il-medicaid in IL) and the group rules run on them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from attendance.domain.billing import (
    CoveragePeriod,
    billing_rules_for,
    evaluate_session,
    primary_payer_on,
)
from attendance.domain.errors import BILLING_POLICY_UNAVAILABLE
from attendance.domain.model import GroupSession, SessionPlan
from attendance.domain.roster import AttendanceStatus as S
from common.errors import DomainError
from common.testing.processes import SAMPLE_TENANTS
from contracts.tenant import TenantConfig, load_tenant_configs
from contracts.tenant.model import AttendancePolicy, BillableStatusesVersion

AT = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
DAY = date(2026, 3, 9)
TENANT = load_tenant_configs(SAMPLE_TENANTS)["demo-bh"]

VECTOR_1 = {
    "m1": S.ATTENDED,
    "m2": S.ATTENDED,
    "m3": S.ATTENDED,
    "m4": S.ATTENDED,
    "m5": S.LATE,
    "m6": S.LEFT_EARLY,
    "m7": S.ABSENT,
}


def session(
    statuses: dict[str, S],
    *,
    supervisors: dict[str, S] | None = None,
    program: str = "group-therapy",
    day: date = DAY,
) -> GroupSession:
    supervisors = {"p1": S.ATTENDED} if supervisors is None else supervisors
    plan = SessionPlan.of(
        facility_id="fac-1",
        program_id=program,
        session_date=day,
        start_time=time(9, 0),
        end_time=time(10, 0),
        group_type="PROCESS_GROUP",
        service_code="90853",
        participants=list(statuses),
        supervisors=list(supervisors),
    )
    s = GroupSession.schedule(
        tenant_id="demo-bh",
        session_id="gs-1",
        plan=plan,
        actor="feed",
        at=AT,
        initial_statuses=statuses,
    )
    for provider, status in supervisors.items():
        if status is not S.SCHEDULED:
            s.mark_supervisor(provider, status, actor="u", at=AT)
    return s


def medicaid(member: str) -> list[CoveragePeriod]:
    return [CoveragePeriod(f"cov-{member}", "il-medicaid", True, date(2025, 1, 1))]


def commercial(member: str) -> list[CoveragePeriod]:
    return [CoveragePeriod(f"cov-{member}", "acme-commercial", True, date(2025, 1, 1))]


def with_left_early_billable(tenant: TenantConfig) -> TenantConfig:
    policy = AttendancePolicy(
        billable_statuses=[
            BillableStatusesVersion(
                statuses=["ATTENDED", "LATE", "LEFT_EARLY"], effective_from=date(2025, 1, 1)
            )
        ],
        supervision_ratios=tenant.attendance_policy.supervision_ratios,
    )
    return tenant.model_copy(update={"attendance_policy": policy})


def test_vector_1_bills_five_in_the_small_band_at_50() -> None:
    s = session(VECTOR_1)
    rules = billing_rules_for(TENANT, s, coverages={}, facility_state="IL")
    preview = evaluate_session(s, rules)
    assert rules.billable_statuses_in_order == [S.ATTENDED, S.LATE]
    assert preview.billable_count == 5
    assert preview.band is not None
    assert (preview.band.name, str(preview.band.rate_per_participant)) == ("Small", "50.00")
    assert preview.issues == ()


def test_vector_1_with_left_early_billable_bills_six_in_the_medium_band_at_40() -> None:
    s = session(VECTOR_1)
    rules = billing_rules_for(
        with_left_early_billable(TENANT), s, coverages={}, facility_state="IL"
    )
    preview = evaluate_session(s, rules)
    assert preview.billable_count == 6
    assert preview.band is not None
    assert (preview.band.name, str(preview.band.rate_per_participant)) == ("Medium", "40.00")


def test_without_coverage_payer_checks_are_skipped_and_the_preview_says_why() -> None:
    s = session(VECTOR_1)
    rules = billing_rules_for(TENANT, s, coverages={}, facility_state="IL")
    assert rules.payer_checks_skipped is True
    assert rules.supervision_ratio is None
    assert rules.payer_checks_skipped_reason is not None
    assert "no primary coverage" in rules.payer_checks_skipped_reason
    assert evaluate_session(s, rules).payer_checks_skipped is True


def test_eleven_medicaid_members_with_one_supervisor_in_il_breach_the_ratio_of_10() -> None:
    members = {f"m{i}": S.ATTENDED for i in range(1, 12)}
    s = session(members)
    rules = billing_rules_for(
        TENANT, s, coverages={m: medicaid(m) for m in members}, facility_state="IL"
    )
    preview = evaluate_session(s, rules)
    assert rules.payers == ("il-medicaid",)
    assert rules.supervision_ratio is not None
    assert rules.supervision_ratio.max_participants_per_supervisor == 10
    assert [i.code.value for i in preview.issues] == ["SUPERVISION_RATIO_BREACH"]
    assert preview.blocks_billing is False
    assert preview.band is not None and preview.band.name == "Large"


def test_with_several_payers_the_strictest_rule_applies() -> None:
    members = {f"m{i}": S.ATTENDED for i in range(1, 12)}
    coverages = {m: commercial(m) for m in members}
    coverages["m1"] = medicaid("m1")
    s = session(members)
    rules = billing_rules_for(TENANT, s, coverages=coverages, facility_state="IL")
    assert rules.payers == ("acme-commercial", "il-medicaid")
    assert rules.supervision_ratio is not None
    assert rules.supervision_ratio.max_participants_per_supervisor == 10


def test_commercial_members_in_il_fall_under_the_state_rule_of_12() -> None:
    members = {f"m{i}": S.ATTENDED for i in range(1, 12)}
    s = session(members)
    rules = billing_rules_for(
        TENANT, s, coverages={m: commercial(m) for m in members}, facility_state="IL"
    )
    assert rules.supervision_ratio is not None
    assert rules.supervision_ratio.max_participants_per_supervisor == 12
    assert evaluate_session(s, rules).issues == ()


def test_only_the_billable_participants_payers_count() -> None:
    s = session({"m1": S.ATTENDED, "m2": S.ATTENDED, "m3": S.ATTENDED, "m4": S.ABSENT})
    rules = billing_rules_for(TENANT, s, coverages={"m4": medicaid("m4")}, facility_state="IL")
    assert rules.payers == ()
    assert rules.payer_checks_skipped is True


def test_no_supervisor_present_blocks_billing() -> None:
    s = session(VECTOR_1, supervisors={"p1": S.ABSENT})
    preview = evaluate_session(s, billing_rules_for(TENANT, s, coverages={}, facility_state="IL"))
    assert [(i.code.value, i.blocks_billing) for i in preview.issues] == [
        ("NO_SUPERVISOR_PRESENT", True)
    ]


def test_two_billable_is_below_the_smallest_band() -> None:
    s = session({"m1": S.ATTENDED, "m2": S.LATE, "m3": S.ABSENT})
    preview = evaluate_session(s, billing_rules_for(TENANT, s, coverages={}, facility_state="IL"))
    assert preview.band is None
    assert [i.code.value for i in preview.issues] == ["GROUP_SIZE_BELOW_MINIMUM"]


def test_a_program_without_group_pricing_has_no_bands_and_a_note() -> None:
    s = session(VECTOR_1, program="iop")
    rules = billing_rules_for(TENANT, s, coverages={}, facility_state=None)
    preview = evaluate_session(s, rules)
    assert rules.bands is None
    assert preview.band is None and preview.issues == ()
    assert any("no size bands" in n for n in rules.notes)
    assert any("facility state unknown" in n for n in rules.notes)


def test_a_date_without_billable_statuses_in_force_is_refused() -> None:
    s = session(VECTOR_1, day=date(2024, 6, 3))
    with pytest.raises(DomainError) as refused:
        billing_rules_for(TENANT, s, coverages={}, facility_state="IL")
    assert refused.value.code == BILLING_POLICY_UNAVAILABLE


def test_the_primary_coverage_in_force_on_the_date_gives_the_payer() -> None:
    coverages = [
        CoveragePeriod("c1", "acme-commercial", False, date(2025, 1, 1)),
        CoveragePeriod("c2", "il-medicaid", True, date(2025, 1, 1), date(2025, 12, 31)),
        CoveragePeriod("c3", "acme-commercial", True, date(2026, 1, 1)),
    ]
    assert primary_payer_on(coverages, date(2025, 12, 31)) == "il-medicaid"
    assert primary_payer_on(coverages, date(2026, 1, 1)) == "acme-commercial"
    assert primary_payer_on(coverages, date(2024, 12, 31)) is None
