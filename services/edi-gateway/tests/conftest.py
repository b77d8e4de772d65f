"""Fixtures of the edi-gateway tests: a migrated schema of the module's own, its engine,
and a started runtime (no subscriptions yet) with an HTTP client on its app; a broker
channel of the module's own and a queue of it bound to the gateway's outbound events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import aio_pika
import httpx
import pytest
import pytest_asyncio
from aio_pika.abc import AbstractChannel, AbstractQueue
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.db import create_engine, create_sessionmaker
from common.migrations import migrate
from common.runtime import ServiceRuntime
from common.testing import isolation
from common.testing.messages import assert_outbox_matches_declared
from contracts.topology import Topology
from edi_gateway.bootstrap import MIGRATIONS, build_runtime
from edi_gateway.settings import GatewaySettings

SERVICE = "edi-gateway"


@pytest.fixture(scope="module")
async def schema(rcm_database_url: str) -> str:
    name = f"edi_gateway_{uuid.uuid4().hex[:8]}"
    await migrate(rcm_database_url, name, MIGRATIONS)
    return name


@pytest.fixture(scope="module")
async def sessions(
    rcm_database_url: str, schema: str
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(rcm_database_url, schema)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
async def topology(rcm_topology: Topology, rcm_amqp_url: str) -> AsyncIterator[Topology]:
    topology = Topology(prefix=f"{rcm_topology.prefix}{uuid.uuid4().hex[:6]}.")
    yield topology
    await isolation.delete_broker_names(rcm_amqp_url, topology, services=(SERVICE,))


@pytest.fixture(scope="module")
def settings(
    service_settings: Callable[..., GatewaySettings], schema: str, topology: Topology
) -> GatewaySettings:
    return service_settings(GatewaySettings, db_schema=schema, topology_prefix=topology.prefix)


@pytest.fixture(scope="module")
async def runtime(settings: GatewaySettings) -> AsyncIterator[ServiceRuntime]:
    runtime = build_runtime(settings)
    await runtime.start()
    try:
        yield runtime
        await assert_outbox_matches_declared(runtime)
    finally:
        await runtime.stop()


@pytest.fixture(scope="module")
async def client(runtime: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=runtime.create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://edi-gateway") as client:
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def channel(rcm_amqp_url: str) -> AsyncIterator[AbstractChannel]:
    connection = await aio_pika.connect(rcm_amqp_url)
    async with connection:
        yield await connection.channel()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def edi_out(
    channel: AbstractChannel,
    topology: Topology,
    runtime: ServiceRuntime,
    request: pytest.FixtureRequest,
) -> AsyncIterator[AbstractQueue]:
    """A queue of the test module's own bound to the gateway's outbound events."""
    exchange = await channel.get_exchange(topology.events_exchange, ensure=False)
    name = request.module.__name__.rpartition(".")[2]
    queue = await channel.declare_queue(f"{topology.prefix}{name}-out", exclusive=True)
    await queue.bind(exchange, routing_key="edi.claim.#")
    yield queue
