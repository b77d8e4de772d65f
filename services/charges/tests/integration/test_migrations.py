"""Migration 0001 creates exactly the tables and columns the code maps."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from charges.adapters.db.tables import ChargesTable


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
        for table in ChargesTable.metadata.tables.values()
    }
    assert {"outbox", "inbox", "alembic_version"} <= set(migrated)
    assert {name: migrated.get(name) for name in mapped} == mapped
