"""The events of one stay are handled concurrently (the consumer's prefetch), yet apply in
the order they came: a leave handled while the admission's transaction is still open
waits for it (the stay's lock) instead of failing with STAY_UNKNOWN and being retried
after the discharge has overtaken it, which would bill the leave days as covered and then
make the sent claim STALE when the leave finally lands."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx

from common.runtime import ServiceRuntime
from common.testing.scenarios import sample
from contracts.codes import LeaveReason
from contracts.events.stay_components import Admission
from stays.service_layer.admissions import AdmitStay, admit_stay
from stays.service_layer.changes import ChangeSource, StartLeave, change_stay

TENANT = "demo-bh"


async def test_a_leave_handled_during_the_admissions_transaction_waits_and_applies(
    service: tuple[ServiceRuntime, httpx.AsyncClient],
) -> None:
    runtime = service[0]
    stay_id = f"stay-order-{uuid.uuid4().hex[:8]}"
    admission = Admission.model_validate(
        {**sample("ehr.stay.admitted.v1")["data"]["admission"], "procedures": []}
    )

    async def leave() -> int:
        async with runtime.unit_of_work() as uow:
            stay, change = await change_stay(
                uow,
                StartLeave(
                    tenant_id=TENANT,
                    stay_id=stay_id,
                    source=ChangeSource(by="feed", event_id=f"{stay_id}-loa"),
                    leave_id="loa-1",
                    start_date=admission.admit_date + timedelta(days=3),
                    reason=LeaveReason("THERAPEUTIC"),
                ),
            )
            await uow.commit()
        assert change is not None
        return len(stay.leaves)

    async with runtime.unit_of_work() as admitting:
        await admit_stay(
            admitting,
            AdmitStay(
                tenant_id=TENANT,
                stay_id=stay_id,
                member_id="m-order",
                facility_id="fac-springfield-op",
                program_id="residential",
                admission=admission,
                source=ChangeSource(by="feed", event_id=f"{stay_id}-adm"),
            ),
        )
        waiting = asyncio.create_task(leave())
        await asyncio.sleep(0.5)
        # Not failed (no StayUnknown): blocked on the stay until the admission commits.
        assert not waiting.done()
        await admitting.commit()
    assert await asyncio.wait_for(waiting, 10) == 1
