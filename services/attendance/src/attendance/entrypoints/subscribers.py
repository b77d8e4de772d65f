"""Inbound events of the attendance service, translated into use-case commands.

A rule the event breaks (an update for an unknown session, an update after a cancel)
raises a DomainError: the consumer rolls back and dead-letters the event with its code.
A refused attendance mark is the exception: it is answered with a rejection event.

Besides the scheduling feed: the EHR's members (coverage periods only) and facilities for
the billing preview and the facility-local clock; charges' ``group_session.charged``
(the session locks) and claims' ``claim.status_changed`` (which claims hold a session's
charges, for the forced reopen's CLAIM_SUBMITTED)."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from attendance.adapters.db.projections import ClaimStatusReport, FacilityFacts, SourceStamp
from attendance.domain.billing import CoveragePeriod
from attendance.domain.model import (
    RosterRole,
    SessionPlan,
    StaffAssignment,
    supervising_providers,
)
from attendance.domain.roster import AttendanceStatus
from attendance.service_layer.closing import lock_charged_session, record_claim_status
from attendance.service_layer.projections import record_facility, record_member_coverage
from attendance.service_layer.sessions import (
    CancelSession,
    ScheduleSession,
    SetAttendance,
    UpdateSession,
    cancel_session,
    record_feed_mark,
    schedule_session,
    update_session,
)
from common.messaging import EventHandler, EventHandlers, HandlerContext
from contracts.events import (
    CLAIM_STATUS_CHANGED_V1,
    FACILITY_UPSERTED_V1,
    GROUP_SESSION_ATTENDANCE_MARKED_V1,
    GROUP_SESSION_CANCELLED_V1,
    GROUP_SESSION_CHARGED_V1,
    GROUP_SESSION_SCHEDULED_V1,
    GROUP_SESSION_UPDATED_V1,
    MEMBER_UPSERTED_V1,
    AttendanceMarked,
    ClaimStatusChanged,
    FacilityUpserted,
    GroupSessionCancelled,
    GroupSessionCharged,
    GroupSessionScheduled,
    GroupSessionUpdated,
    MemberUpserted,
)

M = TypeVar("M", bound=BaseModel)

ACTOR_MAX = 200


def _data(ctx: HandlerContext, model: type[M]) -> M:
    if not isinstance(ctx.data, model):
        raise TypeError(f"{ctx.event.type} carries {type(ctx.data).__name__}")
    return ctx.data


def _stamp(ctx: HandlerContext) -> SourceStamp:
    return SourceStamp(time=ctx.event.time, event_id=ctx.event.id)


def _feed_actor(ctx: HandlerContext) -> str:
    return ctx.event.source[:ACTOR_MAX]


def _plan(data: GroupSessionScheduled | GroupSessionUpdated) -> SessionPlan:
    return SessionPlan.of(
        facility_id=data.facility_id,
        program_id=data.program_id,
        session_date=data.session_date,
        start_time=data.start_time,
        end_time=data.end_time,
        group_type=data.group_type,
        service_code=data.service_code,
        participants=[entry.member_id for entry in data.roster],
        supervisors=supervising_providers(
            StaffAssignment(provider_id=s.provider_id, role=s.role) for s in data.supervisors
        ),
    )


def _initial_statuses(
    data: GroupSessionScheduled | GroupSessionUpdated,
) -> dict[str, AttendanceStatus]:
    return {
        entry.member_id: AttendanceStatus(entry.initial_status.value)
        for entry in data.roster
        if entry.initial_status is not None
    }


async def on_session_scheduled(ctx: HandlerContext) -> None:
    data = _data(ctx, GroupSessionScheduled)
    await schedule_session(
        ctx.uow,
        ScheduleSession(
            tenant_id=ctx.tenant_id,
            session_id=data.session_id,
            plan=_plan(data),
            actor=_feed_actor(ctx),
            at=ctx.event.time,
            revision=data.revision,
            initial_statuses=_initial_statuses(data),
        ),
    )


async def on_session_updated(ctx: HandlerContext) -> None:
    data = _data(ctx, GroupSessionUpdated)
    await update_session(
        ctx.uow,
        UpdateSession(
            tenant_id=ctx.tenant_id,
            session_id=data.session_id,
            plan=_plan(data),
            actor=_feed_actor(ctx),
            at=ctx.event.time,
            revision=data.revision,
            initial_statuses=_initial_statuses(data),
        ),
    )


async def on_session_cancelled(ctx: HandlerContext) -> None:
    data = _data(ctx, GroupSessionCancelled)
    await cancel_session(
        ctx.uow,
        CancelSession(
            tenant_id=ctx.tenant_id,
            session_id=data.session_id,
            reason=data.note,
            revision=data.revision,
        ),
    )


async def on_attendance_marked(ctx: HandlerContext) -> None:
    data = _data(ctx, AttendanceMarked)
    if data.member_id is not None:
        role, subject_id = RosterRole.PARTICIPANT, data.member_id
    else:
        assert data.provider_id is not None  # the contract requires exactly one
        role, subject_id = RosterRole.SUPERVISOR, data.provider_id
    await record_feed_mark(
        ctx.uow,
        SetAttendance(
            tenant_id=ctx.tenant_id,
            session_id=data.session_id,
            role=role,
            subject_id=subject_id,
            status=AttendanceStatus(data.status.value),
            actor=data.marked_by,
            at=data.marked_at,
        ),
        event_id=ctx.event.id,
        final_attempt=ctx.final_attempt,
    )


async def on_member_upserted(ctx: HandlerContext) -> None:
    data = _data(ctx, MemberUpserted)
    await record_member_coverage(
        ctx.uow,
        ctx.tenant_id,
        data.member_id,
        [
            CoveragePeriod(
                coverage_id=c.coverage_id,
                payer_id=c.payer_id,
                is_primary=c.is_primary,
                effective_from=c.effective_from,
                effective_to=c.effective_to,
            )
            for c in data.coverages
        ],
        _stamp(ctx),
    )


async def on_facility_upserted(ctx: HandlerContext) -> None:
    data = _data(ctx, FacilityUpserted)
    await record_facility(
        ctx.uow,
        ctx.tenant_id,
        FacilityFacts(
            facility_id=data.facility_id, state=data.address.state, time_zone=data.time_zone
        ),
        _stamp(ctx),
    )


async def on_session_charged(ctx: HandlerContext) -> None:
    data = _data(ctx, GroupSessionCharged)
    await lock_charged_session(
        ctx.uow,
        ctx.tenant_id,
        data.session_id,
        close_sequence=data.close_sequence,
        charge_ids=data.charge_ids,
    )


async def on_claim_status_changed(ctx: HandlerContext) -> None:
    data = _data(ctx, ClaimStatusChanged)
    await record_claim_status(
        ctx.uow,
        ctx.tenant_id,
        ClaimStatusReport(
            claim_id=data.claim_id,
            claim_version=data.claim_version,
            status=data.status.value,
            previous_status=data.previous_status.value if data.previous_status else None,
        ),
        session_ids=data.source.session_ids,
        charge_ids=data.charge_ids,
        stamp=_stamp(ctx),
    )


def _claim_may_hold_sessions(data: ClaimStatusChanged) -> bool:
    """A claim that bills a stay cycle (837I) holds day charges only, never a session's:
    nothing here to remember. Every institutional claim sends four or more status changes,
    so at month-end these are most of the queue."""
    return data.source.stay_id is None


HANDLERS: tuple[tuple[str, type[BaseModel], EventHandler], ...] = (
    (GROUP_SESSION_SCHEDULED_V1, GroupSessionScheduled, on_session_scheduled),
    (GROUP_SESSION_UPDATED_V1, GroupSessionUpdated, on_session_updated),
    (GROUP_SESSION_CANCELLED_V1, GroupSessionCancelled, on_session_cancelled),
    (GROUP_SESSION_ATTENDANCE_MARKED_V1, AttendanceMarked, on_attendance_marked),
    (MEMBER_UPSERTED_V1, MemberUpserted, on_member_upserted),
    (FACILITY_UPSERTED_V1, FacilityUpserted, on_facility_upserted),
    (GROUP_SESSION_CHARGED_V1, GroupSessionCharged, on_session_charged),
    (CLAIM_STATUS_CHANGED_V1, ClaimStatusChanged, on_claim_status_changed),
)


def build_handlers() -> EventHandlers:
    handlers = EventHandlers()
    for event_type, model, handler in HANDLERS:
        applies = _claim_may_hold_sessions if model is ClaimStatusChanged else None
        handlers.register(event_type, model, handler, applies=applies)
    return handlers
