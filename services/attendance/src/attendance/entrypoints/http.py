"""HTTP API of the attendance service. Routes translate: request in, use case, response out.

Routes: list, detail (roster, supervisors, billing preview, claims), history, overrides
(the audit of forced changes), create ad hoc, set a participant's or supervisor's status
(``force`` with a reason past the lock), finalize."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal
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
    Closing,
    Closure,
    Override,
    RosterEntry,
    RosterRole,
    SessionOrigin,
    SessionPlan,
    SessionStatus,
)
from attendance.domain.roster import AttendanceStatus, legal_next_states
from attendance.service_layer.billing import BillingPreview, SessionView, view_session
from attendance.service_layer.closing import (
    FinalizeSession,
    finalize_session,
    force_set_attendance,
)
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
FORCE = "clinical.attendance.write.force"

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
    errors.LOCKED: 409,
    errors.UNMARKED_PARTICIPANTS: 409,
    errors.BLOCKING_ISSUES: 409,
    errors.WARNINGS_NOT_ACKNOWLEDGED: 409,
    errors.NOT_ACKNOWLEDGEABLE: 422,
    errors.FORCE_REASON_REQUIRED: 422,
    errors.CLAIM_SUBMITTED: 409,
    errors.CLOSE_SEQUENCE_UNKNOWN: 409,
    errors.BILLING_POLICY_UNAVAILABLE: 422,
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
    locked: bool = Field(description="Charges are built: edits need force")
    close_sequence: int = Field(description="How many times the session closed")
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


class BandOut(BaseModel):
    name: str
    rate: Decimal = Field(description="Rate per billable participant")


class IssueOut(BaseModel):
    code: str
    severity: str = Field(description="error (blocks billing) or warning")
    blocks_billing: bool
    message: str


class SupervisionRatioOut(BaseModel):
    max_participants_per_supervisor: int
    payer_id: str | None = Field(description="The payer the rule is for (None: any)")
    state: str | None = Field(description="The state the rule is for (None: any)")


class BillingPreviewOut(BaseModel):
    billable_count: int
    billable_statuses: list[AttendanceStatus] = Field(
        description="The tenant policy's billable statuses on the session date"
    )
    band: BandOut | None = Field(description="None below the smallest band or unpriced")
    issues: list[IssueOut]
    blocks_billing: bool
    payer_checks_skipped: bool
    payer_checks_skipped_reason: str | None
    payers: list[str] = Field(
        description="Payers of the primary coverage in force of the participants considered"
    )
    supervision_ratio: SupervisionRatioOut | None = Field(
        description="The strictest rule in force for those payers and the facility's state"
    )
    facility_state: str | None
    notes: list[str]


class PreviewUnavailableOut(BaseModel):
    code: str
    message: str


class ClosingOut(BaseModel):
    close_sequence: int
    closure: Closure
    closed_at: datetime
    closed_by: str | None
    billable_statuses: list[AttendanceStatus]
    billable_count: int
    band: BandOut | None = Field(description="The band fixed at closing")
    acknowledged_warnings: list[str]


class ClaimOut(BaseModel):
    claim_id: str
    status: str


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
    locked: bool = Field(description="Charges are built: edits need force and a reason")
    close_sequence: int
    closing: ClosingOut | None = Field(description="How the session closed, while CLOSED")
    billing_preview: BillingPreviewOut | None = Field(
        description="The group billing rules over the roster now (recomputed on each read)"
    )
    billing_preview_unavailable: PreviewUnavailableOut | None = Field(
        default=None, description="Why there is no preview (e.g. TENANT_NOT_CONFIGURED)"
    )
    claims: list[ClaimOut] = Field(
        default_factory=list, description="Claims holding the session's charges"
    )
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
    force: bool = Field(
        default=False,
        description=f"Change a closed or locked session (scope {FORCE}): it reopens, its "
        "charges are voided and rebuilt when it closes again; audited",
    )
    reason: str | None = Field(
        default=None, max_length=500, description="Why (required with force)"
    )


class FinalizeRequest(BaseModel):
    acknowledged_warnings: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="Warning codes knowingly accepted, e.g. SUPERVISION_RATIO_BREACH; "
        "errors cannot be acknowledged",
    )
    expected_version: int | None = Field(default=None, ge=1)


class OverrideOut(BaseModel):
    role: RosterRole
    subject_id: str
    from_status: AttendanceStatus
    to_status: AttendanceStatus
    actor: str
    at: datetime
    reason: str
    reopened: bool = Field(description="The change reopened the closed session")
    close_sequence: int = Field(description="The closing it undid (when reopened)")


class OverrideList(BaseModel):
    session_id: str
    items: list[OverrideOut]


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def _today(request: Request, tenant_id: str) -> date:
    """Today at the tenant (its configured time zone, else the service's setting)."""
    runtime = _runtime(request)
    settings = runtime.settings
    zone = settings.business_time_zone if isinstance(settings, AttendanceSettings) else "UTC"
    if tenant_id in runtime.tenants:
        zone = runtime.tenants.get(tenant_id).time_zone
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
        locked=summary.locked,
        close_sequence=summary.close_sequence,
        version=summary.version,
    )


