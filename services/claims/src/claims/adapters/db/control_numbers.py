"""The tenant's CLM01 counter, taken apart from the build that asks for a number.

Taken in the build's own transaction, the counter's row stayed locked until that build
committed, and concurrent builds of a tenant queued behind it: at month-end about a third
of the builds in flight were waiting there (#10). Here each number is one short
transaction on a pool of its own, so a build waiting for a number never holds a
connection the number needs (no pool deadlock under a burst of builds)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from claims.adapters.db.claims_repository import ClaimRepository
from common.db import create_engine, create_sessionmaker


class CountersApart:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessionmaker = create_sessionmaker(engine)

    @classmethod
    def connect(cls, database_url: str, schema: str, *, pool_size: int = 2) -> CountersApart:
        return cls(create_engine(database_url, schema, pool_size=pool_size, max_overflow=0))

    async def next(self, tenant_id: str, count: int = 1) -> int:
        """Take the tenant's next ``count`` numbers; the last of them is returned."""
        async with self._sessionmaker() as session, session.begin():
            return await ClaimRepository(session).next_patient_control_sequence(tenant_id, count)

    async def close(self) -> None:
        await self._engine.dispose()
