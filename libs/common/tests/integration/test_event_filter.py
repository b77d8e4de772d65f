"""An event type a service acts on only in part: the events that are not its are
acknowledged as ``ignored``, without a transaction or an inbox row, and lose nothing
that is its."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel
from sqlalchemy import insert

from common.inbox import INBOX
from common.messaging import EventHandlers, HandlerContext
from common.testing.messages import consumed as consumed_total
from contracts.envelope import CloudEvent

SERVICE = "lib-filter"
CLAIM_MOVED = f"libtest.filter{uuid.uuid4().hex[:8]}.claim_moved.v1"


class ClaimMoved(BaseModel):
    claim_id: str
    session_ids: list[str]


def consumed(outcome: str) -> float:
    return consumed_total(SERVICE, CLAIM_MOVED, outcome)


async def test_an_event_that_is_not_the_services_is_acknowledged_without_a_transaction(
    db: Any, consumers: Any, taps: Any, wait_until: Any
) -> None:
    handlers = EventHandlers()
    handled: list[str] = []

    async def record(ctx: HandlerContext) -> None:
        assert isinstance(ctx.data, ClaimMoved)
        handled.append(ctx.data.claim_id)
        await ctx.session.execute(
            insert(db.things).values(
                id=str(uuid.uuid4()),
                tenant_id=ctx.tenant_id,
                value=ctx.data.claim_id,
                event_id=ctx.event.id,
            )
        )

    handlers.register(CLAIM_MOVED, ClaimMoved, record, applies=lambda data: bool(data.session_ids))
    await consumers.start(SERVICE, handlers, db.sessionmaker)
    theirs, ours = (
        CloudEvent.new(
            type=CLAIM_MOVED,
            source="rcm/claims",
            tenantid="tenant-a",
            data={"claim_id": claim_id, "session_ids": sessions},
        )
        for claim_id, sessions in (("claim-stay", []), ("claim-group", ["session-1"]))
    )
    for event in (theirs, ours):
        await taps.publish(event.to_json(), CLAIM_MOVED, message_id=event.id)

    async def both_taken() -> bool:
        return consumed("ignored") + consumed("applied") >= 2

    assert await wait_until(both_taken, within=10.0)
    assert consumed("ignored") == 1
    assert consumed("applied") == 1
    assert handled == ["claim-group"]
    assert await db.count(db.things) == 1
    assert await db.count(INBOX, INBOX.c.event_id == theirs.id) == 0
    assert await db.count(INBOX, INBOX.c.event_id == ours.id, INBOX.c.consumer == SERVICE) == 1
