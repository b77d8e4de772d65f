"""Fixtures of the charges tests: a migrated schema of the module's own, a started
runtime on broker names of the module's own, a publisher of real CloudEvents, an HTTP
client on the app, and a way to wait for the consumer."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml
from sqlalchemy import select

from charges.bootstrap import MIGRATIONS, build_runtime
from charges.service_layer.stay_days import Clock
from charges.settings import ChargesSettings
from common.db import utcnow
from common.migrations import migrate
from common.outbox import OUTBOX
from common.runtime import ServiceRuntime
from common.testing import isolation
from common.testing.messages import Publish, event_publisher, wait_until_in_inbox
from common.testing.processes import SAMPLE_TENANTS
from contracts.envelope import CloudEvent
from contracts.topology import Topology

SERVICE = "charges"
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
    name = f"charges_{uuid.uuid4().hex[:8]}"
    await migrate(rcm_database_url, name, MIGRATIONS)
    return name


@pytest.fixture(scope="module")
async def topology(rcm_topology: Topology, rcm_amqp_url: str) -> AsyncIterator[Topology]:
    topology = Topology(prefix=f"{rcm_topology.prefix}{uuid.uuid4().hex[:6]}.")
    yield topology
    await isolation.delete_broker_names(rcm_amqp_url, topology, services=(SERVICE,))


# A tenant of the tests' own whose group pricing changes on 2026-04-01: March sessions
# price at $50.00 (Small), April ones at $60.00.
DATED_TENANT = "dated-bh"
DATED_VERSIONS: list[tuple[str, str | None, tuple[str, str, str]]] = [
    ("2026-01-01", "2026-03-31", ("50.00", "40.00", "30.00")),
    ("2026-04-01", None, ("60.00", "48.00", "36.00")),
]


def _group_version(effective_from: str, effective_to: str | None, rates: tuple[str, ...]) -> Any:
    small, medium, large = rates
    version: dict[str, Any] = {
        "effective_from": effective_from,
        "service_codes": ["90853"],
        "size_bands": [
            {
                "name": "Small",
                "min_participants": 3,
                "max_participants": 5,
                "rate_per_participant": small,
            },
            {
                "name": "Medium",
                "min_participants": 6,
                "max_participants": 10,
                "rate_per_participant": medium,
            },
            {"name": "Large", "min_participants": 11, "rate_per_participant": large},
        ],
        "modifiers": ["HQ"],
        "place_of_service": "11",
        "units_per_session": 1,
    }
    if effective_to is not None:
        version["effective_to"] = effective_to
    return version


@pytest.fixture(scope="module")
def tenant_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample tenant ``demo-bh`` and ``dated-bh``, a copy of it whose group pricing has
    a version from next month on (2026-04-01)."""
    folder = tmp_path_factory.mktemp("tenants")
    sample = SAMPLE_TENANTS / "demo-bh.yaml"
    shutil.copy(sample, folder / "demo-bh.yaml")
    document = yaml.safe_load(sample.read_text())
    document["tenant_id"] = DATED_TENANT
    document["name"] = "Dated pricing (tests)"
    program = next(p for p in document["programs"] if p["id"] == "group-therapy")
    program["group"] = [_group_version(*version) for version in DATED_VERSIONS]
    (folder / f"{DATED_TENANT}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return folder


@pytest.fixture(scope="module")
def settings(
    service_settings: Callable[..., ChargesSettings],
    schema: str,
    topology: Topology,
    tenant_dir: Path,
) -> ChargesSettings:
    # prefetch 1: deliveries are applied one after another, so an event published after
    # another is applied after it (the tests use that to know a skipped event was seen).
    # The day-charge sweep runs once at start; tests sweep when they choose to.
    return service_settings(
        ChargesSettings,
        db_schema=schema,
        topology_prefix=topology.prefix,
        prefetch=1,
        tenant_config_dir=tenant_dir,
        day_charges_interval_seconds=3600,
    )


@pytest.fixture(scope="module")
def clock() -> Clock:
    """Now, as the runtime sees it (which stay days are complete); a module may set its own."""
    return utcnow


@pytest.fixture(scope="module")
async def runtime(settings: ChargesSettings, clock: Clock) -> AsyncIterator[ServiceRuntime]:
    runtime = build_runtime(settings, clock=clock)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


@pytest.fixture(scope="module")
async def client(runtime: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=runtime.create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://charges") as client:
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


@pytest.fixture(scope="module")
def outboxed(runtime: ServiceRuntime) -> Callable[[str, str], Awaitable[list[dict[str, Any]]]]:
    """``await outboxed(event_type, subject)``: the events the service wrote to its outbox
    (the only way it publishes), oldest first, as CloudEvent documents."""

    async def read(event_type: str, subject: str) -> list[dict[str, Any]]:
        async with runtime.sessionmaker() as session:
            rows = await session.execute(
                select(OUTBOX.c.payload)
                .where(
                    OUTBOX.c.event_type == event_type,
                    OUTBOX.c.payload["subject"].astext == subject,
                )
                .order_by(OUTBOX.c.id)
            )
            return [row[0] for row in rows]

    return read