def _buttons(entry: RosterEntry) -> list[AttendanceStatus]:
    return list(legal_next_states(entry.status))


def _band(name: str | None, rate: Decimal | None) -> BandOut | None:
    return BandOut(name=name, rate=rate) if name is not None and rate is not None else None


def _preview(preview: BillingPreview) -> BillingPreviewOut:
    rules, evaluation = preview.rules, preview.evaluation
    band = evaluation.band
    ratio = rules.supervision_ratio
    return BillingPreviewOut(
        billable_count=evaluation.billable_count,
        billable_statuses=rules.billable_statuses_in_order,
        band=_band(band.name, band.rate_per_participant) if band else None,
        issues=[
            IssueOut(
                code=i.code.value,
                severity=i.severity.value,
                blocks_billing=i.blocks_billing,
                message=i.message,
            )
            for i in evaluation.issues
        ],
        blocks_billing=evaluation.blocks_billing,
        payer_checks_skipped=evaluation.payer_checks_skipped,
        payer_checks_skipped_reason=rules.payer_checks_skipped_reason,
        payers=list(rules.payers),
        supervision_ratio=(
            SupervisionRatioOut(
                max_participants_per_supervisor=ratio.max_participants_per_supervisor,
                payer_id=ratio.payer_id,
                state=ratio.state,
            )
            if ratio is not None
            else None
        ),
        facility_state=rules.facility_state,
        notes=list(rules.notes),
    )


def _closing(closing: Closing | None) -> ClosingOut | None:
    if closing is None:
        return None
    return ClosingOut(
        close_sequence=closing.sequence,
        closure=closing.closure,
        closed_at=closing.closed_at,
        closed_by=closing.closed_by,
        billable_statuses=list(closing.billable_statuses),
        billable_count=closing.billable_count,
        band=_band(closing.band_name, closing.band_rate),
        acknowledged_warnings=list(closing.acknowledged_warnings),
    )


def _detail(view: SessionView) -> SessionDetailOut:
    session = view.session
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
        locked=session.locked,
        close_sequence=session.close_sequence,
        closing=_closing(session.closing),
        billing_preview=_preview(view.preview) if view.preview is not None else None,
        billing_preview_unavailable=(
            PreviewUnavailableOut(
                code=view.preview_unavailable.code, message=view.preview_unavailable.message
            )
            if view.preview_unavailable is not None
            else None
        ),
        claims=[ClaimOut(claim_id=c.claim_id, status=c.status) for c in view.claims],
        version=session.version,
    )


async def _view(request: Request, tenant_id: str, session_id: str) -> SessionDetailOut:
    runtime = _runtime(request)
    async with runtime.sessionmaker() as session:
        view = await view_session(session, runtime.tenants, tenant_id, session_id)
    if view is None:
        raise not_found("Group session")
    return _detail(view)


