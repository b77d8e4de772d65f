"""Time-driven work with several replicas: one replica does it, by Postgres advisory lock.

``async with exclusive(session, "auto-close") as mine: if mine: ...`` holds a transaction
level lock, released at commit or rollback, so a replica that dies releases it too."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def try_lock(session: AsyncSession, key: str) -> bool:
    """Take the transaction-scoped lock named ``key`` if no one else holds it."""
    result = await session.execute(
        text("SELECT pg_try_advisory_xact_lock(hashtext(:key))"), {"key": key}
    )
    return bool(result.scalar())
