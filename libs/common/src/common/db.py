"""Database access: one async engine per service, bound to the service's own schema.

Tables are declared in the placeholder schema :data:`SERVICE_SCHEMA`; the engine
translates it to the configured schema (``DB_SCHEMA``), so one codebase can run in
``attendance`` in production and in ``t1a2b_attendance`` in a test run. Raw SQL text
is not translated: use SQLAlchemy Core constructs against the tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from common.telemetry import current_traceparent
from contracts.envelope import CloudEvent

SERVICE_SCHEMA = "service"


def utcnow() -> datetime:
    return datetime.now(UTC)


def create_engine(
    database_url: str,
    schema: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 5,
    pre_ping: bool = True,
) -> AsyncEngine:
    return create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=pre_ping,
        # A failed statement's text would otherwise carry its bound values (names, birth
        # dates) into exception messages and from there into logs.
        hide_parameters=True,
        execution_options={"schema_translate_map": {SERVICE_SCHEMA: schema}},
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def database_ready(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


class UnitOfWork:
    """Owns one transaction. Events recorded with :meth:`publish` go to the outbox in
    that same transaction, so a change and the events it causes commit together."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        source: str,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.source = source
        self.correlation_id = correlation_id
        self.causation_id = causation_id
        self._session: AsyncSession | None = None
        self._pending: list[CloudEvent] = []
        #: True for a dry run, which rolls back: nothing may be committed apart from it.
        self.rehearsal = False

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._session

    async def __aenter__(self) -> Self:
        self._session = self._sessionmaker()
        await self._session.begin()
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self._session is not None
        try:
            if exc_type is not None:
                await self._session.rollback()
        finally:
            await self._session.close()
            self._session = None
            self._pending.clear()

    def publish(
        self,
        *,
        type: str,
        tenant_id: str,
        data: Any,
        subject: str | None = None,
        event_id: str | None = None,
    ) -> CloudEvent:
        event = CloudEvent.new(
            type=type,
            source=self.source,
            tenantid=tenant_id,
            data=data,
            subject=subject,
            correlationid=self.correlation_id,
            causationid=self.causation_id,
            id=event_id,
        )
        # The span that made the change (an HTTP request, an event's handling): the relay
        # publishes under it, so the trace goes on in whoever consumes the event.
        traceparent = current_traceparent()
        if traceparent is not None:
            event = event.model_copy(update={"traceparent": traceparent})
        self._pending.append(event)
        return event

    async def commit(self) -> None:
        from common.outbox import add_to_outbox

        if self._pending:
            await add_to_outbox(self.session, self._pending)
            self._pending.clear()
        await self.session.commit()
        await self.session.begin()

    async def rollback(self) -> None:
        self._pending.clear()
        await self.session.rollback()
        await self.session.begin()


UnitOfWorkFactory = Callable[..., UnitOfWork]


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session, session.begin():
        yield session
