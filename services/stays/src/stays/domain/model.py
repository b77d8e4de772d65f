"""Stays: a span of facility days for one member in one program (SPEC 4).

Pure rules, no I/O. The stays service records what the EHR and operators say happened and
refuses what cannot have happened, with a stable code (``stays.domain.errors``). Every
accepted change is one :class:`StayChange` (what, when, by whom, from which event) and
raises ``version`` (the contracts' ``stay_version``) by one; nothing is edited silently.
A refused change leaves the stay exactly as it was: every rule is checked before anything
is written.

Day conventions (the midnight rule, SPEC 6): a leave's ``start_date`` is the first night
away, its ``return_date`` the day the member is back (covered); LOA nights are start
through the day before the return. The admission day counts, the discharge day does not,
a same-day admission and discharge is one day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from contracts.codes import LeaveReason
from contracts.events.stay_components import Admission, Discharge, StayCorrectionKind
from stays.domain import errors
from stays.domain.errors import LeaveUnknown, StayNotDischarged, StayRuleViolation

__all__ = [
    "Admission",
    "Discharge",
    "Leave",
    "LeaveReason",
    "Recorded",
    "Stay",
    "StayChange",
    "StayChangeKind",
    "StayCorrectionKind",
    "StayRuleViolation",
    "StayStatus",
]

ONE_DAY = timedelta(days=1)


class StayStatus(StrEnum):
    ADMITTED = "ADMITTED"  # in the facility or on leave
    DISCHARGED = "DISCHARGED"
    ENTERED_IN_ERROR = "ENTERED_IN_ERROR"


class StayChangeKind(StrEnum):
    """What a change did; each names the canonical event announcing it."""

    ADMITTED = "ADMITTED"
    LEAVE_STARTED = "LEAVE_STARTED"
    LEAVE_ENDED = "LEAVE_ENDED"
    DISCHARGED = "DISCHARGED"
    CORRECTED = "CORRECTED"


@dataclass(frozen=True)
class Recorded:
    """Who told us, when we recorded it, and from which inbound event (None: the API)."""

    at: datetime
    by: str
    event_id: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class StayChange:
    """One line of a stay's history: the change that made ``stay_version``."""

    stay_version: int
    kind: StayChangeKind
    recorded: Recorded
    correction_kind: StayCorrectionKind | None = None
    leave_id: str | None = None
    #: The earliest date whose billing may change, and the last (None: open ended).
    affected_from: date | None = None
    affected_through: date | None = None
    #: What changed, as JSON values (the leave, the discharge, before/after).
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Leave:
    """A leave of absence. ``return_date`` None: the member is still away. A leave still
    open at discharge is closed on the discharge date (``closed_by_discharge``), and opens
    again if the discharge is undone."""

    leave_id: str
    start_date: date
    return_date: date | None = None
    reason: LeaveReason = LeaveReason.OTHER
    closed_by_discharge: bool = False

    @property
    def is_open(self) -> bool:
        return self.return_date is None

    def overlaps(self, other: Leave) -> bool:
        """Whether the two leaves share a night away (an open leave runs on for ever)."""
        return (other.return_date is None or self.start_date < other.return_date) and (
            self.return_date is None or other.start_date < self.return_date
        )

    def nights_through(self, last_day: date) -> int:
        """LOA nights up to and including ``last_day``: start through the day before the
        return (every day from the start while open)."""
        end = last_day if self.return_date is None else min(last_day, self.return_date - ONE_DAY)
        return max(0, (end - self.start_date).days + 1)

    @property
    def last_night(self) -> date | None:
        return None if self.return_date is None else self.return_date - ONE_DAY

    def same_facts(self, other: Leave) -> bool:
        return (
            self.start_date == other.start_date
            and self.return_date == other.return_date
            and self.reason == other.reason
            and self.closed_by_discharge == other.closed_by_discharge
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "leave_id": self.leave_id,
            "start_date": self.start_date.isoformat(),
            "return_date": self.return_date.isoformat() if self.return_date else None,
            "reason": self.reason.value,
            "closed_by_discharge": self.closed_by_discharge,
        }


def _later(first: date | None, second: date | None) -> date | None:
    """The later of two last dates, None (open ended) when either is."""
    if first is None or second is None:
        return None
    return max(first, second)


