"""pytest fixtures shared by every package's tests (loaded from the root conftest)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from common.settings import ServiceSettings
from common.testing import isolation
from common.testing.processes import SAMPLE_TENANTS
from common.testing.tokens import TEST_JWT_SECRET, make_token
from contracts.topology import Topology

S = TypeVar("S", bound=ServiceSettings)


@dataclass(frozen=True)
class Infrastructure:
    admin_database_url: str
    amqp_url: str


def _start_containers() -> tuple[Infrastructure, list[Any]]:  # pragma: no cover - needs Docker
    from testcontainers.postgres import PostgresContainer
    from testcontainers.rabbitmq import RabbitMqContainer

    pg = PostgresContainer("postgres:16", driver="asyncpg").start()
    mq = RabbitMqContainer("rabbitmq:3.13-management").start()
    params = mq.get_connection_params()
    amqp = f"amqp://guest:guest@{params.host}:{params.port}/"
    return Infrastructure(pg.get_connection_url(), amqp), [pg, mq]


@pytest.fixture(scope="session")
def rcm_infrastructure() -> Iterator[Infrastructure]:
    db, mq = isolation.default_database_url(), isolation.default_amqp_url()
    if isolation.reachable(db, 5432) and isolation.reachable(mq, 5672):
        yield Infrastructure(db, mq)
        return
    if not isolation.docker_engine_reachable():
        pytest.fail(
            f"Postgres ({db}) or RabbitMQ ({mq}) is not reachable and no Docker engine is "
            "available for testcontainers: start them or set DATABASE_URL / AMQP_URL."
        )
    infra, containers = _start_containers()  # pragma: no cover
    try:  # pragma: no cover
        yield infra
    finally:  # pragma: no cover
        for c in containers:
            c.stop()


@pytest.fixture(scope="session")
def rcm_database_url(rcm_infrastructure: Infrastructure) -> Iterator[str]:
    """A database of this run's own, dropped at the end."""
    name = f"rcm_t_{isolation.run_id()}"
    asyncio.run(isolation.create_database(rcm_infrastructure.admin_database_url, name))
    try:
        yield isolation.with_database(rcm_infrastructure.admin_database_url, name)
    finally:
        asyncio.run(isolation.drop_database(rcm_infrastructure.admin_database_url, name))


@pytest.fixture(scope="session")
def rcm_amqp_url(rcm_infrastructure: Infrastructure) -> str:
    return rcm_infrastructure.amqp_url


@pytest.fixture(scope="session")
def rcm_topology(rcm_amqp_url: str) -> Iterator[Topology]:
    """Exchange and queue names of this run's own, deleted at the end."""
    topology = Topology(prefix=f"t{isolation.run_id()}.")
    try:
        yield topology
    finally:
        asyncio.run(isolation.delete_broker_names(rcm_amqp_url, topology))


@pytest.fixture(scope="session")
def service_settings(
    rcm_database_url: str, rcm_amqp_url: str, rcm_topology: Topology
) -> Callable[..., ServiceSettings]:
    """``service_settings(AttendanceSettings, db_schema=...)``: settings aimed at this run's
    database and broker names."""

    def build(cls: type[S] = ServiceSettings, **overrides: Any) -> S:  # type: ignore[assignment]
        values: dict[str, Any] = {
            "database_url": rcm_database_url,
            "amqp_url": rcm_amqp_url,
            "topology_prefix": rcm_topology.prefix,
            "jwt_secret": TEST_JWT_SECRET,
            "log_json": True,
            "tenant_config_dir": SAMPLE_TENANTS,
        }
        values.update(overrides)
        return cls(**values)

    return build


@pytest.fixture(scope="session")
def token() -> Callable[..., str]:
    """``token(tenant="t1", scopes=[...])``: a signed bearer token for the test secret."""
    return make_token
