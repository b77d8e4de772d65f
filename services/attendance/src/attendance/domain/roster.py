"""The roster state machine (SPEC 3): which attendance status may follow which.

One table, read by the domain model, the HTTP API (the legal next states it offers as
buttons) and the refusal it answers. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from attendance.domain.errors import ILLEGAL_TRANSITION, AttendanceRuleViolation


class AttendanceStatus(StrEnum):
    SCHEDULED = "SCHEDULED"
    ATTENDED = "ATTENDED"
    LATE = "LATE"
    LEFT_EARLY = "LEFT_EARLY"
    ABSENT = "ABSENT"


_S = AttendanceStatus

# SPEC 3, in the order the table lists them (the order the API offers them in).
LEGAL_MOVES: Mapping[AttendanceStatus, tuple[AttendanceStatus, ...]] = {
    _S.SCHEDULED: (_S.ATTENDED, _S.ABSENT, _S.LATE),
    _S.ATTENDED: (_S.ABSENT, _S.LATE, _S.LEFT_EARLY),
    _S.LATE: (_S.ATTENDED, _S.ABSENT, _S.LEFT_EARLY),
    _S.LEFT_EARLY: (_S.ATTENDED, _S.LATE, _S.ABSENT),
    _S.ABSENT: (_S.ATTENDED, _S.LATE),
}


def legal_next_states(status: AttendanceStatus) -> tuple[AttendanceStatus, ...]:
    return LEGAL_MOVES[status]


def is_terminal(status: AttendanceStatus) -> bool:
    """Every status but SCHEDULED is terminal: a session can be finalized once no row is
    SCHEDULED (terminal does not mean final: a terminal status may still be corrected)."""
    return status is not AttendanceStatus.SCHEDULED


def transition(current: AttendanceStatus, target: AttendanceStatus) -> AttendanceStatus:
    """``target`` if the table allows the move from ``current``; otherwise refused with
    ``ILLEGAL_TRANSITION`` naming the legal next states."""
    legal = LEGAL_MOVES[current]
    if target not in legal:
        raise AttendanceRuleViolation(
            ILLEGAL_TRANSITION,
            f"{current} cannot change to {target}",
            from_status=current.value,
            to_status=target.value,
            legal_next_states=[s.value for s in legal],
        )
    return target
