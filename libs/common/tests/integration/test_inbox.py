"""Inbox: a consumer applies an event id once, however often it is delivered (SPEC 9)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel
from sqlalchemy import insert

from common.inbox import INBOX
from common.messaging import EventHandlers, HandlerContext
from common.testing.messages import consumed as consumed_total
from contracts.envelope import CloudEvent

SERVICE = "lib-inbox"
CHARGE_CREATED = f"libtest.inbox{uuid.uuid4().hex[:8]}.charge_created.v1"


class ChargeCreated(BaseModel):
    charge_id: str
    units: int


def consumed(outcome: str) -> float:
    return consumed_total(SERVICE, CHARGE_CREATED, outcome)


async def test_the_same_event_delivered_twice_changes_state_once(
    db: Any, consumers: Any, taps: Any, wait_until: Any
) -> None:
    handlers = EventHandlers()

    @handlers.on(CHARGE_CREATED, ChargeCreated)
    async def record_charge(ctx: HandlerContext) -> None:
        assert isinstance(ctx.data, ChargeCreated)
        # A fresh row per call: without the inbox a second delivery would add a second row.
        await ctx.session.execute(
            insert(db.things).values(
                id=str(uuid.uuid4()),
                tenant_id=ctx.tenant_id,
                value=f"{ctx.data.charge_id}:{ctx.data.units}",
                event_id=ctx.event.id,
            )
        )

    await consumers.start(SERVICE, handlers, db.sessionmaker)
    event = CloudEvent.new(
        type=CHARGE_CREATED,
        source="rcm/charges",
        tenantid="tenant-a",
        data={"charge_id": "charge-9", "units": 3},
    )

    for _ in range(2):
        await taps.publish(event.to_json(), CHARGE_CREATED, message_id=event.id)

    async def both_handled() -> bool:
        return consumed("applied") + consumed("duplicate") >= 2

    assert await wait_until(both_handled, within=10.0)
    assert consumed("applied") == 1
    assert consumed("duplicate") == 1
    assert await db.count(db.things) == 1
    assert await db.count(db.things, db.things.c.value == "charge-9:3") == 1
    assert await db.count(INBOX, INBOX.c.event_id == event.id, INBOX.c.consumer == SERVICE) == 1
