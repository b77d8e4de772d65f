"""The repository and use cases against the real database: versions, history, tenants."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from attendance.adapters.db.repository import GroupSessionRepository, StaleSessionError
from attendance.adapters.db.tables import (
    ATTENDANCE_HISTORY,
    ATTENDANCE_OVERRIDE,
    FACILITY,
    GROUP_SESSION,
    MEMBER_COVERAGE,
    MEMBER_SOURCE,
    PARTICIPANT,
    SESSION_CHARGE,
    SESSION_CLAIM,
    SUPERVISOR,
)
from attendance.bootstrap import MIGRATIONS
from attendance.domain.model import GroupSession, RosterRole, SessionPlan, SessionStatus
from attendance.domain.roster import AttendanceStatus as S
from attendance.service_layer.sessions import (
    CancelSession,
    ScheduleSession,
    SetAttendance,
    UpdateSession,
    cancel_session,
    schedule_session,
    set_attendance,
    update_session,
)
from common.db import UnitOfWork, create_engine, create_sessionmaker
from common.errors import DomainError
from common.migrations import migrate

SCHEMA = f"attendance_store_{uuid.uuid4().hex[:8]}"
AT = datetime(2031, 5, 5, 9, 0, tzinfo=UTC)


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


def plan(*members: str, start: time = time(9, 0)) -> SessionPlan:
    return SessionPlan.of(
        facility_id="fac-1",
        program_id="iop",
        session_date=date(2031, 5, 5),
        start_time=start,
        end_time=time(11, 0),
        group_type="PROCESS_GROUP",
        service_code="90853",
        participants=members or ("m1", "m2"),
        supervisors=("p1",),
    )


def schedule(session_id: str, *members: str, tenant: str = "t1") -> ScheduleSession:
    return ScheduleSession(
        tenant_id=tenant, session_id=session_id, plan=plan(*members), actor="feed", at=AT
    )


async def test_a_session_round_trips_with_its_roster_in_order(engine: AsyncEngine) -> None:
    async with uow(engine) as work:
        await schedule_session(work, schedule("gs-rt", "m3", "m1", "m2"))
        await work.commit()
    async with uow(engine) as work:
        loaded = await GroupSessionRepository(work.session).get("t1", "gs-rt")
    assert loaded is not None
    assert list(loaded.participants) == ["m3", "m1", "m2"]
    assert loaded.plan == plan("m3", "m1", "m2")
    assert (loaded.status, loaded.version) == (SessionStatus.SCHEDULED, 1)


async def test_scheduling_the_same_plan_again_writes_nothing(engine: AsyncEngine) -> None:
    async with uow(engine) as work:
        await schedule_session(work, schedule("gs-same"))
        await work.commit()
    async with uow(engine) as work:
        again = await schedule_session(work, schedule("gs-same"))
        await work.commit()
    assert again.version == 1


async def test_a_scheduled_event_with_a_new_plan_updates_the_session(engine: AsyncEngine) -> None:
    async with uow(engine) as work:
        await schedule_session(work, schedule("gs-resend", "m1", "m2"))
        await work.commit()
    async with uow(engine) as work:
        session = await schedule_session(work, schedule("gs-resend", "m2", "m5"))
        await work.commit()
    assert (list(session.participants), session.version) == (["m2", "m5"], 2)


async def test_a_writer_holding_an_old_version_is_refused(engine: AsyncEngine) -> None:
    async with uow(engine) as work:
        await schedule_session(work, schedule("gs-race"))
        await work.commit()
    async with uow(engine) as first, uow(engine) as second:
        mine = await GroupSessionRepository(first.session).get("t1", "gs-race")
        theirs = await GroupSessionRepository(second.session).get("t1", "gs-race")
        assert mine is not None and theirs is not None
        theirs.mark_participant("m1", S.ABSENT, actor="u2", at=AT)
        await GroupSessionRepository(second.session).save(theirs)
        await second.commit()
        mine.mark_participant("m1", S.ATTENDED, actor="u1", at=AT)
        with pytest.raises(StaleSessionError):
            await GroupSessionRepository(first.session).save(mine)
    async with uow(engine) as work:
        stored = await GroupSessionRepository(work.session).get("t1", "gs-race")
    assert stored is not None
    assert (stored.participants["m1"].status, stored.version) == (S.ABSENT, 2)


async def test_a_removed_participant_keeps_their_history(engine: AsyncEngine) -> None:
    async with uow(engine) as work:
        await schedule_session(work, schedule("gs-hist", "m1", "m2"))
        await set_attendance(
            work,
            SetAttendance("t1", "gs-hist", RosterRole.PARTICIPANT, "m2", S.ATTENDED, actor="u1"),
        )
        await update_session(
            work,
            UpdateSession(tenant_id="t1", session_id="gs-hist", plan=plan("m1"), actor="feed"),
        )
        await work.commit()
    async with uow(engine) as work:
        repository = GroupSessionRepository(work.session)
        session = await repository.get("t1", "gs-hist")
        history = await repository.history("t1", "gs-hist")
    assert session is not None and history is not None
    assert list(session.participants) == ["m1"]
    assert [(h.subject_id, h.from_status, h.to_status, h.actor) for h in history] == [
        ("m2", S.SCHEDULED, S.ATTENDED, "u1")
    ]


async def test_one_tenant_cannot_load_or_change_anothers_session(engine: AsyncEngine) -> None:
    async with uow(engine) as work:
        await schedule_session(work, schedule("gs-shared-id", tenant="t1"))
        await work.commit()
    async with uow(engine) as work:
        repository = GroupSessionRepository(work.session)
        assert await repository.get("t2", "gs-shared-id") is None
        assert await repository.history("t2", "gs-shared-id") is None
        with pytest.raises(DomainError) as refused:
            await cancel_session(work, CancelSession(tenant_id="t2", session_id="gs-shared-id"))
    assert refused.value.code == "SESSION_UNKNOWN"


async def test_two_tenants_may_use_the_same_session_id(engine: AsyncEngine) -> None:
    async with uow(engine) as work:
        await schedule_session(work, schedule("gs-both", "m1", tenant="t1"))
        await schedule_session(work, schedule("gs-both", "m9", tenant="t2"))
        await work.commit()
    async with uow(engine) as work:
        repository = GroupSessionRepository(work.session)
        one, two = await repository.get("t1", "gs-both"), await repository.get("t2", "gs-both")
    assert one is not None and two is not None
    assert (list(one.participants), list(two.participants)) == (["m1"], ["m9"])


async def test_cancelling_records_the_reason_and_a_replayed_schedule_is_a_no_op(
    engine: AsyncEngine,
) -> None:
    async with uow(engine) as work:
        await schedule_session(work, schedule("gs-cancel"))
        await cancel_session(work, CancelSession("t1", "gs-cancel", reason="storm"))
        replay = await schedule_session(work, schedule("gs-cancel"))
        await work.commit()
    assert (replay.status, replay.cancel_reason) == (SessionStatus.CANCELLED, "storm")
    assert isinstance(replay, GroupSession)


async def test_the_migration_creates_the_tables_the_code_declares(engine: AsyncEngine) -> None:
    declared = {
        table.name: {c.name: (c.nullable, type(c.type).__name__) for c in table.columns}
        for table in (
            GROUP_SESSION,
            PARTICIPANT,
            SUPERVISOR,
            ATTENDANCE_HISTORY,
            ATTENDANCE_OVERRIDE,
            MEMBER_SOURCE,
            MEMBER_COVERAGE,
            FACILITY,
            SESSION_CLAIM,
            SESSION_CHARGE,
        )
    }

    def migrated(connection: Any) -> dict[str, dict[str, tuple[bool, str]]]:
        inspector = inspect(connection)
        return {
            name: {
                c["name"]: (bool(c["nullable"]), type(c["type"]).__name__)
                for c in inspector.get_columns(name, schema=SCHEMA)
            }
            for name in declared
        }

    async with engine.connect() as connection:
        actual = await connection.run_sync(migrated)
    for name, columns in declared.items():
        assert {c: n for c, (n, _) in actual[name].items()} == {
            c: n for c, (n, _) in columns.items()
        }, name
