"""The chaos suite's scenario, wire order and fuzzed messages (common.testing.chaos): what
the run expects is computed from the feed and the tenant configuration, every event goes
out twice, and every fuzzed message is one the contracts refuse."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import date

import pytest

from common.tenants import TenantDirectory
from common.testing.chaos import (
    GROUP_MARKS,
    PROFILES,
    Figures,
    Profile,
    build_scenario,
    delivery_order,
    fault_schedule,
    fuzzed_messages,
    rejected_by_contracts,
)
from common.testing.processes import SAMPLE_TENANTS
from contracts.tenant import TenantConfig

SMALL = Profile("small", sessions=2, stays=3, malformed=40, sandbox_outage_seconds=1,
                proxy_down_seconds=1, fault_gap_seconds=1, settle_seconds=1)  # fmt: skip


@pytest.fixture(scope="module")
def config() -> TenantConfig:
    return TenantDirectory.load(SAMPLE_TENANTS).get("demo-bh")


def test_a_group_session_bills_its_attended_and_late_members_once_each(
    config: TenantConfig,
) -> None:
    scenario = build_scenario(SMALL, "demo-bh", "r1", config)
    # GROUP_MARKS: ATTENDED, ATTENDED, LATE, ABSENT; the tenant bills ATTENDED and LATE.
    assert GROUP_MARKS == ("ATTENDED", "ATTENDED", "LATE", "ABSENT")
    group = {c for c in scenario.expected_charges if c[0] == "gs-r1-g0"}
    assert group == {("gs-r1-g0", f"m-r1-g0-{k}", date(2026, 4, 1)) for k in (1, 2, 3)}
    assert {"m-r1-g0-1", "m-r1-g0-2", "m-r1-g0-3"} <= scenario.expected_claims
    assert "m-r1-g0-4" not in scenario.expected_claims


def test_a_stay_has_one_day_charge_per_night_and_one_claim(config: TenantConfig) -> None:
    scenario = build_scenario(SMALL, "demo-bh", "r1", config)
    [discharge] = [e for e in scenario.feed if e["id"] == "r1-s1-dis"]
    [admission] = [e for e in scenario.feed if e["id"] == "r1-s1-adm"]
    admitted = date.fromisoformat(admission["data"]["admission"]["admit_date"])
    discharged = date.fromisoformat(discharge["data"]["discharge_date"])
    days = {c[2] for c in scenario.expected_charges if c[0] == "stay-r1-s1"}
    # Residential does not bill the discharge day: 4 nights for s1 (3 + 1 % 6).
    assert len(days) == (discharged - admitted).days == 4
    assert min(days) == admitted and discharged not in days
    assert "m-r1-s1" in scenario.expected_claims
    # Two sessions (10 events each), three stays (one with a leave: 5 events), 2 reference.
    assert len(scenario.feed) == SMALL.inbound_events() == 2 + 20 + 3 + 3 + 5


def test_every_event_goes_out_twice_and_the_malformed_ones_once(config: TenantConfig) -> None:
    scenario = build_scenario(SMALL, "demo-bh", "r1", config)
    malformed = fuzzed_messages(SMALL.malformed, "r1")
    order, swapped = delivery_order(scenario.feed, malformed, random.Random(1))
    copies = Counter(d.message_id for d in order)
    assert all(copies[e["id"]] == 2 for e in scenario.feed)
    assert all(copies[m.message_id] == 1 for m in malformed)
    assert len(order) == 2 * len(scenario.feed) + len(malformed)
    assert swapped > 0


def test_every_fuzzed_message_is_refused_by_the_contracts_and_names_its_id() -> None:
    malformed = fuzzed_messages(60, "r2")
    assert len(malformed) == 60 and len({m.message_id for m in malformed}) == 60
    assert {m.malformed for m in malformed} == {
        "non_json",
        "invalid_envelope",
        "unknown_type",
        "schema_invalid",
    }
    for message in malformed:
        assert rejected_by_contracts(message.body)
        if message.malformed == "schema_invalid":
            assert json.loads(message.body)["id"] == message.message_id


def test_the_schedule_has_each_fault_alone_then_all_together() -> None:
    steps = fault_schedule()
    alone = [f"{s[0].kind} {s[0].target}".strip() for s in steps[:-1]]
    assert all(len(s) == 1 for s in steps[:-1])
    assert alone == [
        "kill attendance",
        "kill stays",
        "kill charges",
        "kill claims",
        "kill edi-gateway",
        "broker",
        "database",
        "clearinghouse",
    ]
    assert sorted(f"{f.kind} {f.target}".strip() for f in steps[-1]) == sorted(alone)
    assert PROFILES["full"].inbound_events() >= 5000 > PROFILES["ci"].inbound_events() * 10


def test_the_files_row_fails_when_a_claim_reached_no_file_and_stuck_claims_are_listed() -> None:
    # Claims whose file never left read "files ... ok" before: the row now says FAIL.
    figures = Figures("ci", files_uploaded=10, claims_in_no_file=22)
    figures.unaccepted_trails = ["clm-1 v1 SUBMITTED pcn P1 | gateway 1:BATCHED@11:PENDING"]
    files_row = next(line for line in figures.table().splitlines() if line.startswith("files"))
    assert "FAIL" in files_row and "in none 22" in files_row
    assert any("in none 22" in failure for failure in figures.failures())
    assert figures.table().splitlines()[-1].strip().startswith("clm-1 v1 SUBMITTED")
    assert "FAIL" not in next(
        line
        for line in Figures("ci", files_uploaded=10).table().splitlines()
        if line.startswith("files")
    )
