"""Tenant configuration: the demo tenant, effective dating, and the rules a file must keep."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.codes import AttendanceStatus, LeaveReason
from contracts.tenant import (
    BillingPeriod,
    ConfigLookupError,
    ConfigProblem,
    FilingType,
    NoVersionInForce,
    TenantConfig,
    TenantConfigError,
    load_tenant_config,
    load_tenant_configs,
    parse_tenant_config,
)

Edit = Callable[[dict[str, Any]], None]


def edited(demo_yaml: str, edit: Edit) -> str:
    document = yaml.safe_load(demo_yaml)
    edit(document)
    return yaml.safe_dump(document, sort_keys=False)


def problems_after(demo_yaml: str, edit: Edit) -> list[ConfigProblem]:
    with pytest.raises(TenantConfigError) as raised:
        parse_tenant_config(edited(demo_yaml, edit), source=Path("edited.yaml"))
    return list(raised.value.problems)


@pytest.fixture
def demo(demo_tenant_path: Path) -> TenantConfig:
    return load_tenant_config(demo_tenant_path)


# --------------------------------------------------------------------------- the demo tenant


def test_demo_tenant_validates(demo: TenantConfig) -> None:
    assert demo.tenant_id == "demo-bh"
    assert demo.time_zone == "America/Chicago"
    assert [payer.id for payer in demo.payers] == ["acme-commercial", "il-medicaid"]
    assert [(p.id, p.filing_type) for p in demo.programs] == [
        ("group-therapy", FilingType.PROFESSIONAL),
        ("residential", FilingType.INSTITUTIONAL),
        ("adult-day", FilingType.INSTITUTIONAL),
    ]
    assert [c.transport.kind for c in demo.clearinghouses] == ["LOCAL_FOLDER", "SFTP"]


def test_demo_group_bands_in_2026_are_small_medium_large_at_50_40_30(demo: TenantConfig) -> None:
    pricing = demo.program("group-therapy").group_pricing_on(date(2026, 3, 9))
    assert pricing.service_codes == ["90853"]
    assert [
        (band.name, band.min_participants, band.max_participants, band.rate_per_participant)
        for band in pricing.bands_by_size()
    ] == [
        ("Small", 3, 5, Decimal("50.00")),
        ("Medium", 6, 10, Decimal("40.00")),
        ("Large", 11, None, Decimal("30.00")),
    ]
    assert pricing.place_of_service == "11"
    assert pricing.units_per_session == 1


def test_group_line_gets_hq_and_the_medicaid_plan_replaces_it_with_hg(demo: TenantConfig) -> None:
    def modifiers(payer_id: str | None) -> tuple[str, ...]:
        return demo.group_line_modifiers(
            program_id="group-therapy", payer_id=payer_id, service_code="90853", on=date(2026, 3, 9)
        )

    assert modifiers(None) == ("HQ",)
    assert modifiers("acme-commercial") == ("HQ",)
    assert modifiers("il-medicaid") == ("HG",)


def test_demo_residential_program_is_reference_vector_2(demo: TenantConfig) -> None:
    billing = demo.program("residential").institutional_billing_on(date(2026, 1, 10))
    assert billing.billing_period is BillingPeriod.MONTHLY
    assert billing.type_of_bill == "86"
    assert billing.accommodation_revenue_code == "1001"
    assert billing.daily_rate == Decimal("300.00")
    assert isinstance(billing.daily_rate, Decimal)
    assert billing.loa_revenue_code_for(LeaveReason.THERAPEUTIC) == "0183"
    assert billing.loa_revenue_code_for(LeaveReason.OTHER) == "0183"
    assert billing.loa_revenue_code_for(LeaveReason.HOSPITALIZATION) == "0185"
    assert billing.discharge_day_billable is False
    for payer_id in ("acme-commercial", "il-medicaid", None):
        rate = demo.loa_daily_rate(
            program_id="residential", payer_id=payer_id, revenue_code="0183", on=date(2026, 1, 20)
        )
        assert rate == Decimal("0.00")


def test_medicaid_hospital_bed_hold_is_paid_from_its_effective_date(demo: TenantConfig) -> None:
    def bed_hold(payer_id: str, on: date) -> Decimal:
        return demo.loa_daily_rate(
            program_id="residential", payer_id=payer_id, revenue_code="0185", on=on
        )

    assert bed_hold("il-medicaid", date(2025, 6, 30)) == Decimal("0.00")
    assert bed_hold("il-medicaid", date(2025, 7, 1)) == Decimal("100.00")
    assert bed_hold("acme-commercial", date(2025, 7, 1)) == Decimal("0.00")


def test_demo_adult_day_program_bills_weekly(demo: TenantConfig) -> None:
    billing = demo.program("adult-day").institutional_billing_on(date(2026, 3, 8))
    assert billing.billing_period is BillingPeriod.WEEKLY
    assert billing.discharge_day_billable is True


def test_supervision_ratio_picks_the_most_specific_rule(demo: TenantConfig) -> None:
    policy = demo.attendance_policy
    on = date(2026, 3, 9)
    medicaid = policy.supervision_ratio_on(on, payer_id="il-medicaid", state="IL")
    commercial = policy.supervision_ratio_on(on, payer_id="acme-commercial", state="IL")
    assert medicaid is not None and medicaid.max_participants_per_supervisor == 10
    assert commercial is not None and commercial.max_participants_per_supervisor == 12
    assert policy.supervision_ratio_on(on, payer_id="il-medicaid", state="WI") is None


def test_unknown_payer_or_program_is_a_clear_lookup_error(demo: TenantConfig) -> None:
    with pytest.raises(ConfigLookupError, match="no payer 'bcbs'"):
        demo.payer("bcbs")
    with pytest.raises(ConfigLookupError, match="no program 'iop'"):
        demo.program("iop")
    assert demo.clearinghouse_for_payer("il-medicaid").id == "local-dev"


# --------------------------------------------------------------------------- effective dating


def test_version_boundaries_pick_the_version_in_force(demo: TenantConfig) -> None:
    program = demo.program("group-therapy")

    def small_rate(on: date) -> Decimal:
        return program.group_pricing_on(on).bands_by_size()[0].rate_per_participant

    assert small_rate(date(2025, 1, 1)) == Decimal("45.00")  # first day of version 1
    assert small_rate(date(2025, 12, 31)) == Decimal("45.00")  # its effective_to, inclusive
    assert small_rate(date(2026, 1, 1)) == Decimal("50.00")  # first day of version 2


def test_no_version_in_force_is_an_error_naming_the_date(demo: TenantConfig) -> None:
    with pytest.raises(NoVersionInForce) as raised:
        demo.program("group-therapy").group_pricing_on(date(2024, 12, 31))
    assert str(raised.value) == (
        "program 'group-therapy' group pricing has no version in force on 2024-12-31 "
        "(2025-01-01..2025-12-31, 2026-01-01..open)"
    )


def test_overlapping_versions_are_refused_at_the_later_one(demo_tenant_yaml: str) -> None:
    def overlap(document: dict[str, Any]) -> None:
        document["programs"][0]["group"][1]["effective_from"] = date(2025, 12, 31)

    assert problems_after(demo_tenant_yaml, overlap) == [
        ConfigProblem(
            "programs[0].group[1].effective_from",
            "2025-12-31..open overlaps group[0] (2025-01-01..2025-12-31)",
        )
    ]


def test_gap_between_versions_is_allowed_and_lookups_in_it_fail(demo_tenant_yaml: str) -> None:
    def gap(document: dict[str, Any]) -> None:
        document["programs"][0]["group"][1]["effective_from"] = date(2026, 2, 1)

    config = parse_tenant_config(edited(demo_tenant_yaml, gap), source=Path("gap.yaml"))
    with pytest.raises(NoVersionInForce):
        config.program("group-therapy").group_pricing_on(date(2026, 1, 15))


def test_version_ending_before_it_starts_is_refused(demo_tenant_yaml: str) -> None:
    def backwards(document: dict[str, Any]) -> None:
        document["programs"][1]["institutional"][0]["effective_to"] = date(2024, 12, 31)

    assert problems_after(demo_tenant_yaml, backwards) == [
        ConfigProblem("programs[1].institutional[0].effective_to", "is before effective_from")
    ]


def test_two_open_ended_ratio_rules_for_one_payer_and_state_are_refused(
    demo_tenant_yaml: str,
) -> None:
    def duplicate_rule(document: dict[str, Any]) -> None:
        rules = document["attendance_policy"]["supervision_ratios"]
        rules.append(dict(rules[1], effective_from=date(2026, 1, 1)))

    assert problems_after(demo_tenant_yaml, duplicate_rule) == [
        ConfigProblem(
            "attendance_policy.supervision_ratios[2].effective_from",
            "2026-01-01..open overlaps supervision_ratios[1] (2025-01-01..open)",
        )
    ]


def test_payer_modifier_replacements_for_the_same_modifier_may_not_overlap(
    demo_tenant_yaml: str,
) -> None:
    def second_rule(document: dict[str, Any]) -> None:
        rules = document["payers"][1]["modifier_replacements"]
        rules.append({"replace": "HQ", "replacement": "HE", "effective_from": date(2026, 1, 1)})

    problems = problems_after(demo_tenant_yaml, second_rule)
    assert [problem.path for problem in problems] == [
        "payers[1].modifier_replacements[1].effective_from"
    ]


# --------------------------------------------------------------------------- rules of the file


def test_when_no_attendance_policy_is_given_attended_and_late_bill(demo_tenant_yaml: str) -> None:
    def no_policy(document: dict[str, Any]) -> None:
        del document["attendance_policy"]

    config = parse_tenant_config(edited(demo_tenant_yaml, no_policy), source=Path("x.yaml"))
    assert config.attendance_policy.billable_statuses_on(date(2026, 3, 9)) == {
        AttendanceStatus.ATTENDED,
        AttendanceStatus.LATE,
    }


def test_absent_is_never_billable(demo_tenant_yaml: str) -> None:
    def absent_bills(document: dict[str, Any]) -> None:
        document["attendance_policy"]["billable_statuses"][0]["statuses"].append("ABSENT")

    assert problems_after(demo_tenant_yaml, absent_bills) == [
        ConfigProblem(
            "attendance_policy.billable_statuses[0].statuses[2]", "ABSENT is never billable"
        )
    ]


def test_overlapping_size_bands_are_refused(demo_tenant_yaml: str) -> None:
    def overlap(document: dict[str, Any]) -> None:
        document["programs"][0]["group"][1]["size_bands"][1]["min_participants"] = 5

    assert problems_after(demo_tenant_yaml, overlap) == [
        ConfigProblem(
            "programs[0].group[1].size_bands[1].min_participants",
            "band 'Medium' overlaps band 'Small'",
        )
    ]


def test_an_open_band_must_be_the_largest(demo_tenant_yaml: str) -> None:
    def open_medium(document: dict[str, Any]) -> None:
        del document["programs"][0]["group"][1]["size_bands"][1]["max_participants"]

    assert [p.path for p in problems_after(demo_tenant_yaml, open_medium)] == [
        "programs[0].group[1].size_bands[2].min_participants"
    ]


def test_band_minimum_is_at_least_one(demo_tenant_yaml: str) -> None:
    def zero(document: dict[str, Any]) -> None:
        document["programs"][0]["group"][1]["size_bands"][0]["min_participants"] = 0

    assert problems_after(demo_tenant_yaml, zero) == [
        ConfigProblem(
            "programs[0].group[1].size_bands[0].min_participants",
            "Input should be greater than or equal to 1",
        )
    ]


def test_bed_hold_billing_needs_a_rate(demo_tenant_yaml: str) -> None:
    def bed_hold(document: dict[str, Any]) -> None:
        document["programs"][1]["institutional"][0]["loa_billing"] = "BED_HOLD"

    assert problems_after(demo_tenant_yaml, bed_hold) == [
        ConfigProblem(
            "programs[1].institutional[0].loa_daily_rate", "required when loa_billing is BED_HOLD"
        )
    ]


def test_institutional_program_cannot_bill_groups(demo_tenant_yaml: str) -> None:
    def mixed(document: dict[str, Any]) -> None:
        document["programs"][1]["group"] = document["programs"][0]["group"]

    assert problems_after(demo_tenant_yaml, mixed) == [
        ConfigProblem("programs[1].group", "group billing is for PROFESSIONAL programs")
    ]


def test_payer_must_name_a_configured_clearinghouse(demo_tenant_yaml: str) -> None:
    def dangling(document: dict[str, Any]) -> None:
        document["payers"][1]["clearinghouse_id"] = "availity"

    assert problems_after(demo_tenant_yaml, dangling) == [
        ConfigProblem("payers[1].clearinghouse_id", "no clearinghouse 'availity'")
    ]


def test_private_key_is_never_inline(demo_tenant_yaml: str) -> None:
    def inline_key(document: dict[str, Any]) -> None:
        transport = document["clearinghouses"][1]["transport"]
        del transport["private_key_env"]
        transport["private_key_file"] = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn...\n"

    assert problems_after(demo_tenant_yaml, inline_key) == [
        ConfigProblem(
            "clearinghouses[1].transport.private_key_file",
            "holds key material; give a file path, never the key itself",
        )
    ]


def test_sftp_password_is_not_a_setting(demo_tenant_yaml: str) -> None:
    def password(document: dict[str, Any]) -> None:
        document["clearinghouses"][1]["transport"]["password"] = "hunter2"

    assert problems_after(demo_tenant_yaml, password) == [
        ConfigProblem(
            "clearinghouses[1].transport.password", "unknown key (misspelt, or not allowed here)"
        )
    ]


def test_sftp_host_key_must_be_pinned(demo_tenant_yaml: str) -> None:
    def unpinned(document: dict[str, Any]) -> None:
        del document["clearinghouses"][1]["transport"]["host_key_file"]

    assert problems_after(demo_tenant_yaml, unpinned) == [
        ConfigProblem(
            "clearinghouses[1].transport",
            "pin the host key: exactly one of host_key or host_key_file",
        )
    ]


def test_yaml_key_given_twice_is_refused() -> None:
    with pytest.raises(TenantConfigError) as raised:
        parse_tenant_config("tenant_id: a\ntenant_id: b\n", source=Path("twice.yaml"))
    assert raised.value.problems == (
        ConfigProblem(
            "(document)", "not valid YAML: key 'tenant_id' appears twice (line 2, column 1)"
        ),
    )


# --------------------------------------------------------------------------- a folder of tenants


def test_a_folder_loads_one_tenant_per_file(tmp_path: Path, demo_tenant_yaml: str) -> None:
    (tmp_path / "demo-bh.yaml").write_text(demo_tenant_yaml)
    acme_yaml = demo_tenant_yaml.replace("tenant_id: demo-bh", "tenant_id: acme")
    (tmp_path / "acme.yml").write_text(acme_yaml)
    (tmp_path / ".hidden.yaml").write_text("not: a tenant")
    (tmp_path / "README.txt").write_text("ignored")
    configs = load_tenant_configs(tmp_path)
    assert sorted(configs) == ["acme", "demo-bh"]
    assert configs["acme"].tenant_id == "acme"


def test_a_tenant_defined_twice_in_a_folder_is_refused(
    tmp_path: Path, demo_tenant_yaml: str
) -> None:
    (tmp_path / "a.yaml").write_text(demo_tenant_yaml)
    (tmp_path / "b.yaml").write_text(demo_tenant_yaml)
    with pytest.raises(TenantConfigError) as raised:
        load_tenant_configs(tmp_path)
    assert [str(problem) for problem in raised.value.problems] == [
        "b.yaml: tenant_id: tenant 'demo-bh' is also in a.yaml"
    ]
