"""The process shape every service shares: a FastAPI app whose lifespan declares the
topology, starts the broker (consumer) and the outbox relay and any background work, and
on shutdown stops consuming, lets in-flight deliveries finish, then closes everything.

A service's ``bootstrap.py`` builds a :class:`ServiceRuntime` with its settings, event
handlers, routers and background tasks; tests may build one with other parts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response
from faststream.rabbit import RabbitBroker
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from common.db import UnitOfWork, create_engine, create_sessionmaker, database_ready
from common.http.auth import TokenVerifier
from common.http.problems import install_problem_handlers
from common.http.telemetry import RequestTelemetry
from common.logging import configure_logging, get_logger, register_phi_keys
from common.messaging import (
    BrokerEventPublisher,
    EventConsumer,
    EventHandlers,
    declare_topology_at,
)
from common.outbox import OutboxRelay
from common.settings import ServiceSettings
from common.telemetry import configure_tracing, shutdown_tracing
from common.tenants import TenantDirectory
from contracts.events import EVENT_DATA_MODELS
from contracts.topology import Topology

log = get_logger(__name__)

FASTAPI_TELEMETRY_OFF: Any = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}

BackgroundTask = Callable[["ServiceRuntime"], Coroutine[Any, Any, None]]


@dataclass
class ServiceRuntime:
    settings: ServiceSettings
    handlers: EventHandlers = field(default_factory=EventHandlers)
    routers: Sequence[APIRouter] = ()
    background: Sequence[BackgroundTask] = ()
    title: str = ""
    domain_statuses: dict[str, int] = field(default_factory=dict)
    #: Called at stop, after the engine is disposed (e.g. an adapter's own pool).
    closers: Sequence[Callable[[], Awaitable[None]]] = ()
    version: str = "0.1.0"
    #: The event types the service writes to its outbox. None: the contracts' types whose
    #: producer (``<producer>.<aggregate>.<event>.vN``) is this service. The AsyncAPI
    #: document is generated from this and ``handlers``.
    publishes: Sequence[str] | None = None

    def __post_init__(self) -> None:
        s = self.settings
        self.topology = Topology(prefix=s.topology_prefix)
        self.engine: AsyncEngine = create_engine(
            s.database_url,
            s.db_schema,
            pool_size=s.db_pool_size,
            max_overflow=s.db_max_overflow,
            pre_ping=s.db_pool_pre_ping,
        )
        self.sessionmaker: async_sessionmaker[AsyncSession] = create_sessionmaker(self.engine)
        self.broker = RabbitBroker(
            s.amqp_url,
            graceful_timeout=s.graceful_timeout_seconds,
            logger=None,
            app_id=s.service_name,
        )
        self.relay = OutboxRelay(
            self.sessionmaker,
            BrokerEventPublisher(self.broker, self.topology),
            service=s.service_name,
            batch_size=s.outbox_batch_size,
            poll_seconds=s.outbox_poll_seconds,
        )
        self.consumer = EventConsumer(
            service=s.service_name,
            topology=self.topology,
            handlers=self.handlers,
            sessionmaker=self.sessionmaker,
            prefetch=s.prefetch,
            on_committed=self.relay.wake,
            delivery_limit=s.delivery_limit,
        )
        if self.handlers.handlers:
            self.consumer.attach(self.broker)
        self._tasks: list[asyncio.Task[Any]] = []
        self._tenants: TenantDirectory | None = None

    @property
    def published_event_types(self) -> list[str]:
        if self.publishes is not None:
            return sorted(self.publishes)
        return produced_by(self.settings.service_name)

    @property
    def tenants(self) -> TenantDirectory:
        """The tenant configurations of ``TENANT_CONFIG_DIR``, read on first use."""
        if self._tenants is None:
            self._tenants = TenantDirectory.load(self.settings.tenant_config_dir)
        return self._tenants

    def unit_of_work(self, correlation_id: str | None = None) -> UnitOfWork:
        return UnitOfWork(
            self.sessionmaker,
            source=f"rcm/{self.settings.service_name}",
            correlation_id=correlation_id,
        )

    async def declare_topology(self) -> None:
        await declare_topology_at(
            self.settings.amqp_url,
            self.topology,
            self.settings.service_name,
            self.handlers.routing_keys,
            self.settings.delivery_limit,
        )

    async def start(self) -> None:
        _ = self.tenants  # an invalid tenant file fails the start, not the first event
        await self.declare_topology()
        await self.broker.start()
        self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        for job in self.background:
            task = asyncio.create_task(job(self), name=getattr(job, "__name__", "job"))
            task.add_done_callback(_report_failure)
            self._tasks.append(task)
        log.info("service_started", routing_keys=self.handlers.routing_keys)

    async def stop(self) -> None:
        # Stop taking deliveries and let in-flight ones finish (graceful_timeout) first,
        # then stop the relay so their outbox rows still go out on the next start.
        await self.broker.stop()
        self.relay.stop()
        for task in self._tasks:
            if task.get_name() != "outbox-relay":
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.engine.dispose()
        for close in self.closers:
            await close()
        log.info("service_stopped")

    async def ready(self) -> dict[str, bool]:
        db = await database_ready(self.engine)
        try:
            broker = bool(await self.broker.ping(timeout=2.0))
        except Exception:
            broker = False
        return {"database": db, "broker": broker}

    def create_app(self) -> FastAPI:
        s = self.settings
        register_phi_keys(_contract_phi_keys())

        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            configure_logging(s.service_name, s.log_level, s.log_json)
            configure_tracing(
                s.otel_service_name or s.service_name,
                s.otel_traces_exporter,
                s.otel_exporter_otlp_endpoint,
            )
            await self.start()
            try:
                yield
            finally:
                await self.stop()
                shutdown_tracing()

        app = FastAPI(
            title=self.title or f"rcm {s.service_name}",
            version=self.version,
            lifespan=lifespan,
            # FastAPI's own spans would double ours (RequestTelemetry), and name raw paths.
            telemetry=FASTAPI_TELEMETRY_OFF,
        )
        app.state.runtime = self
        app.state.token_verifier = TokenVerifier(
            shared_secret=s.jwt_shared_secret(),
            jwks_url=s.jwt_jwks_url,
            audience=s.jwt_audience,
            issuer=s.jwt_issuer,
        )
        install_problem_handlers(app, s.service_name, self.domain_statuses)
        app.add_middleware(RequestTelemetry, service=s.service_name)

        @app.get("/healthz", include_in_schema=False)
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @app.get("/readyz", include_in_schema=False)
        async def readyz() -> JSONResponse:
            checks = await self.ready()
            ok = all(checks.values())
            return JSONResponse(
                {"status": "ready" if ok else "not_ready", "checks": checks},
                status_code=200 if ok else 503,
            )

        @app.get("/metrics", include_in_schema=False)
        async def metrics() -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

        for router in self.routers:
            app.include_router(router)
        return app


#: Producer names in event types that differ from the service's name.
PRODUCER_OF_SERVICE = {"edi-gateway": "edi"}


def produced_by(service: str) -> list[str]:
    """The contracts' event types whose producer is ``service``."""
    producer = PRODUCER_OF_SERVICE.get(service, service)
    return sorted(t for t in EVENT_DATA_MODELS if t.split(".", 1)[0] == producer)


def _contract_phi_keys() -> frozenset[str]:
    from contracts.events import phi_field_names

    return frozenset(phi_field_names())


def _report_failure(task: asyncio.Task[None]) -> None:
    """A background job that ends by an error says so (its type and code, never its text,
    which may quote values): otherwise a dead job is silent and only readiness tells."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.error(
            "background_task_failed",
            task=task.get_name(),
            error_type=type(error).__name__,
            code=getattr(error, "code", None),
        )
