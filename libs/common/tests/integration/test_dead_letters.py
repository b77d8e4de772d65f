"""Dead letters: bad input and permanent failures go to the service's dead-letter queue at
once, coded and with a reason; transient failures are retried; a message that never
succeeds is dead-lettered by the quorum queue's delivery limit; nothing is dropped and the
consumer carries on (SPEC 8, 9)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aio_pika.abc import AbstractIncomingMessage
from faststream.rabbit import RabbitBroker
from pydantic import BaseModel, Field
from sqlalchemy import insert

import common.messaging
from common.errors import NotYetKnown
from common.inbox import INBOX
from common.messaging import EventHandlers, HandlerContext, PermanentEventError
from contracts.envelope import CloudEvent
from contracts.topology import (
    HEADER_ATTEMPTS,
    HEADER_ERROR_CODE,
    HEADER_ERROR_REASON,
    HEADER_ORIGINAL_ROUTING_KEY,
    HEADER_SERVICE,
    Topology,
)

SERVICE = "lib-dead-letters"
DELIVERY_LIMIT = 2
_TAG = uuid.uuid4().hex[:8]
MEMBER_SEEN = f"libtest.dl{_TAG}.member_seen.v1"
MEMBER_MERGED = f"libtest.dl{_TAG}.member_merged.v1"  # no handler anywhere
STAY_EVENT = f"libtest.dl{_TAG}.stay_leave_ended.v1"
FLAKY_EVENT = f"libtest.dl{_TAG}.census_taken.v1"
BROKEN_EVENT = f"libtest.dl{_TAG}.claim_built.v1"
LEAVE_FOR_STAY_EVENT = f"libtest.dl{_TAG}.leave_recorded.v1"
OUTAGE_EVENT = f"libtest.dl{_TAG}.day_charged.v1"
TENANT = "tenant-a"


class MemberSeen(BaseModel):
    member_id: str
    first_name: str = Field(max_length=12)
    birth_date: date


class StayEvent(BaseModel):
    stay_id: str


@dataclass
class DeadLetters:
    """Every message that reaches the service's dead-letter queue, by message id."""

    by_id: dict[str, list[AbstractIncomingMessage]] = field(
        default_factory=lambda: defaultdict(list)
    )

    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def receive(self, message: AbstractIncomingMessage) -> None:
        self.by_id[message.message_id or ""].append(message)
        self.arrived.set()

    async def wait_for(self, message_id: str, within: float = 10.0) -> AbstractIncomingMessage:
        async with asyncio.timeout(within):
            while not self.by_id.get(message_id):
                self.arrived.clear()
                await self.arrived.wait()
        [message] = self.by_id[message_id]
        return message


@dataclass
class HandlerBehaviour:
    flaky_failures_left: dict[str, int] = field(default_factory=dict)
    attempts: Counter[str] = field(default_factory=Counter)
    final_attempts: dict[str, bool] = field(default_factory=dict)


@dataclass
class DeadLetterWorld:
    db: Any
    taps: Any
    broker: RabbitBroker
    dead_letters: DeadLetters
    behaviour: HandlerBehaviour
    wait_until: Callable[..., Any]

    async def publish(self, body: bytes, routing_key: str, message_id: str) -> None:
        await self.taps.publish(body, routing_key, message_id=message_id)

    async def publish_event(self, type: str, data: dict[str, Any]) -> CloudEvent:
        event = CloudEvent.new(type=type, source="ehr/feed", tenantid=TENANT, data=data)
        await self.publish(event.to_json(), type, event.id)
        return event

    async def applied(self, thing_id: str) -> bool:
        return bool(await self.db.count(self.db.things, self.db.things.c.id == thing_id) == 1)


