"""Transactional outbox and its relay against the real Postgres and RabbitMQ (SPEC 9)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from faststream.rabbit import RabbitBroker
from sqlalchemy import Table, insert, literal_column, select

from common.db import UnitOfWork
from common.messaging import BrokerEventPublisher
from common.outbox import OUTBOX, OutboxRelay
from contracts.envelope import CONTENT_TYPE, CloudEvent
from contracts.topology import HEADER_TENANT, Topology

TENANT = "tenant-a"


def event_type(name: str) -> str:
    # The run's exchange is shared by every module: a type of this test's own.
    return f"libtest.outbox{uuid.uuid4().hex[:8]}.{name}.v1"


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[CloudEvent] = []

    async def publish(self, event: CloudEvent) -> None:
        self.events.append(event)


class TcpProxy:
    """A TCP forwarder in front of the real RabbitMQ that the test can cut and restore,
    so the shared broker itself is never stopped."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self._server = await asyncio.start_server(
            self._forward, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and drop every open connection, as a network cut would."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()
        self._server = None

    async def _forward(
        self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> None:
        try:
            upstream_r, upstream_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_w.transport.abort()
            return
        self._writers.update((client_w, upstream_w))

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.transport.abort()

        await asyncio.gather(pipe(client_r, upstream_w), pipe(upstream_r, client_w))


def via_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@pytest.fixture
async def broker(rcm_amqp_url: str) -> AsyncIterator[RabbitBroker]:
    broker = RabbitBroker(rcm_amqp_url, logger=None)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


def xmin(table: Table) -> Any:
    """The id of the transaction that wrote the row."""
    return literal_column(f'"{table.name}".xmin::text').label("xmin")


async def outbox_row(db: Any, event_id: str) -> Any:
    async with db.engine.connect() as conn:
        result = await conn.execute(select(OUTBOX).where(OUTBOX.c.event_id == event_id))
        return result.one_or_none()


async def test_state_change_and_its_event_commit_in_one_transaction(db: Any) -> None:
    kind = event_type("charge_created")
    async with UnitOfWork(db.sessionmaker, source="rcm/lib-test") as uow:
        await uow.session.execute(
            insert(db.things).values(id="charge-1", tenant_id=TENANT, value="4 units")
        )
        event = uow.publish(type=kind, tenant_id=TENANT, data={"charge_id": "charge-1", "units": 4})
        await uow.commit()

    async with db.engine.connect() as conn:
        # xmin is the id of the transaction that wrote the row: one id, one transaction.
        thing = (
            await conn.execute(select(xmin(db.things)).where(db.things.c.id == "charge-1"))
        ).one()
        row = (
            await conn.execute(select(OUTBOX, xmin(OUTBOX)).where(OUTBOX.c.event_id == event.id))
        ).one()
    assert row.xmin == thing.xmin
    assert row.event_type == kind
    assert row.tenant_id == TENANT
    assert row.published_at is None
    assert row.payload["data"] == {"charge_id": "charge-1", "units": 4}
    assert CloudEvent.model_validate(row.payload) == event


async def test_rolled_back_change_leaves_no_event_and_nothing_is_published(db: Any) -> None:
    kind = event_type("charge_created")
    with pytest.raises(RuntimeError, match="pricing failed"):
        async with UnitOfWork(db.sessionmaker, source="rcm/lib-test") as uow:
            await uow.session.execute(insert(db.things).values(id="charge-2", tenant_id=TENANT))
            event = uow.publish(type=kind, tenant_id=TENANT, data={"charge_id": "charge-2"})
            raise RuntimeError("pricing failed after the change")

    publisher = RecordingPublisher()
    published = await OutboxRelay(db.sessionmaker, publisher, service="lib-outbox").relay_once()

    assert await db.count(db.things) == 0
    assert await db.count(OUTBOX, OUTBOX.c.event_id == event.id) == 0
    assert published == 0
    assert publisher.events == []


async def test_explicit_rollback_discards_the_events_recorded_before_it(db: Any) -> None:
    kind = event_type("charge_created")
    async with UnitOfWork(db.sessionmaker, source="rcm/lib-test") as uow:
        await uow.session.execute(insert(db.things).values(id="charge-3", tenant_id=TENANT))
        discarded = uow.publish(type=kind, tenant_id=TENANT, data={"charge_id": "charge-3"})
        await uow.rollback()
        kept = uow.publish(type=kind, tenant_id=TENANT, data={"charge_id": "charge-4"})
        await uow.commit()

    assert await db.count(db.things) == 0
    assert await db.count(OUTBOX, OUTBOX.c.event_id == discarded.id) == 0
    assert await db.count(OUTBOX, OUTBOX.c.event_id == kept.id) == 1


async def test_relay_publishes_a_committed_row_to_the_events_exchange_and_marks_it(
    db: Any, taps: Any, broker: RabbitBroker, rcm_topology: Topology
) -> None:
    kind = event_type("charge_created")
    tap = await taps.bound_to_events(kind)
    async with UnitOfWork(db.sessionmaker, source="rcm/lib-test", correlation_id="corr-7") as uow:
        event = uow.publish(type=kind, tenant_id=TENANT, data={"charge_id": "charge-5", "units": 2})
        await uow.commit()
    relay = OutboxRelay(
        db.sessionmaker, BrokerEventPublisher(broker, rcm_topology), service="lib-outbox"
    )

    assert await relay.relay_once() == 1

    [message] = await taps.take(tap, 1, within=5.0, settle=0.2)
    received = CloudEvent.model_validate_json(message.body)
    assert received.id == event.id
    assert received.data == {"charge_id": "charge-5", "units": 2}
    assert received.correlationid == "corr-7"
    assert message.routing_key == kind
    assert message.message_id == event.id
    assert message.content_type == CONTENT_TYPE
    assert message.headers[HEADER_TENANT] == TENANT
    row = await outbox_row(db, event.id)
    assert row.published_at is not None
    assert row.attempts == 0
    assert await relay.pending() == 0


async def test_row_waits_while_the_broker_is_unreachable_and_goes_out_when_it_is_back(
    db: Any, taps: Any, rcm_amqp_url: str, rcm_topology: Topology, wait_until: Any
) -> None:
    kind = event_type("charge_created")
    tap = await taps.bound_to_events(kind)
    upstream = urlsplit(rcm_amqp_url)
    proxy = TcpProxy(upstream.hostname or "127.0.0.1", upstream.port or 5672)
    await proxy.open()
    broker = RabbitBroker(via_port(rcm_amqp_url, proxy.port), logger=None, reconnect_interval=0.1)
    await broker.start()
    relay = OutboxRelay(
        db.sessionmaker,
        BrokerEventPublisher(broker, rcm_topology, timeout=1.0),
        service="lib-outbox",
    )
    try:
        await proxy.close()
        await asyncio.sleep(0.2)  # the client has noticed and is reconnecting
        async with UnitOfWork(db.sessionmaker, source="rcm/lib-test") as uow:
            event = uow.publish(type=kind, tenant_id=TENANT, data={"charge_id": "charge-6"})
            await uow.commit()

        # Bounded: a relay that blocks while the broker is away holds its row locks.
        assert await asyncio.wait_for(relay.relay_once(), timeout=5.0) == 0
        waiting = await outbox_row(db, event.id)
        assert waiting.published_at is None
        assert waiting.attempts == 1
        assert waiting.last_error
        assert waiting.next_attempt_at > waiting.created_at
        assert await taps.take(tap, 1, within=0.3) == []

        await proxy.open()

        async def published() -> bool:
            await relay.relay_once()
            row = await outbox_row(db, event.id)
            return row.published_at is not None

        assert await wait_until(published, within=10.0, interval=0.1)
        messages = await taps.take(tap, 1, within=5.0, settle=0.2)
        assert [m.message_id for m in messages] == [event.id]
    finally:
        await broker.stop()
        with contextlib.suppress(AssertionError):
            await proxy.close()


async def test_two_concurrent_relays_never_publish_a_row_twice(
    db: Any, taps: Any, rcm_amqp_url: str, rcm_topology: Topology, wait_until: Any
) -> None:
    kind = event_type("charge_created")
    tap = await taps.bound_to_events(kind)
    async with UnitOfWork(db.sessionmaker, source="rcm/lib-test") as uow:
        events = [
            uow.publish(type=kind, tenant_id=TENANT, data={"charge_id": f"charge-{n}"})
            for n in range(200)
        ]
        await uow.commit()

    brokers = [RabbitBroker(rcm_amqp_url, logger=None) for _ in range(2)]
    published_by: Counter[int] = Counter()

    class CountingPublisher(BrokerEventPublisher):
        def __init__(self, broker: RabbitBroker, replica: int) -> None:
            super().__init__(broker, rcm_topology)
            self.replica = replica

        async def publish(self, event: CloudEvent) -> None:
            await super().publish(event)
            published_by[self.replica] += 1
            await asyncio.sleep(0)  # let the other replica's claim interleave

    relays = [
        OutboxRelay(
            db.sessionmaker,
            CountingPublisher(broker, replica),
            service="lib-outbox",
            batch_size=7,
            poll_seconds=0.05,
        )
        for replica, broker in enumerate(brokers)
    ]
    for broker in brokers:
        await broker.start()
    tasks = [asyncio.create_task(relay.run()) for relay in relays]
    try:

        async def drained() -> bool:
            return await relays[0].pending() == 0

        assert await wait_until(drained, within=20.0)
    finally:
        for relay in relays:
            relay.stop()
        await asyncio.gather(*tasks)
        for broker in brokers:
            await broker.stop()

    messages = await taps.take(tap, 200, within=10.0, settle=0.5)
    deliveries = Counter(m.message_id for m in messages)
    assert len(messages) == 200
    assert set(deliveries) == {e.id for e in events}
    assert max(deliveries.values()) == 1
    assert published_by[0] > 0 and published_by[1] > 0  # both replicas took part
    assert published_by[0] + published_by[1] == 200
