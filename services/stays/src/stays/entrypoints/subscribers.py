"""Inbound events of the stays service, translated into use-case commands."""

from __future__ import annotations

from typing import cast

from common.messaging import EventHandlers, HandlerContext
from contracts.events import STAY_ADMITTED_V1, data_model_for
from contracts.events.ehr import EhrStayAdmitted
from stays.service_layer.admissions import AdmitStay, admit_stay


async def on_stay_admitted(ctx: HandlerContext) -> None:
    data = cast(EhrStayAdmitted, ctx.data)
    await admit_stay(
        ctx.uow,
        AdmitStay(
            tenant_id=ctx.tenant_id,
            stay_id=data.stay_id,
            member_id=data.member_id,
            facility_id=data.facility_id,
            program_id=data.program_id,
            admission=data.admission,
        ),
    )


def build_handlers() -> EventHandlers:
    handlers = EventHandlers()
    for event_type, handler in ((STAY_ADMITTED_V1, on_stay_admitted),):
        model = data_model_for(event_type)
        assert model is not None, event_type
        handlers.register(event_type, model, handler)
    return handlers
