"""Alembic, one service at a time, inside the service's own schema (version table too).

Each service keeps ``adapters/db/migrations`` (``env.py`` calls :func:`run_env`) and runs
:func:`migrate` from its ``migrate`` command (a one-shot Job on Kubernetes). Migration
scripts create their tables with ``schema=target_schema()``."""

from __future__ import annotations

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
    database_url: str, schema: str, script_location: Path, revision: str = "head"
) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            # Serialise concurrent migrators (two replicas' Jobs) on one advisory lock.
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})

            def upgrade(sync_conn: Connection) -> None:
                config = alembic_config(script_location, schema)
                config.attributes["connection"] = sync_conn
                command.upgrade(config, revision)

            await conn.run_sync(upgrade)
    finally:
        await engine.dispose()


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
