"""Fixtures for libs/common integration tests against the real Postgres and RabbitMQ.

Every test module gets a schema of its own (``lib_<module>_<hex>``) holding ``outbox``,
``inbox`` and a small ``things`` table the tests change; queues a module declares are
deleted when it ends (the run's exchanges go with the ``rcm_topology`` fixture)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from faststream.rabbit import RabbitBroker
from sqlalchemy import Column, MetaData, String, Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import SQLModel

from common.db import SERVICE_SCHEMA, create_engine, create_sessionmaker
from common.inbox import INBOX
from common.messaging import EventConsumer, EventHandlers, declare_topology_at
from common.outbox import OUTBOX
from contracts.topology import Topology

THINGS_METADATA = MetaData()
# What the tests' handlers and units of work change: one row per applied effect.
THINGS = Table(
    "things",
    THINGS_METADATA,
    Column("id", String(64), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("value", String(200), nullable=True),
    Column("event_id", String(128), nullable=True),
    schema=SERVICE_SCHEMA,
)


@dataclass
class MessagingSchema:
    """A schema of the run's database with ``outbox``, ``inbox`` and ``things``."""

    name: str
    database_url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    things: Table = THINGS

    async def count(self, table: Table, *where: Any) -> int:
        async with self.engine.connect() as conn:
            result = await conn.execute(select(func.count()).select_from(table).where(*where))
            return int(result.scalar_one())

    async def truncate(self) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text(f'TRUNCATE "{self.name}".outbox, "{self.name}".inbox'))
            await conn.execute(text(f'TRUNCATE "{self.name}".things'))


@pytest.fixture(scope="module")
async def messaging_schema(
    request: pytest.FixtureRequest, rcm_database_url: str
) -> AsyncIterator[MessagingSchema]:
    module = request.path.stem.removeprefix("test_")
    name = f"lib_{module}_{uuid.uuid4().hex[:6]}"
    engine = create_engine(rcm_database_url, name)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{name}"'))
        await conn.run_sync(lambda sync: SQLModel.metadata.create_all(sync, tables=[OUTBOX, INBOX]))
        await conn.run_sync(THINGS_METADATA.create_all)
    try:
        yield MessagingSchema(name, rcm_database_url, engine, create_sessionmaker(engine))
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        await engine.dispose()


@pytest.fixture
async def db(messaging_schema: MessagingSchema) -> MessagingSchema:
    """The module's schema, emptied before each test so tests do not see each other's rows."""
    await messaging_schema.truncate()
    return messaging_schema


@pytest.fixture(scope="module")
async def amqp_connection(rcm_amqp_url: str) -> AsyncIterator[AbstractRobustConnection]:
    connection = await aio_pika.connect_robust(rcm_amqp_url)
    try:
        yield connection
    finally:
        await connection.close()


