"""Each service's one-shot ``migrate`` command, run from an empty database, creates its
tables (and Alembic's version table) in its own schema and nowhere else; run again, it
changes nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import pytest

from common.testing import isolation
from common.testing.processes import PACKAGES
from common.testing.pytest_plugin import Infrastructure
from contracts.topology import Topology

pytestmark = pytest.mark.e2e

SCHEMAS = {
    "attendance": "attendance",
    "stays": "stays",
    "charges": "charges",
    "claims": "claims",
    "edi-gateway": "edi_gateway",
}


async def tables(url: str) -> set[tuple[str, str]]:
    conn = await asyncpg.connect(isolation.asyncpg_dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        return {(r[0], r[1]) for r in rows}
    finally:
        await conn.close()


def test_migrate_from_empty_creates_tables_only_in_each_service_schema(
    rcm_infrastructure: Infrastructure, rcm_amqp_url: str, e2e_topology: Topology
) -> None:
    # One empty database per service, migrated side by side (each run is a process start).
    with ThreadPoolExecutor(max_workers=len(PACKAGES)) as pool:
        futures = [
            pool.submit(migrate_from_empty, s, rcm_infrastructure, rcm_amqp_url, e2e_topology)
            for s in PACKAGES
        ]
        for future in futures:
            future.result()


def migrate_from_empty(
    service: str, rcm_infrastructure: Infrastructure, rcm_amqp_url: str, e2e_topology: Topology
) -> None:
    admin = rcm_infrastructure.admin_database_url
    name = f"rcm_t_{isolation.run_id()}_m"
    asyncio.run(isolation.create_database(admin, name))
    url = isolation.with_database(admin, name)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "AMQP_URL": rcm_amqp_url,
        "TOPOLOGY_PREFIX": e2e_topology.prefix,
    }
    command = [sys.executable, "-m", PACKAGES[service], "migrate"]
    try:
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)
        created = asyncio.run(tables(url))
        schema = SCHEMAS[service]
        assert created, "migrate created nothing"
        assert {s for s, _ in created} == {schema}
        assert (schema, "alembic_version") in created
        assert {(schema, "outbox"), (schema, "inbox")} <= created
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)
        assert asyncio.run(tables(url)) == created
    finally:
        asyncio.run(isolation.drop_database(admin, name))
