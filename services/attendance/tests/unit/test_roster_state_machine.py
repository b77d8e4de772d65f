"""SPEC 3's roster table, pair by pair."""

from __future__ import annotations

from itertools import product

import pytest

from attendance.domain.errors import ILLEGAL_TRANSITION
from attendance.domain.roster import (
    LEGAL_MOVES,
    AttendanceStatus,
    is_terminal,
    legal_next_states,
    transition,
)
from common.errors import DomainError

S = AttendanceStatus

SPEC_TABLE = {
    S.SCHEDULED: [S.ATTENDED, S.ABSENT, S.LATE],
    S.ATTENDED: [S.ABSENT, S.LATE, S.LEFT_EARLY],
    S.LATE: [S.ATTENDED, S.ABSENT, S.LEFT_EARLY],
    S.LEFT_EARLY: [S.ATTENDED, S.LATE, S.ABSENT],
    S.ABSENT: [S.ATTENDED, S.LATE],
}

LEGAL_PAIRS = [(a, b) for a, targets in SPEC_TABLE.items() for b in targets]
ILLEGAL_PAIRS = [(a, b) for a, b in product(S, S) if a is not b and b not in SPEC_TABLE[a]]


def test_the_table_is_the_spec_table_in_its_order() -> None:
    assert {k: list(v) for k, v in LEGAL_MOVES.items()} == SPEC_TABLE


def test_every_status_has_a_row() -> None:
    assert set(LEGAL_MOVES) == set(S)


def test_there_are_14_legal_and_6_illegal_moves() -> None:
    assert len(LEGAL_PAIRS) == 14
    assert len(ILLEGAL_PAIRS) == 6


@pytest.mark.parametrize(("current", "target"), LEGAL_PAIRS)
def test_legal_move_is_allowed(current: S, target: S) -> None:
    assert target in legal_next_states(current)
    assert transition(current, target) is target


@pytest.mark.parametrize(("current", "target"), ILLEGAL_PAIRS)
def test_illegal_move_is_refused_with_the_legal_next_states(current: S, target: S) -> None:
    with pytest.raises(DomainError) as refused:
        transition(current, target)
    assert refused.value.code == ILLEGAL_TRANSITION
    assert refused.value.details == {
        "from_status": current.value,
        "to_status": target.value,
        "legal_next_states": [s.value for s in SPEC_TABLE[current]],
    }


@pytest.mark.parametrize("status", list(S))
def test_staying_in_the_same_status_is_not_a_move(status: S) -> None:
    with pytest.raises(DomainError):
        transition(status, status)


def test_nothing_returns_to_scheduled() -> None:
    assert all(S.SCHEDULED not in targets for targets in LEGAL_MOVES.values())


def test_absent_cannot_become_left_early() -> None:
    with pytest.raises(DomainError) as refused:
        transition(S.ABSENT, S.LEFT_EARLY)
    assert refused.value.details["legal_next_states"] == ["ATTENDED", "LATE"]


def test_scheduled_cannot_become_left_early() -> None:
    with pytest.raises(DomainError):
        transition(S.SCHEDULED, S.LEFT_EARLY)


@pytest.mark.parametrize("status", [S.ATTENDED, S.LATE, S.LEFT_EARLY, S.ABSENT])
def test_every_status_but_scheduled_is_terminal(status: S) -> None:
    assert is_terminal(status)
    assert not is_terminal(S.SCHEDULED)
