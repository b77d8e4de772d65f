"""HTTP API of the stays service. Routes translate: request in, use case, response out.

Routes (scopes clinical.encounter.read / clinical.encounter.write, every query scoped to
the token's tenant): list and detail (admission, leaves, discharge, status, stay_version,
length of stay, LOA nights, history); create a stay; add, correct, cancel and end a leave;
discharge, correct and undo the discharge; correct the admission or void it as entered in
error; a member's enrollment windows. Each change announces the same canonical
``stays.stay.*`` event as the EHR feed's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from common.http import Principal, Problem, not_found, require_scopes
from common.runtime import ServiceRuntime
from contracts.codes import Identifier, LeaveReason, Note
from contracts.events.stay_components import StayCorrectionKind
from stays.adapters.db.repository import EnrollmentRepository, StaleStayError, StayRepository
from stays.domain import errors
from stays.domain.enrollment import resolve_admit_date
from stays.domain.errors import StayUnknown
from stays.domain.model import (
    Admission,
    Discharge,
    Leave,
    Stay,
    StayChange,
    StayChangeKind,
    StayStatus,
)
from stays.service_layer.admissions import AdmitStay, admit_stay
from stays.service_layer.changes import (
    CancelLeave,
    ChangeAdmission,
    ChangeDischarge,
    ChangeLeave,
    ChangeSource,
    DischargeStay,
    EndLeave,
    EnterInError,
    StartLeave,
    StayCommand,
    UndoDischarge,
    change_stay,
)

READ = "clinical.encounter.read"
WRITE = "clinical.encounter.write"

router = APIRouter(prefix="/v1/stays", tags=["stays"])
members_router = APIRouter(prefix="/v1/members", tags=["enrollments"])

# The one place a stay rule's code becomes an HTTP status: 409 conflicts with what the
# stay holds, 422 cannot describe a real stay, 404 names something not recorded.
DOMAIN_STATUSES: dict[str, int] = {
    errors.STAY_ALREADY_ADMITTED: 409,
    errors.LEAVE_ALREADY_OPEN: 409,
    errors.LEAVE_NOT_OPEN: 409,
    errors.LEAVE_ID_IN_USE: 409,
    errors.LEAVE_CANCELLED: 409,
    errors.STAY_DISCHARGED: 409,
    errors.STAY_ENTERED_IN_ERROR: 409,
    errors.STAY_NOT_DISCHARGED: 409,
    errors.LEAVE_OUTSIDE_STAY: 422,
    errors.LEAVE_OVERLAPS: 422,
    errors.DISCHARGE_BEFORE_ADMISSION: 422,
    errors.OUT_OF_ORDER: 422,
    errors.STAY_UNKNOWN: 404,
    errors.LEAVE_UNKNOWN: 404,
}


# --------------------------------------------------------------------------- bodies


class CreateStay(BaseModel):
    stay_id: Identifier
    member_id: Identifier
    facility_id: Identifier
    program_id: Identifier
    admission: Admission


class AddLeave(BaseModel):
    leave_id: Identifier | None = Field(
        default=None, description="Given by the caller, or made up by the service."
    )
    start_date: date = Field(description="First night away (not a covered day).")
    return_date: date | None = Field(
        default=None, description="Day back (covered); absent while the member is away."
    )
    reason: LeaveReason = LeaveReason.OTHER
    note: Note | None = None


class CorrectLeave(BaseModel):
    start_date: date
    return_date: date | None = Field(default=None, description="Absent: the leave is open.")
    reason: LeaveReason = LeaveReason.OTHER
    note: Note | None = None


class ReturnFromLeave(BaseModel):
    return_date: date = Field(description="Day the member is back (a covered day).")


class Why(BaseModel):
    reason: Note = Field(description="Why, for the stay's history.")


class DischargeBody(Discharge):
    note: Note | None = None


class CorrectAdmission(BaseModel):
    admission: Admission
    note: Note | None = None


# --------------------------------------------------------------------------- views


class LeaveOut(BaseModel):
    leave_id: str
    start_date: date
    return_date: date | None
    reason: LeaveReason
    open: bool
    closed_by_discharge: bool = Field(
        description="Still away at discharge: closed on the discharge date."
    )
    loa_nights: int = Field(description="Nights away among the stay's days.")


class ChangeOut(BaseModel):
    stay_version: int
    change: StayChangeKind
    correction_kind: StayCorrectionKind | None
    leave_id: str | None
    affected_from: date | None
    affected_through: date | None
    recorded_at: datetime
    recorded_by: str
    via: str = Field(description="feed (an inbound event) or api")
    event_id: str | None
    note: str | None
    detail: dict[str, Any]


class StayOut(BaseModel):
    stay_id: str
    stay_version: int
    member_id: str
    facility_id: str
    program_id: str
    status: StayStatus
    admission: Admission
    leaves: list[LeaveOut]
    discharge: Discharge | None
    as_of: date = Field(description="Open stays count their days through this date.")
    length_of_stay_days: int = Field(
        description="Midnight rule: admission day counts, "
        "discharge day does not, a same-day stay is one day."
    )
    loa_nights: int
    covered_days: int = Field(description="length_of_stay_days - loa_nights")


class StayDetail(StayOut):
    cancelled_leaves: list[LeaveOut]
    history: list[ChangeOut]


class StayList(BaseModel):
    items: list[StayOut]


class EnrollmentOut(BaseModel):
    program_id: str
    enrolled_from: date
    enrolled_to: date | None


class MemberEnrollments(BaseModel):
    member_id: str
    items: list[EnrollmentOut]
    resolved_admit_date: date | None = Field(
        default=None,
        description="With program_id and on: the start of the window bracketing that date.",
    )


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def _today(request: Request, tenant_id: str) -> date:
    """Business dates are the tenant's local calendar dates (SPEC 2)."""
    tenants = _runtime(request).tenants
    zone = ZoneInfo(tenants.get(tenant_id).time_zone) if tenant_id in tenants else UTC
    return datetime.now(zone).date()


