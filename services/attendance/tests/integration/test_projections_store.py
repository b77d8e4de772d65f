"""What attendance keeps of members' coverage, facilities and claims: replaced only by a
newer report, whatever order the events arrive in."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from attendance.adapters.db.projections import (
    ClaimStatusReport,
    FacilityFacts,
    ProjectionRepository,
    SourceStamp,
)
from attendance.bootstrap import MIGRATIONS
from attendance.domain.billing import CoveragePeriod
from common.db import create_engine, create_sessionmaker
from common.migrations import migrate

SCHEMA = f"attendance_proj_{uuid.uuid4().hex[:8]}"
T0 = datetime(2026, 1, 9, 22, 0, tzinfo=UTC)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def engine(rcm_database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate(rcm_database_url, SCHEMA, MIGRATIONS)
    engine = create_engine(rcm_database_url, SCHEMA)
    try:
        yield engine
    finally:
        await engine.dispose()


def stamp(minutes: int, event_id: str = "e") -> SourceStamp:
    return SourceStamp(T0 + timedelta(minutes=minutes), event_id)


def coverage(payer: str) -> CoveragePeriod:
    return CoveragePeriod(f"cov-{payer}", payer, True, date(2025, 1, 1))


async def test_a_member_upsert_older_than_the_kept_one_changes_nothing(
    engine: AsyncEngine,
) -> None:
    async with create_sessionmaker(engine)() as session, session.begin():
        repo = ProjectionRepository(session)
        assert await repo.save_member_coverage("t1", "m1", [coverage("acme")], stamp(10))
        assert not await repo.save_member_coverage("t1", "m1", [coverage("medicaid")], stamp(5))
        assert await repo.save_member_coverage("t1", "m1", [coverage("medicaid")], stamp(20))
        assert not await repo.save_member_coverage("t1", "m1", [], stamp(20))  # a replay
        kept = await repo.coverages("t1", ["m1", "m2"])
        assert {m: [c.payer_id for c in cs] for m, cs in kept.items()} == {"m1": ["medicaid"]}
        assert await repo.coverages("t2", ["m1"]) == {}


async def test_a_facility_keeps_its_newest_state_and_time_zone(engine: AsyncEngine) -> None:
    async with create_sessionmaker(engine)() as session, session.begin():
        repo = ProjectionRepository(session)
        await repo.save_facility("t1", FacilityFacts("f1", "IL", "America/Chicago"), stamp(2))
        await repo.save_facility("t1", FacilityFacts("f1", "OR", "America/Los_Angeles"), stamp(1))
        assert await repo.facilities("t1", ["f1"]) == {
            "f1": FacilityFacts("f1", "IL", "America/Chicago")
        }


async def test_a_claims_status_is_kept_by_claim_version_then_time(engine: AsyncEngine) -> None:
    async with create_sessionmaker(engine)() as session, session.begin():
        repo = ProjectionRepository(session)

        def report(version: int, status: str) -> ClaimStatusReport:
            return ClaimStatusReport("clm-1", version, status, None)

        await repo.save_claim_status("t1", "gs-1", report(2, "REVERSED"), stamp(1))
        await repo.save_claim_status("t1", "gs-1", report(1, "SUBMITTED"), stamp(9))  # late
        await repo.save_claim_status("t1", "gs-1", report(2, "SUBMITTED"), stamp(0))  # older
        [hold] = await repo.claims_of_session("t1", "gs-1")
        assert (hold.claim_id, hold.status, hold.at_payer) == ("clm-1", "REVERSED", False)
        await repo.remember_charges("t1", "gs-1", ["ch-1", "ch-2", "ch-1"])
        await repo.remember_charges("t1", "gs-1", ["ch-1"])
        assert await repo.sessions_of_charges("t1", ["ch-2", "ch-9"]) == {"gs-1"}
        assert await repo.sessions_of_charges("t2", ["ch-2"]) == set()
