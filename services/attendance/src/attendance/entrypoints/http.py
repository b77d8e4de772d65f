"""HTTP API of the attendance service. Routes translate: request in, use case, response out."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from attendance.adapters.db.repository import (
    GroupSessionRepository,
    SessionSummary,
    StaleSessionError,
)
from attendance.domain import errors
from attendance.domain.model import (
    AttendanceChange,
    GroupSession,
    RosterEntry,
    RosterRole,
    SessionOrigin,
    SessionPlan,
    SessionStatus,
)
from attendance.domain.roster import AttendanceStatus, legal_next_states
from attendance.service_layer.sessions import (
    ScheduleSession,
    SetAttendance,
    create_ad_hoc_session,
    set_attendance,
)
from attendance.settings import AttendanceSettings
from common.http import Principal, Problem, not_found, require_scopes
from common.runtime import ServiceRuntime

READ = "clinical.group-session.read"
WRITE = "clinical.attendance.write"

ID_PATTERN = r"^[!-~]{1,64}$"  # the contracts' Identifier: printable ASCII, no spaces

router = APIRouter(prefix="/v1/group-sessions", tags=["group sessions"])

# The one place an attendance rule's code becomes an HTTP status.
DOMAIN_STATUSES: dict[str, int] = {
    errors.ILLEGAL_TRANSITION: 409,
    errors.SESSION_CANCELLED: 409,
    errors.SESSION_CLOSED: 409,
    errors.SESSION_ALREADY_EXISTS: 409,
    errors.VERSION_CONFLICT: 409,
    errors.SESSION_UNKNOWN: 404,
    errors.PARTICIPANT_UNKNOWN: 404,
    errors.SUPERVISOR_UNKNOWN: 404,
    errors.INVALID_TIME_WINDOW: 422,
}


class SessionRowOut(BaseModel):
    session_id: str
    facility_id: str
    program_id: str
    session_date: date
    start_time: time
    end_time: time
    group_type: str
    service_code: str
    status: SessionStatus
    supervisor_ids: list[str]
    roster_size: int
    attendance: dict[AttendanceStatus, int] = Field(
        description="Participants per attendance status, every status listed"
    )
    version: int


class SessionList(BaseModel):
    date_from: date
    date_to: date
    facility_id: str | None
    items: list[SessionRowOut]


class RosterRowOut(BaseModel):
    status: AttendanceStatus
    legal_next_states: list[AttendanceStatus] = Field(
        description="The statuses this row may be set to next (the buttons to offer)"
    )


class ParticipantOut(RosterRowOut):
    member_id: str


class SupervisorOut(RosterRowOut):
    provider_id: str


class SessionDetailOut(BaseModel):
    session_id: str
    facility_id: str
    facility_state: str | None
    program_id: str
    session_date: date
    start_time: time
    end_time: time
    group_type: str
    service_code: str
    status: SessionStatus
    origin: SessionOrigin
    cancel_reason: str | None
    roster_size: int
    attendance: dict[AttendanceStatus, int]
    participants: list[ParticipantOut]
    supervisors: list[SupervisorOut]
    version: int = Field(description="Pass back as expected_version to guard an edit")


class HistoryEntryOut(BaseModel):
    role: RosterRole
    subject_id: str
    from_status: AttendanceStatus | None = Field(
        description="None when the row started at this status (set by the scheduler)"
    )
    to_status: AttendanceStatus
    actor: str
    at: datetime


class SessionHistory(BaseModel):
    session_id: str
    items: list[HistoryEntryOut]


class CreateGroupSession(BaseModel):
    session_id: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description="Your id for the session, so a retried request creates it once; "
        "generated when absent",
    )
    facility_id: str | None = Field(
        default=None, pattern=ID_PATTERN, description="Defaults to the caller's facility"
    )
    facility_state: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    program_id: str = Field(pattern=ID_PATTERN)
    session_date: date
    start_time: time
    end_time: time
    group_type: str = Field(min_length=1, max_length=64)
    service_code: str = Field(pattern=r"^[A-Z0-9]{5}$", examples=["90853"])
    participants: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(
        default_factory=list, description="Member ids", max_length=500
    )
    supervisors: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(
        default_factory=list, description="Provider ids of the supervising staff", max_length=50
    )


class SetStatus(BaseModel):
    status: AttendanceStatus
    expected_version: int | None = Field(
        default=None, ge=1, description="Refuse with VERSION_CONFLICT unless still current"
    )


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def _today(request: Request) -> date:
    settings = _runtime(request).settings
    zone = settings.business_time_zone if isinstance(settings, AttendanceSettings) else "UTC"
    return datetime.now(ZoneInfo(zone)).date()


@contextmanager
def _concurrent_update_refused() -> Iterator[None]:
    try:
        yield
    except StaleSessionError as exc:
        raise Problem(
            409,
            "CONCURRENT_UPDATE",
            "The session changed while this request was applied; retry",
            session_id=exc.session_id,
        ) from exc


def _row(summary: SessionSummary) -> SessionRowOut:
    return SessionRowOut(
        session_id=summary.session_id,
        facility_id=summary.facility_id,
        program_id=summary.program_id,
        session_date=summary.session_date,
        start_time=summary.start_time,
        end_time=summary.end_time,
        group_type=summary.group_type,
        service_code=summary.service_code,
        status=summary.status,
        supervisor_ids=list(summary.supervisors),
        roster_size=summary.roster_size,
        attendance=summary.counts,
        version=summary.version,
    )


def _buttons(entry: RosterEntry) -> list[AttendanceStatus]:
    return list(legal_next_states(entry.status))


def _detail(session: GroupSession) -> SessionDetailOut:
    p = session.plan
    return SessionDetailOut(
        session_id=session.session_id,
        facility_id=p.facility_id,
        facility_state=p.facility_state,
        program_id=p.program_id,
        session_date=p.session_date,
        start_time=p.start_time,
        end_time=p.end_time,
        group_type=p.group_type,
        service_code=p.service_code,
        status=session.status,
        origin=session.origin,
        cancel_reason=session.cancel_reason,
        roster_size=len(session.participants),
        attendance=session.attendance_counts(),
        participants=[
            ParticipantOut(member_id=e.subject_id, status=e.status, legal_next_states=_buttons(e))
            for e in session.participants.values()
        ],
        supervisors=[
            SupervisorOut(provider_id=e.subject_id, status=e.status, legal_next_states=_buttons(e))
            for e in session.supervisors.values()
        ],
        version=session.version,
    )


def _history_entry(change: AttendanceChange) -> HistoryEntryOut:
    return HistoryEntryOut(
        role=change.role,
        subject_id=change.subject_id,
        from_status=change.from_status,
        to_status=change.to_status,
        actor=change.actor,
        at=change.at,
    )


@router.get("", response_model=SessionList, summary="List the tenant's group sessions")
async def list_sessions(
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(READ))],
    date_from: Annotated[
        date | None, Query(alias="from", description="First session date; default today")
    ] = None,
    date_to: Annotated[
        date | None, Query(alias="to", description="Last session date; default date_from")
    ] = None,
    facility_id: Annotated[
        str | None, Query(description="Default: the caller's facility, if the token names one")
    ] = None,
    group_type: str | None = None,
    status: SessionStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SessionList:
    first = date_from or date_to or _today(request)
    last = date_to or first
    if last < first:
        raise Problem(422, "INVALID_DATE_RANGE", "'to' is before 'from'")
    facility = facility_id or principal.facility_id
    async with _runtime(request).sessionmaker() as session:
        summaries = await GroupSessionRepository(session).list_summaries(
            principal.tenant_id,
            date_from=first,
            date_to=last,
            facility_id=facility,
            group_type=group_type,
            status=status,
            limit=limit,
            offset=offset,
        )
    return SessionList(
        date_from=first, date_to=last, facility_id=facility, items=[_row(s) for s in summaries]
    )


@router.get(
    "/{session_id}",
    response_model=SessionDetailOut,
    summary="A session with its roster and supervisors",
)
async def get_session(
    session_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(READ))],
) -> SessionDetailOut:
    async with _runtime(request).sessionmaker() as session:
        group_session = await GroupSessionRepository(session).get(principal.tenant_id, session_id)
    if group_session is None:
        raise not_found("Group session")
    return _detail(group_session)


@router.get(
    "/{session_id}/history",
    response_model=SessionHistory,
    summary="Every attendance change of a session, oldest first",
)
async def get_history(
    session_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(READ))],
) -> SessionHistory:
    async with _runtime(request).sessionmaker() as session:
        changes = await GroupSessionRepository(session).history(principal.tenant_id, session_id)
    if changes is None:
        raise not_found("Group session")
    return SessionHistory(session_id=session_id, items=[_history_entry(c) for c in changes])


@router.post(
    "",
    response_model=SessionDetailOut,
    status_code=201,
    summary="Create an ad-hoc group session",
)
async def create_session(
    body: CreateGroupSession,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(WRITE))],
) -> SessionDetailOut:
    facility_id = body.facility_id or principal.facility_id
    if facility_id is None:
        raise Problem(422, "FACILITY_REQUIRED", "Name the facility (the token names none)")
    plan = SessionPlan.of(
        facility_id=facility_id,
        facility_state=body.facility_state,
        program_id=body.program_id,
        session_date=body.session_date,
        start_time=body.start_time,
        end_time=body.end_time,
        group_type=body.group_type,
        service_code=body.service_code,
        participants=body.participants,
        supervisors=body.supervisors,
    )
    command = ScheduleSession(
        tenant_id=principal.tenant_id,
        session_id=body.session_id or f"adhoc-{uuid.uuid4().hex}",
        plan=plan,
        actor=principal.subject,
        origin=SessionOrigin.AD_HOC,
    )
    runtime = _runtime(request)
    async with runtime.unit_of_work() as uow:
        group_session = await create_ad_hoc_session(uow, command)
        await uow.commit()
    runtime.relay.wake()
    return _detail(group_session)


async def _set_status(
    request: Request,
    principal: Principal,
    session_id: str,
    role: RosterRole,
    subject_id: str,
    body: SetStatus,
) -> SessionDetailOut:
    command = SetAttendance(
        tenant_id=principal.tenant_id,
        session_id=session_id,
        role=role,
        subject_id=subject_id,
        status=body.status,
        actor=principal.subject,
        expected_version=body.expected_version,
    )
    runtime = _runtime(request)
    with _concurrent_update_refused():
        async with runtime.unit_of_work() as uow:
            group_session = await set_attendance(uow, command)
            await uow.commit()
    runtime.relay.wake()
    return _detail(group_session)


@router.put(
    "/{session_id}/participants/{member_id}/status",
    response_model=SessionDetailOut,
    summary="Set a participant's attendance (legal moves only)",
)
async def set_participant_status(
    session_id: str,
    member_id: str,
    body: SetStatus,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(WRITE))],
) -> SessionDetailOut:
    return await _set_status(
        request, principal, session_id, RosterRole.PARTICIPANT, member_id, body
    )


@router.put(
    "/{session_id}/supervisors/{provider_id}/status",
    response_model=SessionDetailOut,
    summary="Set a supervisor's attendance (legal moves only)",
)
async def set_supervisor_status(
    session_id: str,
    provider_id: str,
    body: SetStatus,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(WRITE))],
) -> SessionDetailOut:
    return await _set_status(
        request, principal, session_id, RosterRole.SUPERVISOR, provider_id, body
    )
