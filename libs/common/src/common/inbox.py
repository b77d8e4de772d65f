"""Inbox: the ids of events a consumer has applied, written in the same transaction as
the effect. A redelivered or duplicated event finds its id and changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, PrimaryKeyConstraint, String, Table, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from common.db import SERVICE_SCHEMA
from contracts.envelope import CloudEvent


class InboxMessage(SQLModel, table=True):
    __tablename__ = "inbox"
    __table_args__ = (
        PrimaryKeyConstraint("consumer", "event_id"),
        {"schema": SERVICE_SCHEMA},
    )

    consumer: str = Field(sa_column=Column(String(100), nullable=False))
    event_id: str = Field(sa_column=Column(String(128), nullable=False))
    event_type: str = Field(sa_column=Column(String(200), nullable=False))
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    received_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


INBOX: Table = InboxMessage.__table__  # type: ignore[attr-defined]


async def claim_event(session: AsyncSession, consumer: str, event: CloudEvent) -> bool:
    """Record ``event`` as applied by ``consumer``. False when it was applied before.

    Runs inside the caller's transaction: if the effect rolls back, so does the claim.
    Two concurrent deliveries of one id serialise on the primary key; the second waits for
    the first to commit and then sees the conflict."""
    result = await session.execute(
        insert(INBOX)
        .values(
            consumer=consumer,
            event_id=event.id,
            event_type=event.type,
            tenant_id=event.tenantid,
        )
        .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        .returning(INBOX.c.event_id)
    )
    return result.first() is not None
