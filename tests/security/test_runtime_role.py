"""SPEC 10, least privilege: each service's migration runs as the schema's owner and grants
the role the service runs as (``DB_RUNTIME_ROLE``) only reading and writing rows of its
own schema. Connected as that role, as the running service is: its own rows can be read
and written; the audit tables refuse UPDATE, DELETE and TRUNCATE by privilege (before any
trigger); no table can be altered, dropped or have its triggers disabled; another
service's schema cannot be read at all."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from common.migrations import InvalidRoleName, migrate
from common.testing.isolation import asyncpg_dsn

from .conftest import SERVICES, _composition_roots

# What each service's audit is (SPEC 10): the tables a trigger keeps append-only.
APPEND_ONLY = {
    "attendance": {"attendance_override"},
    "stays": {"stay_change"},
    "charges": {"charge_history", "billing_code_group_audit"},
    "claims": {"claim_override_audit"},
    "edi-gateway": {"manual_acknowledgment_audit"},
}
INSUFFICIENT_PRIVILEGE = "42501"


@dataclass(frozen=True)
class Granted:
    service: str
    schema: str
    role: str
    dsn: str  # connects as the role


@pytest.fixture(scope="module")
async def granted(rcm_database_url: str) -> AsyncIterator[dict[str, Granted]]:
    run = uuid.uuid4().hex[:6]
    admin = await asyncpg.connect(asyncpg_dsn(rcm_database_url))
    roots = _composition_roots()
    made: dict[str, Granted] = {}
    try:
        for name in SERVICES:  # one at a time: alembic's context is process-global
            slug = name.replace("-", "_")
            role, schema = f"rt{run}_{slug}", f"rt{run}_{slug}"
            await admin.execute(f'CREATE ROLE "{role}" LOGIN')
            made[name] = Granted(
                name,
                schema,
                role,
                asyncpg_dsn(str(make_url(rcm_database_url).set(username=role, password=None))),
            )
            await migrate(rcm_database_url, schema, roots[name][2], runtime_role=role)
        yield made
    finally:
        for g in made.values():
            await admin.execute(f'DROP SCHEMA IF EXISTS "{g.schema}" CASCADE')
            await admin.execute(f'DROP OWNED BY "{g.role}"')
            await admin.execute(f'DROP ROLE IF EXISTS "{g.role}"')
        await admin.close()


async def _refused(conn: asyncpg.Connection, statement: str) -> None:
    with pytest.raises(asyncpg.PostgresError) as caught:
        await conn.execute(statement)
    assert caught.value.sqlstate == INSUFFICIENT_PRIVILEGE, (statement, caught.value)


@pytest.mark.parametrize("service", SERVICES)
async def test_the_runtime_role_reads_and_writes_its_own_rows(
    granted: dict[str, Granted], service: str
) -> None:
    g = granted[service]
    conn = await asyncpg.connect(g.dsn)
    try:
        assert await conn.fetchval("SELECT current_user") == g.role
        event_id = f"ev-{uuid.uuid4().hex}"
        await conn.execute(
            f'INSERT INTO "{g.schema}".outbox (event_id, event_type, tenant_id, payload) '
            "VALUES ($1, 'x.y.z.v1', 't', '{}'::jsonb)",
            event_id,
        )
        await conn.execute(
            f'UPDATE "{g.schema}".outbox SET published_at = now() WHERE event_id = $1', event_id
        )
        assert await conn.fetchval(
            f'SELECT published_at IS NOT NULL FROM "{g.schema}".outbox WHERE event_id = $1',
            event_id,
        )
        await conn.execute(f'DELETE FROM "{g.schema}".outbox WHERE event_id = $1', event_id)
        # The migrations' bookkeeping: readable, never writable at run time.
        assert await conn.fetchval(f'SELECT count(*) FROM "{g.schema}".alembic_version') == 1
        await _refused(conn, f"UPDATE \"{g.schema}\".alembic_version SET version_num = 'x'")
    finally:
        await conn.close()


@pytest.mark.parametrize("service", SERVICES)
async def test_audit_tables_refuse_update_delete_and_truncate_by_privilege(
    granted: dict[str, Granted], service: str, rcm_database_url: str
) -> None:
    g = granted[service]
    admin = await asyncpg.connect(asyncpg_dsn(rcm_database_url))
    try:
        guarded = {
            r["relname"]
            for r in await admin.fetch(
                "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = $1 AND t.tgname LIKE '%append_only%'",
                g.schema,
            )
        }
    finally:
        await admin.close()
    assert guarded == APPEND_ONLY[service]
    conn = await asyncpg.connect(g.dsn)
    try:
        for table in sorted(guarded):
            qualified = f'"{g.schema}"."{table}"'
            assert await conn.fetchval(f"SELECT count(*) FROM {qualified}") == 0  # readable
            await _refused(conn, f"DELETE FROM {qualified}")
            await _refused(conn, f"TRUNCATE {qualified}")
            column = await conn.fetchval(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position LIMIT 1",
                g.schema,
                table,
            )
            await _refused(conn, f'UPDATE {qualified} SET "{column}" = "{column}"')
    finally:
        await conn.close()


@pytest.mark.parametrize("service", SERVICES)
async def test_the_runtime_role_cannot_change_the_schema(
    granted: dict[str, Granted], service: str
) -> None:
    g = granted[service]
    audit = sorted(APPEND_ONLY[service])[0]
    conn = await asyncpg.connect(g.dsn)
    try:
        await _refused(conn, f'ALTER TABLE "{g.schema}"."{audit}" DISABLE TRIGGER ALL')
        await _refused(conn, f'DROP TABLE "{g.schema}"."{audit}"')
        await _refused(conn, f'CREATE TABLE "{g.schema}".mine (x int)')
        await _refused(conn, f'TRUNCATE "{g.schema}".outbox')
    finally:
        await conn.close()


async def test_a_service_cannot_read_another_services_schema(
    granted: dict[str, Granted],
) -> None:
    for name, g in granted.items():
        conn = await asyncpg.connect(g.dsn)
        try:
            for other in granted.values():
                if other.service != name:
                    await _refused(conn, f'SELECT count(*) FROM "{other.schema}".outbox')
        finally:
            await conn.close()


async def test_migrating_again_keeps_the_grants_and_refuses_a_bad_role_name(
    granted: dict[str, Granted], rcm_database_url: str
) -> None:
    g = granted["claims"]
    roots = _composition_roots()
    await migrate(rcm_database_url, g.schema, roots["claims"][2], runtime_role=g.role)
    conn = await asyncpg.connect(g.dsn)
    try:
        assert await conn.fetchval(f'SELECT count(*) FROM "{g.schema}".outbox') >= 0
        await _refused(conn, f'TRUNCATE "{g.schema}".claim_override_audit')
    finally:
        await conn.close()
    with pytest.raises(InvalidRoleName):
        await migrate(
            rcm_database_url, g.schema, roots["claims"][2], runtime_role='x"; DROP TABLE y; --'
        )
