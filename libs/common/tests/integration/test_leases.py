"""Time-driven work with several replicas: one replica does it (SPEC 9)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.db import create_engine, create_sessionmaker
from common.leases import try_lock


@pytest.fixture
async def sessionmaker(rcm_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(rcm_database_url, "public")
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def test_of_two_concurrent_sessions_exactly_one_gets_the_lock(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    both_tried = asyncio.Barrier(2)

    async def replica() -> bool:
        async with sessionmaker() as session, session.begin():
            mine = await try_lock(session, "nightly-census")
            await both_tried.wait()  # hold the transaction until the other has tried too
            return mine

    results = await asyncio.wait_for(asyncio.gather(replica(), replica()), timeout=10)

    assert sorted(results) == [False, True]


async def test_the_lock_is_free_again_once_its_transaction_ends(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as first, first.begin():
        assert await try_lock(first, "cycle-close")
        async with sessionmaker() as second, second.begin():
            assert not await try_lock(second, "cycle-close")

    async with sessionmaker() as later, later.begin():
        assert await try_lock(later, "cycle-close")
