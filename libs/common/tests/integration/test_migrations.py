"""Alembic inside a service's own schema: version table and tables land there only."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from common.migrations import migrate

MIGRATIONS = Path(__file__).parent / "migrations"


async def tables(database_url: str) -> set[tuple[str, str]]:
    """Every table of the database outside the catalogs."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT n.nspname, c.relname FROM pg_class c"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE c.relkind IN ('r', 'p')"
                    " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                    " AND n.nspname NOT LIKE 'pg\\_%'"
                )
            )
            return {(r[0], r[1]) for r in rows}
    finally:
        await engine.dispose()


async def columns(database_url: str, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT table_name, column_name, data_type, character_maximum_length,"
                    " is_nullable, column_default IS NOT NULL"
                    " FROM information_schema.columns WHERE table_schema = :schema"
                    " ORDER BY table_name, ordinal_position"
                ),
                {"schema": schema},
            )
            found: dict[str, list[tuple[Any, ...]]] = {}
            for table, *rest in rows:
                found.setdefault(table, []).append(tuple(rest))
            indexes = await conn.execute(
                text(
                    "SELECT tablename, indexname,"
                    " regexp_replace(indexdef, ' ON .* USING', ' USING')"
                    " FROM pg_indexes WHERE schemaname = :schema ORDER BY indexname"
                ),
                {"schema": schema},
            )
            for table, *rest in indexes:
                found.setdefault(f"{table} indexes", []).append(tuple(rest))
            return found
    finally:
        await engine.dispose()


async def test_migrate_puts_the_messaging_tables_and_version_table_in_the_target_schema_only(
    rcm_database_url: str,
) -> None:
    schema = f"lib_migrated_{uuid.uuid4().hex[:6]}"
    before = await tables(rcm_database_url)

    await migrate(rcm_database_url, schema, MIGRATIONS)

    created = await tables(rcm_database_url) - before
    assert created == {(schema, "alembic_version"), (schema, "outbox"), (schema, "inbox")}
    engine = create_async_engine(rcm_database_url)
    try:
        async with engine.connect() as conn:
            version = await conn.scalar(text(f'SELECT version_num FROM "{schema}".alembic_version'))
    finally:
        await engine.dispose()
    assert version == "0001"


async def test_two_migrators_at_once_both_succeed_and_migrate_once(rcm_database_url: str) -> None:
    schema = f"lib_migrated_{uuid.uuid4().hex[:6]}"

    await asyncio.gather(*(migrate(rcm_database_url, schema, MIGRATIONS) for _ in range(2)))
    await migrate(rcm_database_url, schema, MIGRATIONS)  # and again later: nothing to do

    in_schema = {t for s, t in await tables(rcm_database_url) if s == schema}
    assert in_schema == {"alembic_version", "outbox", "inbox"}


async def test_migration_creates_the_same_outbox_and_inbox_as_the_models(
    rcm_database_url: str, messaging_schema: Any
) -> None:
    schema = f"lib_migrated_{uuid.uuid4().hex[:6]}"
    await migrate(rcm_database_url, schema, MIGRATIONS)

    migrated = await columns(rcm_database_url, schema)
    from_models = await columns(rcm_database_url, messaging_schema.name)
    for table in ("outbox", "inbox", "outbox indexes", "inbox indexes"):
        assert migrated[table] == from_models[table], table