def _override(override: Override) -> OverrideOut:
    return OverrideOut(
        role=override.role,
        subject_id=override.subject_id,
        from_status=override.from_status,
        to_status=override.to_status,
        actor=override.actor,
        at=override.at,
        reason=override.reason,
        reopened=override.reopened,
        close_sequence=override.close_sequence,
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
    locked: Annotated[bool | None, Query(description="Only locked (or unlocked) ones")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SessionList:
    first = date_from or date_to or _today(request, principal.tenant_id)
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
            locked=locked,
            limit=limit,
            offset=offset,
        )
    return SessionList(
        date_from=first, date_to=last, facility_id=facility, items=[_row(s) for s in summaries]
    )


@router.get(
    "/{session_id}",
    response_model=SessionDetailOut,
    summary="A session with its roster, supervisors and billing preview",
)
async def get_session(
    session_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(READ))],
) -> SessionDetailOut:
    return await _view(request, principal.tenant_id, session_id)


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


@router.get(
    "/{session_id}/overrides",
    response_model=OverrideList,
    summary="The audit of forced changes to a session (who, when, what, why), oldest first",
)
async def get_overrides(
    session_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(READ))],
) -> OverrideList:
    async with _runtime(request).sessionmaker() as session:
        repository = GroupSessionRepository(session)
        if await repository.get(principal.tenant_id, session_id) is None:
            raise not_found("Group session")
        overrides = await repository.overrides(principal.tenant_id, session_id)
    return OverrideList(session_id=session_id, items=[_override(o) for o in overrides])


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
    return await _view(request, principal.tenant_id, group_session.session_id)


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
    if body.force and not principal.has(FORCE):
        raise Problem(
            403,
            "INSUFFICIENT_SCOPE",
            "A forced change needs the force scope",
            f"missing: {FORCE}",
            required_scopes=[WRITE, FORCE],
        )
    runtime = _runtime(request)
    with _concurrent_update_refused():
        async with runtime.unit_of_work() as uow:
            if body.force:
                await force_set_attendance(uow, command, reason=body.reason)
            else:
                await set_attendance(uow, command)
            await uow.commit()
    runtime.relay.wake()
    return await _view(request, principal.tenant_id, session_id)


@router.put(
    "/{session_id}/participants/{member_id}/status",
    response_model=SessionDetailOut,
    summary="Set a participant's attendance (legal moves; force with a reason past the lock)",
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
    summary="Set a supervisor's attendance (legal moves; force with a reason past the lock)",
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


@router.post(
    "/{session_id}/finalize",
    response_model=SessionDetailOut,
    summary="Close the session's attendance (every row marked, nothing blocking billing)",
    description="409 UNMARKED_PARTICIPANTS lists the participants still SCHEDULED; 409 "
    "BLOCKING_ISSUES lists the preview's errors; 409 WARNINGS_NOT_ACKNOWLEDGED lists the "
    "warnings to accept knowingly (acknowledged_warnings). Closing fixes the band and emits "
    "attendance.group_session.closed.v1. Finalizing a closed session changes nothing.",
)
async def finalize(
    session_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(WRITE))],
    body: FinalizeRequest | None = None,
) -> SessionDetailOut:
    body = body or FinalizeRequest()
    command = FinalizeSession(
        tenant_id=principal.tenant_id,
        session_id=session_id,
        actor=principal.subject,
        acknowledged_warnings=tuple(dict.fromkeys(body.acknowledged_warnings)),
        expected_version=body.expected_version,
    )
    runtime = _runtime(request)
    with _concurrent_update_refused():
        async with runtime.unit_of_work() as uow:
            await finalize_session(uow, command, runtime.tenants)
            await uow.commit()
    runtime.relay.wake()
    return await _view(request, principal.tenant_id, session_id)
