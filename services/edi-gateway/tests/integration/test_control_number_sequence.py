"""The durable control-number sequence (SPEC 7): never a number twice, not with two
allocators at once, not after a restart; a rolled-back transaction gives its numbers back."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.db import create_engine, create_sessionmaker
from edi_gateway.adapters.db.tables import CONTROL_NUMBER_SEQUENCE
from edi_gateway.domain.model import ControlNumberKind, ControlNumberRuleViolation
from edi_gateway.service_layer.control_numbers import allocate_control_numbers

ISA = ControlNumberKind.INTERCHANGE
GS = ControlNumberKind.GROUP
ST = ControlNumberKind.TRANSACTION_SET


def sender() -> str:
    return f"S{uuid.uuid4().hex[:8].upper()}"


async def take(
    sessions: async_sessionmaker[AsyncSession],
    sender_id: str,
    kind: ControlNumberKind = ISA,
    count: int = 1,
    tenant: str = "tenant-a",
) -> list[int]:
    async with sessions() as session, session.begin():
        return await allocate_control_numbers(session, tenant, sender_id, kind, count)


async def test_a_new_sender_starts_at_1_and_counts_up(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    sender_id = sender()
    assert await take(sessions, sender_id, count=3) == [1, 2, 3]
    assert await take(sessions, sender_id) == [4]


async def test_each_tenant_sender_and_kind_has_its_own_sequence(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    sender_id = sender()
    await take(sessions, sender_id, ISA, count=5)
    assert await take(sessions, sender_id, GS) == [1]
    assert await take(sessions, sender_id, ST, count=2) == [1, 2]
    assert await take(sessions, sender(), ISA) == [1]
    assert await take(sessions, sender_id, ISA, tenant="tenant-b") == [1]
    assert await take(sessions, sender_id, ISA) == [6]


async def test_a_rolled_back_allocation_gives_its_numbers_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    sender_id = sender()
    await take(sessions, sender_id, count=7)
    async with sessions() as session, session.begin():
        assert await allocate_control_numbers(session, "tenant-a", sender_id, ISA, 2) == [8, 9]
        await session.rollback()
    assert await take(sessions, sender_id) == [8]


async def test_the_interchange_number_wraps_from_999999999_to_1(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    sender_id = sender()
    async with sessions() as session, session.begin():
        await session.execute(
            insert(CONTROL_NUMBER_SEQUENCE).values(
                tenant_id="tenant-a", sender_id=sender_id, kind="ISA", last_value=999_999_998
            )
        )
    assert await take(sessions, sender_id, count=3) == [999_999_999, 1, 2]
    assert await take(sessions, sender_id) == [3]


async def test_an_allocation_of_no_numbers_is_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(ControlNumberRuleViolation):
        await take(sessions, sender(), count=0)


async def test_two_concurrent_allocators_never_share_a_number_or_skip_one(
    rcm_database_url: str, schema: str
) -> None:
    """Two gateway replicas: two engines, 500 allocations each, at the same time. One of
    them rolls back every tenth transaction; its numbers go back to the sequence, so the
    numbers committed are exactly 1..N, each once."""
    sender_id = sender()
    engines = [create_engine(rcm_database_url, schema) for _ in range(2)]

    async def allocator(
        sessions: async_sessionmaker[AsyncSession], rollback_every: int
    ) -> list[int]:
        committed: list[int] = []
        for attempt in range(1, 501):
            async with sessions() as session:
                await session.begin()
                numbers = await allocate_control_numbers(session, "tenant-a", sender_id, ISA, 1)
                if rollback_every and attempt % rollback_every == 0:
                    await session.rollback()
                else:
                    await session.commit()
                    committed += numbers
        return committed

    try:
        first, second = await asyncio.gather(
            allocator(create_sessionmaker(engines[0]), rollback_every=0),
            allocator(create_sessionmaker(engines[1]), rollback_every=10),
        )
    finally:
        for engine in engines:
            await engine.dispose()
    assert len(first) == 500
    assert len(second) == 450
    assert not set(first) & set(second)
    assert sorted(first + second) == list(range(1, 951))
    # Each allocator saw its own numbers in increasing order.
    assert first == sorted(first)
    assert second == sorted(second)


async def test_a_restarted_gateway_continues_after_the_last_number(
    rcm_database_url: str, schema: str
) -> None:
    sender_id = sender()
    before = create_engine(rcm_database_url, schema)
    try:
        assert await take(create_sessionmaker(before), sender_id, count=12) == list(range(1, 13))
    finally:
        await before.dispose()
    after = create_engine(rcm_database_url, schema)
    try:
        assert await take(create_sessionmaker(after), sender_id) == [13]
    finally:
        await after.dispose()
