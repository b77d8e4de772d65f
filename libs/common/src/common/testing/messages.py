"""Helpers for integration tests that drive a service through the real broker and its
HTTP API. Shared so that every service's tests publish, poll and read dead letters alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aio_pika
import httpx
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from common.migrations import migrate
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


async def eventually(probe: Callable[[], Awaitable[T | None]], seconds: float = 10.0) -> T:
    """Poll ``probe`` until it answers something other than None (or fail after seconds)."""
    async with asyncio.timeout(seconds):
        while True:
            result = await probe()
            if result is not None:
                return result
            await asyncio.sleep(0.05)


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
    finally:
        await runtime.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
