"""Inbound events of the charges service, translated into use-case commands."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from charges.domain.per_diem import Stay, StayLeave
from charges.domain.projections import (
    CoveragePeriod,
    Facility,
    MemberCoverage,
    Provider,
    SourceStamp,
)
from charges.service_layer.claims import apply_claim_status
from charges.service_layer.group_sessions import (
    TenantLookup,
    charge_closed_session,
    void_reopened_session,
)
from charges.service_layer.projections import record_facility, record_member, record_provider
from charges.service_layer.stay_days import Clock, record_stay
from common.db import utcnow
from common.messaging import EventHandler, EventHandlers, HandlerContext
from contracts.events import (
    CLAIM_STATUS_CHANGED_V1,
    FACILITY_UPSERTED_V1,
    GROUP_SESSION_CLOSED_V1,
    GROUP_SESSION_REOPENED_V1,
    MEMBER_UPSERTED_V1,
    PROVIDER_UPSERTED_V1,
    STAYS_STAY_ADMITTED_V1,
    STAYS_STAY_CORRECTED_V1,
    STAYS_STAY_DISCHARGED_V1,
    STAYS_STAY_LEAVE_ENDED_V1,
    STAYS_STAY_LEAVE_STARTED_V1,
    ClaimStatusChanged,
    FacilityUpserted,
    GroupSessionClosed,
    GroupSessionReopened,
    MemberUpserted,
    ProviderUpserted,
    StayState,
    data_model_for,
)

M = TypeVar("M", bound=BaseModel)


def _data(ctx: HandlerContext, model: type[M]) -> M:
    if not isinstance(ctx.data, model):
        raise TypeError(f"{ctx.event.type} carries {type(ctx.data).__name__}")
    return ctx.data


def _stamp(ctx: HandlerContext) -> SourceStamp:
    return SourceStamp(time=ctx.event.time, event_id=ctx.event.id)


def member_upserted(tenants: TenantLookup) -> EventHandler:
    async def on_member_upserted(ctx: HandlerContext) -> None:
        data = _data(ctx, MemberUpserted)
        await record_member(ctx.uow, ctx.tenant_id, _member(data), _stamp(ctx), tenants)

    return on_member_upserted


def group_session_closed(tenants: TenantLookup) -> EventHandler:
    async def on_group_session_closed(ctx: HandlerContext) -> None:
        data = _data(ctx, GroupSessionClosed)
        await charge_closed_session(ctx.uow, tenants(ctx.tenant_id), data, ctx.event.id)

    return on_group_session_closed


async def on_group_session_reopened(ctx: HandlerContext) -> None:
    data = _data(ctx, GroupSessionReopened)
    await void_reopened_session(ctx.uow, ctx.tenant_id, data, ctx.event.id)


def stay_changed(tenants: TenantLookup, clock: Clock) -> EventHandler:
    """Every ``stays.stay.*`` event carries the whole stay: one handler for all five."""

    async def on_stay_changed(ctx: HandlerContext) -> None:
        data = _data(ctx, StayState)
        await record_stay(ctx.uow, tenants, ctx.tenant_id, _stay(data), ctx.event.id, now=clock())

    return on_stay_changed


def _stay(data: StayState) -> Stay:
    return Stay(
        stay_id=data.stay_id,
        stay_version=data.stay_version,
        member_id=data.member_id,
        facility_id=data.facility_id,
        program_id=data.program_id,
        status=data.status,
        admit_date=data.admission.admit_date,
        discharge_date=data.discharge.discharge_date if data.discharge is not None else None,
        leaves=tuple(
            StayLeave(
                leave_id=leave.leave_id,
                start_date=leave.start_date,
                return_date=leave.return_date,
                reason=leave.reason,
            )
            for leave in data.leaves
        ),
    )


async def on_claim_status_changed(ctx: HandlerContext) -> None:
    data = _data(ctx, ClaimStatusChanged)
    await apply_claim_status(ctx.uow, ctx.tenant_id, data, ctx.event.id)


def _member(data: MemberUpserted) -> MemberCoverage:
    return MemberCoverage(
        member_id=data.member_id,
        active=data.active,
        coverages=tuple(
            CoveragePeriod(
                coverage_id=c.coverage_id,
                payer_id=c.payer_id,
                relationship_to_subscriber=c.relationship_to_subscriber.value,
                is_primary=c.is_primary,
                effective_from=c.effective_from,
                effective_to=c.effective_to,
            )
            for c in data.coverages
        ),
    )


def provider_upserted(tenants: TenantLookup) -> EventHandler:
    async def on_provider_upserted(ctx: HandlerContext) -> None:
        data = _data(ctx, ProviderUpserted)
        provider = Provider(provider_id=data.provider_id, npi=data.npi, active=data.active)
        await record_provider(ctx.uow, ctx.tenant_id, provider, _stamp(ctx), tenants)

    return on_provider_upserted


async def on_facility_upserted(ctx: HandlerContext) -> None:
    data = _data(ctx, FacilityUpserted)
    facility = Facility(
        facility_id=data.facility_id, state=data.address.state, time_zone=data.time_zone
    )
    await record_facility(ctx.uow, ctx.tenant_id, facility, _stamp(ctx))


STAY_EVENTS = (
    STAYS_STAY_ADMITTED_V1,
    STAYS_STAY_LEAVE_STARTED_V1,
    STAYS_STAY_LEAVE_ENDED_V1,
    STAYS_STAY_DISCHARGED_V1,
    STAYS_STAY_CORRECTED_V1,
)


def subscriptions(
    tenants: TenantLookup, clock: Clock = utcnow
) -> tuple[tuple[str, EventHandler], ...]:
    on_stay = stay_changed(tenants, clock)
    return (
        (MEMBER_UPSERTED_V1, member_upserted(tenants)),
        (PROVIDER_UPSERTED_V1, provider_upserted(tenants)),
        (FACILITY_UPSERTED_V1, on_facility_upserted),
        (GROUP_SESSION_CLOSED_V1, group_session_closed(tenants)),
        (GROUP_SESSION_REOPENED_V1, on_group_session_reopened),
        (CLAIM_STATUS_CHANGED_V1, on_claim_status_changed),
        *((event_type, on_stay) for event_type in STAY_EVENTS),
    )


def build_handlers(tenants: TenantLookup, clock: Clock = utcnow) -> EventHandlers:
    """``tenants``: the tenant configuration by id (the runtime's directory); ``clock``:
    now, which tells which days of a stay are complete."""
    handlers = EventHandlers()
    for event_type, handler in subscriptions(tenants, clock):
        model = data_model_for(event_type)
        if model is None:
            raise LookupError(f"contracts has no data model for {event_type}")
        handlers.register(event_type, model, handler)
    return handlers
