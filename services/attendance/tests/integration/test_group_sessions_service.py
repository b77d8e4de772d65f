"""The attendance service against the real database and broker: scheduling events in,
HTTP API out, refusals dead-lettered or answered."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import aio_pika
import httpx
import pytest
import pytest_asyncio
from aio_pika.abc import AbstractChannel
from prometheus_client import REGISTRY

from attendance.bootstrap import MIGRATIONS, build_runtime
from attendance.settings import AttendanceSettings
from common.migrations import migrate
from common.runtime import ServiceRuntime
from contracts.envelope import CONTENT_TYPE, CloudEvent
from contracts.events import (
    ATTENDANCE_MARK_REJECTED_V1,
    GROUP_SESSION_ATTENDANCE_MARKED_V1,
    GROUP_SESSION_CANCELLED_V1,
    GROUP_SESSION_SCHEDULED_V1,
    GROUP_SESSION_UPDATED_V1,
)
from contracts.topology import HEADER_ERROR_CODE, Topology

SCHEMA = f"attendance_it_{uuid.uuid4().hex[:8]}"
TENANT = "tenant-a"
OTHER_TENANT = "tenant-b"
READ = "clinical.group-session.read"
WRITE = "clinical.attendance.write"
DAY = date(2031, 5, 5)

T = TypeVar("T")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def runtime(
    rcm_database_url: str, service_settings: Callable[..., AttendanceSettings]
) -> AsyncIterator[ServiceRuntime]:
    await migrate(rcm_database_url, SCHEMA, MIGRATIONS)
    service = build_runtime(service_settings(AttendanceSettings, db_schema=SCHEMA))
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(runtime: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:
    # ASGITransport does not run the lifespan: the runtime fixture starts and stops it.
    transport = httpx.ASGITransport(app=runtime.create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://attendance") as client:
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def channel(rcm_amqp_url: str, runtime: ServiceRuntime) -> AsyncIterator[AbstractChannel]:
    connection = await aio_pika.connect(rcm_amqp_url)
    async with connection:
        yield await connection.channel()


@pytest.fixture
def headers(token: Callable[..., str]) -> Callable[..., dict[str, str]]:
    def build(*scopes: str, tenant: str = TENANT, subject: str = "nurse-1") -> dict[str, str]:
        granted = scopes or (READ, WRITE)
        return {"Authorization": f"Bearer {token(tenant=tenant, scopes=granted, subject=subject)}"}

    return build


# -- helpers ----------------------------------------------------------------------------


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def session_data(
    session_id: str,
    *,
    members: tuple[str, ...] = ("m1", "m2", "m3"),
    supervisors: tuple[str, ...] = ("p1", "p2"),
    day: date = DAY,
    start: str = "09:00",
    end: str = "10:00",
    revision: int | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "session_id": session_id,
        "facility_id": "fac-1",
        "program_id": "iop",
        "session_date": day.isoformat(),
        "start_time": start,
        "end_time": end,
        "group_type": "PROCESS_GROUP",
        "service_code": "90853",
        "supervisors": [{"provider_id": p, "role": "SUPERVISING"} for p in supervisors],
        "roster": [{"member_id": m} for m in members],
    }
    if revision is not None:
        data["revision"] = revision
    return data


def event(
    type: str, data: dict[str, Any], *, tenant: str = TENANT, event_id: str | None = None
) -> CloudEvent:
    return CloudEvent.new(
        type=type, source="scheduling/test", tenantid=tenant, data=data, id=event_id
    )


async def publish(channel: AbstractChannel, topology: Topology, message: CloudEvent) -> None:
    exchange = await channel.get_exchange(topology.events_exchange, ensure=False)
    await exchange.publish(
        aio_pika.Message(
            message.to_json(),
            message_id=message.id,
            content_type=CONTENT_TYPE,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        ),
        routing_key=message.type,
    )


async def eventually(probe: Callable[[], Awaitable[T | None]], seconds: float = 10.0) -> T:
    """Poll ``probe`` until it answers something other than None."""
    async with asyncio.timeout(seconds):
        while True:
            result = await probe()
            if result is not None:
                return result
            await asyncio.sleep(0.05)


async def detail_when(
    api: httpx.AsyncClient,
    headers: dict[str, str],
    session_id: str,
    condition: Callable[[dict[str, Any]], bool] = lambda _: True,
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        response = await api.get(f"/v1/group-sessions/{session_id}", headers=headers)
        if response.status_code == 200 and condition(response.json()):
            body: dict[str, Any] = response.json()
            return body
        return None

    return await eventually(probe)


async def dead_letter(
    channel: AbstractChannel, topology: Topology, event_id: str
) -> aio_pika.abc.AbstractIncomingMessage:
    queue = await channel.declare_queue(topology.dead_letter_queue("attendance"), passive=True)

    async def probe() -> aio_pika.abc.AbstractIncomingMessage | None:
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            if message.message_id == event_id:
                return message
        return None

    return await eventually(probe)


def consumed(event_type: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "rcm_messages_consumed_total",
        {"service": "attendance", "event_type": event_type, "outcome": outcome},
    )
    return value or 0.0


def statuses(body: dict[str, Any]) -> dict[str, str]:
    return {p["member_id"]: p["status"] for p in body["participants"]}


async def scheduled_session(
    api: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    auth: dict[str, str],
    **kwargs: Any,
) -> tuple[str, dict[str, Any]]:
    session_id = new_id("gs")
    await publish(
        channel, topology, event(GROUP_SESSION_SCHEDULED_V1, session_data(session_id, **kwargs))
    )
    return session_id, await detail_when(api, auth, session_id)


# -- scheduling feed --------------------------------------------------------------------


async def test_a_scheduled_session_shows_in_the_detail_with_roster_and_supervisors(
    api: httpx.AsyncClient, channel: AbstractChannel, rcm_topology: Topology, headers: Any
) -> None:
    _, body = await scheduled_session(api, channel, rcm_topology, headers(READ))
    assert body["status"] == "SCHEDULED"
    assert (body["session_date"], body["start_time"], body["end_time"]) == (
        "2031-05-05",
        "09:00:00",
        "10:00:00",
    )
    assert statuses(body) == {"m1": "SCHEDULED", "m2": "SCHEDULED", "m3": "SCHEDULED"}
    assert [s["provider_id"] for s in body["supervisors"]] == ["p1", "p2"]
    assert body["participants"][0]["legal_next_states"] == ["ATTENDED", "ABSENT", "LATE"]
    assert body["version"] == 1
    assert (body["locked"], body["close_sequence"], body["closing"]) == (False, 0, None)
    # tenant-a has no configuration: no billing policy, so no preview, and it says why.
    assert body["billing_preview"] is None
    assert body["billing_preview_unavailable"]["code"] == "TENANT_NOT_CONFIGURED"


async def test_the_list_shows_roster_size_and_counts_per_status(
    api: httpx.AsyncClient, channel: AbstractChannel, rcm_topology: Topology, headers: Any
) -> None:
    day = date(2031, 6, 2)
    session_id, _ = await scheduled_session(
        api, channel, rcm_topology, headers(), day=day, members=("m1", "m2", "m3", "m4", "m5")
    )
    for member, status in (
        ("m1", "ATTENDED"),
        ("m2", "ATTENDED"),
        ("m3", "ATTENDED"),
        ("m4", "ABSENT"),
    ):
        response = await api.put(
            f"/v1/group-sessions/{session_id}/participants/{member}/status",
            json={"status": status},
            headers=headers(WRITE),
        )
        assert response.status_code == 200, response.text
    listing = await api.get(
        "/v1/group-sessions",
        params={"from": "2031-06-01", "to": "2031-06-03"},
        headers=headers(READ),
    )
    assert listing.status_code == 200
    [row] = listing.json()["items"]
    assert row["session_id"] == session_id
    assert row["status"] == "OPEN"
    assert row["roster_size"] == 5
    assert row["attendance"] == {
        "SCHEDULED": 1,
        "ATTENDED": 3,
        "LATE": 0,
        "LEFT_EARLY": 0,
        "ABSENT": 1,
    }
    assert row["supervisor_ids"] == ["p1", "p2"]


async def test_the_list_filters_by_group_type_status_and_facility(
    api: httpx.AsyncClient, channel: AbstractChannel, rcm_topology: Topology, headers: Any
) -> None:
    day = date(2031, 7, 7)
    session_id, _ = await scheduled_session(api, channel, rcm_topology, headers(), day=day)
    params = {"from": day.isoformat(), "to": day.isoformat()}

    async def ids(**extra: str) -> list[str]:
        response = await api.get(
            "/v1/group-sessions", params={**params, **extra}, headers=headers(READ)
        )
        return [r["session_id"] for r in response.json()["items"]]

    assert await ids() == [session_id]
    assert await ids(group_type="PROCESS_GROUP", status="SCHEDULED", facility_id="fac-1") == [
        session_id
    ]
    assert await ids(group_type="SKILLS_GROUP") == []
    assert await ids(status="CANCELLED") == []
    assert await ids(facility_id="fac-2") == []


async def test_the_list_defaults_to_today_and_the_callers_facility(
    api: httpx.AsyncClient, headers: Any, token: Callable[..., str]
) -> None:
    today = datetime.now(UTC).date()  # business_time_zone defaults to UTC
    created = await api.post(
        "/v1/group-sessions",
        json={
            "facility_id": "fac-today",
            "program_id": "iop",
            "session_date": today.isoformat(),
            "start_time": "13:00",
            "end_time": "14:00",
            "group_type": "PROCESS_GROUP",
            "service_code": "90853",
            "participants": ["m1"],
        },
        headers=headers(WRITE),
    )
    assert created.status_code == 201, created.text
    session_id = created.json()["session_id"]
    at_facility = {
        "Authorization": f"Bearer {token(tenant=TENANT, scopes=[READ], facility='fac-today')}"
    }
    listing = (await api.get("/v1/group-sessions", headers=at_facility)).json()
    assert (listing["date_from"], listing["date_to"], listing["facility_id"]) == (
        today.isoformat(),
        today.isoformat(),
        "fac-today",
    )
    assert [r["session_id"] for r in listing["items"]] == [session_id]


async def test_a_date_range_that_ends_before_it_starts_is_422(
    api: httpx.AsyncClient, headers: Any
) -> None:
    response = await api.get(
        "/v1/group-sessions", params={"from": "2031-05-06", "to": "2031-05-05"}, headers=headers()
    )
    assert (response.status_code, response.json()["code"]) == (422, "INVALID_DATE_RANGE")


async def test_a_duplicate_delivery_of_one_event_id_changes_nothing(
    api: httpx.AsyncClient, channel: AbstractChannel, rcm_topology: Topology, headers: Any
) -> None:
    session_id = new_id("gs")
    first = event(GROUP_SESSION_SCHEDULED_V1, session_data(session_id, members=("m1", "m2")))
    await publish(channel, rcm_topology, first)
    await detail_when(api, headers(READ), session_id)
    duplicates_before = consumed(GROUP_SESSION_SCHEDULED_V1, "duplicate")
    # Same id, other content: had it been applied, the roster would read m9.
    again = event(
        GROUP_SESSION_SCHEDULED_V1, session_data(session_id, members=("m9",)), event_id=first.id
    )
    await publish(channel, rcm_topology, again)

    async def duplicate_seen() -> bool | None:
        return consumed(GROUP_SESSION_SCHEDULED_V1, "duplicate") > duplicates_before or None

    await eventually(duplicate_seen)
    body = await detail_when(api, headers(READ), session_id)
    assert statuses(body) == {"m1": "SCHEDULED", "m2": "SCHEDULED"}
    assert body["version"] == 1


async def test_an_update_replaces_time_and_roster_keeping_marks_of_who_remains(
    api: httpx.AsyncClient, channel: AbstractChannel, rcm_topology: Topology, headers: Any
) -> None:
    session_id, _ = await scheduled_session(api, channel, rcm_topology, headers())
    marked = await api.put(
        f"/v1/group-sessions/{session_id}/participants/m1/status",
        json={"status": "LATE"},
        headers=headers(WRITE),
    )
    assert marked.status_code == 200
    update = session_data(
        session_id, members=("m1", "m4"), supervisors=("p2",), start="09:30", end="10:30"
    )
    await publish(channel, rcm_topology, event(GROUP_SESSION_UPDATED_V1, update))
    body = await detail_when(
        api, headers(READ), session_id, lambda b: b["start_time"] == "09:30:00"
    )
    assert statuses(body) == {"m1": "LATE", "m4": "SCHEDULED"}
    assert [s["provider_id"] for s in body["supervisors"]] == ["p2"]


async def test_an_update_for_an_unknown_session_is_dead_lettered_as_session_unknown(
    channel: AbstractChannel, rcm_topology: Topology
) -> None:
    orphan = event(GROUP_SESSION_UPDATED_V1, session_data(new_id("never-scheduled")))
    await publish(channel, rcm_topology, orphan)
    message = await dead_letter(channel, rcm_topology, orphan.id)
    assert message.headers[HEADER_ERROR_CODE] == "SESSION_UNKNOWN"
    assert json.loads(message.body)["id"] == orphan.id


async def test_a_cancelled_session_refuses_updates(
    api: httpx.AsyncClient, channel: AbstractChannel, rcm_topology: Topology, headers: Any
) -> None:
    session_id, _ = await scheduled_session(api, channel, rcm_topology, headers())
    cancel = event(
        GROUP_SESSION_CANCELLED_V1,
        {"session_id": session_id, "cancelled_at": "2031-05-04T12:00:00Z", "note": "storm"},
    )
    await publish(channel, rcm_topology, cancel)
    await detail_when(api, headers(READ), session_id, lambda b: b["status"] == "CANCELLED")
    late_update = event(GROUP_SESSION_UPDATED_V1, session_data(session_id, members=("m1",)))
    await publish(channel, rcm_topology, late_update)
    message = await dead_letter(channel, rcm_topology, late_update.id)
    assert message.headers[HEADER_ERROR_CODE] == "SESSION_CANCELLED"
    marked = await api.put(
        f"/v1/group-sessions/{session_id}/participants/m1/status",
        json={"status": "ATTENDED"},
        headers=headers(WRITE),
    )
    assert (marked.status_code, marked.json()["code"]) == (409, "SESSION_CANCELLED")


async def test_an_illegal_feed_mark_is_answered_with_a_rejection_event(
    api: httpx.AsyncClient, channel: AbstractChannel, rcm_topology: Topology, headers: Any
) -> None:
    session_id, _ = await scheduled_session(api, channel, rcm_topology, headers())
    answers = await channel.declare_queue(exclusive=True, auto_delete=True)
    exchange = await channel.get_exchange(rcm_topology.events_exchange, ensure=False)
    await answers.bind(exchange, routing_key=ATTENDANCE_MARK_REJECTED_V1)

    def mark(status: str) -> CloudEvent:
        return event(
            GROUP_SESSION_ATTENDANCE_MARKED_V1,
            {
                "session_id": session_id,
                "member_id": "m2",
                "status": status,
                "marked_by": "kiosk-3",
                "marked_at": "2031-05-05T09:01:00Z",
            },
        )

    await publish(channel, rcm_topology, mark("ABSENT"))
    await detail_when(api, headers(READ), session_id, lambda b: statuses(b)["m2"] == "ABSENT")
    refused = mark("LEFT_EARLY")
    await publish(channel, rcm_topology, refused)

    async def rejection() -> dict[str, Any] | None:
        message = await answers.get(no_ack=True, fail=False)
        return None if message is None else dict(json.loads(message.body))

    answer = await eventually(rejection)
    assert answer["causationid"] == refused.id
    assert answer["data"]["rejected_event_id"] == refused.id
    assert answer["data"]["code"] == "ILLEGAL_TRANSITION"
    assert answer["data"]["current_status"] == "ABSENT"
    assert answer["data"]["legal_next_statuses"] == ["ATTENDED", "LATE"]
    history = (
        await api.get(f"/v1/group-sessions/{session_id}/history", headers=headers(READ))
    ).json()
    assert [(h["from_status"], h["to_status"], h["actor"]) for h in history["items"]] == [
        ("SCHEDULED", "ABSENT", "kiosk-3")
    ]


# -- attendance through the API ---------------------------------------------------------


async def test_an_illegal_move_answers_409_with_the_legal_next_states(
    api: httpx.AsyncClient, channel: AbstractChannel, rcm_topology: Topology, headers: Any
) -> None:
    session_id, _ = await scheduled_session(api, channel, rcm_topology, headers())
    url = f"/v1/group-sessions/{session_id}/participants/m1/status"
    assert (
        await api.put(url, json={"status": "ABSENT"}, headers=headers(WRITE))
    ).status_code == 200
    refused = await api.put(url, json={"status": "LEFT_EARLY"}, headers=headers(WRITE))
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["code"] == "ILLEGAL_TRANSITION"
    assert problem["legal_next_states"] == ["ATTENDED", "LATE"]
    assert (problem["from_status"], problem["to_status"]) == ("ABSENT", "LEFT_EARLY")


async def test_each_change_is_kept_as_history_with_who_and_when(
    api: httpx.AsyncClient, channel: AbstractChannel, rcm_topology: Topology, headers: Any
) -> None:
    session_id, _ = await scheduled_session(api, channel, rcm_topology, headers())
    base = f"/v1/group-sessions/{session_id}"
    for url, status in (
        (f"{base}/supervisors/p1/status", "ATTENDED"),
        (f"{base}/participants/m1/status", "ATTENDED"),
        (f"{base}/participants/m1/status", "LEFT_EARLY"),
        (f"{base}/participants/m1/status", "LEFT_EARLY"),  # a retry: no second entry
    ):
        response = await api.put(
            url, json={"status": status}, headers=headers(WRITE, subject="sup-9")
        )
        assert response.status_code == 200, response.text
    body = (await api.get(f"{base}/history", headers=headers(READ))).json()
    assert [
        (h["role"], h["subject_id"], h["from_status"], h["to_status"], h["actor"])
        for h in body["items"]
    ] == [
        ("SUPERVISOR", "p1", "SCHEDULED", "ATTENDED", "sup-9"),
        ("PARTICIPANT", "m1", "SCHEDULED", "ATTENDED", "sup-9"),
        ("PARTICIPANT", "m1", "ATTENDED", "LEFT_EARLY", "sup-9"),
    ]
    assert all(h["at"] for h in body["items"])


async def test_an_edit_against_an_old_version_is_refused(
    api: httpx.AsyncClient, channel: AbstractChannel, rcm_topology: Topology, headers: Any
) -> None:
    session_id, body = await scheduled_session(api, channel, rcm_topology, headers())
    url = f"/v1/group-sessions/{session_id}/participants/m1/status"
    seen = body["version"]
    ok = await api.put(
        url, json={"status": "ATTENDED", "expected_version": seen}, headers=headers(WRITE)
    )
    assert ok.status_code == 200
    assert ok.json()["version"] == seen + 1
    stale = await api.put(
        url, json={"status": "LATE", "expected_version": seen}, headers=headers(WRITE)
    )
    assert (stale.status_code, stale.json()["code"]) == (409, "VERSION_CONFLICT")


async def test_marking_someone_not_on_the_roster_is_404(
    api: httpx.AsyncClient, channel: AbstractChannel, rcm_topology: Topology, headers: Any
) -> None:
    session_id, _ = await scheduled_session(api, channel, rcm_topology, headers())
    response = await api.put(
        f"/v1/group-sessions/{session_id}/participants/m99/status",
        json={"status": "ATTENDED"},
        headers=headers(WRITE),
    )
    assert (response.status_code, response.json()["code"]) == (404, "PARTICIPANT_UNKNOWN")


async def test_an_ad_hoc_session_is_created_once_and_not_overwritten(
    api: httpx.AsyncClient, headers: Any
) -> None:
    request = {
        "session_id": new_id("adhoc"),
        "facility_id": "fac-1",
        "facility_state": "OR",
        "program_id": "iop",
        "session_date": "2031-08-01",
        "start_time": "15:00",
        "end_time": "16:00",
        "group_type": "SKILLS_GROUP",
        "service_code": "90853",
        "participants": ["m1", "m2"],
        "supervisors": ["p1"],
    }
    created = await api.post("/v1/group-sessions", json=request, headers=headers(WRITE))
    assert created.status_code == 201, created.text
    assert (created.json()["origin"], created.json()["facility_state"]) == ("AD_HOC", "OR")
    again = await api.post("/v1/group-sessions", json=request, headers=headers(WRITE))
    assert (again.status_code, again.json()["version"]) == (201, 1)
    other = await api.post(
        "/v1/group-sessions", json={**request, "participants": ["m3"]}, headers=headers(WRITE)
    )
    assert (other.status_code, other.json()["code"]) == (409, "SESSION_ALREADY_EXISTS")
    backwards = await api.post(
        "/v1/group-sessions",
        json={**request, "session_id": new_id("adhoc"), "end_time": "14:00"},
        headers=headers(WRITE),
    )
    assert (backwards.status_code, backwards.json()["code"]) == (422, "INVALID_TIME_WINDOW")


# -- security ---------------------------------------------------------------------------


async def test_reading_without_a_token_is_401(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/group-sessions")
    assert (response.status_code, response.json()["code"]) == (401, "UNAUTHENTICATED")


async def test_reading_without_the_read_scope_is_403(api: httpx.AsyncClient, headers: Any) -> None:
    response = await api.get("/v1/group-sessions", headers=headers(WRITE))
    assert (response.status_code, response.json()["code"]) == (403, "INSUFFICIENT_SCOPE")


async def test_marking_and_creating_without_the_write_scope_is_403(
    api: httpx.AsyncClient, headers: Any
) -> None:
    put = await api.put(
        "/v1/group-sessions/any/participants/m1/status",
        json={"status": "ATTENDED"},
        headers=headers(READ),
    )
    post = await api.post("/v1/group-sessions", json={}, headers=headers(READ))
    assert (put.status_code, post.status_code) == (403, 403)


async def test_another_tenants_session_is_not_found(
    api: httpx.AsyncClient, channel: AbstractChannel, rcm_topology: Topology, headers: Any
) -> None:
    session_id, _ = await scheduled_session(api, channel, rcm_topology, headers())
    intruder = headers(READ, WRITE, tenant=OTHER_TENANT)
    detail = await api.get(f"/v1/group-sessions/{session_id}", headers=intruder)
    history = await api.get(f"/v1/group-sessions/{session_id}/history", headers=intruder)
    mark = await api.put(
        f"/v1/group-sessions/{session_id}/participants/m1/status",
        json={"status": "ATTENDED"},
        headers=intruder,
    )
    listing = await api.get(
        "/v1/group-sessions",
        params={"from": DAY.isoformat(), "to": DAY.isoformat()},
        headers=intruder,
    )
    assert (detail.status_code, history.status_code) == (404, 404)
    assert (mark.status_code, mark.json()["code"]) == (404, "SESSION_UNKNOWN")
    assert listing.json()["items"] == []
    untouched = await detail_when(api, headers(READ), session_id)
    assert statuses(untouched)["m1"] == "SCHEDULED"


async def test_an_event_of_another_tenant_does_not_touch_this_tenants_session(
    api: httpx.AsyncClient, channel: AbstractChannel, rcm_topology: Topology, headers: Any
) -> None:
    session_id, _ = await scheduled_session(api, channel, rcm_topology, headers())
    foreign = event(
        GROUP_SESSION_UPDATED_V1, session_data(session_id, members=("m7",)), tenant=OTHER_TENANT
    )
    await publish(channel, rcm_topology, foreign)
    message = await dead_letter(channel, rcm_topology, foreign.id)
    assert message.headers[HEADER_ERROR_CODE] == "SESSION_UNKNOWN"
    body = await detail_when(api, headers(READ), session_id)
    assert statuses(body) == {"m1": "SCHEDULED", "m2": "SCHEDULED", "m3": "SCHEDULED"}
