"""Transactional outbox and its relay.

A service never publishes directly: it writes the event into ``outbox`` in the
transaction that made the change (:func:`add_to_outbox`, normally through
``UnitOfWork.publish``). :class:`OutboxRelay` claims unpublished rows with
``FOR UPDATE SKIP LOCKED`` (so two replicas never take the same row), publishes each
with publisher confirms, and marks it published in the same transaction. A failed
publish leaves the row for a later attempt with exponential back-off.

Delivery is at-least-once (a crash between the broker's confirm and our commit publishes
the row again); consumers deduplicate by event id through the inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import Field, SQLModel

from common.db import SERVICE_SCHEMA, utcnow
from common.logging import get_logger
from common.metrics import (
    OUTBOX_OLDEST_AGE,
    OUTBOX_PENDING,
    OUTBOX_PUBLISH_FAILURES,
    OUTBOX_PUBLISHED,
)
from contracts.envelope import CloudEvent

log = get_logger(__name__)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_unpublished",
            "next_attempt_at",
            "id",
            postgresql_where="published_at IS NULL",
        ),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    event_id: str = Field(sa_column=Column(String(128), nullable=False, unique=True))
    event_type: str = Field(sa_column=Column(String(200), nullable=False))
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    published_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    next_attempt_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]


async def add_to_outbox(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
    if not events:
        return
    rows = [
        {
            "event_id": e.id,
            "event_type": e.type,
            "tenant_id": e.tenantid,
            "payload": json.loads(e.to_json()),
        }
        for e in events
    ]
    await session.execute(insert(OUTBOX), rows)


class EventPublisher(Protocol):
    async def publish(self, event: CloudEvent) -> None:
        """Publish and return only once the broker has confirmed; raise otherwise."""


def backoff_delay(attempts: int, base: float = 0.5, cap: float = 60.0) -> float:
    return float(min(cap, base * (2 ** max(0, attempts - 1))))


class OutboxRelay:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        publisher: EventPublisher,
        *,
        service: str,
        batch_size: int = 100,
        poll_seconds: float = 0.2,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._publisher = publisher
        self._service = service
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def relay_once(self) -> int:
        """Publish one batch of due rows. Returns how many were published."""
        table = OUTBOX
        published = 0
        async with self._sessionmaker() as session, session.begin():
            rows = (
                (
                    await session.execute(
                        select(OutboxMessage)
                        .where(
                            table.c.published_at.is_(None),
                            table.c.next_attempt_at <= func.now(),
                        )
                        .order_by(table.c.id)
                        .limit(self._batch_size)
                        .with_for_update(skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            for row in rows:
                try:
                    await self._publisher.publish(CloudEvent.model_validate(row.payload))
                except Exception as exc:  # the broker is down or refused: retry later
                    row.attempts += 1
                    row.next_attempt_at = utcnow() + timedelta(seconds=backoff_delay(row.attempts))
                    row.last_error = f"{type(exc).__name__}: {str(exc)[:500]}"
                    OUTBOX_PUBLISH_FAILURES.labels(self._service).inc()
                    log.warning(
                        "outbox_publish_failed",
                        event_id=row.event_id,
                        event_type=row.event_type,
                        attempts=row.attempts,
                        error_type=type(exc).__name__,
                    )
                    # The broker is likely down: stop this batch rather than fail each row.
                    # Order is not promised across retries; consumers deduplicate by id
                    # and carry versions where order matters.
                    break
                row.published_at = utcnow()
                published += 1
        if published:
            OUTBOX_PUBLISHED.labels(self._service).inc(published)
        return published

    async def pending(self) -> int:
        return (await self.lag())[0]

    async def lag(self) -> tuple[int, float]:
        """How many rows wait, and the age in seconds of the oldest (0 when none)."""
        async with self._sessionmaker() as session:
            result = await session.execute(
                select(
                    func.count(),
                    func.extract("epoch", func.now() - func.min(OUTBOX.c.created_at)),
                )
                .select_from(OUTBOX)
                .where(OUTBOX.c.published_at.is_(None))
            )
            count, age = result.one()
            return int(count), max(0.0, float(age or 0.0))

    async def record_lag(self) -> None:
        """Set the pending and oldest-age gauges from the table."""
        count, age = await self.lag()
        OUTBOX_PENDING.labels(self._service).set(count)
        OUTBOX_OLDEST_AGE.labels(self._service).set(age)

    async def run(self, lag_every_seconds: float = 1.0) -> None:
        log.info("outbox_relay_started")
        lag_due = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            try:
                published = await self.relay_once()
                # While busy too (a long backlog is when the lag matters), at most once
                # a second.
                if loop.time() >= lag_due:
                    await self.record_lag()
                    lag_due = loop.time() + lag_every_seconds
                if published:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database unavailable: keep the loop alive
                log.warning("outbox_relay_error", error_type=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)
            self._wake.clear()
        log.info("outbox_relay_stopped")

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
