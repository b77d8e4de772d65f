"""Control numbers and files with gateways coming and going (SPEC 7, 9): never a number
twice after a restart, never a claim in two files with two replicas batching at once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aio_pika.abc import AbstractChannel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.runtime import ServiceRuntime
from common.testing.messages import eventually, publish_event
from common.testing.x12 import pyx12_errors
from contracts.topology import Topology
from edi_gateway.adapters.db.tables import INTERCHANGE, TRANSMISSION
from edi_gateway.bootstrap import build_runtime
from edi_gateway.settings import GatewaySettings

from ..claim_samples import X12File, claim_data, submitted_event

UPLOAD = Path("var/clearinghouse/upload")


@pytest.fixture(scope="module")
def local_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("edi-replicas")


@pytest.fixture(scope="module")
def settings(
    service_settings: Callable[..., GatewaySettings],
    schema: str,
    topology: Topology,
    local_root: Path,
) -> GatewaySettings:
    return service_settings(
        GatewaySettings,
        db_schema=schema,
        topology_prefix=topology.prefix,
        edi_local_root=local_root,
        edi_batch_poll_seconds=0.25,
    )


@asynccontextmanager
async def gateway(settings: GatewaySettings) -> AsyncIterator[ServiceRuntime]:
    runtime = build_runtime(settings)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


async def sent(
    sessions: async_sessionmaker[AsyncSession], claim_ids: set[str], seconds: float = 20
) -> list[dict[str, Any]]:
    """Every transmission of the claims, once all of them sit in a SENT interchange."""

    async def probe() -> list[dict[str, Any]] | None:
        async with sessions() as session:
            rows = (
                (
                    await session.execute(
                        select(
                            TRANSMISSION.c.claim_id,
                            TRANSMISSION.c.isa13,
                            TRANSMISSION.c.gs06,
                            TRANSMISSION.c.st02,
                            INTERCHANGE.c.interchange_id,
                            INTERCHANGE.c.status,
                            INTERCHANGE.c.file_name,
                        )
                        .join(
                            INTERCHANGE,
                            INTERCHANGE.c.interchange_id == TRANSMISSION.c.interchange_id,
                        )
                        .where(TRANSMISSION.c.claim_id.in_(claim_ids))
                    )
                )
                .mappings()
                .all()
            )
        done = {r["claim_id"] for r in rows if r["status"] == "SENT"}
        return [dict(r) for r in rows] if done == claim_ids else None

    return await eventually(probe, seconds)


async def submit(
    channel: AbstractChannel, topology: Topology, count: int
) -> tuple[set[str], set[str]]:
    claims = [claim_data(pcn=f"PR{uuid.uuid4().hex[:10].upper()}") for _ in range(count)]
    for claim in claims:
        await publish_event(channel, topology, submitted_event(claim))
    return {c["claim_id"] for c in claims}, {c["patient_control_number"] for c in claims}


async def test_a_restarted_gateway_never_reuses_a_control_number(
    settings: GatewaySettings,
    sessions: async_sessionmaker[AsyncSession],
    channel: AbstractChannel,
    topology: Topology,
    local_root: Path,
) -> None:
    async with gateway(settings):
        before_ids, _ = await submit(channel, topology, 2)
        before = await sent(sessions, before_ids)
    async with gateway(settings):  # a new process on the same schema
        after_ids, _ = await submit(channel, topology, 2)
        after = await sent(sessions, after_ids)
    (first,) = {(r["isa13"], r["gs06"], r["st02"], r["file_name"]) for r in before}
    (second,) = {(r["isa13"], r["gs06"], r["st02"], r["file_name"]) for r in after}
    assert second[0] > first[0] and second[1] > first[1] and second[2] > first[2]
    assert second[3] != first[3]
    for name in (first[3], second[3]):
        X12File.read(local_root / UPLOAD / name).assert_envelope_consistent()


async def test_two_gateways_at_once_put_no_claim_in_two_files_and_repeat_no_number(
    settings: GatewaySettings,
    sessions: async_sessionmaker[AsyncSession],
    channel: AbstractChannel,
    topology: Topology,
    local_root: Path,
) -> None:
    async with gateway(settings), gateway(settings):
        claim_ids: set[str] = set()
        pcns: set[str] = set()
        for _ in range(3):  # three waves, so batches close while claims keep coming
            ids, numbers = await submit(channel, topology, 8)
            claim_ids |= ids
            pcns |= numbers
            await asyncio.sleep(1.0)
        rows = await sent(sessions, claim_ids, seconds=30)
    assert sorted(r["claim_id"] for r in rows) == sorted(claim_ids)  # each claim once
    interchanges = {r["interchange_id"]: (r["isa13"], r["gs06"], r["file_name"]) for r in rows}
    isa13s = [v[0] for v in interchanges.values()]
    gs06s = [v[1] for v in interchanges.values()]
    assert len(set(isa13s)) == len(isa13s) and len(set(gs06s)) == len(gs06s)
    # The folder agrees: every claim in exactly one file, every file valid.
    seen: list[str] = []
    for _, _, file_name in interchanges.values():
        path = local_root / UPLOAD / file_name
        assert pyx12_errors(path) == []
        seen += [c[1] for c in X12File.read(path).all("CLM")]
    assert sorted(seen) == sorted(pcns)
    on_disk = [X12File.read(p).isa.split("*")[13] for p in (local_root / UPLOAD).glob("*.x12")]
    assert len(on_disk) == len(set(on_disk))
