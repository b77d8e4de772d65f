"""A real ServiceRuntime over the run's database and broker: liveness and readiness, events
in through the inbox and out through the outbox, graceful shutdown (SPEC 9, 11)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import insert
from structlog.testing import capture_logs

import common.runtime
from common.errors import DomainError
from common.messaging import EventHandlers, HandlerContext
from common.runtime import ServiceRuntime
from common.settings import ServiceSettings
from contracts.envelope import CloudEvent
from contracts.topology import Topology

SERVICE = "lib-runtime"
CONSUMING_SERVICE = "lib-runtime-consumer"
_TAG = uuid.uuid4().hex[:8]
STAY_ADMITTED = f"libtest.rt{_TAG}.stay_admitted.v1"
CHARGE_CREATED = f"libtest.rt{_TAG}.charge_created.v1"
SESSION_CLOSED = f"libtest.rt{_TAG}.session_closed.v1"


class StayAdmitted(BaseModel):
    stay_id: str


class SessionClosed(BaseModel):
    session_id: str


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def runtime_for(
    service_settings: Callable[..., ServiceSettings],
    messaging_schema: Any,
    taps: Any,
    rcm_topology: Topology,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., ServiceRuntime]:
    # The PHI field names of the event contracts are another package's concern.
    monkeypatch.setattr(common.runtime, "_contract_phi_keys", frozenset)
    for service in (SERVICE, CONSUMING_SERVICE):
        taps.own(rcm_topology.service_queue(service), rcm_topology.dead_letter_queue(service))

    def build(
        service: str = SERVICE, handlers: EventHandlers | None = None, **overrides: Any
    ) -> ServiceRuntime:
        settings = service_settings(
            service_name=service, db_schema=messaging_schema.name, **overrides
        )
        return ServiceRuntime(settings, handlers=handlers or EventHandlers())

    return build


@pytest.fixture
async def started() -> AsyncIterator[Callable[[ServiceRuntime], Any]]:
    running: list[ServiceRuntime] = []

    async def start(runtime: ServiceRuntime) -> httpx.AsyncClient:
        app = runtime.create_app()
        await runtime.start()
        running.append(runtime)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")

    try:
        yield start
    finally:
        for runtime in running:
            await runtime.stop()


async def test_healthz_answers_200_without_touching_database_or_broker(
    runtime_for: Callable[..., ServiceRuntime],
) -> None:
    runtime = runtime_for(database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/x")
    app = runtime.create_app()  # not started: nothing is connected
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://svc"
    ) as client:
        response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    await runtime.engine.dispose()


async def test_readyz_answers_200_when_database_and_broker_are_up(
    runtime_for: Callable[..., ServiceRuntime], started: Any
) -> None:
    async with await started(runtime_for()) as client:
        response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": True, "broker": True}}


async def test_readyz_answers_503_naming_the_database_when_it_is_unreachable(
    runtime_for: Callable[..., ServiceRuntime], started: Any
) -> None:
    runtime = runtime_for(database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/x")
    async with await started(runtime) as client:
        response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "not_ready",
        "checks": {"database": False, "broker": True},
    }


async def test_an_applied_event_sends_its_follow_up_through_the_outbox(
    runtime_for: Callable[..., ServiceRuntime], started: Any, db: Any, taps: Any
) -> None:
    handlers = EventHandlers()

    @handlers.on(STAY_ADMITTED, StayAdmitted)
    async def price_first_day(ctx: HandlerContext) -> None:
        assert isinstance(ctx.data, StayAdmitted)
        await ctx.session.execute(
            insert(db.things).values(id=f"charge-for-{ctx.data.stay_id}", tenant_id=ctx.tenant_id)
        )
        ctx.uow.publish(
            type=CHARGE_CREATED,
            tenant_id=ctx.tenant_id,
            data={"charge_id": f"charge-for-{ctx.data.stay_id}"},
        )

    tap = await taps.bound_to_events(CHARGE_CREATED)
    # A slow poll: the follow-up goes out because the commit wakes the relay.
    runtime = runtime_for(CONSUMING_SERVICE, handlers, outbox_poll_seconds=30.0)
    admitted = CloudEvent.new(
        type=STAY_ADMITTED, source="ehr/feed", tenantid="tenant-a", data={"stay_id": "st-8"}
    )
    async with await started(runtime):
        await taps.publish(admitted.to_json(), STAY_ADMITTED, message_id=admitted.id)
        [message] = await taps.take(tap, 1, within=10.0)

    follow_up = CloudEvent.model_validate_json(message.body)
    assert follow_up.data == {"charge_id": "charge-for-st-8"}
    assert follow_up.causationid == admitted.id
    assert follow_up.correlationid == admitted.id
    assert follow_up.source == f"rcm/{CONSUMING_SERVICE}"


async def test_stopping_lets_an_in_flight_delivery_finish_and_acks_it(
    runtime_for: Callable[..., ServiceRuntime],
    started: Any,
    db: Any,
    taps: Any,
    rcm_topology: Topology,
    wait_until: Any,
) -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    handlers = EventHandlers()

    @handlers.on(SESSION_CLOSED, SessionClosed)
    async def slow_close(ctx: HandlerContext) -> None:
        assert isinstance(ctx.data, SessionClosed)
        entered.set()
        await release.wait()
        await ctx.session.execute(
            insert(db.things).values(id=ctx.data.session_id, tenant_id=ctx.tenant_id)
        )

    runtime = runtime_for(CONSUMING_SERVICE, handlers)
    closed = CloudEvent.new(
        type=SESSION_CLOSED,
        source="rcm/attendance",
        tenantid="tenant-a",
        data={"session_id": "gs-5"},
    )
    await started(runtime)
    await taps.publish(closed.to_json(), SESSION_CLOSED, message_id=closed.id)
    await asyncio.wait_for(entered.wait(), timeout=10.0)

    stopping = asyncio.create_task(runtime.stop())
    await asyncio.sleep(0.2)
    assert not stopping.done()  # waits for the delivery in flight
    release.set()
    await asyncio.wait_for(stopping, timeout=10.0)

    assert await db.count(db.things, db.things.c.id == "gs-5") == 1
    queue = await taps.channel.declare_queue(
        rcm_topology.service_queue(CONSUMING_SERVICE), passive=True
    )
    assert queue.declaration_result.message_count == 0  # acked, not handed back


async def test_a_background_job_that_fails_says_so_with_its_type_and_code(
    runtime_for: Callable[..., ServiceRuntime],
    started: Callable[[ServiceRuntime], Any],
) -> None:
    async def broken(_: ServiceRuntime) -> None:
        raise DomainError("SENDER_AMBIGUOUS", "two tenants name one sender MRN-123")

    runtime = runtime_for()
    runtime.background = [broken]
    with capture_logs() as logs:
        await started(runtime)
        for _ in range(50):
            if any(e["event"] == "background_task_failed" for e in logs):
                break
            await asyncio.sleep(0.02)
    [failure] = [e for e in logs if e["event"] == "background_task_failed"]
    assert failure["task"] == "broken" and failure["error_type"] == "DomainError"
    assert failure["code"] == "SENDER_AMBIGUOUS"
    assert "MRN-123" not in str(failure)  # the message may quote values: never logged
