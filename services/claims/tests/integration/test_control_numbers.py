"""CLM01 numbers (#10): a build takes its number apart from its own transaction, so no
other build of the tenant waits for it to commit; a dry run's number is given back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from claims.adapters.db.control_numbers import CountersApart
from claims.domain.code_sets import PatternDiagnosisCodeSet
from claims.service_layer.dependencies import (
    ClaimsDependencies,
    ControlNumberBlock,
    next_control_number,
)
from common.db import UnitOfWork, create_engine, create_sessionmaker
from contracts.tenant import TenantConfig


def _no_tenant(tenant_id: str) -> TenantConfig:
    raise AssertionError(f"no tenant configuration is read here ({tenant_id})")


@pytest.fixture
async def parts(
    rcm_database_url: str, schema: str
) -> AsyncIterator[tuple[ClaimsDependencies, UnitOfWork, UnitOfWork]]:
    engine = create_engine(rcm_database_url, schema, pool_size=3)
    counters = CountersApart.connect(rcm_database_url, schema)
    sessionmaker = create_sessionmaker(engine)
    deps = ClaimsDependencies(
        tenant_config=_no_tenant, diagnoses=PatternDiagnosisCodeSet(), control_numbers=counters
    )
    try:
        yield (
            deps,
            UnitOfWork(sessionmaker, source="rcm/claims"),
            UnitOfWork(sessionmaker, source="rcm/claims"),
        )
    finally:
        await counters.close()
        await engine.dispose()


async def test_a_build_waiting_to_commit_holds_no_other_builds_number(
    parts: tuple[ClaimsDependencies, UnitOfWork, UnitOfWork],
) -> None:
    deps, first, second = parts
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    async with first:
        mine = await next_control_number(first, deps, tenant)
        # Taken in the build's transaction, the counter's row would stay locked until
        # ``first`` ends, and this would wait for it.
        async with second:
            theirs = await asyncio.wait_for(next_control_number(second, deps, tenant), 5)
            await second.commit()
        await first.rollback()
    assert theirs == mine + 1
    async with first:
        # The rolled-back build's number is not given again: a gap, never a reuse.
        assert await next_control_number(first, deps, tenant) == theirs + 1


async def test_a_dry_runs_number_is_the_one_the_real_build_gets(
    parts: tuple[ClaimsDependencies, UnitOfWork, UnitOfWork],
) -> None:
    deps, dry, real = parts
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    async with dry:
        dry.rehearsal = True
        shown = [await next_control_number(dry, deps, tenant) for _ in range(2)]
        await dry.rollback()
    async with real:
        taken = [await next_control_number(real, deps, tenant) for _ in range(2)]
        await real.commit()
    assert shown == taken == [1, 2]


async def test_a_block_takes_its_numbers_at_once_and_a_dry_run_still_gives_them_back(
    parts: tuple[ClaimsDependencies, UnitOfWork, UnitOfWork],
) -> None:
    deps, chunk, other = parts
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    block = ControlNumberBlock(3)
    async with chunk:
        first = await block.next(chunk, deps, tenant)
        # The block's three numbers are the counter's already: another build gets the next.
        async with other:
            assert await next_control_number(other, deps, tenant) == first + 3
            await other.commit()
        # Four asked of a block of three: the fourth takes three more.
        rest = [await block.next(chunk, deps, tenant) for _ in range(3)]
        await chunk.commit()
    assert [first, *rest] == [1, 2, 3, 5]
    async with other:
        assert await next_control_number(other, deps, tenant) == 8  # 6 and 7: a gap
        await other.commit()
    async with chunk:
        chunk.rehearsal = True
        shown = await ControlNumberBlock(3).next(chunk, deps, tenant)
        await chunk.rollback()
    async with other:
        assert shown == await next_control_number(other, deps, tenant) == 9
        await other.commit()
