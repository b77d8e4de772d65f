"""Which leave an ADT leave message means (it names none): A22 the open one, A52 the one
starting on EVN-6 (else the latest), A53 the ended one returning on EVN-6 (else the
latest ended). Stay admitted 2026-01-10."""

from __future__ import annotations

import pytest

from stays.domain.errors import StayRuleViolation
from stays.domain.leave_reference import LeaveReference, LeaveSelector, referred_leave
from stays.domain.model import Stay

from .stay_builders import WHEN, D, discharge, end, start, stay


def two_leaves() -> Stay:
    """loa-1 01-20 back 01-23; loa-2 01-27 still away."""
    s = stay()
    start(s, "loa-1", "2026-01-20", "2026-01-23")
    start(s, "loa-2", "2026-01-27")
    return s


def means(s: Stay, selector: LeaveSelector, on: str | None = None) -> str:
    return referred_leave(s, LeaveReference(selector, D(on) if on else None)).leave_id


def test_a_return_means_the_open_leave() -> None:
    assert means(two_leaves(), LeaveSelector.RETURNING, "2026-01-30") == "loa-2"


def test_a_return_told_again_means_the_leave_that_ended_that_day() -> None:
    s = two_leaves()
    end(s, "loa-2", "2026-01-30")
    assert means(s, LeaveSelector.RETURNING, "2026-01-30") == "loa-2"


def test_a_return_means_a_leave_the_discharge_closed() -> None:
    s = two_leaves()
    s.discharge_on(discharge("2026-02-03"), recorded=WHEN)
    assert means(s, LeaveSelector.RETURNING, "2026-02-01") == "loa-2"


def test_a_return_without_a_leave_away_is_refused() -> None:
    s = stay()
    with pytest.raises(StayRuleViolation, match=r"^LEAVE_UNKNOWN: stay S1 has no open leave"):
        means(s, LeaveSelector.RETURNING, "2026-01-23")


def test_a_cancel_means_the_leave_starting_that_day() -> None:
    assert means(two_leaves(), LeaveSelector.CANCELLING, "2026-01-20") == "loa-1"


def test_a_cancel_without_a_matching_start_means_the_latest_leave() -> None:
    assert means(two_leaves(), LeaveSelector.CANCELLING, "2026-02-05") == "loa-2"
    assert means(two_leaves(), LeaveSelector.CANCELLING) == "loa-2"


def test_a_cancel_told_again_means_the_cancelled_leave() -> None:
    s = two_leaves()
    s.cancel_leave(leave_id="loa-1", recorded=WHEN)
    assert means(s, LeaveSelector.CANCELLING, "2026-01-20") == "loa-1"


def test_a_return_cancel_means_the_ended_leave() -> None:
    assert means(two_leaves(), LeaveSelector.REOPENING) == "loa-1"
    assert means(two_leaves(), LeaveSelector.REOPENING, "2026-01-23") == "loa-1"


def test_a_return_cancel_without_any_leave_is_refused() -> None:
    with pytest.raises(StayRuleViolation, match=r"^LEAVE_UNKNOWN"):
        means(stay(), LeaveSelector.REOPENING)
