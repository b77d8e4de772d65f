"""Alembic, one service at a time, inside the service's own schema (version table too).

Each service keeps ``adapters/db/migrations`` (``env.py`` calls :func:`run_env`) and runs
:func:`migrate` from its ``migrate`` command (a one-shot Job on Kubernetes). Migration
scripts create their tables with ``schema=target_schema()``.

Least privilege (SPEC 10): the migration runs as the schema's owner
(``MIGRATION_DATABASE_URL``); the service itself can run as a role of its own
(``DB_RUNTIME_ROLE``, the user of its ``DATABASE_URL``) that :func:`grant_runtime_role`
gives only what the code does: reading and writing rows of its own schema. It owns
nothing, so it cannot alter, drop or disable a trigger, it has no right on any other
schema, and on the append-only audit tables (those guarded by an ``*append_only*``
trigger) it may only read and insert: an UPDATE, DELETE or TRUNCATE there is refused by
the privilege check before the trigger is reached."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def target_schema() -> str:
    schema = context.config.attributes.get("schema")
    if not schema:
        raise RuntimeError("migrations need config.attributes['schema']")
    return str(schema)


def run_env() -> None:
    """Body of every service's ``env.py``: online migrations on the connection handed in."""
    connection: Connection = context.config.attributes["connection"]
    schema = target_schema()
    connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    connection.execute(sa.text(f'SET search_path TO "{schema}"'))
    context.configure(
        connection=connection,
        version_table_schema=schema,
        include_schemas=False,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def alembic_config(script_location: Path, schema: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["schema"] = schema
    return config


async def migrate(
    database_url: str,
    schema: str,
    script_location: Path,
    revision: str = "head",
    *,
    runtime_role: str | None = None,
) -> None:
    """Upgrade the schema to ``revision``; then, with ``runtime_role``, grant that role the
    service's runtime privileges on it (in the same transaction)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            # Serialise concurrent migrators (two replicas' Jobs) on one advisory lock.
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})

            def upgrade(sync_conn: Connection) -> None:
                config = alembic_config(script_location, schema)
                config.attributes["connection"] = sync_conn
                command.upgrade(config, revision)
                if runtime_role:
                    grant_runtime_role(sync_conn, schema, runtime_role)

            await conn.run_sync(upgrade)
    finally:
        await engine.dispose()


_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class InvalidRoleName(ValueError):
    """``DB_RUNTIME_ROLE`` must be a plain lower-case Postgres identifier."""


def grant_runtime_role(connection: Connection, schema: str, role: str) -> list[str]:
    """What the running service may do in ``schema`` and nothing more: use the schema,
    read and write rows of its tables and use their sequences; on append-only tables read
    and insert only; the migrations' bookkeeping table read only. Returns the append-only
    tables found. The role must exist (the platform creates it, with its login)."""
    if not _IDENTIFIER.fullmatch(role):
        raise InvalidRoleName(f"DB_RUNTIME_ROLE {role!r} is not a plain lower-case identifier")
    if not _IDENTIFIER.fullmatch(schema):
        raise InvalidRoleName(f"schema {schema!r} is not a plain lower-case identifier")
    append_only = [
        str(name)
        for name in connection.execute(
            sa.text(
                "SELECT DISTINCT c.relname FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :schema AND NOT t.tgisinternal "
                "AND t.tgname LIKE '%append_only%' ORDER BY 1"
            ),
            {"schema": schema},
        ).scalars()
    ]
    statements = [
        f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM "{role}"',
        f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"',
        f'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"',
        f'REVOKE INSERT, UPDATE, DELETE ON "{schema}".alembic_version FROM "{role}"',
        *(f'REVOKE UPDATE, DELETE ON "{schema}"."{t}" FROM "{role}"' for t in append_only),
    ]
    for statement in statements:
        connection.execute(sa.text(statement))
    return append_only


def create_messaging_tables() -> None:
    """The outbox and inbox every service keeps in its schema (see common.outbox/inbox)."""
    schema = target_schema()
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(128), nullable=False, unique=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.Column("last_error", sa.Text, nullable=True),
        schema=schema,
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["next_attempt_at", "id"],
        schema=schema,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
        schema=schema,
    )
