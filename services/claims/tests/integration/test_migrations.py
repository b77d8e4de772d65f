"""The migrations create exactly the tables and columns the code maps, and carry what was
there before across a revision that needs it."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from claims.adapters.db.tables import ClaimsTable
from claims.bootstrap import MIGRATIONS
from common.migrations import migrate


async def test_the_migrated_schema_matches_the_mapped_tables(
    rcm_database_url: str, schema: str
) -> None:
    def columns(connection: Connection) -> dict[str, dict[str, Any]]:
        inspector = sa.inspect(connection)
        return {
            table: {c["name"]: c["nullable"] for c in inspector.get_columns(table, schema=schema)}
            for table in inspector.get_table_names(schema=schema)
        }

    engine = create_async_engine(rcm_database_url)
    try:
        async with engine.connect() as connection:
            migrated = await connection.run_sync(columns)
    finally:
        await engine.dispose()
    mapped = {
        table.name: {c.name: c.nullable for c in table.columns}
        for table in ClaimsTable.metadata.tables.values()
    }
    assert {"outbox", "inbox", "alembic_version"} <= set(migrated)
    assert {name: migrated.get(name) for name in mapped} == mapped


async def test_stays_known_before_revision_0008_are_taken_as_charged_at_their_version(
    rcm_database_url: str,
) -> None:
    """A stay this service held before ``charges.stay.charged.v1`` existed must not wait
    for one: the revision records it as brought in line with the version held (#10)."""
    schema = f"claims_m8_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(rcm_database_url)
    try:
        await migrate(rcm_database_url, schema, MIGRATIONS, "0007")
        async with engine.begin() as connection:
            await connection.execute(
                sa.text(
                    f'INSERT INTO "{schema}".stay_context (tenant_id, stay_id, stay_version,'
                    " member_id, facility_id, program_id, status, admit_date, admit_hour,"
                    " admission_type, admission_source, principal_diagnosis, other_diagnoses,"
                    " procedures, leaves, source_event_time, source_event_id) VALUES ('t1',"
                    " 'stay-1', 3, 'm-1', 'f-1', 'p-1', 'ADMITTED', '2026-01-10', 14, '3', '1',"
                    " 'F33.2', '[]', '[]', '[]', now(), 'e-1')"
                )
            )
        await migrate(rcm_database_url, schema, MIGRATIONS, "0008")
        async with engine.connect() as connection:
            rows = await connection.execute(
                sa.text(
                    "SELECT tenant_id, stay_id, stay_version, awaited"
                    f' FROM "{schema}".stay_charging'
                )
            )
            assert [tuple(r) for r in rows] == [("t1", "stay-1", 3, [])]
    finally:
        async with engine.begin() as connection:
            await connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()