@pytest.fixture(scope="module")
async def world(
    messaging_schema: Any,
    consumers: Any,
    taps: Any,
    amqp_connection: Any,
    rcm_topology: Topology,
    wait_until: Any,
) -> AsyncIterator[DeadLetterWorld]:
    db = messaging_schema
    behaviour = HandlerBehaviour()
    handlers = EventHandlers()

    async def insert_thing(ctx: HandlerContext, thing_id: str) -> None:
        await ctx.session.execute(
            insert(db.things).values(id=thing_id, tenant_id=ctx.tenant_id, event_id=ctx.event.id)
        )

    @handlers.on(MEMBER_SEEN, MemberSeen)
    async def member_seen(ctx: HandlerContext) -> None:
        assert isinstance(ctx.data, MemberSeen)
        await insert_thing(ctx, ctx.data.member_id)

    @handlers.on(STAY_EVENT, StayEvent)
    async def leave_ended(ctx: HandlerContext) -> None:
        assert isinstance(ctx.data, StayEvent)
        await insert_thing(ctx, ctx.data.stay_id)  # must roll back with the refusal
        raise PermanentEventError("STAY_UNKNOWN", "no open stay for this leave")

    @handlers.on(FLAKY_EVENT, StayEvent)
    async def flaky(ctx: HandlerContext) -> None:
        assert isinstance(ctx.data, StayEvent)
        behaviour.attempts[ctx.event.id] += 1
        await insert_thing(ctx, ctx.data.stay_id)  # must roll back with the failure
        if behaviour.flaky_failures_left.get(ctx.event.id, 0) > 0:
            behaviour.flaky_failures_left[ctx.event.id] -= 1
            raise ConnectionResetError("database connection reset")

    @handlers.on(LEAVE_FOR_STAY_EVENT, StayEvent)
    async def leave_for_stay(ctx: HandlerContext) -> None:
        # Refers to a stay that may not be recorded yet (events out of order).
        assert isinstance(ctx.data, StayEvent)
        behaviour.attempts[ctx.event.id] += 1
        behaviour.final_attempts[ctx.event.id] = ctx.final_attempt
        await insert_thing(ctx, ctx.data.stay_id)  # must roll back with the refusal
        if behaviour.flaky_failures_left.get(ctx.event.id, 0) > 0:
            behaviour.flaky_failures_left[ctx.event.id] -= 1
            raise NotYetKnown("STAY_UNKNOWN", "no stay recorded for this leave")

    @handlers.on(OUTAGE_EVENT, StayEvent)
    async def during_an_outage(ctx: HandlerContext) -> None:
        # The database refuses connections for a while (a restart), then answers.
        assert isinstance(ctx.data, StayEvent)
        behaviour.attempts[ctx.event.id] += 1
        behaviour.final_attempts[ctx.event.id] = ctx.final_attempt
        await insert_thing(ctx, ctx.data.stay_id)
        if behaviour.flaky_failures_left.get(ctx.event.id, 0) > 0:
            behaviour.flaky_failures_left[ctx.event.id] -= 1
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    @handlers.on(BROKEN_EVENT, StayEvent)
    async def broken(ctx: HandlerContext) -> None:
        behaviour.attempts[ctx.event.id] += 1
        raise ConnectionResetError("database connection reset, every time")

    await consumers.start(SERVICE, handlers, db.sessionmaker, delivery_limit=DELIVERY_LIMIT)
    dead_letters = DeadLetters()
    channel = await amqp_connection.channel()
    dlq = await channel.get_queue(rcm_topology.dead_letter_queue(SERVICE), ensure=True)
    await dlq.consume(dead_letters.receive, no_ack=True)
    try:
        yield DeadLetterWorld(db, taps, consumers.brokers[-1], dead_letters, behaviour, wait_until)
    finally:
        await channel.close()


def header_text(message: AbstractIncomingMessage) -> str:
    return json.dumps({k: str(v) for k, v in (message.headers or {}).items()})


def envelope(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "ehr/feed",
        "type": MEMBER_SEEN,
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "tenantid": TENANT,
        "data": {"member_id": "m-1", "first_name": "Ann", "birth_date": "1990-01-01"},
    }
    document.update(overrides)
    return document


BAD_INPUT = {
    "MALFORMED_JSON": b'{"specversion": "1.0", "id": ',
    "UNKNOWN_EVENT_TYPE": json.dumps(envelope(type=MEMBER_MERGED)).encode(),
    "INVALID_ENVELOPE": json.dumps(envelope(tenantid=None, time="yesterday")).encode(),
    "SCHEMA_INVALID": json.dumps(
        envelope(data={"member_id": "m-2", "birth_date": "not a date"})
    ).encode(),
}


