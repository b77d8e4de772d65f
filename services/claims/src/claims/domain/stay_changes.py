"""What changed in a stay between two versions the stays service published, said as the
reasons a built cycle claim goes STALE (SPEC 6: "a late leave, a late discharge, a
corrected admit"). Ids and kinds only: the dates of a stay are PHI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from claims.domain.cycles import DateRange
from claims.domain.projections import Leave, StayContext, StayStatus


class StayChangeCode(StrEnum):
    ADMISSION_CORRECTED = "ADMISSION_CORRECTED"
    LEAVE_RECORDED = "LEAVE_RECORDED"
    LEAVE_CHANGED = "LEAVE_CHANGED"
    LEAVE_CANCELLED = "LEAVE_CANCELLED"
    DISCHARGE_RECORDED = "DISCHARGE_RECORDED"
    DISCHARGE_CHANGED = "DISCHARGE_CHANGED"
    DISCHARGE_UNDONE = "DISCHARGE_UNDONE"
    STAY_ENTERED_IN_ERROR = "STAY_ENTERED_IN_ERROR"
    PROGRAM_CHANGED = "PROGRAM_CHANGED"


@dataclass(frozen=True)
class StayChange:
    code: StayChangeCode
    message: str
    touches: DateRange | None = None  # the days it can change; None: any cycle

    def touches_period(self, first: date, last: date) -> bool:
        return self.touches is None or self.touches.overlaps(DateRange(first, last))


def _leave_days(leave: Leave, until: date | None) -> DateRange:
    last = leave.return_date or until or date.max
    return DateRange(leave.start_date, max(leave.start_date, last))


def describe_stay_change(
    old: StayContext | None, new: StayContext, *, version: int
) -> tuple[StayChange, ...]:
    """The changes from ``old`` (None: first seen) to ``new``, in a fixed order."""
    if old is None:
        return ()
    at = f"(stay version {version})"
    changes: list[StayChange] = []
    if new.status is StayStatus.ENTERED_IN_ERROR and old.status is not StayStatus.ENTERED_IN_ERROR:
        return (
            StayChange(
                StayChangeCode.STAY_ENTERED_IN_ERROR, f"the admission was entered in error {at}"
            ),
        )
    if old.program_id != new.program_id or old.facility_id != new.facility_id:
        changes.append(
            StayChange(
                StayChangeCode.PROGRAM_CHANGED, f"the stay's program or facility changed {at}"
            )
        )
    if old.admission != new.admission:
        changes.append(
            StayChange(
                StayChangeCode.ADMISSION_CORRECTED,
                f"the admission was corrected after the claim was built {at}",
            )
        )
    before = {leave.leave_id: leave for leave in old.leaves}
    after = {leave.leave_id: leave for leave in new.leaves}
    until = new.discharge.discharge_date if new.discharge else None
    for leave_id in sorted(after.keys() - before.keys()):
        changes.append(
            StayChange(
                StayChangeCode.LEAVE_RECORDED,
                f"leave {leave_id} was recorded after the claim was built {at}",
                _leave_days(after[leave_id], until),
            )
        )
    for leave_id in sorted(after.keys() & before.keys()):
        was, now = before[leave_id], after[leave_id]
        if was != now:
            changes.append(
                StayChange(
                    StayChangeCode.LEAVE_CHANGED,
                    f"leave {leave_id} changed after the claim was built {at}",
                    _span(_leave_days(was, until), _leave_days(now, until)),
                )
            )
    for leave_id in sorted(before.keys() - after.keys()):
        changes.append(
            StayChange(
                StayChangeCode.LEAVE_CANCELLED,
                f"leave {leave_id} was cancelled after the claim was built {at}",
                _leave_days(before[leave_id], until),
            )
        )
    if old.discharge is None and new.discharge is not None:
        changes.append(
            StayChange(
                StayChangeCode.DISCHARGE_RECORDED,
                f"the discharge was recorded after the claim was built {at}",
            )
        )
    elif old.discharge is not None and new.discharge is None:
        changes.append(
            StayChange(StayChangeCode.DISCHARGE_UNDONE, f"the discharge was undone {at}")
        )
    elif old.discharge != new.discharge:
        changes.append(
            StayChange(
                StayChangeCode.DISCHARGE_CHANGED,
                f"the discharge was corrected after the claim was built {at}",
            )
        )
    return tuple(changes)


def _span(first: DateRange, second: DateRange) -> DateRange:
    return DateRange(min(first.first, second.first), max(first.last, second.last))
