"""Fixtures of the stays integration tests: the service started on a schema of the
module's own (real Postgres, real RabbitMQ), a channel, the canonical events it announces
gathered per stay."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import aio_pika
import httpx
import pytest_asyncio
from aio_pika.abc import AbstractChannel

from common.runtime import ServiceRuntime
from common.testing.messages import running_service
from contracts.topology import Topology
from stays.bootstrap import MIGRATIONS, build_runtime
from stays.settings import StaysSettings

from .stay_feed import Announced

# Few attempts, so that a refusal waiting for an admission that never comes dead-letters
# in about a second and a half (back-off 0.2 + 0.4 + 0.8 s).
DELIVERY_LIMIT = 3


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def service(
    service_settings: Callable[..., StaysSettings],
) -> AsyncIterator[tuple[ServiceRuntime, httpx.AsyncClient]]:
    settings = service_settings(
        StaysSettings,
        db_schema=f"stays_it_{uuid.uuid4().hex[:8]}",
        delivery_limit=DELIVERY_LIMIT,
    )
    async with running_service(build_runtime(settings), MIGRATIONS) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(service: tuple[ServiceRuntime, httpx.AsyncClient]) -> httpx.AsyncClient:
    return service[1]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def channel(rcm_amqp_url: str) -> AsyncIterator[AbstractChannel]:
    connection = await aio_pika.connect(rcm_amqp_url)
    async with connection:
        yield await connection.channel()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def announced(
    channel: AbstractChannel,
    rcm_topology: Topology,
    service: tuple[ServiceRuntime, httpx.AsyncClient],
) -> AsyncIterator[Announced]:
    exchange = await channel.get_exchange(rcm_topology.events_exchange, ensure=False)
    queue = await channel.declare_queue(
        f"{rcm_topology.prefix}stays-it-out-{uuid.uuid4().hex[:6]}", exclusive=True
    )
    await queue.bind(exchange, routing_key="stays.stay.#")
    yield Announced(queue)
