"""Feed marks of one roster applied at the same time (the consumer handles several
deliveries at once) against the real database. Found by the chaos suite (issue #9): a mark
that lost the race for the session's version failed its delivery, was redelivered until
the queue's delivery limit dead-lettered it, and its session never closed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from attendance.adapters.db.repository import GroupSessionRepository, StaleSessionError
from attendance.bootstrap import MIGRATIONS
from attendance.domain.model import GroupSession, RosterRole, SessionPlan
from attendance.domain.roster import AttendanceStatus as S
from attendance.service_layer import sessions
from attendance.service_layer.sessions import (
    ScheduleSession,
    SetAttendance,
    record_feed_mark,
    schedule_session,
)
from common.db import UnitOfWork, create_engine, create_sessionmaker
from common.migrations import migrate

SCHEMA = f"attendance_race_{uuid.uuid4().hex[:8]}"
AT = datetime(2031, 5, 5, 9, 5, tzinfo=UTC)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def engine(rcm_database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate(rcm_database_url, SCHEMA, MIGRATIONS)
    engine = create_engine(rcm_database_url, SCHEMA)
    try:
        yield engine
    finally:
        await engine.dispose()


def uow(engine: AsyncEngine) -> UnitOfWork:
    return UnitOfWork(create_sessionmaker(engine), source="rcm/attendance-test")


def mark(session_id: str, member: str, status: S) -> SetAttendance:
    return SetAttendance("t1", session_id, RosterRole.PARTICIPANT, member, status, "kiosk", AT)


async def scheduled(engine: AsyncEngine, session_id: str) -> None:
    plan = SessionPlan.of(
        facility_id="fac-1",
        program_id="iop",
        session_date=date(2031, 5, 5),
        start_time=time(9, 0),
        end_time=time(11, 0),
        group_type="PROCESS_GROUP",
        service_code="90853",
        participants=("m1", "m2"),
        supervisors=("p1",),
    )
    async with uow(engine) as work:
        await schedule_session(work, ScheduleSession("t1", session_id, plan, "feed", AT))
        await work.commit()


def another_mark_commits_before_each_save(
    monkeypatch: pytest.MonkeyPatch, engine: AsyncEngine, rivals: list[SetAttendance]
) -> None:
    """Before each of the next saves, a rival feed mark of the same session commits in a
    transaction of its own: the save then holds a version that is no longer current."""
    original = GroupSessionRepository.save

    async def save(self: GroupSessionRepository, session: GroupSession) -> None:
        if rivals:
            rival = rivals.pop(0)
            async with uow(engine) as other:
                await original(
                    GroupSessionRepository(other.session),
                    await _marked(other, rival),
                )
                await other.commit()
        await original(self, session)

    monkeypatch.setattr(GroupSessionRepository, "save", save)


async def _marked(work: UnitOfWork, command: SetAttendance) -> Any:
    loaded = await GroupSessionRepository(work.session).get(command.tenant_id, command.session_id)
    assert loaded is not None
    loaded.mark(command.role, command.subject_id, command.status, actor=command.actor, at=AT)
    return loaded


async def test_a_feed_mark_that_loses_the_race_is_applied_on_top_of_the_winner(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await scheduled(engine, "gs-race-1")
    another_mark_commits_before_each_save(monkeypatch, engine, [mark("gs-race-1", "m2", S.LATE)])

    async with uow(engine) as work:
        await record_feed_mark(work, mark("gs-race-1", "m1", S.ATTENDED), event_id="e-1")
        await work.commit()

    async with uow(engine) as work:
        stored = await GroupSessionRepository(work.session).get("t1", "gs-race-1")
    assert stored is not None
    assert stored.participants["m1"].status is S.ATTENDED  # the mark that lost the race
    assert stored.participants["m2"].status is S.LATE  # the mark that won it
    assert stored.version == 3  # scheduled 1, the winner 2, the retried mark 3


async def test_a_feed_mark_that_keeps_losing_gives_up_after_the_attempts(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await scheduled(engine, "gs-race-2")
    rivals = [
        mark("gs-race-2", "m2", S.ATTENDED),
        mark("gs-race-2", "m2", S.LEFT_EARLY),
        mark("gs-race-2", "m1", S.ABSENT),  # never reached: two attempts only
    ]
    monkeypatch.setattr(sessions, "FEED_MARK_ATTEMPTS", 2)
    another_mark_commits_before_each_save(monkeypatch, engine, rivals)

    async with uow(engine) as work:
        with pytest.raises(StaleSessionError):
            await record_feed_mark(work, mark("gs-race-2", "m1", S.ATTENDED), event_id="e-2")
    assert len(rivals) == 1  # two attempts, each lost to a rival
