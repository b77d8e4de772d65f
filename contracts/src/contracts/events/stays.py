"""Events produced by the stays service: the canonical stay, after each change.

Every event carries the whole stay as the stays service holds it after the change
(admission, every leave, the discharge) plus ``stay_version``, which increases by one with
each change. Charges and claims keep the newest version they have seen and cut cycles from
it, so a redelivered or reordered event changes nothing. The event type says what changed;
``stays.stay.corrected.v1`` also says which dates' billing it may change
(``affected_from``), so claims can mark built cycles STALE.

Invariants every event holds: leaves lie inside the stay and do not overlap (their nights
away are disjoint), at most one leave is open and only the latest, a discharged stay has
no open leave (the stays service closes it on the discharge date), and the discharge is
not before the admission.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Self

from pydantic import Field, model_validator

from contracts.codes import PHI, CalendarDate, Identifier, Note
from contracts.events.base import EventData
from contracts.events.event_types import (
    STAYS_STAY_ADMITTED_V1,
    STAYS_STAY_CORRECTED_V1,
    STAYS_STAY_DISCHARGED_V1,
    STAYS_STAY_LEAVE_ENDED_V1,
    STAYS_STAY_LEAVE_STARTED_V1,
)
from contracts.events.stay_components import (
    Admission,
    Discharge,
    LeaveOfAbsence,
    StayCorrectionKind,
)
from contracts.problems import Problem, duplicate_problems, raise_problems


class StayStatus(StrEnum):
    ADMITTED = "ADMITTED"  # in the facility or on leave
    DISCHARGED = "DISCHARGED"
    ENTERED_IN_ERROR = "ENTERED_IN_ERROR"  # the admission was void; nothing bills


class StayState(EventData):
    """The whole stay after the change the event names."""

    stay_id: Identifier
    stay_version: int = Field(ge=1)
    member_id: Identifier
    facility_id: Identifier
    program_id: Identifier
    status: StayStatus
    admission: Admission
    leaves: list[LeaveOfAbsence] = Field(
        default_factory=list, description="Every leave, ordered by start_date."
    )
    discharge: Discharge | None = None

    def leave(self, leave_id: str) -> LeaveOfAbsence | None:
        return next((leave for leave in self.leaves if leave.leave_id == leave_id), None)

    @model_validator(mode="after")
    def _consistent_stay(self) -> Self:
        problems: list[Problem] = []
        admit_date = self.admission.admit_date
        discharge_date = self.discharge.discharge_date if self.discharge else None
        if discharge_date is not None and discharge_date < admit_date:
            problems.append(
                (("discharge", "discharge_date"), "is before the admission's admit_date")
            )
        if self.status is StayStatus.DISCHARGED and self.discharge is None:
            problems.append((("discharge",), "required when status is DISCHARGED"))
        if self.status is StayStatus.ADMITTED and self.discharge is not None:
            problems.append((("status",), "is DISCHARGED when the stay has a discharge"))
        problems += duplicate_problems(
            [leave.leave_id for leave in self.leaves], "leaves", "leave_id", "leave"
        )
        previous: LeaveOfAbsence | None = None
        for index, leave in enumerate(self.leaves):
            if leave.start_date < admit_date:
                problems.append((("leaves", index, "start_date"), "is before the admit date"))
            if discharge_date is not None:
                if leave.return_date is None:
                    problems.append(
                        (("leaves", index, "return_date"), "a discharged stay has no open leave")
                    )
                elif leave.return_date > discharge_date:
                    problems.append(
                        (("leaves", index, "return_date"), "is after the discharge date")
                    )
            if previous is not None:
                if leave.start_date < previous.start_date:
                    problems.append(
                        (("leaves", index, "start_date"), "leaves are ordered by start_date")
                    )
                elif previous.return_date is None or leave.start_date < previous.return_date:
                    problems.append(
                        (("leaves", index, "start_date"), f"overlaps leaves[{index - 1}]")
                    )
            previous = leave
        raise_problems(type(self).__name__, problems)
        return self


class StayAdmitted(StayState):
    event_type: ClassVar[str] = STAYS_STAY_ADMITTED_V1


class StayLeaveStarted(StayState):
    event_type: ClassVar[str] = STAYS_STAY_LEAVE_STARTED_V1

    leave_id: Identifier = Field(description="The leave that started (in leaves).")

    @model_validator(mode="after")
    def _names_a_leave(self) -> Self:
        if self.leave(self.leave_id) is None:
            raise_problems(type(self).__name__, [(("leave_id",), "not one of the stay's leaves")])
        return self


class StayLeaveEnded(StayState):
    event_type: ClassVar[str] = STAYS_STAY_LEAVE_ENDED_V1

    leave_id: Identifier = Field(description="The leave that ended (in leaves, closed).")

    @model_validator(mode="after")
    def _names_a_closed_leave(self) -> Self:
        leave = self.leave(self.leave_id)
        if leave is None or leave.return_date is None:
            raise_problems(
                type(self).__name__,
                [(("leave_id",), "not one of the stay's leaves with a return_date")],
            )
        return self


class StayDischarged(StayState):
    event_type: ClassVar[str] = STAYS_STAY_DISCHARGED_V1

    @model_validator(mode="after")
    def _discharged(self) -> Self:
        if self.status is not StayStatus.DISCHARGED:
            raise_problems(type(self).__name__, [(("status",), "must be DISCHARGED")])
        return self


_LEAVE_CORRECTIONS = frozenset(
    {StayCorrectionKind.LEAVE_CHANGED, StayCorrectionKind.LEAVE_CANCELLED}
)


class StayCorrected(StayState):
    """A stay was corrected. Billing from ``affected_from`` through ``affected_through``
    (open when None) may change: day charges there are rewritten and cycles already built
    there go STALE."""

    event_type: ClassVar[str] = STAYS_STAY_CORRECTED_V1

    correction_kind: StayCorrectionKind
    leave_id: Identifier | None = Field(
        default=None, description="The leave changed or cancelled (LEAVE_* kinds only)."
    )
    affected_from: CalendarDate
    affected_through: CalendarDate | None = None
    note: Note | None = Field(default=None, json_schema_extra=PHI)

    @model_validator(mode="after")
    def _consistent_correction(self) -> Self:
        problems: list[Problem] = []
        kind = self.correction_kind
        if (kind in _LEAVE_CORRECTIONS) != (self.leave_id is not None):
            problems.append((("leave_id",), "set exactly for LEAVE_CHANGED and LEAVE_CANCELLED"))
        elif kind is StayCorrectionKind.LEAVE_CHANGED and self.leave(str(self.leave_id)) is None:
            problems.append((("leave_id",), "a changed leave is one of the stay's leaves"))
        elif kind is StayCorrectionKind.LEAVE_CANCELLED and self.leave(str(self.leave_id)):
            problems.append((("leave_id",), "a cancelled leave is no longer in leaves"))
        if (kind is StayCorrectionKind.ADMISSION_ENTERED_IN_ERROR) != (
            self.status is StayStatus.ENTERED_IN_ERROR
        ):
            problems.append(
                (("status",), "is ENTERED_IN_ERROR exactly for ADMISSION_ENTERED_IN_ERROR")
            )
        if kind is StayCorrectionKind.DISCHARGE_UNDONE and self.discharge is not None:
            problems.append((("discharge",), "an undone discharge leaves no discharge"))
        if kind is StayCorrectionKind.DISCHARGE_CHANGED and self.discharge is None:
            problems.append((("discharge",), "a changed discharge is present"))
        if self.affected_through is not None and self.affected_through < self.affected_from:
            problems.append((("affected_through",), "is before affected_from"))
        raise_problems(type(self).__name__, problems)
        return self