def _leave_out(stay: Stay, leave: Leave, as_of: date, *, cancelled: bool = False) -> LeaveOut:
    counted = not cancelled and stay.status is not StayStatus.ENTERED_IN_ERROR
    return LeaveOut(
        leave_id=leave.leave_id,
        start_date=leave.start_date,
        return_date=leave.return_date,
        reason=leave.reason,
        open=leave.is_open,
        closed_by_discharge=leave.closed_by_discharge,
        loa_nights=leave.nights_through(stay.last_stay_day(as_of)) if counted else 0,
    )


def _stay_values(stay: Stay, as_of: date) -> dict[str, Any]:
    return {
        "stay_id": stay.stay_id,
        "stay_version": stay.version,
        "member_id": stay.member_id,
        "facility_id": stay.facility_id,
        "program_id": stay.program_id,
        "status": stay.status,
        "admission": stay.admission,
        "leaves": [_leave_out(stay, leave, as_of) for leave in stay.leaves],
        "discharge": stay.discharge,
        "as_of": as_of,
        "length_of_stay_days": stay.length_of_stay(as_of),
        "loa_nights": stay.loa_nights(as_of),
        "covered_days": stay.covered_days(as_of),
    }


def _change_out(change: StayChange) -> ChangeOut:
    return ChangeOut(
        stay_version=change.stay_version,
        change=change.kind,
        correction_kind=change.correction_kind,
        leave_id=change.leave_id,
        affected_from=change.affected_from,
        affected_through=change.affected_through,
        recorded_at=change.recorded.at,
        recorded_by=change.recorded.by,
        via="api" if change.recorded.event_id is None else "feed",
        event_id=change.recorded.event_id,
        note=change.recorded.note,
        detail=change.detail,
    )


async def _detail(request: Request, tenant_id: str, stay_id: str, as_of: date | None) -> StayDetail:
    async with _runtime(request).sessionmaker() as session:
        repository = StayRepository(session)
        stay = await repository.get(tenant_id, stay_id)
        if stay is None:
            raise StayUnknown(stay_id)
        history = await repository.history(tenant_id, stay_id)
    day = as_of or _today(request, tenant_id)
    return StayDetail(
        **_stay_values(stay, day),
        cancelled_leaves=[
            _leave_out(stay, leave, day, cancelled=True) for leave in stay.cancelled_leaves
        ],
        history=[_change_out(change) for change in history],
    )


@contextmanager
def _concurrent_update_refused() -> Iterator[None]:
    try:
        yield
    except StaleStayError as exc:
        raise Problem(
            409,
            "CONCURRENT_UPDATE",
            "The stay changed while this request was applied; retry",
            stay_id=exc.stay_id,
        ) from exc


