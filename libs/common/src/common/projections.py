"""Projections of another system's records (members, providers, facilities, stays) kept
last-writer-wins: a row is replaced only by a newer message, so a redelivered or late
older event never overwrites what a newer one said."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, func, tuple_
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession


def _newer_than_kept(table: Table, statement: Insert, order: Sequence[str]) -> ColumnElement[bool]:
    kept = tuple_(*(table.c[name] for name in order))
    new = tuple_(*(statement.excluded[name] for name in order))
    return kept < new


async def upsert_if_newer(
    session: AsyncSession,
    table: Table,
    constraint: str,
    values: dict[str, Any],
    *,
    source_event_time: datetime,
    source_event_id: str,
    version_column: str | None = None,
) -> bool:
    """Insert or replace a projection row unless the kept one is as new or newer: ordered
    by ``version_column`` first when the source numbers its versions (a stay's
    stay_version), then by the event's time, then its id (arbitrary but fixed, so every
    replica and replay keeps the same row). The table has ``source_event_time``,
    ``source_event_id``, ``updated_at`` and an ``id`` key. False when nothing was written;
    the row stays locked until commit when it was."""
    statement = insert(table).values(
        **values, source_event_time=source_event_time, source_event_id=source_event_id
    )
    replaced: dict[str, Any] = {
        name: statement.excluded[name]
        for name in (*values, "source_event_time", "source_event_id")
        if name != "tenant_id"
    }
    replaced["updated_at"] = func.now()
    order = [version_column] if version_column else []
    order += ["source_event_time", "source_event_id"]
    statement = statement.on_conflict_do_update(
        constraint=constraint, set_=replaced, where=_newer_than_kept(table, statement, order)
    )
    result = await session.execute(statement.returning(table.c.id))
    return result.first() is not None
