"""Auto-close with two replicas on one schema (SPEC 9): one sweeps at a time (an advisory
lock held for the sweep's transaction) and each session closes once (a version check),
so a past session gets exactly one ``closed`` event however the two race."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from typing import Any

import aio_pika
import pytest_asyncio
from aio_pika.abc import AbstractChannel
from sqlalchemy import select

from attendance.adapters.db.repository import GroupSessionRepository
from attendance.bootstrap import MIGRATIONS, build_runtime
from attendance.domain.model import GroupSession
from attendance.domain.roster import AttendanceStatus as S
from attendance.service_layer.billing import billing_preview
from attendance.service_layer.closing import AUTO_CLOSE_LOCK, FinalizeSession, finalize_session
from attendance.settings import AttendanceSettings
from common.leases import try_lock
from common.migrations import migrate
from common.outbox import OUTBOX
from common.runtime import ServiceRuntime
from common.testing.isolation import delete_broker_names, run_id
from common.testing.messages import eventually, publish_event
from contracts.envelope import CloudEvent
from contracts.events import (
    GROUP_SESSION_ATTENDANCE_MARKED_V1,
    GROUP_SESSION_CLOSED_V1,
    GROUP_SESSION_SCHEDULED_V1,
)
from contracts.topology import Topology

SCHEMA = f"attendance_ac_{uuid.uuid4().hex[:8]}"
PAST = date(2026, 3, 9)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def replicas(
    rcm_database_url: str,
    rcm_amqp_url: str,
    service_settings: Callable[..., AttendanceSettings],
) -> AsyncIterator[tuple[ServiceRuntime, ServiceRuntime, Topology]]:
    # Broker names of their own: no other module's runtime takes these events.
    topology = Topology(prefix=f"t{run_id()}.")

    def settings() -> AttendanceSettings:
        return service_settings(
            AttendanceSettings,
            db_schema=SCHEMA,
            topology_prefix=topology.prefix,
            auto_close_interval_seconds=0.05,
        )

    await migrate(rcm_database_url, SCHEMA, MIGRATIONS)
    first, second = build_runtime(settings()), build_runtime(settings())
    await first.start()
    await second.start()
    try:
        yield first, second, topology
    finally:
        await first.stop()
        await second.stop()
        await delete_broker_names(rcm_amqp_url, topology)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def channel(
    rcm_amqp_url: str, replicas: tuple[ServiceRuntime, ServiceRuntime, Topology]
) -> AsyncIterator[AbstractChannel]:
    connection = await aio_pika.connect(rcm_amqp_url)
    async with connection:
        yield await connection.channel()


def event(type: str, data: dict[str, Any]) -> CloudEvent:
    return CloudEvent.new(type=type, source="test/feed", tenantid="demo-bh", data=data)


async def replay_past_session(channel: AbstractChannel, topology: Topology) -> str:
    """A session of 2026-03-09 with every row terminal, as a replayed feed tells it."""
    session_id = f"gs-{uuid.uuid4().hex[:10]}"
    statuses = ["ATTENDED", "ATTENDED", "ATTENDED", "LATE", "ABSENT"]
    await publish_event(
        channel,
        topology,
        event(
            GROUP_SESSION_SCHEDULED_V1,
            {
                "session_id": session_id,
                "facility_id": "fac-1",
                "program_id": "group-therapy",
                "session_date": PAST.isoformat(),
                "start_time": "09:00",
                "end_time": "10:00",
                "group_type": "PROCESS_GROUP",
                "service_code": "90853",
                "supervisors": [{"provider_id": "p1"}],
                "roster": [
                    {"member_id": f"m{i}", "initial_status": s} for i, s in enumerate(statuses)
                ],
            },
        ),
    )
    await publish_event(
        channel,
        topology,
        event(
            GROUP_SESSION_ATTENDANCE_MARKED_V1,
            {
                "session_id": session_id,
                "provider_id": "p1",
                "status": "ATTENDED",
                "marked_by": "kiosk-1",
                "marked_at": "2026-03-09T14:01:00Z",
            },
        ),
    )
    return session_id


async def closed_events(runtime: ServiceRuntime, session_ids: list[str]) -> dict[str, int]:
    """``closed`` events in the (shared) outbox, per session."""
    async with runtime.sessionmaker() as session:
        subjects = await session.scalars(
            select(OUTBOX.c.payload["subject"].astext).where(
                OUTBOX.c.event_type == GROUP_SESSION_CLOSED_V1
            )
        )
        return dict(Counter(s for s in subjects if s in session_ids))


async def test_two_replicas_racing_close_each_past_session_once(
    replicas: tuple[ServiceRuntime, ServiceRuntime, Topology], channel: AbstractChannel
) -> None:
    first, second, topology = replicas
    broadcast = await channel.declare_queue(exclusive=True, auto_delete=True)
    exchange = await channel.get_exchange(topology.events_exchange, ensure=False)
    await broadcast.bind(exchange, routing_key=GROUP_SESSION_CLOSED_V1)

    session_ids = [await replay_past_session(channel, topology) for _ in range(6)]

    async def all_closed() -> dict[str, int] | None:
        counts = await closed_events(first, session_ids)
        return counts if len(counts) == len(session_ids) else None

    await eventually(all_closed)
    await asyncio.sleep(0.5)  # ten more sweeps of each replica
    assert await closed_events(second, session_ids) == dict.fromkeys(session_ids, 1)

    published: list[str] = []

    async def every_one_published() -> bool | None:
        while (message := await broadcast.get(no_ack=True, fail=False)) is not None:
            published.append(CloudEvent.model_validate_json(message.body).subject or "")
        return True if set(session_ids) <= set(published) else None

    await eventually(every_one_published)
    assert sorted(s for s in published if s in session_ids) == sorted(session_ids)


async def test_no_replica_sweeps_while_another_holds_the_lease(
    replicas: tuple[ServiceRuntime, ServiceRuntime, Topology], channel: AbstractChannel
) -> None:
    first, _, topology = replicas
    async with first.sessionmaker() as holder, holder.begin():

        async def leased() -> bool | None:
            return await try_lock(holder, AUTO_CLOSE_LOCK) or None  # between two sweeps

        await eventually(leased)
        session_id = await replay_past_session(channel, topology)

        async def closable() -> bool | None:
            async with first.sessionmaker() as session:
                stored = await GroupSessionRepository(session).get("demo-bh", session_id)
            marked = stored is not None and stored.supervisors["p1"].status is S.ATTENDED
            return marked or None

        await eventually(closable)
        await asyncio.sleep(0.5)  # ten sweeps of each replica, none of them may close it
        assert await closed_events(first, [session_id]) == {}

    async def closed() -> dict[str, int] | None:
        return await closed_events(first, [session_id]) or None

    assert await eventually(closed) == {session_id: 1}


async def test_a_finalize_racing_the_auto_close_answers_the_closed_session(
    replicas: tuple[ServiceRuntime, ServiceRuntime, Topology], channel: AbstractChannel
) -> None:
    """The supervisor finalizes while the auto-close is closing the same session: the
    finalize waits for it and answers the session closed, not 409 CONCURRENT_UPDATE."""
    first, second, topology = replicas
    async with first.sessionmaker() as holder, holder.begin():
        # No background sweep while the test plays the auto-close itself.
        async def leased() -> bool | None:
            return await try_lock(holder, AUTO_CLOSE_LOCK) or None

        await eventually(leased)
        session_id = await replay_past_session(channel, topology)

        async def closable() -> bool | None:
            async with first.sessionmaker() as session:
                stored = await GroupSessionRepository(session).get("demo-bh", session_id)
            return (stored is not None and stored.supervisors["p1"].status is S.ATTENDED) or None

        await eventually(closable)
        async with first.unit_of_work() as auto_close:
            repository = GroupSessionRepository(auto_close.session)
            session = await repository.get("demo-bh", session_id)
            assert session is not None
            preview = await billing_preview(
                auto_close.session, first.tenants.get("demo-bh"), session
            )
            now = datetime(2026, 3, 10, 12, tzinfo=UTC)
            assert session.close_by_itself(
                preview.evaluation, preview.rules.billable_statuses, at=now
            )
            await repository.save(session)  # closed, not committed yet

            async def finalize() -> GroupSession:
                async with second.unit_of_work() as uow:
                    command = FinalizeSession("demo-bh", session_id, actor="user:sup-1")
                    closed = await finalize_session(uow, command, second.tenants)
                    await uow.commit()
                    return closed

            finalizing = asyncio.create_task(finalize())
            await asyncio.sleep(0.5)  # the finalize has read the session, or waits for it
            await auto_close.commit()
        answered = await finalizing
    assert answered.is_closed and answered.version == session.version
    assert answered.closing is not None and answered.closing == session.closing
