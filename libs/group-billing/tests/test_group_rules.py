"""SPEC 3 and SPEC 12 vector 1, with the numbers in view."""

from __future__ import annotations

from decimal import Decimal

import pytest
from group_billing import (
    Band,
    GroupSessionFacts,
    IssueCode,
    Severity,
    check_supervision_ratio,
    count_billable_participants,
    evaluate_group_session,
    resolve_group_size_band,
)

SMALL = Band("Small", 3, 5, Decimal("50.00"))
MEDIUM = Band("Medium", 6, 10, Decimal("40.00"))
LARGE = Band("Large", 11, None, Decimal("30.00"))
VECTOR_1_BANDS = (SMALL, MEDIUM, LARGE)
DEFAULT_BILLABLE = frozenset({"ATTENDED", "LATE"})
WITH_LEFT_EARLY = frozenset({"ATTENDED", "LATE", "LEFT_EARLY"})
# Vector 1's roster: 4 ATTENDED, 1 LATE, 1 LEFT_EARLY, 1 ABSENT.
VECTOR_1_ROSTER = ["ATTENDED"] * 4 + ["LATE", "LEFT_EARLY", "ABSENT"]


@pytest.mark.parametrize(
    ("count", "band"),
    [(3, SMALL), (5, SMALL), (6, MEDIUM), (10, MEDIUM), (11, LARGE), (40, LARGE)],
)
def test_band_edges_resolve_to_the_band_holding_the_count(count: int, band: Band) -> None:
    resolution = resolve_group_size_band(count, VECTOR_1_BANDS)
    assert resolution.band == band
    assert resolution.issue is None


def test_two_participants_are_below_the_smallest_band() -> None:
    resolution = resolve_group_size_band(2, VECTOR_1_BANDS)
    assert resolution.band is None
    assert resolution.issue is not None
    assert resolution.issue.code is IssueCode.GROUP_SIZE_BELOW_MINIMUM
    assert resolution.issue.blocks_billing


def test_a_count_in_a_gap_between_bands_is_priced_at_the_next_band_down() -> None:
    gapped = (Band("Small", 3, 5, Decimal("50.00")), Band("Large", 8, None, Decimal("30.00")))
    resolution = resolve_group_size_band(7, gapped)
    assert resolution.band == gapped[0]
    assert resolution.issue is not None
    assert resolution.issue.code is IssueCode.GROUP_SIZE_BAND_MISMATCH
    assert resolution.issue.severity is Severity.WARNING


def test_no_band_configured_is_below_minimum() -> None:
    assert resolve_group_size_band(4, ()).issue is not None


def test_left_early_counts_only_where_the_policy_bills_it() -> None:
    assert count_billable_participants(VECTOR_1_ROSTER, DEFAULT_BILLABLE) == 5
    assert count_billable_participants(VECTOR_1_ROSTER, WITH_LEFT_EARLY) == 6


def facts(roster: list[str], billable: frozenset[str], **overrides: object) -> GroupSessionFacts:
    values: dict[str, object] = {
        "participant_statuses": roster,
        "supervisor_statuses": ["ATTENDED"],
        "billable_statuses": billable,
        "bands": VECTOR_1_BANDS,
    }
    values.update(overrides)
    return GroupSessionFacts(**values)  # type: ignore[arg-type]


def test_vector_1_five_billable_at_small_fifty_dollars() -> None:
    evaluation = evaluate_group_session(facts(VECTOR_1_ROSTER, DEFAULT_BILLABLE))
    assert evaluation.billable_count == 5
    assert evaluation.band == SMALL
    assert evaluation.band.rate_per_participant == Decimal("50.00")
    assert evaluation.issues == ()
    assert not evaluation.blocks_billing


def test_vector_1_with_left_early_billable_six_at_medium_forty_dollars() -> None:
    evaluation = evaluate_group_session(facts(VECTOR_1_ROSTER, WITH_LEFT_EARLY))
    assert evaluation.billable_count == 6
    assert evaluation.band == MEDIUM
    assert evaluation.band.rate_per_participant == Decimal("40.00")


def test_a_scheduled_row_blocks_billing_until_marked() -> None:
    evaluation = evaluate_group_session(facts(["ATTENDED"] * 4 + ["SCHEDULED"], DEFAULT_BILLABLE))
    assert evaluation.codes == ["GROUP_UNATTENDED_BILLED"]
    assert evaluation.blocks_billing


def test_no_supervisor_present_blocks_billing() -> None:
    evaluation = evaluate_group_session(
        facts(["ATTENDED"] * 4, DEFAULT_BILLABLE, supervisor_statuses=["ABSENT"])
    )
    assert IssueCode.NO_SUPERVISOR_PRESENT.value in evaluation.codes
    assert evaluation.blocks_billing


def test_supervision_ratio_breach_is_a_warning() -> None:
    evaluation = evaluate_group_session(
        facts(["ATTENDED"] * 9, DEFAULT_BILLABLE, max_participants_per_supervisor=8)
    )
    assert evaluation.codes == ["SUPERVISION_RATIO_BREACH"]
    assert not evaluation.blocks_billing


def test_ratio_is_per_present_supervisor() -> None:
    assert check_supervision_ratio(16, 2, 8) is None
    assert check_supervision_ratio(17, 2, 8) is not None
    assert check_supervision_ratio(50, 1, None) is None


def test_without_pricing_the_band_checks_are_skipped_but_attendance_checks_run() -> None:
    evaluation = evaluate_group_session(
        facts(["SCHEDULED", "ATTENDED"], DEFAULT_BILLABLE, bands=None, payer_checks_skipped=True)
    )
    assert evaluation.band is None
    assert evaluation.codes == ["GROUP_UNATTENDED_BILLED"]
    assert evaluation.payer_checks_skipped


def test_an_acknowledged_ratio_breach_is_no_longer_an_open_warning() -> None:
    breach = facts(["ATTENDED"] * 9, DEFAULT_BILLABLE, max_participants_per_supervisor=8)
    assert [i.code for i in evaluate_group_session(breach).unacknowledged_warnings] == [
        IssueCode.SUPERVISION_RATIO_BREACH
    ]
    accepted = facts(
        ["ATTENDED"] * 9,
        DEFAULT_BILLABLE,
        max_participants_per_supervisor=8,
        acknowledged_warnings=frozenset({"SUPERVISION_RATIO_BREACH"}),
    )
    assert evaluate_group_session(accepted).unacknowledged_warnings == []
