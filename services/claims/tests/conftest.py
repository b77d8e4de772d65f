"""Fixtures of the claims tests: a migrated schema of the module's own, a started
runtime on broker names of the module's own, a publisher of real CloudEvents, an HTTP
client on the app, and a way to wait for the consumer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import httpx
import pytest

from claims.bootstrap import MIGRATIONS, build_runtime
from claims.settings import ClaimsSettings
from common.migrations import migrate
from common.runtime import ServiceRuntime
from common.testing import isolation
from common.testing.messages import Publish, event_publisher, wait_until_in_inbox
from contracts.envelope import CloudEvent
from contracts.topology import Topology

SERVICE = "claims"
T = TypeVar("T")


async def until(probe: Callable[[], Awaitable[T | None]]) -> T:
    """Poll ``probe`` until it returns something truthy; fail after 10 seconds."""
    async with asyncio.timeout(10):
        while True:
            value = await probe()
            if value:
                return value
            await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
async def schema(rcm_database_url: str) -> str:
    name = f"claims_{uuid.uuid4().hex[:8]}"
    await migrate(rcm_database_url, name, MIGRATIONS)
    return name


@pytest.fixture(scope="module")
async def topology(rcm_topology: Topology, rcm_amqp_url: str) -> AsyncIterator[Topology]:
    topology = Topology(prefix=f"{rcm_topology.prefix}{uuid.uuid4().hex[:6]}.")
    yield topology
    await isolation.delete_broker_names(rcm_amqp_url, topology, services=(SERVICE,))


@pytest.fixture(scope="module")
def settings(
    service_settings: Callable[..., ClaimsSettings], schema: str, topology: Topology
) -> ClaimsSettings:
    # prefetch 1: deliveries are applied one after another, so an event published after
    # another is applied after it (the tests use that to know a skipped event was seen).
    return service_settings(
        ClaimsSettings, db_schema=schema, topology_prefix=topology.prefix, prefetch=1
    )


@pytest.fixture(scope="module")
async def runtime(settings: ClaimsSettings) -> AsyncIterator[ServiceRuntime]:
    runtime = build_runtime(settings)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


@pytest.fixture(scope="module")
async def client(runtime: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=runtime.create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://claims") as client:
        yield client


@pytest.fixture(scope="module")
async def publish(topology: Topology, rcm_amqp_url: str) -> AsyncIterator[Publish]:
    async with event_publisher(rcm_amqp_url, topology) as publish:
        yield publish


@pytest.fixture(scope="module")
def applied(runtime: ServiceRuntime) -> Callable[[CloudEvent], Awaitable[None]]:
    """``await applied(event)``: wait until the consumer has recorded the event in its
    inbox (applied, or found stale: both commit the inbox row)."""

    async def wait(event: CloudEvent) -> None:
        await wait_until_in_inbox(runtime, SERVICE, event)

    return wait
