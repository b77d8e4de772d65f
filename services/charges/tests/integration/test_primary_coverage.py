"""``primary_coverage_on``: which payer a charge on a given date bills."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from charges.adapters.db.repository import ProjectionRepository
from charges.domain.projections import CoveragePeriod, MemberCoverage, SourceStamp, UnknownMember
from charges.service_layer.coverage import primary_coverage_on
from common.db import create_engine, create_sessionmaker

TENANT = "tenant-a"
STAMP = SourceStamp(datetime(2026, 1, 1, tzinfo=UTC), "evt-1")


def period(
    coverage_id: str,
    payer_id: str,
    start: date,
    end: date | None,
    *,
    primary: bool = True,
) -> CoveragePeriod:
    return CoveragePeriod(coverage_id, payer_id, "18", primary, start, end)


@pytest.fixture(scope="module")
async def sessions(
    rcm_database_url: str, schema: str
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(rcm_database_url, schema)
    sessionmaker = create_sessionmaker(engine)
    # Medicaid through March, a new plan from April on (open-ended), and a secondary
    # commercial plan all year overlapping both.
    plan_change = MemberCoverage(
        "m-plan-change",
        True,
        (
            period("cov-mcd", "medicaid", date(2026, 1, 1), date(2026, 3, 31)),
            period("cov-mco", "mco", date(2026, 4, 1), None),
            period("cov-comm", "commercial", date(2026, 1, 1), date(2026, 12, 31), primary=False),
        ),
    )
    # Two primaries in force together (the feed refuses this; the query must still pick
    # one, the later-starting).
    left_open = MemberCoverage(
        "m-left-open",
        True,
        (
            period("cov-old", "old-plan", date(2025, 1, 1), None),
            period("cov-new", "new-plan", date(2026, 2, 1), None),
        ),
    )
    secondary_only = MemberCoverage(
        "m-secondary-only",
        True,
        (period("cov-sec", "commercial", date(2026, 1, 1), None, primary=False),),
    )
    uninsured = MemberCoverage("m-uninsured", True, ())
    inactive = MemberCoverage(
        "m-inactive", False, (period("cov-x", "medicaid", date(2026, 1, 1), date(2026, 1, 31)),)
    )
    async with sessionmaker() as session, session.begin():
        repository = ProjectionRepository(session)
        for member in (plan_change, left_open, secondary_only, uninsured, inactive):
            assert await repository.save_member(TENANT, member, STAMP)
    try:
        yield sessionmaker
    finally:
        await engine.dispose()


async def payer_on(
    sessions: async_sessionmaker[AsyncSession], member_id: str, on: date, tenant: str = TENANT
) -> str | None:
    async with sessions() as session:
        coverage = await primary_coverage_on(session, tenant, member_id, on)
    return None if coverage is None else coverage.payer_id


async def test_the_last_day_of_a_coverage_is_still_covered_by_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await payer_on(sessions, "m-plan-change", date(2026, 3, 31)) == "medicaid"


async def test_the_first_day_of_the_next_coverage_bills_the_new_payer(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await payer_on(sessions, "m-plan-change", date(2026, 4, 1)) == "mco"


async def test_an_open_ended_coverage_covers_every_later_date(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await payer_on(sessions, "m-plan-change", date(2031, 7, 4)) == "mco"


async def test_the_day_before_the_first_coverage_has_none(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await payer_on(sessions, "m-plan-change", date(2025, 12, 31)) is None


async def test_an_overlapping_secondary_coverage_never_takes_the_primary_place(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await payer_on(sessions, "m-plan-change", date(2026, 2, 15)) == "medicaid"


async def test_a_member_with_only_a_secondary_coverage_has_no_primary(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await payer_on(sessions, "m-secondary-only", date(2026, 2, 15)) is None


async def test_of_two_primaries_in_force_the_later_starting_one_wins(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await payer_on(sessions, "m-left-open", date(2026, 1, 31)) == "old-plan"
    assert await payer_on(sessions, "m-left-open", date(2026, 2, 1)) == "new-plan"


async def test_a_member_without_coverage_has_none(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await payer_on(sessions, "m-uninsured", date(2026, 2, 15)) is None


async def test_an_inactive_member_is_still_covered_on_past_dates(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await payer_on(sessions, "m-inactive", date(2026, 1, 20)) == "medicaid"


async def test_an_unknown_member_is_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(UnknownMember) as refused:
        await payer_on(sessions, "m-nobody", date(2026, 2, 15))
    assert refused.value.code == "MEMBER_NOT_FOUND"


async def test_another_tenants_member_is_unknown(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(UnknownMember):
        await payer_on(sessions, "m-plan-change", date(2026, 2, 15), tenant="tenant-b")
