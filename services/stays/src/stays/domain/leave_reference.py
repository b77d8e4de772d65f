"""Which leave a message means when it names none.

HL7 ADT leave messages (A22 return, A52 cancel leave, A53 cancel return) carry the stay
(the visit number) and a date, never a leave id: the leave is the one the stay's state
points at. Pure; the stays service resolves the reference on the locked stay and then
applies the same command a JSON event naming the leave would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from stays.domain import errors
from stays.domain.errors import StayRuleViolation
from stays.domain.model import Leave, Stay


class LeaveSelector(StrEnum):
    #: The member is back (A22): the leave still open (or closed by the discharge), or the
    #: one already ended on ``on`` (the return told again).
    RETURNING = "RETURNING"
    #: The leave was entered in error (A52): the leave starting on ``on``, else the latest.
    CANCELLING = "CANCELLING"
    #: The return was entered in error (A53): the ended leave returning on ``on``, else
    #: the latest ended one (or the one already open again: the cancel told again).
    REOPENING = "REOPENING"


@dataclass(frozen=True)
class LeaveReference:
    selector: LeaveSelector
    on: date | None = None


def _latest(leaves: list[Leave]) -> Leave | None:
    return max(leaves, key=lambda leave: leave.start_date, default=None)


def referred_leave(stay: Stay, reference: LeaveReference) -> Leave:
    """The leave ``reference`` means on ``stay``; refused (LEAVE_UNKNOWN) when none fits."""
    on = reference.on
    found: Leave | None = None
    match reference.selector:
        case LeaveSelector.RETURNING:
            away = [lv for lv in stay.leaves if lv.is_open or lv.closed_by_discharge]
            found = _latest(away) or next(
                (lv for lv in stay.leaves if on is not None and lv.return_date == on), None
            )
            what = "open leave to end"
        case LeaveSelector.CANCELLING:
            found = next((lv for lv in stay.leaves if lv.start_date == on), None)
            found = found or next((lv for lv in stay.cancelled_leaves if lv.start_date == on), None)
            found = found or _latest(stay.leaves)
            what = "leave to cancel"
        case LeaveSelector.REOPENING:
            ended = [lv for lv in stay.leaves if not lv.is_open and not lv.closed_by_discharge]
            found = next((lv for lv in ended if lv.return_date == on), None) or _latest(ended)
            found = found or _latest([lv for lv in stay.leaves if lv.is_open])
            what = "ended leave to reopen"
    if found is None:
        raise StayRuleViolation(
            errors.LEAVE_UNKNOWN, f"stay {stay.stay_id} has no {what}", stay_id=stay.stay_id
        )
    return found
