"""Events from the scheduling system: group sessions and attendance marks.

A session is sent whole on ``scheduled`` and on every ``updated`` (state transfer, not a
diff): a consumer replaces what it holds, keeping attendance already marked. ``revision``,
when the scheduler has one, lets a consumer drop an update older than the one it applied.
Session dates and times are the facility's local calendar date and wall-clock times; a
session does not cross midnight.
"""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import AwareDatetime, Field, model_validator

from contracts.codes import (
    PHI,
    AttendanceStatus,
    CalendarDate,
    Identifier,
    LocalTime,
    Note,
    ProcedureCode,
)
from contracts.events.base import ContractModel, EventData
from contracts.events.event_types import (
    GROUP_SESSION_ATTENDANCE_MARKED_V1,
    GROUP_SESSION_CANCELLED_V1,
    GROUP_SESSION_SCHEDULED_V1,
    GROUP_SESSION_UPDATED_V1,
)
from contracts.problems import Problem, duplicate_problems, raise_problems


class RosterEntry(ContractModel):
    """A member on the session's roster."""

    member_id: Identifier
    initial_status: AttendanceStatus | None = Field(
        default=None,
        description="Status to start from when the member is new to the roster "
        "(SCHEDULED when absent). Never overrides attendance already marked.",
    )


class SessionSupervisor(ContractModel):
    """A provider assigned to the session with role SUPERVISING. Other staff roles are
    not part of this contract."""

    provider_id: Identifier
    role: Literal["SUPERVISING"] = "SUPERVISING"


class GroupSessionDetails(EventData):
    """The whole session as the scheduler knows it (shared by scheduled and updated)."""

    session_id: Identifier
    facility_id: Identifier
    program_id: Identifier
    session_date: CalendarDate
    start_time: LocalTime
    end_time: LocalTime
    group_type: str = Field(min_length=1, max_length=64, examples=["PROCESS_GROUP"])
    service_code: ProcedureCode = Field(examples=["90853"])
    title: str | None = Field(default=None, min_length=1, max_length=200)
    supervisors: list[SessionSupervisor] = Field(default_factory=list)
    roster: list[RosterEntry] = Field(default_factory=list)
    revision: int | None = Field(
        default=None,
        ge=0,
        description="The scheduler's revision of this session, increasing with each change.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[Problem] = []
        if self.end_time <= self.start_time:
            problems.append((("end_time",), "end_time must be after start_time"))
        problems += duplicate_problems(
            [entry.member_id for entry in self.roster], "roster", "member_id", "member"
        )
        problems += duplicate_problems(
            [supervisor.provider_id for supervisor in self.supervisors],
            "supervisors",
            "provider_id",
            "supervisor",
        )
        raise_problems(type(self).__name__, problems)
        return self


class GroupSessionScheduled(GroupSessionDetails):
    """A session was put on the schedule."""

    event_type: ClassVar[str] = GROUP_SESSION_SCHEDULED_V1


class GroupSessionUpdated(GroupSessionDetails):
    """A scheduled session changed (time, supervisors, roster...): the full new state."""

    event_type: ClassVar[str] = GROUP_SESSION_UPDATED_V1


class GroupSessionCancelled(EventData):
    """A session was taken off the schedule. A closed (billed) session is not cancelled by
    this: the attendance service refuses it and says why."""

    event_type: ClassVar[str] = GROUP_SESSION_CANCELLED_V1

    session_id: Identifier
    cancelled_at: AwareDatetime
    note: Note | None = Field(default=None, json_schema_extra=PHI)
    revision: int | None = Field(default=None, ge=0)


class AttendanceMarked(EventData):
    """A check-in system or the scheduler marked one participant (``member_id``) or one
    supervisor (``provider_id``). The roster state machine and session locks apply as for
    the HTTP API; a refused mark is answered with ``attendance.mark.rejected.v1``."""

    event_type: ClassVar[str] = GROUP_SESSION_ATTENDANCE_MARKED_V1

    session_id: Identifier
    member_id: Identifier | None = Field(default=None, description="A roster participant.")
    provider_id: Identifier | None = Field(default=None, description="A session supervisor.")
    status: AttendanceStatus
    marked_by: Identifier = Field(description="User id of who marked, in the source system.")
    marked_at: AwareDatetime

    @model_validator(mode="after")
    def _one_subject(self) -> Self:
        if (self.member_id is None) == (self.provider_id is None):
            raise_problems(
                type(self).__name__,
                [((), "exactly one of member_id (participant) or provider_id (supervisor)")],
            )
        return self