@pytest.mark.parametrize("code", list(BAD_INPUT))
async def test_bad_input_is_dead_lettered_at_once_with_its_code_and_the_next_event_applied(
    world: DeadLetterWorld, rcm_topology: Topology, code: str
) -> None:
    body = BAD_INPUT[code]
    message_id = f"bad-{uuid.uuid4()}"
    await world.publish(body, MEMBER_SEEN, message_id)
    member_id = f"m-{uuid.uuid4().hex[:6]}"
    await world.publish_event(
        MEMBER_SEEN, {"member_id": member_id, "first_name": "Ann", "birth_date": "1990-01-01"}
    )

    dead = await world.dead_letters.wait_for(message_id)
    assert dead.headers[HEADER_ERROR_CODE] == code
    assert dead.headers[HEADER_ERROR_REASON]
    assert dead.headers[HEADER_ORIGINAL_ROUTING_KEY] == MEMBER_SEEN
    assert dead.headers[HEADER_SERVICE] == SERVICE
    assert dead.body == body  # kept as it came, for a replay after the fix
    assert "x-death" not in dead.headers  # sent by the consumer at once, not after retries
    assert await world.wait_until(lambda: world.applied(member_id), within=10.0)
    assert await world.db.count(world.db.things, world.db.things.c.id == "m-2") == 0


async def test_dead_letter_reason_does_not_repeat_the_offending_values(
    world: DeadLetterWorld,
) -> None:
    event = await world.publish_event(
        MEMBER_SEEN,
        {"member_id": "m-3", "first_name": "Maximiliana Quintessa", "birth_date": "1961-02-30"},
    )

    dead = await world.dead_letters.wait_for(event.id)
    assert dead.headers[HEADER_ERROR_CODE] == "SCHEMA_INVALID"
    reason = str(dead.headers[HEADER_ERROR_REASON])
    assert "first_name" in reason and "birth_date" in reason  # says where, not what
    headers = header_text(dead)
    assert "Maximiliana" not in headers
    assert "Quintessa" not in headers
    assert "1961-02-30" not in headers


async def test_permanent_handler_error_is_dead_lettered_with_its_code_and_rolled_back(
    world: DeadLetterWorld,
) -> None:
    event = await world.publish_event(STAY_EVENT, {"stay_id": "stay-404"})

    dead = await world.dead_letters.wait_for(event.id)
    assert dead.headers[HEADER_ERROR_CODE] == "STAY_UNKNOWN"
    assert dead.headers[HEADER_ERROR_REASON] == "no open stay for this leave"
    assert await world.db.count(world.db.things, world.db.things.c.id == "stay-404") == 0
    assert await world.db.count(INBOX, INBOX.c.event_id == event.id) == 0


async def test_transient_handler_failure_is_retried_and_applied_once_it_succeeds(
    world: DeadLetterWorld,
) -> None:
    event = CloudEvent.new(
        type=FLAKY_EVENT, source="ehr/feed", tenantid=TENANT, data={"stay_id": "stay-17"}
    )
    world.behaviour.flaky_failures_left[event.id] = 1
    await world.publish(event.to_json(), FLAKY_EVENT, event.id)

    assert await world.wait_until(lambda: world.applied("stay-17"), within=10.0)
    assert world.behaviour.attempts[event.id] == 2
    assert await world.db.count(INBOX, INBOX.c.event_id == event.id) == 1
    await asyncio.sleep(0.2)
    assert event.id not in world.dead_letters.by_id


async def test_a_database_outage_longer_than_the_delivery_limit_dead_letters_nothing(
    world: DeadLetterWorld,
) -> None:
    """SPEC 9: the database restarting mid-stream loses nothing. Four refused connections
    in a row, twice the delivery limit: the delivery waits in place (never handed back to
    the queue, which would count it) and applies once the database answers."""
    event = CloudEvent.new(
        type=OUTAGE_EVENT, source="ehr/feed", tenantid=TENANT, data={"stay_id": "stay-outage"}
    )
    world.behaviour.flaky_failures_left[event.id] = 2 * DELIVERY_LIMIT
    await world.publish(event.to_json(), OUTAGE_EVENT, event.id)

    assert await world.wait_until(lambda: world.applied("stay-outage"), within=20.0)
    assert world.behaviour.attempts[event.id] == 2 * DELIVERY_LIMIT + 1
    # Still the first delivery: the queue never saw it come back.
    assert world.behaviour.final_attempts[event.id] is False
    assert await world.db.count(INBOX, INBOX.c.event_id == event.id) == 1
    await asyncio.sleep(0.2)
    assert event.id not in world.dead_letters.by_id