class QueueTaps:
    """Test-side queues: bound to the events exchange to see what was published, or opened
    on a service's dead-letter queue. Every queue named here is deleted at the end."""

    def __init__(self, channel: AbstractChannel, topology: Topology) -> None:
        self.channel = channel
        self.topology = topology
        self._owned: list[str] = []

    async def bound_to_events(self, *routing_keys: str) -> AbstractQueue:
        events = await self.channel.declare_exchange(
            self.topology.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        name = f"{self.topology.prefix}lib-tap-{uuid.uuid4().hex[:8]}"
        queue = await self.channel.declare_queue(name, durable=False, auto_delete=False)
        self._owned.append(name)
        for key in routing_keys:
            await queue.bind(events, routing_key=key)
        return queue

    async def publish(
        self,
        body: bytes,
        routing_key: str,
        *,
        message_id: str | None = None,
        content_type: str = "application/cloudevents+json",
    ) -> None:
        """Publish raw bytes to the events exchange (as a producer outside the suite would),
        with a broker confirm."""
        events = await self.channel.declare_exchange(
            self.topology.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        await events.publish(
            aio_pika.Message(
                body,
                message_id=message_id,
                content_type=content_type,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=routing_key,
        )

    def own(self, *names: str) -> None:
        """Delete these (e.g. a service queue and its DLQ declared by the code) at the end."""
        self._owned.extend(names)

    async def existing(self, name: str) -> AbstractQueue:
        return await self.channel.get_queue(name, ensure=True)

    async def take(
        self, queue: AbstractQueue, count: int, within: float = 10.0, settle: float = 0.0
    ) -> list[AbstractIncomingMessage]:
        """Up to ``count`` messages (acked on receipt); with ``settle``, keep listening that
        long after ``count`` arrived so that extra (duplicate) messages are seen too."""
        taken: list[AbstractIncomingMessage] = []
        deadline = time.monotonic() + within
        settle_until: float | None = None
        while True:
            message = await queue.get(no_ack=True, fail=False)
            if message is not None:
                taken.append(message)
                continue
            now = time.monotonic()
            if len(taken) >= count:
                settle_until = settle_until or now + settle
                if now >= settle_until:
                    return taken
            elif now >= deadline:
                return taken
            await asyncio.sleep(0.02)

    async def delete_all(self, connection: AbstractRobustConnection) -> None:
        for name in dict.fromkeys(self._owned):
            channel = await connection.channel()
            try:
                await channel.queue_delete(name)
            except Exception:
                pass
            else:
                await channel.close()
        self._owned.clear()


@pytest.fixture(scope="module")
async def taps(
    amqp_connection: AbstractRobustConnection, rcm_topology: Topology
) -> AsyncIterator[QueueTaps]:
    channel = await amqp_connection.channel()
    taps = QueueTaps(channel, rcm_topology)
    try:
        yield taps
    finally:
        await taps.delete_all(amqp_connection)
        await channel.close()


@dataclass
class RunningConsumers:
    """Starts EventConsumers on their own RabbitBroker over the run's topology."""

    amqp_url: str
    topology: Topology
    taps: QueueTaps
    brokers: list[RabbitBroker] = field(default_factory=list)

    async def start(
        self,
        service: str,
        handlers: EventHandlers,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        delivery_limit: int = 5,
        prefetch: int = 4,
    ) -> EventConsumer:
        self.taps.own(
            self.topology.service_queue(service), self.topology.dead_letter_queue(service)
        )
        await declare_topology_at(
            self.amqp_url, self.topology, service, handlers.routing_keys, delivery_limit
        )
        broker = RabbitBroker(self.amqp_url, logger=None, graceful_timeout=5.0)
        consumer = EventConsumer(
            service=service,
            topology=self.topology,
            handlers=handlers,
            sessionmaker=sessionmaker,
            prefetch=prefetch,
            delivery_limit=delivery_limit,
        )
        consumer.attach(broker)
        await broker.start()
        self.brokers.append(broker)
        return consumer

    async def stop_all(self) -> None:
        for broker in self.brokers:
            await broker.stop()
        self.brokers.clear()


@pytest.fixture(scope="module")
async def consumers(
    rcm_amqp_url: str,
    rcm_topology: Topology,
    taps: QueueTaps,
    messaging_schema: MessagingSchema,  # stop consuming before the schema is dropped
) -> AsyncIterator[RunningConsumers]:
    running = RunningConsumers(rcm_amqp_url, rcm_topology, taps)
    try:
        yield running
    finally:
        await running.stop_all()


async def eventually(
    check: Callable[[], Awaitable[bool]], within: float = 10.0, interval: float = 0.05
) -> bool:
    deadline = time.monotonic() + within
    while True:
        if await check():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)


@pytest.fixture(scope="session")
def wait_until() -> Callable[..., Awaitable[bool]]:
    """``await wait_until(async_check, within=...)``: poll with short sleeps; False on time-out."""
    return eventually
