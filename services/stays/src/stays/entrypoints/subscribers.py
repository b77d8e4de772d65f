"""Inbound events of the stays service, translated into use-case commands."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from common.messaging import EventHandler, EventHandlers, HandlerContext
from contracts.events import (
    MEMBER_UPSERTED_V1,
    STAY_ADMITTED_V1,
    STAY_CORRECTED_V1,
    STAY_DISCHARGED_V1,
    STAY_LEAVE_ENDED_V1,
    STAY_LEAVE_STARTED_V1,
    data_model_for,
)
from contracts.events.ehr import (
    AdmissionChanged,
    AdmissionEnteredInError,
    DischargeChanged,
    DischargeUndone,
    EhrStayAdmitted,
    EhrStayCorrected,
    EhrStayDischarged,
    EhrStayLeaveEnded,
    EhrStayLeaveStarted,
    LeaveCancelled,
    LeaveChanged,
    MemberUpserted,
)
from contracts.events.stay_components import Discharge
from stays.adapters.db.repository import SourceStamp
from stays.domain.enrollment import EnrollmentWindow
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
from stays.service_layer.enrollments import record_enrollments

M = TypeVar("M", bound=BaseModel)


def _data(ctx: HandlerContext, model: type[M]) -> M:
    if not isinstance(ctx.data, model):
        raise TypeError(f"{ctx.event.type} carries {type(ctx.data).__name__}")
    return ctx.data


def _source(ctx: HandlerContext, *, by: str | None = None, note: str | None = None) -> ChangeSource:
    return ChangeSource(by=by or ctx.event.source, event_id=ctx.event.id, note=note)


async def on_stay_admitted(ctx: HandlerContext) -> None:
    data = _data(ctx, EhrStayAdmitted)
    await admit_stay(
        ctx.uow,
        AdmitStay(
            tenant_id=ctx.tenant_id,
            stay_id=data.stay_id,
            member_id=data.member_id,
            facility_id=data.facility_id,
            program_id=data.program_id,
            admission=data.admission,
            source=_source(ctx),
        ),
    )


async def on_leave_started(ctx: HandlerContext) -> None:
    data = _data(ctx, EhrStayLeaveStarted)
    # expected_return_date is a plan, not a return: the leave stays open until it ends.
    await change_stay(
        ctx.uow,
        StartLeave(
            tenant_id=ctx.tenant_id,
            stay_id=data.stay_id,
            source=_source(ctx, note=data.note),
            leave_id=data.leave_id,
            start_date=data.start_date,
            reason=data.reason,
        ),
    )


async def on_leave_ended(ctx: HandlerContext) -> None:
    data = _data(ctx, EhrStayLeaveEnded)
    await change_stay(
        ctx.uow,
        EndLeave(
            tenant_id=ctx.tenant_id,
            stay_id=data.stay_id,
            source=_source(ctx),
            leave_id=data.leave_id,
            return_date=data.return_date,
        ),
    )


async def on_discharged(ctx: HandlerContext) -> None:
    data = _data(ctx, EhrStayDischarged)
    await change_stay(
        ctx.uow,
        DischargeStay(
            tenant_id=ctx.tenant_id,
            stay_id=data.stay_id,
            source=_source(ctx),
            discharge=Discharge(
                discharge_date=data.discharge_date,
                discharge_hour=data.discharge_hour,
                patient_status=data.patient_status,
            ),
        ),
    )


async def on_corrected(ctx: HandlerContext) -> None:
    data = _data(ctx, EhrStayCorrected)
    source = _source(ctx, by=data.corrected_by, note=data.note)
    tenant, stay_id = ctx.tenant_id, data.stay_id
    correction = data.correction
    command: StayCommand
    match correction:
        case AdmissionChanged():
            command = ChangeAdmission(tenant, stay_id, source, correction.admission)
        case AdmissionEnteredInError():
            command = EnterInError(tenant, stay_id, source)
        case DischargeChanged():
            command = ChangeDischarge(tenant, stay_id, source, correction.discharge)
        case DischargeUndone():
            command = UndoDischarge(tenant, stay_id, source)
        case LeaveChanged():
            leave = correction.leave
            command = ChangeLeave(
                tenant,
                stay_id,
                source,
                leave_id=leave.leave_id,
                start_date=leave.start_date,
                return_date=leave.return_date,
                reason=leave.reason,
            )
        case LeaveCancelled():
            command = CancelLeave(tenant, stay_id, source, correction.leave_id)
    await change_stay(ctx.uow, command)


async def on_member_upserted(ctx: HandlerContext) -> None:
    data = _data(ctx, MemberUpserted)
    await record_enrollments(
        ctx.uow,
        ctx.tenant_id,
        data.member_id,
        [
            EnrollmentWindow(
                program_id=e.program_id,
                enrolled_from=e.enrolled_from,
                enrolled_to=e.enrolled_to,
            )
            for e in data.program_enrollments
        ],
        SourceStamp(time=ctx.event.time, event_id=ctx.event.id),
    )


HANDLERS: tuple[tuple[str, EventHandler], ...] = (
    (STAY_ADMITTED_V1, on_stay_admitted),
    (STAY_LEAVE_STARTED_V1, on_leave_started),
    (STAY_LEAVE_ENDED_V1, on_leave_ended),
    (STAY_DISCHARGED_V1, on_discharged),
    (STAY_CORRECTED_V1, on_corrected),
    (MEMBER_UPSERTED_V1, on_member_upserted),
)


def build_handlers() -> EventHandlers:
    registry = EventHandlers()
    for event_type, handler in HANDLERS:
        model = data_model_for(event_type)
        assert model is not None, event_type
        registry.register(event_type, model, handler)
    return registry