@dataclass
class Stay:
    tenant_id: str
    stay_id: str
    member_id: str
    facility_id: str
    program_id: str
    admission: Admission
    status: StayStatus = StayStatus.ADMITTED
    discharge: Discharge | None = None
    #: Every leave in force, ordered by start date.
    leaves: list[Leave] = field(default_factory=list)
    #: Leaves cancelled as entered in error, kept so that a replay changes nothing.
    cancelled_leaves: list[Leave] = field(default_factory=list)
    #: The stay_version: one per change, the admission is 1.
    version: int = 0
    #: Changes made since the stay was loaded (the repository appends them to the history).
    changes: list[StayChange] = field(default_factory=list)

    # -- admission -------------------------------------------------------------------

    @classmethod
    def admit(
        cls,
        *,
        tenant_id: str,
        stay_id: str,
        member_id: str,
        facility_id: str,
        program_id: str,
        admission: Admission,
        recorded: Recorded,
    ) -> Stay:
        stay = cls(
            tenant_id=tenant_id,
            stay_id=stay_id,
            member_id=member_id,
            facility_id=facility_id,
            program_id=program_id,
            admission=admission,
        )
        stay._record(
            StayChangeKind.ADMITTED,
            recorded,
            detail={"admission": admission.model_dump(mode="json")},
        )
        return stay

    def same_admission(self, member_id: str, program_id: str, admission: Admission) -> bool:
        return (
            self.member_id == member_id
            and self.program_id == program_id
            and self.admission == admission
        )

    @property
    def admit_date(self) -> date:
        return self.admission.admit_date

    @property
    def discharge_date(self) -> date | None:
        return self.discharge.discharge_date if self.discharge else None

    @property
    def persisted_version(self) -> int:
        """The version the stay had when loaded (before this unit of work's changes)."""
        return self.version - len(self.changes)

    def leave(self, leave_id: str) -> Leave | None:
        return next((leave for leave in self.leaves if leave.leave_id == leave_id), None)

    def cancelled_leave(self, leave_id: str) -> Leave | None:
        return next((leave for leave in self.cancelled_leaves if leave.leave_id == leave_id), None)

    # -- leaves ----------------------------------------------------------------------

    def start_leave(
        self,
        *,
        leave_id: str,
        start_date: date,
        reason: LeaveReason,
        recorded: Recorded,
        return_date: date | None = None,
    ) -> StayChange | None:
        """Record a leave: started now, or after the fact (with its return when known).
        The same leave told again changes nothing (None)."""
        self._refuse_if_entered_in_error()
        candidate = self._fitted(Leave(leave_id, start_date, return_date, reason))
        told_before = self.leave(leave_id) or self.cancelled_leave(leave_id)
        if told_before is not None:
            if self._same_start(told_before, candidate, return_date):
                return None
            raise StayRuleViolation(
                errors.LEAVE_ID_IN_USE,
                f"stay {self.stay_id} already has a different leave {leave_id}; correct it",
                leave_id=leave_id,
            )
        self._check_fits(candidate, others=self.leaves)
        self.leaves = self._ordered([*self.leaves, candidate])
        return self._record(
            StayChangeKind.LEAVE_STARTED,
            recorded,
            leave_id=leave_id,
            detail={"leave": candidate.as_json()},
        )

    def end_leave(
        self, *, leave_id: str, return_date: date, recorded: Recorded
    ) -> StayChange | None:
        """The member is back on ``return_date``. Told again, nothing changes; the end of
        a cancelled leave changes nothing either (the cancel is the last word)."""
        self._refuse_if_entered_in_error()
        if self.cancelled_leave(leave_id) is not None:
            return None
        leave = self.leave(leave_id)
        if leave is None:
            raise LeaveUnknown(self.stay_id, leave_id)
        if leave.return_date == return_date and not leave.closed_by_discharge:
            return None
        if not leave.is_open and not leave.closed_by_discharge:
            raise StayRuleViolation(
                errors.LEAVE_NOT_OPEN,
                f"leave {leave_id} already ended on {leave.return_date}; correct it instead",
                leave_id=leave_id,
            )
        ended = replace(leave, return_date=return_date, closed_by_discharge=False)
        self._check_fits(ended, others=self._other_leaves(leave_id))
        self.leaves = self._ordered([*self._other_leaves(leave_id), ended])
        return self._record(
            StayChangeKind.LEAVE_ENDED,
            recorded,
            leave_id=leave_id,
            detail={"leave": ended.as_json()},
        )

    def change_leave(
        self,
        *,
        leave_id: str,
        start_date: date,
        return_date: date | None,
        reason: LeaveReason,
        recorded: Recorded,
        may_add: bool = True,
    ) -> StayChange | None:
        """Correct a leave's dates or reason (``return_date`` None reopens it), or record
        one after the fact when ``may_add`` (the EHR's LEAVE_CHANGED for a leave it never
        told us about)."""
        self._refuse_if_entered_in_error()
        if self.cancelled_leave(leave_id) is not None:
            raise StayRuleViolation(
                errors.LEAVE_CANCELLED,
                f"leave {leave_id} was cancelled; record a new leave",
                leave_id=leave_id,
            )
        before = self.leave(leave_id)
        if before is None and not may_add:
            raise LeaveUnknown(self.stay_id, leave_id)
        after = self._fitted(Leave(leave_id, start_date, return_date, reason))
        if before is not None and before.same_facts(after):
            return None
        self._check_fits(after, others=self._other_leaves(leave_id))
        self.leaves = self._ordered([*self._other_leaves(leave_id), after])
        if before is None:
            affected_from, affected_through = after.start_date, after.last_night
        else:
            affected_from = min(before.start_date, after.start_date)
            affected_through = _later(before.last_night, after.last_night)
        return self._record(
            StayChangeKind.CORRECTED,
            recorded,
            correction_kind=StayCorrectionKind.LEAVE_CHANGED,
            leave_id=leave_id,
            affected_from=affected_from,
            affected_through=affected_through,
            detail={
                "before": before.as_json() if before else None,
                "after": after.as_json(),
            },
        )

    def cancel_leave(self, *, leave_id: str, recorded: Recorded) -> StayChange | None:
        """The leave was entered in error: its nights are covered days again."""
        self._refuse_if_entered_in_error()
        if self.cancelled_leave(leave_id) is not None:
            return None
        leave = self.leave(leave_id)
        if leave is None:
            raise LeaveUnknown(self.stay_id, leave_id)
        self.leaves = self._other_leaves(leave_id)
        self.cancelled_leaves = [*self.cancelled_leaves, leave]
        return self._record(
            StayChangeKind.CORRECTED,
            recorded,
            correction_kind=StayCorrectionKind.LEAVE_CANCELLED,
            leave_id=leave_id,
            affected_from=leave.start_date,
            affected_through=leave.last_night,
            detail={"before": leave.as_json(), "after": None},
        )

    # -- discharge -------------------------------------------------------------------

    def discharge_on(self, discharge: Discharge, *, recorded: Recorded) -> StayChange | None:
        """Close the stay. A leave still open is closed on the discharge date."""
        self._refuse_if_entered_in_error()
        if self.discharge is not None:
            if self.discharge == discharge:
                return None
            raise StayRuleViolation(
                errors.STAY_DISCHARGED,
                f"stay {self.stay_id} was discharged on {self.discharge.discharge_date}; "
                "correct the discharge instead",
            )
        leaves = self._leaves_closed_at(discharge.discharge_date)
        self.discharge = discharge
        self.status = StayStatus.DISCHARGED
        self.leaves = leaves
        return self._record(
            StayChangeKind.DISCHARGED,
            recorded,
            detail={
                "discharge": discharge.model_dump(mode="json"),
                "leaves_closed": [lv.leave_id for lv in leaves if lv.closed_by_discharge],
            },
        )

    def change_discharge(self, discharge: Discharge, *, recorded: Recorded) -> StayChange | None:
        """Correct the discharge date, hour or status."""
        self._refuse_if_entered_in_error()
        before = self.discharge
        if before is None:
            raise StayNotDischarged(self.stay_id)
        if before == discharge:
            return None
        leaves = self._leaves_closed_at(discharge.discharge_date)
        self.discharge = discharge
        self.leaves = leaves
        return self._record(
            StayChangeKind.CORRECTED,
            recorded,
            correction_kind=StayCorrectionKind.DISCHARGE_CHANGED,
            affected_from=min(before.discharge_date, discharge.discharge_date),
            affected_through=max(before.discharge_date, discharge.discharge_date),
            detail={
                "before": before.model_dump(mode="json"),
                "after": discharge.model_dump(mode="json"),
            },
        )

    def undo_discharge(self, *, recorded: Recorded) -> StayChange | None:
        """The member is still a patient: a leave the discharge closed is open again."""
        self._refuse_if_entered_in_error()
        before = self.discharge
        if before is None:
            raise StayNotDischarged(self.stay_id)
        self.discharge = None
        self.status = StayStatus.ADMITTED
        self.leaves = [
            replace(leave, return_date=None, closed_by_discharge=False)
            if leave.closed_by_discharge
            else leave
            for leave in self.leaves
        ]
        return self._record(
            StayChangeKind.CORRECTED,
            recorded,
            correction_kind=StayCorrectionKind.DISCHARGE_UNDONE,
            affected_from=before.discharge_date,
            detail={"before": before.model_dump(mode="json"), "after": None},
        )

    # -- admission corrections -------------------------------------------------------

    def change_admission(self, admission: Admission, *, recorded: Recorded) -> StayChange | None:
        """Correct the admission (date, hour, type, source, diagnoses, DRG, procedures).
        The admission is on every cycle's claim: billing may change from the earlier of
        the two admit dates on."""
        self._refuse_if_entered_in_error()
        before = self.admission
        if before == admission:
            return None
        admit_date = admission.admit_date
        if self.discharge is not None and self.discharge.discharge_date < admit_date:
            raise StayRuleViolation(
                errors.DISCHARGE_BEFORE_ADMISSION,
                f"the discharge on {self.discharge.discharge_date} would be before the "
                f"admission on {admit_date}",
            )
        for leave in self.leaves:
            if leave.start_date < admit_date:
                raise StayRuleViolation(
                    errors.LEAVE_OUTSIDE_STAY,
                    f"leave {leave.leave_id} from {leave.start_date} would start before the "
                    f"admission on {admit_date}",
                    leave_id=leave.leave_id,
                )
        self.admission = admission
        return self._record(
            StayChangeKind.CORRECTED,
            recorded,
            correction_kind=StayCorrectionKind.ADMISSION_CHANGED,
            affected_from=min(before.admit_date, admit_date),
            detail={
                "before": before.model_dump(mode="json"),
                "after": admission.model_dump(mode="json"),
            },
        )

    def enter_in_error(self, *, recorded: Recorded) -> StayChange | None:
        """The admission never happened: nothing of this stay bills, nothing changes it."""
        if self.status is StayStatus.ENTERED_IN_ERROR:
            return None
        self.status = StayStatus.ENTERED_IN_ERROR
        return self._record(
            StayChangeKind.CORRECTED,
            recorded,
            correction_kind=StayCorrectionKind.ADMISSION_ENTERED_IN_ERROR,
            affected_from=self.admit_date,
            detail={},
        )

    # -- day counts (the midnight rule) ----------------------------------------------

    def length_of_stay(self, as_of: date) -> int:
        """Days by the midnight rule: admission day counts, discharge day does not, a
        same-day stay is one day. An open stay counts through ``as_of``. A stay entered in
        error has no days."""
        if self.status is StayStatus.ENTERED_IN_ERROR:
            return 0
        start = self.admit_date
        if self.discharge is not None:
            return max(1, (self.discharge.discharge_date - start).days)
        return max(0, (as_of - start).days + 1)

    def last_stay_day(self, as_of: date) -> date:
        if self.discharge is not None:
            return max(self.admit_date, self.discharge.discharge_date - ONE_DAY)
        return as_of

    def loa_nights(self, as_of: date) -> int:
        """Nights away on leave among the stay's days (through ``as_of`` while open)."""
        if self.status is StayStatus.ENTERED_IN_ERROR:
            return 0
        last = self.last_stay_day(as_of)
        return sum(leave.nights_through(last) for leave in self.leaves)

    def covered_days(self, as_of: date) -> int:
        return self.length_of_stay(as_of) - self.loa_nights(as_of)

    # -- rules -----------------------------------------------------------------------

    def _refuse_if_entered_in_error(self) -> None:
        if self.status is StayStatus.ENTERED_IN_ERROR:
            raise StayRuleViolation(
                errors.STAY_ENTERED_IN_ERROR,
                f"stay {self.stay_id} was entered in error; it takes no more changes",
            )

    def _fitted(self, leave: Leave) -> Leave:
        """A leave with no return on a discharged stay ends on the discharge date."""
        if leave.return_date is None and self.discharge is not None:
            return replace(
                leave, return_date=self.discharge.discharge_date, closed_by_discharge=True
            )
        return leave

    @staticmethod
    def _same_start(told: Leave, candidate: Leave, return_date: date | None) -> bool:
        """A leave start told again: same start and reason, and no other return."""
        return (
            told.start_date == candidate.start_date
            and told.reason == candidate.reason
            and (return_date is None or told.return_date == return_date)
        )

    def _other_leaves(self, leave_id: str) -> list[Leave]:
        return [leave for leave in self.leaves if leave.leave_id != leave_id]

    @staticmethod
    def _ordered(leaves: Iterable[Leave]) -> list[Leave]:
        return sorted(leaves, key=lambda leave: leave.start_date)

    def _check_fits(self, leave: Leave, *, others: list[Leave]) -> None:
        """A leave lies inside the stay and shares no night with another; an open one is
        the only open one and the latest."""
        if (
            leave.return_date is not None
            and leave.return_date <= leave.start_date
            and not leave.closed_by_discharge  # then the start is past the discharge: below
        ):
            raise StayRuleViolation(
                errors.OUT_OF_ORDER,
                f"leave {leave.leave_id} returns on {leave.return_date}, not after its start "
                f"on {leave.start_date}",
                leave_id=leave.leave_id,
            )
        if leave.start_date < self.admit_date:
            raise StayRuleViolation(
                errors.LEAVE_OUTSIDE_STAY,
                f"leave {leave.leave_id} starts on {leave.start_date}, before the admission "
                f"on {self.admit_date}",
                leave_id=leave.leave_id,
            )
        discharged_on = self.discharge_date
        if discharged_on is not None:
            if leave.start_date >= discharged_on:
                raise StayRuleViolation(
                    errors.STAY_DISCHARGED,
                    f"leave {leave.leave_id} starts on {leave.start_date}, on or after the "
                    f"discharge on {discharged_on}",
                    leave_id=leave.leave_id,
                )
            if leave.return_date is not None and leave.return_date > discharged_on:
                raise StayRuleViolation(
                    errors.LEAVE_OUTSIDE_STAY,
                    f"leave {leave.leave_id} returns on {leave.return_date}, after the "
                    f"discharge on {discharged_on}",
                    leave_id=leave.leave_id,
                )
        for other in others:
            if other.is_open and leave.start_date >= other.start_date:
                raise StayRuleViolation(
                    errors.LEAVE_ALREADY_OPEN,
                    f"the member is away on leave {other.leave_id} since {other.start_date}; "
                    "end it first",
                    leave_id=leave.leave_id,
                    open_leave_id=other.leave_id,
                )
        for other in others:
            if leave.overlaps(other):
                raise StayRuleViolation(
                    errors.LEAVE_OVERLAPS,
                    f"leave {leave.leave_id} shares nights away with leave {other.leave_id}",
                    leave_id=leave.leave_id,
                    other_leave_id=other.leave_id,
                )

    def _leaves_closed_at(self, discharge_date: date) -> list[Leave]:
        """The leaves as a discharge on ``discharge_date`` leaves them (refused if one
        would fall outside the stay), without changing the stay."""
        if discharge_date < self.admit_date:
            raise StayRuleViolation(
                errors.DISCHARGE_BEFORE_ADMISSION,
                f"discharge on {discharge_date} is before the admission on {self.admit_date}",
            )
        closed: list[Leave] = []
        for leave in self.leaves:
            if leave.start_date >= discharge_date:
                raise StayRuleViolation(
                    errors.LEAVE_OUTSIDE_STAY,
                    f"leave {leave.leave_id} from {leave.start_date} would start on or after "
                    f"the discharge on {discharge_date}",
                    leave_id=leave.leave_id,
                )
            if leave.is_open or leave.closed_by_discharge:
                closed.append(replace(leave, return_date=discharge_date, closed_by_discharge=True))
                continue
            assert leave.return_date is not None
            if leave.return_date > discharge_date:
                raise StayRuleViolation(
                    errors.LEAVE_OUTSIDE_STAY,
                    f"leave {leave.leave_id} returns on {leave.return_date}, after the "
                    f"discharge on {discharge_date}",
                    leave_id=leave.leave_id,
                )
            closed.append(leave)
        return closed

    def _record(
        self,
        kind: StayChangeKind,
        recorded: Recorded,
        *,
        correction_kind: StayCorrectionKind | None = None,
        leave_id: str | None = None,
        affected_from: date | None = None,
        affected_through: date | None = None,
        detail: dict[str, Any] | None = None,
    ) -> StayChange:
        self.version += 1
        change = StayChange(
            stay_version=self.version,
            kind=kind,
            recorded=recorded,
            correction_kind=correction_kind,
            leave_id=leave_id,
            affected_from=affected_from,
            affected_through=affected_through,
            detail=detail or {},
        )
        self.changes.append(change)
        return change
