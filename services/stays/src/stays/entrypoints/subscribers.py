"""Inbound events of the stays service, translated into use-case commands."""

from __future__ import annotations

from typing import Any

from common.messaging import EventHandlers, HandlerContext
from contracts.events import STAY_ADMITTED_V1, data_model_for
from stays.domain.model import Admission
from stays.service_layer.admissions import AdmitStay, admit_stay


async def on_stay_admitted(ctx: HandlerContext) -> None:
    data: Any = ctx.data
    await admit_stay(
        ctx.uow,
        AdmitStay(
            tenant_id=ctx.tenant_id,
            stay_id=data.stay_id,
            member_id=data.member_id,
            facility_id=data.facility_id,
            program_id=data.program_id,
            admission=Admission(
                admit_date=data.admit_date,
                admit_hour=data.admit_hour,
                admit_type=data.admit_type,
                admit_source=data.admit_source,
                principal_diagnosis=data.principal_diagnosis,
                admitting_diagnosis=data.admitting_diagnosis,
                other_diagnoses=tuple(data.other_diagnoses),
                drg=data.drg,
            ),
        ),
    )


def build_handlers() -> EventHandlers:
    handlers = EventHandlers()
    for event_type, handler in ((STAY_ADMITTED_V1, on_stay_admitted),):
        model = data_model_for(event_type)
        assert model is not None, event_type
        handlers.register(event_type, model, handler)
    return handlers