async def test_handler_that_always_fails_ends_in_the_dead_letter_queue_by_delivery_limit(
    world: DeadLetterWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common.messaging, "retry_delay", lambda delivery_count: 0.0)
    # A handler whose connection always fails stops waiting in place at once here.
    monkeypatch.setattr(common.messaging, "INFRASTRUCTURE_WAIT_SECONDS", 0.0)
    event = await world.publish_event(BROKEN_EVENT, {"stay_id": "stay-500"})

    dead = await world.dead_letters.wait_for(event.id, within=15.0)
    # Delivered, then redelivered while the count stays within the limit of 2.
    assert world.behaviour.attempts[event.id] == DELIVERY_LIMIT + 1
    assert HEADER_ERROR_CODE not in dead.headers  # dead-lettered by the queue itself
    deaths: Any = dead.headers["x-death"]
    assert deaths[0]["reason"] == "delivery_limit"
    assert json.loads(dead.body)["id"] == event.id
    assert await world.db.count(world.db.things, world.db.things.c.id == "stay-500") == 0


async def test_a_dead_letter_that_cannot_be_sent_is_handed_back_and_sent_on_redelivery(
    world: DeadLetterWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish = world.broker.publish
    refused: list[str] = []

    async def broker_refusing_once(*args: Any, **kwargs: Any) -> Any:
        if not refused:
            refused.append(kwargs["routing_key"])
            raise ConnectionResetError("broker connection reset")
        return await publish(*args, **kwargs)

    monkeypatch.setattr(world.broker, "publish", broker_refusing_once)
    message_id = f"bad-{uuid.uuid4()}"
    await world.publish(b"<xml>not json</xml>", MEMBER_SEEN, message_id)

    # Left unacknowledged, it would sit on the channel (holding a prefetch slot) for good.
    dead = await world.dead_letters.wait_for(message_id)
    assert refused  # the first copy did fail
    assert dead.headers[HEADER_ERROR_CODE] == "MALFORMED_JSON"


async def test_an_event_about_something_not_recorded_yet_is_retried_then_applied(
    world: DeadLetterWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common.messaging, "retry_delay", lambda delivery_count: 0.0)
    event = CloudEvent.new(
        type=LEAVE_FOR_STAY_EVENT, source="ehr/feed", tenantid=TENANT, data={"stay_id": "s-9"}
    )
    world.behaviour.flaky_failures_left[event.id] = 1  # the stay arrives meanwhile
    await world.publish(event.to_json(), LEAVE_FOR_STAY_EVENT, event.id)

    assert await world.wait_until(lambda: world.applied("s-9"), within=10.0)
    assert world.behaviour.attempts[event.id] == 2
    assert event.id not in world.dead_letters.by_id


async def test_an_event_about_something_never_recorded_is_dead_lettered_with_its_code(
    world: DeadLetterWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common.messaging, "retry_delay", lambda delivery_count: 0.0)
    event = CloudEvent.new(
        type=LEAVE_FOR_STAY_EVENT, source="ehr/feed", tenantid=TENANT, data={"stay_id": "s-0"}
    )
    world.behaviour.flaky_failures_left[event.id] = 99
    await world.publish(event.to_json(), LEAVE_FOR_STAY_EVENT, event.id)

    dead = await world.dead_letters.wait_for(event.id, within=15.0)
    # Retried while within the delivery limit; the last attempt is told it is the last,
    # and its refusal is dead-lettered by the service with the code (not by the queue).
    assert world.behaviour.attempts[event.id] == DELIVERY_LIMIT + 1
    assert world.behaviour.final_attempts[event.id] is True
    assert dead.headers[HEADER_ERROR_CODE] == "STAY_UNKNOWN"
    assert dead.headers[HEADER_ATTEMPTS] == DELIVERY_LIMIT + 1
    assert await world.db.count(world.db.things, world.db.things.c.id == "s-0") == 0
