"""Each test run gets its own database (``rcm_t_<hex>``) and its own broker name prefix
(``t<hex>.``), both removed at the end, so several runs can share one Postgres and one
RabbitMQ. URLs come from ``DATABASE_URL`` / ``AMQP_URL``, defaulting to the local services;
testcontainers start only when neither is reachable and a Docker engine is."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg

from common.settings import DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL
from contracts.topology import Topology

SERVICES = ("attendance", "stays", "charges", "claims", "edi-gateway")


def run_id() -> str:
    return uuid.uuid4().hex[:10]


def reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2
        ):
            return True
    except OSError:
        return False


def docker_engine_reachable() -> bool:
    if os.environ.get("DOCKER_HOST"):
        return True
    return os.path.exists("/var/run/docker.sock")


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def create_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def as_user(url: str, user: str) -> str:
    """The same database URL, connecting as ``user`` (no password: trust or peer auth)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{user}@{host}", parts.path, parts.query, parts.fragment))


async def create_login_roles(admin_url: str, roles: Iterable[str]) -> None:
    """Roles that can log in and own nothing: what each service runs as (least privilege)."""
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        for role in roles:
            await conn.execute(f'CREATE ROLE "{role}" LOGIN')
    finally:
        await conn.close()


async def drop_roles(admin_url: str, database: str, roles: Iterable[str]) -> None:
    """Drops the roles, after their grants in ``database`` (which may be gone already)."""
    conn = await asyncpg.connect(asyncpg_dsn(with_database(admin_url, database)))
    try:
        for role in roles:
            await conn.execute(f'DROP OWNED BY "{role}"')
    except asyncpg.InvalidCatalogNameError:
        pass
    finally:
        await conn.close()
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        for role in roles:
            await conn.execute(f'DROP ROLE IF EXISTS "{role}"')
    finally:
        await conn.close()


async def delete_broker_names(
    amqp_url: str,
    topology: Topology,
    services: Iterable[str] = SERVICES,
    extra_queues: Iterable[str] = (),
) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        queues = [
            q for s in services for q in (topology.service_queue(s), topology.dead_letter_queue(s))
        ]
        for name in [*queues, *extra_queues]:
            channel = await connection.channel()
            try:
                await channel.queue_delete(name)
            except Exception:  # noqa: S112 - absent already
                continue
        for name in (topology.events_exchange, topology.dead_letter_exchange):
            channel = await connection.channel()
            try:
                await channel.exchange_delete(name)
            except Exception:  # noqa: S112
                continue


def default_database_url() -> str:
    return os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)


def default_amqp_url() -> str:
    return os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)
