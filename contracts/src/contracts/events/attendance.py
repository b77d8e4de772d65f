"""Events produced by the attendance service.

``closed`` carries what charges needs to build one charge per billable participant and to
re-run the group billing rule itself: every roster row's final status, the billable
statuses the tenant policy named on the session date, and the supervisors present. It
does not carry a band or a rate: the charges service prices from tenant configuration.

A session may be reopened (forced, after charges) and closed again; ``close_sequence``
numbers the closings of one session so that a consumer can tell a stale ``closed`` or
``reopened`` from the current one.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Self

from pydantic import AwareDatetime, Field, model_validator

from contracts.codes import (
    PHI,
    AttendanceStatus,
    CalendarDate,
    Identifier,
    LocalTime,
    Note,
    ProcedureCode,
    UsState,
)
from contracts.events.base import ContractModel, EventData
from contracts.events.event_types import (
    ATTENDANCE_MARK_REJECTED_V1,
    GROUP_SESSION_CLOSED_V1,
    GROUP_SESSION_REOPENED_V1,
)
from contracts.problems import Problem, duplicate_problems, raise_problems

# Statuses that can ever count as billable (a policy picks among them) or as present.
PRESENT_STATUSES = frozenset(
    {AttendanceStatus.ATTENDED, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY}
)


class SessionClosure(StrEnum):
    FINALIZED = "FINALIZED"  # a supervisor finalized it
    AUTO_CLOSED = "AUTO_CLOSED"  # it passed its end time with every row terminal


class ParticipantAttendance(ContractModel):
    member_id: Identifier
    status: AttendanceStatus


class SupervisorAttendance(ContractModel):
    provider_id: Identifier
    status: AttendanceStatus


class GroupSessionClosed(EventData):
    """Attendance of a session is final; charges are built from it."""

    event_type: ClassVar[str] = GROUP_SESSION_CLOSED_V1

    session_id: Identifier
    close_sequence: int = Field(ge=1, description="1 for the first closing, then 2, 3...")
    facility_id: Identifier
    facility_state: UsState | None = Field(
        default=None, description="The facility's state (scopes supervision-ratio rules)."
    )
    program_id: Identifier
    session_date: CalendarDate
    start_time: LocalTime
    end_time: LocalTime
    group_type: str = Field(min_length=1, max_length=64)
    service_code: ProcedureCode
    closure: SessionClosure
    closed_at: AwareDatetime
    closed_by: Identifier | None = Field(
        default=None, description="Who finalized; None when it closed by itself."
    )
    billable_statuses: list[AttendanceStatus] = Field(
        min_length=1, description="The tenant policy's billable statuses on session_date."
    )
    roster: list[ParticipantAttendance] = Field(description="Every roster row, final status.")
    billable_participants: list[ParticipantAttendance] = Field(
        description="The roster rows whose status is in billable_statuses: one charge each."
    )
    supervisors: list[SupervisorAttendance] = Field(default_factory=list)
    supervisors_present: list[Identifier] = Field(
        default_factory=list,
        description="Supervisors marked ATTENDED, LATE or LEFT_EARLY; the first is the "
        "rendering provider unless charges is told otherwise.",
    )
    acknowledged_warnings: list[str] = Field(
        default_factory=list,
        description="Warning codes knowingly accepted at close, e.g. SUPERVISION_RATIO_BREACH.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[Problem] = []
        if self.end_time <= self.start_time:
            problems.append((("end_time",), "end_time must be after start_time"))
        if (self.closure is SessionClosure.FINALIZED) != (self.closed_by is not None):
            problems.append((("closed_by",), "set exactly when closure is FINALIZED"))
        for index, status in enumerate(self.billable_statuses):
            if status not in PRESENT_STATUSES:
                problems.append((("billable_statuses", index), f"{status} is never billable"))
        problems += duplicate_problems(
            [row.member_id for row in self.roster], "roster", "member_id", "member"
        )
        for index, row in enumerate(self.roster):
            if row.status is AttendanceStatus.SCHEDULED:
                problems.append(
                    (("roster", index, "status"), "a closed session has no SCHEDULED row")
                )
        expected = [row for row in self.roster if row.status in self.billable_statuses]
        if self.billable_participants != expected:
            problems.append(
                (
                    ("billable_participants",),
                    "must be exactly the roster rows whose status is billable, in roster order",
                )
            )
        problems += duplicate_problems(
            [row.provider_id for row in self.supervisors],
            "supervisors",
            "provider_id",
            "supervisor",
        )
        present = {row.provider_id for row in self.supervisors if row.status in PRESENT_STATUSES}
        for index, provider_id in enumerate(self.supervisors_present):
            if provider_id not in present:
                problems.append((("supervisors_present", index), "not a supervisor marked present"))
        if len(set(self.supervisors_present)) != len(self.supervisors_present):
            problems.append((("supervisors_present",), "lists a supervisor twice"))
        raise_problems(type(self).__name__, problems)
        return self


class GroupSessionReopened(EventData):
    """A closed session was reopened: its charges are void and will be rebuilt when it
    closes again (with the next ``close_sequence``)."""

    event_type: ClassVar[str] = GROUP_SESSION_REOPENED_V1

    session_id: Identifier
    close_sequence: int = Field(ge=1, description="The closing this reopen undoes.")
    reopened_at: AwareDatetime
    reopened_by: Identifier
    forced: bool = Field(description="True when charges were already built (force=true).")
    override_reason: Note | None = Field(
        default=None, json_schema_extra=PHI, description="Required when forced."
    )

    @model_validator(mode="after")
    def _reason_when_forced(self) -> Self:
        if self.forced and self.override_reason is None:
            raise_problems(
                type(self).__name__,
                [(("override_reason",), "a forced reopen states its reason")],
            )
        return self


class MarkRejectionCode(StrEnum):
    ILLEGAL_TRANSITION = "ILLEGAL_TRANSITION"  # not a legal move from the current status
    LOCKED = "LOCKED"  # charges are built; only a forced API call may change it
    SESSION_NOT_FOUND = "SESSION_NOT_FOUND"
    SESSION_CANCELLED = "SESSION_CANCELLED"
    NOT_ON_SESSION = "NOT_ON_SESSION"  # member not on the roster / provider not a supervisor


class AttendanceMarkRejected(EventData):
    """The answer to an ``attendance_marked`` event the attendance service refused. The
    envelope's ``causationid`` is also the rejected event's id."""

    event_type: ClassVar[str] = ATTENDANCE_MARK_REJECTED_V1

    rejected_event_id: str = Field(min_length=1, max_length=128)
    session_id: Identifier
    member_id: Identifier | None = None
    provider_id: Identifier | None = None
    requested_status: AttendanceStatus
    current_status: AttendanceStatus | None = None
    code: MarkRejectionCode
    legal_next_statuses: list[AttendanceStatus] = Field(
        default_factory=list, description="For ILLEGAL_TRANSITION: the moves that are legal."
    )
    message: str = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[Problem] = []
        if (self.member_id is None) == (self.provider_id is None):
            problems.append(((), "exactly one of member_id or provider_id"))
        if self.code is MarkRejectionCode.ILLEGAL_TRANSITION and self.current_status is None:
            problems.append((("current_status",), "required for ILLEGAL_TRANSITION"))
        raise_problems(type(self).__name__, problems)
        return self