async def _change(
    request: Request, principal: Principal, command: StayCommand
) -> tuple[StayDetail, StayChange | None]:
    runtime = _runtime(request)
    with _concurrent_update_refused():
        async with runtime.unit_of_work() as uow:
            _, change = await change_stay(uow, command)
            await uow.commit()
    runtime.relay.wake()
    return await _detail(request, principal.tenant_id, command.stay_id, None), change


def _by(principal: Principal, note: str | None = None) -> ChangeSource:
    return ChangeSource(by=principal.subject, note=note)


Reader = Annotated[Principal, Depends(require_scopes(READ))]
Writer = Annotated[Principal, Depends(require_scopes(WRITE))]


# --------------------------------------------------------------------------- stays


@router.get("", response_model=StayList, summary="List the tenant's stays")
async def list_stays(
    request: Request,
    principal: Reader,
    member_id: str | None = None,
    facility_id: str | None = None,
    status: StayStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> StayList:
    async with _runtime(request).sessionmaker() as session:
        stays = await StayRepository(session).list(
            principal.tenant_id,
            member_id=member_id,
            facility_id=facility_id,
            status=status,
            limit=limit,
            offset=offset,
        )
    if not stays:
        return StayList(items=[])
    today = _today(request, principal.tenant_id)
    return StayList(items=[StayOut(**_stay_values(s, today)) for s in stays])


@router.get(
    "/{stay_id}",
    response_model=StayDetail,
    summary="A stay: admission, leaves, discharge, length of stay, history",
)
async def get_stay(
    stay_id: str,
    request: Request,
    principal: Reader,
    as_of: Annotated[
        date | None, Query(description="Count an open stay's days through this date.")
    ] = None,
) -> StayDetail:
    return await _detail(request, principal.tenant_id, stay_id, as_of)


@router.post("", response_model=StayDetail, status_code=201, summary="Record an admission")
async def create_stay(body: CreateStay, request: Request, principal: Writer) -> StayDetail:
    command = AdmitStay(
        tenant_id=principal.tenant_id,
        stay_id=body.stay_id,
        member_id=body.member_id,
        facility_id=body.facility_id,
        program_id=body.program_id,
        admission=body.admission,
        source=_by(principal),
    )
    async with _runtime(request).unit_of_work() as uow:
        await admit_stay(uow, command)
        await uow.commit()
    _runtime(request).relay.wake()
    return await _detail(request, principal.tenant_id, body.stay_id, None)


@router.put(
    "/{stay_id}/admission",
    response_model=StayDetail,
    summary="Correct the admission (ADMISSION_CHANGED)",
)
async def correct_admission(
    stay_id: str, body: CorrectAdmission, request: Request, principal: Writer
) -> StayDetail:
    command = ChangeAdmission(
        principal.tenant_id, stay_id, _by(principal, body.note), body.admission
    )
    return (await _change(request, principal, command))[0]


@router.delete(
    "/{stay_id}",
    response_model=StayDetail,
    summary="Void the stay: its admission was entered in error (ADMISSION_ENTERED_IN_ERROR)",
)
async def enter_stay_in_error(
    stay_id: str, body: Why, request: Request, principal: Writer
) -> StayDetail:
    command = EnterInError(principal.tenant_id, stay_id, _by(principal, body.reason))
    return (await _change(request, principal, command))[0]


# --------------------------------------------------------------------------- leaves


@router.post(
    "/{stay_id}/leaves",
    response_model=StayDetail,
    status_code=201,
    summary="Record a leave of absence (now, or after the fact with its return)",
    responses={200: {"description": "The same leave was recorded already"}},
)
async def add_leave(
    stay_id: str, body: AddLeave, request: Request, response: Response, principal: Writer
) -> StayDetail:
    leave_id = body.leave_id or f"loa-{uuid.uuid4().hex[:16]}"
    command = StartLeave(
        principal.tenant_id,
        stay_id,
        _by(principal, body.note),
        leave_id=leave_id,
        start_date=body.start_date,
        reason=body.reason,
        return_date=body.return_date,
    )
    detail, change = await _change(request, principal, command)
    if change is None:
        response.status_code = 200
    response.headers["Location"] = f"/v1/stays/{stay_id}/leaves/{leave_id}"
    return detail


@router.put(
    "/{stay_id}/leaves/{leave_id}",
    response_model=StayDetail,
    summary="Correct a leave's dates or reason (LEAVE_CHANGED); no return_date reopens it",
)
async def correct_leave(
    stay_id: str, leave_id: str, body: CorrectLeave, request: Request, principal: Writer
) -> StayDetail:
    command = ChangeLeave(
        principal.tenant_id,
        stay_id,
        _by(principal, body.note),
        leave_id=leave_id,
        start_date=body.start_date,
        return_date=body.return_date,
        reason=body.reason,
        may_add=False,
    )
    return (await _change(request, principal, command))[0]


@router.delete(
    "/{stay_id}/leaves/{leave_id}",
    response_model=StayDetail,
    summary="Cancel a leave entered in error (LEAVE_CANCELLED); its nights are covered again",
)
async def cancel_leave(
    stay_id: str, leave_id: str, body: Why, request: Request, principal: Writer
) -> StayDetail:
    command = CancelLeave(principal.tenant_id, stay_id, _by(principal, body.reason), leave_id)
    return (await _change(request, principal, command))[0]


@router.post(
    "/{stay_id}/leaves/{leave_id}/return",
    response_model=StayDetail,
    summary="End a leave: the member is back",
)
async def end_leave(
    stay_id: str, leave_id: str, body: ReturnFromLeave, request: Request, principal: Writer
) -> StayDetail:
    command = EndLeave(
        principal.tenant_id,
        stay_id,
        _by(principal),
        leave_id=leave_id,
        return_date=body.return_date,
    )
    return (await _change(request, principal, command))[0]


# --------------------------------------------------------------------------- discharge


def _discharge(body: DischargeBody) -> Discharge:
    return Discharge(
        discharge_date=body.discharge_date,
        discharge_hour=body.discharge_hour,
        patient_status=body.patient_status,
    )


@router.post(
    "/{stay_id}/discharge",
    response_model=StayDetail,
    summary="Discharge: date, hour, NUBC patient status; closes a leave still open",
)
async def discharge_stay(
    stay_id: str, body: DischargeBody, request: Request, principal: Writer
) -> StayDetail:
    command = DischargeStay(
        principal.tenant_id, stay_id, _by(principal, body.note), _discharge(body)
    )
    return (await _change(request, principal, command))[0]


@router.put(
    "/{stay_id}/discharge",
    response_model=StayDetail,
    summary="Correct the discharge date, hour or status (DISCHARGE_CHANGED)",
)
async def correct_discharge(
    stay_id: str, body: DischargeBody, request: Request, principal: Writer
) -> StayDetail:
    command = ChangeDischarge(
        principal.tenant_id, stay_id, _by(principal, body.note), _discharge(body)
    )
    return (await _change(request, principal, command))[0]


@router.delete(
    "/{stay_id}/discharge",
    response_model=StayDetail,
    summary="Undo the discharge (DISCHARGE_UNDONE): the member is still a patient",
)
async def undo_discharge(
    stay_id: str, body: Why, request: Request, principal: Writer
) -> StayDetail:
    command = UndoDischarge(principal.tenant_id, stay_id, _by(principal, body.reason))
    return (await _change(request, principal, command))[0]


# --------------------------------------------------------------------------- enrollments


@members_router.get(
    "/{member_id}/enrollments",
    response_model=MemberEnrollments,
    summary="A member's program enrollment windows (from the EHR's member record)",
)
async def member_enrollments(
    member_id: str,
    request: Request,
    principal: Reader,
    program_id: str | None = None,
    on: Annotated[
        date | None,
        Query(description="With program_id: resolve the admit date bracketing this date."),
    ] = None,
) -> MemberEnrollments:
    async with _runtime(request).sessionmaker() as session:
        repository = EnrollmentRepository(session)
        if not await repository.known(principal.tenant_id, member_id):
            raise not_found("Member")
        windows = await repository.windows(principal.tenant_id, member_id, program_id)
    return MemberEnrollments(
        member_id=member_id,
        items=[
            EnrollmentOut(
                program_id=w.program_id, enrolled_from=w.enrolled_from, enrolled_to=w.enrolled_to
            )
            for w in windows
        ],
        resolved_admit_date=(
            resolve_admit_date(windows, program_id, on) if program_id and on else None
        ),
    )
