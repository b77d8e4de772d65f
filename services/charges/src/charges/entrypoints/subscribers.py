"""Inbound events of the charges service, translated into use-case commands."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from charges.domain.projections import (
    CoveragePeriod,
    Facility,
    MemberCoverage,
    Provider,
    SourceStamp,
)
from charges.service_layer.projections import record_facility, record_member, record_provider
from common.messaging import EventHandler, EventHandlers, HandlerContext
from contracts.events import (
    FACILITY_UPSERTED_V1,
    MEMBER_UPSERTED_V1,
    PROVIDER_UPSERTED_V1,
    FacilityUpserted,
    MemberUpserted,
    ProviderUpserted,
    data_model_for,
)

M = TypeVar("M", bound=BaseModel)


def _data(ctx: HandlerContext, model: type[M]) -> M:
    if not isinstance(ctx.data, model):
        raise TypeError(f"{ctx.event.type} carries {type(ctx.data).__name__}")
    return ctx.data


def _stamp(ctx: HandlerContext) -> SourceStamp:
    return SourceStamp(time=ctx.event.time, event_id=ctx.event.id)


async def on_member_upserted(ctx: HandlerContext) -> None:
    data = _data(ctx, MemberUpserted)
    member = MemberCoverage(
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
    await record_member(ctx.uow, ctx.tenant_id, member, _stamp(ctx))


async def on_provider_upserted(ctx: HandlerContext) -> None:
    data = _data(ctx, ProviderUpserted)
    provider = Provider(provider_id=data.provider_id, npi=data.npi, active=data.active)
    await record_provider(ctx.uow, ctx.tenant_id, provider, _stamp(ctx))


async def on_facility_upserted(ctx: HandlerContext) -> None:
    data = _data(ctx, FacilityUpserted)
    facility = Facility(
        facility_id=data.facility_id, state=data.address.state, time_zone=data.time_zone
    )
    await record_facility(ctx.uow, ctx.tenant_id, facility, _stamp(ctx))


SUBSCRIPTIONS: tuple[tuple[str, EventHandler], ...] = (
    (MEMBER_UPSERTED_V1, on_member_upserted),
    (PROVIDER_UPSERTED_V1, on_provider_upserted),
    (FACILITY_UPSERTED_V1, on_facility_upserted),
)


def build_handlers() -> EventHandlers:
    handlers = EventHandlers()
    for event_type, handler in SUBSCRIPTIONS:
        model = data_model_for(event_type)
        if model is None:
            raise LookupError(f"contracts has no data model for {event_type}")
        handlers.register(event_type, model, handler)
    return handlers
