from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from charges.domain.projections import (
    CoveragePeriod,
    MemberCoverage,
    ProjectionRuleViolation,
    SourceStamp,
)


def test_a_later_event_time_is_the_newer_stamp() -> None:
    older = SourceStamp(datetime(2026, 1, 10, 9, 0, tzinfo=UTC), "zzz")
    newer = SourceStamp(datetime(2026, 1, 10, 9, 1, tzinfo=UTC), "aaa")
    assert older < newer


def test_equal_times_are_ordered_by_event_id_so_replicas_agree() -> None:
    at = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
    assert SourceStamp(at, "evt-1") < SourceStamp(at, "evt-2")


def test_a_stamp_without_utc_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="offset"):
        SourceStamp(datetime(2026, 1, 10, 9, 0), "evt-1")


def test_a_coverage_may_last_a_single_day() -> None:
    period = CoveragePeriod("cov-1", "payer-a", "18", True, date(2026, 1, 31), date(2026, 1, 31))
    assert period.effective_to == date(2026, 1, 31)


def test_a_coverage_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ProjectionRuleViolation) as refused:
        CoveragePeriod("cov-1", "payer-a", "18", True, date(2026, 2, 1), date(2026, 1, 31))
    assert refused.value.code == "COVERAGE_DATES_OUT_OF_ORDER"


def test_a_member_listing_one_coverage_twice_is_refused() -> None:
    period = CoveragePeriod("cov-1", "payer-a", "18", True, date(2026, 1, 1))
    with pytest.raises(ProjectionRuleViolation) as refused:
        MemberCoverage("m-1", True, (period, period))
    assert refused.value.code == "DUPLICATE_COVERAGE"
