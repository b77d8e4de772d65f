"""Helpers for integration tests that drive a service through the real broker and its
HTTP API. Shared so that every service's tests publish, poll and read dead letters alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import aio_pika
import httpx
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from prometheus_client import REGISTRY
from sqlalchemy import select

from common.inbox import INBOX
from common.migrations import migrate
from common.outbox import OUTBOX
from common.runtime import ServiceRuntime
from contracts.envelope import CONTENT_TYPE, CloudEvent
from contracts.topology import Topology

T = TypeVar("T")


async def publish_event(channel: AbstractChannel, topology: Topology, event: CloudEvent) -> None:
    """Publish ``event`` to the events exchange as a producer system would."""
    await publish_raw(channel, topology, event.to_json(), event.type, message_id=event.id)


async def publish_raw(
    channel: AbstractChannel,
    topology: Topology,
    body: bytes,
    routing_key: str,
    *,
    message_id: str | None = None,
) -> None:
    exchange = await channel.get_exchange(topology.events_exchange, ensure=False)
    await exchange.publish(
        aio_pika.Message(
            body,
            message_id=message_id,
            content_type=CONTENT_TYPE,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        ),
        routing_key=routing_key,
    )


async def eventually(
    probe: Callable[[], Awaitable[T | None]], seconds: float = 10.0, *, interval: float = 0.05
) -> T:
    """Poll ``probe`` every ``interval`` seconds until it answers something other than None
    (or fail after ``seconds``)."""
    async with asyncio.timeout(seconds):
        while True:
            result = await probe()
            if result is not None:
                return result
            await asyncio.sleep(interval)


async def next_dead_letter(
    channel: AbstractChannel, topology: Topology, service: str, seconds: float = 10.0
) -> AbstractIncomingMessage:
    """Take the next message off the service's dead-letter queue (acknowledged)."""
    queue = await channel.get_queue(topology.dead_letter_queue(service), ensure=False)

    async def probe() -> AbstractIncomingMessage | None:
        message = await queue.get(fail=False, no_ack=True)
        return message

    return await eventually(probe, seconds)


@asynccontextmanager
async def running_service(
    runtime: ServiceRuntime, migrations: Any
) -> AsyncIterator[tuple[ServiceRuntime, httpx.AsyncClient]]:
    """Migrate the runtime's schema, start it (topology, consumer, relay) and give an HTTP
    client on its app. ASGITransport does not run the lifespan, so this does."""
    settings = runtime.settings
    await migrate(settings.database_url, settings.db_schema, migrations)
    await runtime.start()
    transport = httpx.ASGITransport(app=runtime.create_app())
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url=f"http://{settings.service_name}"
        ) as client:
            yield runtime, client
        await assert_outbox_matches_declared(runtime)
    finally:
        await runtime.stop()


async def assert_outbox_matches_declared(runtime: ServiceRuntime) -> None:
    """Every event type the service wrote to its outbox is one its AsyncAPI document
    says it sends (``ServiceRuntime.published_event_types``)."""
    async with runtime.sessionmaker() as session:
        written = set((await session.execute(select(OUTBOX.c.event_type).distinct())).scalars())
    undeclared = written - set(runtime.published_event_types)
    assert not undeclared, (
        f"{runtime.settings.service_name} published {sorted(undeclared)}, which its "
        "AsyncAPI document does not list: declare them (ServiceRuntime.publishes) and run "
        "python -m common.asyncapi"
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Publish(Protocol):
    async def __call__(
        self,
        event_type: str,
        data: dict[str, Any],
        *,
        tenant: str = ...,
        event_id: str | None = ...,
        time: datetime | None = ...,
    ) -> CloudEvent: ...


@asynccontextmanager
async def event_publisher(
    amqp_url: str, topology: Topology, *, source: str = "ehr/test", tenant: str = "tenant-a"
) -> AsyncIterator[Publish]:
    """``await publish(type, data, tenant=, event_id=, time=)``: a CloudEvent built from
    ``data`` and published to the events exchange; returns the event."""
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(
        topology.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    default_tenant = tenant

    async def publish(
        event_type: str,
        data: dict[str, Any],
        *,
        tenant: str = default_tenant,
        event_id: str | None = None,
        time: datetime | None = None,
    ) -> CloudEvent:
        event = CloudEvent.new(
            type=event_type,
            source=source,
            tenantid=tenant,
            data=data,
            id=event_id,
            time=time or datetime.now(UTC),
        )
        await exchange.publish(
            aio_pika.Message(
                event.to_json(),
                content_type=CONTENT_TYPE,
                message_id=event.id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=event_type,
        )
        return event

    try:
        yield publish
    finally:
        await connection.close()


async def wait_until_in_inbox(
    runtime: ServiceRuntime, consumer: str, event: CloudEvent, seconds: float = 10.0
) -> None:
    """Until the consumer recorded ``event`` in its inbox (applied, or found stale: both
    commit the inbox row)."""

    async def seen() -> bool | None:
        async with runtime.sessionmaker() as session:
            row = await session.execute(
                select(INBOX.c.event_id).where(
                    INBOX.c.consumer == consumer, INBOX.c.event_id == event.id
                )
            )
            return True if row.first() is not None else None

    await eventually(seen, seconds)


def consumed(service: str, event_type: str, outcome: str) -> float:
    """How many events of ``event_type`` an in-process consumer of ``service`` took off its
    queue with ``outcome`` (applied, duplicate, ignored, retried, dead_lettered)."""
    value = REGISTRY.get_sample_value(
        "rcm_messages_consumed_total",
        {"service": service, "event_type": event_type, "outcome": outcome},
    )
    return value or 0.0
