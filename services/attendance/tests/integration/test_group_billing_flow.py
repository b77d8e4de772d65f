"""Group billing, attendance's part (issue #3), against the real database and broker with
the demo tenant (contracts/samples/tenants/demo-bh.yaml: SPEC 12 vector 1's bands on the
group-therapy program from 2026-01-01; billable ATTENDED and LATE; supervision ratio 12
per supervisor in IL, 10 for il-medicaid in IL; time zone America/Chicago).

Billing preview, finalize, auto-close, LOCKED after charges, forced reopen with its
audit, CLAIM_SUBMITTED, tenant isolation, duplicate deliveries."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import aio_pika
import httpx
import pytest
import pytest_asyncio
from aio_pika.abc import AbstractChannel, AbstractQueue
from prometheus_client import REGISTRY
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError

from attendance.adapters.db.tables import ATTENDANCE_OVERRIDE
from attendance.bootstrap import MIGRATIONS, build_runtime
from attendance.settings import AttendanceSettings
from common.runtime import ServiceRuntime
from common.testing.messages import bearer, eventually, publish_event, running_service
from contracts.envelope import CloudEvent
from contracts.events import (
    ATTENDANCE_MARK_REJECTED_V1,
    CLAIM_STATUS_CHANGED_V1,
    FACILITY_UPSERTED_V1,
    GROUP_SESSION_ATTENDANCE_MARKED_V1,
    GROUP_SESSION_CHARGED_V1,
    GROUP_SESSION_CLOSED_V1,
    GROUP_SESSION_REOPENED_V1,
    GROUP_SESSION_SCHEDULED_V1,
    MEMBER_UPSERTED_V1,
)
from contracts.topology import Topology

SCHEMA = f"attendance_gb_{uuid.uuid4().hex[:8]}"
TENANT = "demo-bh"
OTHER_TENANT = "tenant-b"
READ = "clinical.group-session.read"
WRITE = "clinical.attendance.write"
FORCE = "clinical.attendance.write.force"
FACILITY = "fac-springfield-op"  # IL, America/Chicago (published by the facility fixture)
FUTURE = date(2031, 3, 10)  # never past its end during the run
PAST = date(2026, 3, 9)  # a replayed feed: long past its end

VECTOR_1 = {
    "m1": "ATTENDED",
    "m2": "ATTENDED",
    "m3": "ATTENDED",
    "m4": "ATTENDED",
    "m5": "LATE",
    "m6": "LEFT_EARLY",
    "m7": "ABSENT",
}


# -- fixtures ---------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def service(
    service_settings: Callable[..., AttendanceSettings],
) -> AsyncIterator[tuple[ServiceRuntime, httpx.AsyncClient]]:
    settings = service_settings(
        AttendanceSettings, db_schema=SCHEMA, auto_close_interval_seconds=0.2
    )
    async with running_service(build_runtime(settings), MIGRATIONS) as pair:
        yield pair


@pytest.fixture
def api(service: tuple[ServiceRuntime, httpx.AsyncClient]) -> httpx.AsyncClient:
    return service[1]


@pytest.fixture
def runtime(service: tuple[ServiceRuntime, httpx.AsyncClient]) -> ServiceRuntime:
    return service[0]


@dataclass
class Outbound:
    """What the service published (attendance.#), collected by session."""

    channel: AbstractChannel
    topology: Topology
    queue: AbstractQueue
    seen: list[dict[str, Any]] = field(default_factory=list)

    async def _drain(self) -> None:
        while (message := await self.queue.get(no_ack=True, fail=False)) is not None:
            self.seen.append(json.loads(message.body))

    async def events(self, type: str, session_id: str) -> list[dict[str, Any]]:
        await self._drain()
        return [e for e in self.seen if e["type"] == type and e["data"]["session_id"] == session_id]

    async def one(self, type: str, session_id: str, index: int = 0) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            found = await self.events(type, session_id)
            return found[index] if len(found) > index else None

        return await eventually(probe)

    async def publish(self, event: CloudEvent) -> None:
        await publish_event(self.channel, self.topology, event)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def outbound(
    rcm_amqp_url: str, rcm_topology: Topology, service: tuple[ServiceRuntime, httpx.AsyncClient]
) -> AsyncIterator[Outbound]:
    connection = await aio_pika.connect(rcm_amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        exchange = await channel.get_exchange(rcm_topology.events_exchange, ensure=False)
        await queue.bind(exchange, routing_key="attendance.#")
        out = Outbound(channel, rcm_topology, queue)
        await out.publish(
            event(
                FACILITY_UPSERTED_V1,
                {
                    "facility_id": FACILITY,
                    "name": "HARBOR OUTPATIENT",
                    "npi": "1333333338",
                    "tax_id": "371234568",
                    "address": {
                        "line1": "200 OAK AVE",
                        "city": "SPRINGFIELD",
                        "state": "IL",
                        "postal_code": "627020002",
                    },
                    "time_zone": "America/Chicago",
                    "taxonomy_code": "261QM0801X",
                },
            )
        )
        yield out


@pytest.fixture
def auth(token: Callable[..., str]) -> Callable[..., dict[str, str]]:
    def build(*scopes: str, tenant: str = TENANT, subject: str = "sup-ann") -> dict[str, str]:
        return bearer(token(tenant=tenant, scopes=scopes or (READ, WRITE), subject=subject))

    return build


# -- helpers ----------------------------------------------------------------------------


def new_id(prefix: str = "gs") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def event(
    type: str, data: dict[str, Any], *, tenant: str = TENANT, event_id: str | None = None
) -> CloudEvent:
    return CloudEvent.new(type=type, source="test/feed", tenantid=tenant, data=data, id=event_id)


def scheduled(
    session_id: str,
    members: Mapping[str, str | None],
    *,
    day: date = FUTURE,
    supervisors: tuple[str, ...] = ("p1",),
) -> CloudEvent:
    return event(
        GROUP_SESSION_SCHEDULED_V1,
        {
            "session_id": session_id,
            "facility_id": FACILITY,
            "program_id": "group-therapy",
            "session_date": day.isoformat(),
            "start_time": "09:00",
            "end_time": "10:45",
            "group_type": "PROCESS_GROUP",
            "service_code": "90853",
            "supervisors": [{"provider_id": p} for p in supervisors],
            "roster": [
                {"member_id": m, **({"initial_status": s} if s else {})} for m, s in members.items()
            ],
        },
    )


def supervisor_marked(session_id: str, provider_id: str, status: str) -> CloudEvent:
    return event(
        GROUP_SESSION_ATTENDANCE_MARKED_V1,
        {
            "session_id": session_id,
            "provider_id": provider_id,
            "status": status,
            "marked_by": "kiosk-1",
            "marked_at": "2026-03-09T14:01:00Z",
        },
    )


def charged(session_id: str, close_sequence: int = 1, **extra: Any) -> CloudEvent:
    return event(
        GROUP_SESSION_CHARGED_V1,
        {
            "session_id": session_id,
            "close_sequence": close_sequence,
            "charge_ids": [f"ch-{session_id}-{close_sequence}-m1"],
            "ready_count": 1,
            "needs_fix_count": 0,
        },
        **extra,
    )


def claim_status(
    claim_id: str, status: str, *, session_ids: list[str], charge_ids: list[str] | None = None
) -> CloudEvent:
    return event(
        CLAIM_STATUS_CHANGED_V1,
        {
            "claim_id": claim_id,
            "claim_version": 1,
            "status": status,
            "patient_control_number": "P0001",
            "member_id": "m1",
            "charge_ids": charge_ids or [],
            "source": {"session_ids": session_ids},
        },
    )


def member_with_medicaid(member_id: str) -> CloudEvent:
    return event(
        MEMBER_UPSERTED_V1,
        {
            "member_id": member_id,
            "first_name": "JANE",
            "last_name": "DOE",
            "birth_date": "1970-03-15",
            "sex": "F",
            "coverages": [
                {
                    "coverage_id": f"cov-{member_id}",
                    "payer_id": "il-medicaid",
                    "subscriber_id": "MCD000123456",
                    "relationship_to_subscriber": "18",
                    "is_primary": True,
                    "effective_from": "2025-01-01",
                }
            ],
        },
    )


def consumed(event_type: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "rcm_messages_consumed_total",
        {"service": "attendance", "event_type": event_type, "outcome": outcome},
    )
    return value or 0.0


async def detail(
    api: httpx.AsyncClient,
    headers: dict[str, str],
    session_id: str,
    condition: Callable[[dict[str, Any]], bool] = lambda _: True,
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        response = await api.get(f"/v1/group-sessions/{session_id}", headers=headers)
        body: dict[str, Any] = response.json()
        return body if response.status_code == 200 and condition(body) else None

    return await eventually(probe)


async def mark_supervisor(
    api: httpx.AsyncClient, headers: dict[str, str], session_id: str, status: str = "ATTENDED"
) -> None:
    response = await api.put(
        f"/v1/group-sessions/{session_id}/supervisors/p1/status",
        json={"status": status},
        headers=headers,
    )
    assert response.status_code == 200, response.text


async def session_ready_to_finalize(
    api: httpx.AsyncClient,
    outbound: Outbound,
    headers: dict[str, str],
    members: Mapping[str, str | None] = VECTOR_1,
) -> str:
    session_id = new_id()
    await outbound.publish(scheduled(session_id, members))
    await detail(api, headers, session_id)
    await mark_supervisor(api, headers, session_id)
    return session_id


async def locked_session(
    api: httpx.AsyncClient, outbound: Outbound, headers: dict[str, str]
) -> str:
    session_id = await session_ready_to_finalize(api, outbound, headers)
    finalized = await api.post(f"/v1/group-sessions/{session_id}/finalize", headers=headers)
    assert finalized.status_code == 200, finalized.text
    await outbound.publish(charged(session_id))
    await detail(api, headers, session_id, lambda b: b["locked"])
    return session_id


def force(
    status: str, reason: str | None = "sign-in sheet shows the full session"
) -> dict[str, Any]:
    return {"status": status, "force": True, **({"reason": reason} if reason else {})}


# -- billing preview and finalize -------------------------------------------------------------


async def test_vector_1_previews_five_billable_in_the_small_band_at_50(
    api: httpx.AsyncClient, outbound: Outbound, auth: Any
) -> None:
    session_id = await session_ready_to_finalize(api, outbound, auth())
    body = await detail(
        api, auth(READ), session_id, lambda b: b["billing_preview"]["facility_state"] == "IL"
    )
    preview = body["billing_preview"]
    assert body["roster_size"] == 7
    assert preview["billable_count"] == 5
    assert preview["band"] == {"name": "Small", "rate": "50.00"}
    assert preview["billable_statuses"] == ["ATTENDED", "LATE"]
    assert preview["issues"] == []
    assert preview["blocks_billing"] is False
    assert preview["payer_checks_skipped"] is True
    assert "no primary coverage" in preview["payer_checks_skipped_reason"]


async def test_finalizing_vector_1_closes_it_and_emits_the_billable_participants(
    api: httpx.AsyncClient, outbound: Outbound, auth: Any
) -> None:
    session_id = await session_ready_to_finalize(api, outbound, auth())
    response = await api.post(
        f"/v1/group-sessions/{session_id}/finalize", headers=auth(WRITE, READ)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["locked"], body["close_sequence"]) == ("CLOSED", False, 1)
    assert body["closing"]["closure"] == "FINALIZED"
    assert body["closing"]["band"] == {"name": "Small", "rate": "50.00"}
    assert body["closing"]["billable_count"] == 5

    closed = (await outbound.one(GROUP_SESSION_CLOSED_V1, session_id))["data"]
    assert closed["close_sequence"] == 1
    assert (closed["closure"], closed["closed_by"]) == ("FINALIZED", "sup-ann")
    assert closed["billable_statuses"] == ["ATTENDED", "LATE"]
    assert [(r["member_id"], r["status"]) for r in closed["billable_participants"]] == [
        ("m1", "ATTENDED"),
        ("m2", "ATTENDED"),
        ("m3", "ATTENDED"),
        ("m4", "ATTENDED"),
        ("m5", "LATE"),
    ]
    assert len(closed["roster"]) == 7
    assert closed["supervisors_present"] == ["p1"]
    assert (closed["facility_state"], closed["program_id"], closed["service_code"]) == (
        "IL",
        "group-therapy",
        "90853",
    )

    again = await api.post(f"/v1/group-sessions/{session_id}/finalize", headers=auth())
    assert (again.status_code, again.json()["close_sequence"]) == (200, 1)
    listing = await api.get(
        "/v1/group-sessions",
        params={"from": FUTURE.isoformat(), "status": "CLOSED"},
        headers=auth(READ),
    )
    [row] = [r for r in listing.json()["items"] if r["session_id"] == session_id]
    assert (row["status"], row["locked"], row["roster_size"]) == ("CLOSED", False, 7)
    assert row["attendance"]["ATTENDED"] == 4


async def test_finalizing_with_scheduled_participants_is_409_listing_them(
    api: httpx.AsyncClient, outbound: Outbound, auth: Any
) -> None:
    members: dict[str, str | None] = {**VECTOR_1, "m6": None, "m7": None}
    session_id = await session_ready_to_finalize(api, outbound, auth(), members)
    response = await api.post(f"/v1/group-sessions/{session_id}/finalize", headers=auth())
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "UNMARKED_PARTICIPANTS"
    assert problem["scheduled_participants"] == ["m6", "m7"]
    body = await detail(api, auth(READ), session_id)
    assert body["status"] == "OPEN"
    assert [i["code"] for i in body["billing_preview"]["issues"]] == ["GROUP_UNATTENDED_BILLED"]


async def test_finalizing_without_a_supervisor_present_is_409_and_errors_cannot_be_acknowledged(
    api: httpx.AsyncClient, outbound: Outbound, auth: Any
) -> None:
    session_id = new_id()
    await outbound.publish(scheduled(session_id, VECTOR_1))
    await detail(api, auth(), session_id)
    url = f"/v1/group-sessions/{session_id}/finalize"
    blocked = await api.post(url, headers=auth())
    assert (blocked.status_code, blocked.json()["code"]) == (409, "BLOCKING_ISSUES")
    assert blocked.json()["issues"] == [
        {
            "code": "NO_SUPERVISOR_PRESENT",
            "severity": "error",
            "blocks_billing": True,
            "message": "no supervisor is marked present",
        }
    ]
    acknowledged = await api.post(
        url, json={"acknowledged_warnings": ["NO_SUPERVISOR_PRESENT"]}, headers=auth()
    )
    assert (acknowledged.status_code, acknowledged.json()["code"]) == (422, "NOT_ACKNOWLEDGEABLE")


async def test_a_ratio_breach_is_finalized_only_when_knowingly_accepted(
    api: httpx.AsyncClient, outbound: Outbound, auth: Any
) -> None:
    members: dict[str, str | None] = {new_id("m"): "ATTENDED" for _ in range(11)}
    for member_id in members:
        await outbound.publish(member_with_medicaid(member_id))
    session_id = await session_ready_to_finalize(api, outbound, auth(), members)
    body = await detail(
        api, auth(READ), session_id, lambda b: b["billing_preview"]["payers"] == ["il-medicaid"]
    )
    preview = body["billing_preview"]
    assert preview["supervision_ratio"] == {
        "max_participants_per_supervisor": 10,
        "payer_id": "il-medicaid",
        "state": "IL",
    }
    assert preview["band"] == {"name": "Large", "rate": "30.00"}
    assert [(i["code"], i["severity"]) for i in preview["issues"]] == [
        ("SUPERVISION_RATIO_BREACH", "warning")
    ]
    url = f"/v1/group-sessions/{session_id}/finalize"
    refused = await api.post(url, headers=auth())
    assert (refused.status_code, refused.json()["code"]) == (409, "WARNINGS_NOT_ACKNOWLEDGED")
    accepted = await api.post(
        url, json={"acknowledged_warnings": ["SUPERVISION_RATIO_BREACH"]}, headers=auth()
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["closing"]["acknowledged_warnings"] == ["SUPERVISION_RATIO_BREACH"]
    closed = (await outbound.one(GROUP_SESSION_CLOSED_V1, session_id))["data"]
    assert closed["acknowledged_warnings"] == ["SUPERVISION_RATIO_BREACH"]
    assert len(closed["billable_participants"]) == 11


# -- auto-close -------------------------------------------------------------------------------


async def test_a_replayed_past_session_with_every_row_terminal_closes_by_itself_once(
    api: httpx.AsyncClient, outbound: Outbound, auth: Any
) -> None:
    session_id = new_id()
    await outbound.publish(scheduled(session_id, VECTOR_1, day=PAST))
    await outbound.publish(supervisor_marked(session_id, "p1", "ATTENDED"))
    closed = (await outbound.one(GROUP_SESSION_CLOSED_V1, session_id))["data"]
    assert (closed["closure"], closed["closed_by"], closed["close_sequence"]) == (
        "AUTO_CLOSED",
        None,
        1,
    )
    assert len(closed["billable_participants"]) == 5
    body = await detail(api, auth(READ), session_id)
    assert body["status"] == "CLOSED"
    assert body["closing"]["band"] == {"name": "Small", "rate": "50.00"}

    # The same schedule replayed (a new event id, and the same id again) changes nothing.
    replay = scheduled(session_id, VECTOR_1, day=PAST)
    applied = consumed(GROUP_SESSION_SCHEDULED_V1, "applied")
    duplicates = consumed(GROUP_SESSION_SCHEDULED_V1, "duplicate")
    await outbound.publish(replay)
    await outbound.publish(replay)

    async def both_seen() -> bool | None:
        return (
            consumed(GROUP_SESSION_SCHEDULED_V1, "applied") > applied
            and consumed(GROUP_SESSION_SCHEDULED_V1, "duplicate") > duplicates
        ) or None

    await eventually(both_seen)
    after = await detail(api, auth(READ), session_id)
    assert (after["status"], after["version"], after["close_sequence"]) == (
        "CLOSED",
        body["version"],
        1,
    )
    assert len(await outbound.events(GROUP_SESSION_CLOSED_V1, session_id)) == 1


async def test_a_past_session_with_a_scheduled_row_stays_open_until_it_is_marked(
    api: httpx.AsyncClient, outbound: Outbound, auth: Any
) -> None:
    session_id = new_id()
    await outbound.publish(scheduled(session_id, {**VECTOR_1, "m7": None}, day=PAST))
    await outbound.publish(supervisor_marked(session_id, "p1", "ATTENDED"))
    await detail(api, auth(READ), session_id, lambda b: b["supervisors"][0]["status"] == "ATTENDED")
    await asyncio.sleep(0.6)  # three sweeps
    body = await detail(api, auth(READ), session_id)
    assert body["status"] == "OPEN"
    assert [(i["code"], i["blocks_billing"]) for i in body["billing_preview"]["issues"]] == [
        ("GROUP_UNATTENDED_BILLED", True)
    ]
    marked = await api.put(
        f"/v1/group-sessions/{session_id}/participants/m7/status",
        json={"status": "ABSENT"},
        headers=auth(),
    )
    assert marked.status_code == 200
    closed = (await outbound.one(GROUP_SESSION_CLOSED_V1, session_id))["data"]
    assert closed["closure"] == "AUTO_CLOSED"


# -- locking ----------------------------------------------------------------------------------


async def test_charges_lock_the_session_and_edits_answer_409_locked(
    api: httpx.AsyncClient, outbound: Outbound, auth: Any
) -> None:
    session_id = await locked_session(api, outbound, auth())
    body = await detail(api, auth(READ), session_id)
    assert (body["status"], body["locked"]) == ("CLOSED", True)
    edit = await api.put(
        f"/v1/group-sessions/{session_id}/participants/m7/status",
        json={"status": "ATTENDED"},
        headers=auth(),
    )
    assert (edit.status_code, edit.json()["code"]) == (409, "LOCKED")

    kiosk = event(
        GROUP_SESSION_ATTENDANCE_MARKED_V1,
        {
            "session_id": session_id,
            "member_id": "m7",
            "status": "ATTENDED",
            "marked_by": "kiosk-2",
            "marked_at": "2031-03-10T15:00:00Z",
        },
    )
    await outbound.publish(kiosk)
    rejection = (await outbound.one(ATTENDANCE_MARK_REJECTED_V1, session_id))["data"]
    assert (rejection["code"], rejection["rejected_event_id"]) == ("LOCKED", kiosk.id)

    listing = await api.get(
        "/v1/group-sessions",
        params={"from": FUTURE.isoformat(), "locked": "true"},
        headers=auth(READ),
    )
    assert session_id in [r["session_id"] for r in listing.json()["items"]]


async def test_a_charged_event_delivered_twice_changes_nothing(
    api: httpx.AsyncClient, outbound: Outbound, auth: Any
) -> None:
    session_id = await session_ready_to_finalize(api, outbound, auth())
    await api.post(f"/v1/group-sessions/{session_id}/finalize", headers=auth())
    first = charged(session_id)
    await outbound.publish(first)
    locked = await detail(api, auth(READ), session_id, lambda b: b["locked"])
    applied = consumed(GROUP_SESSION_CHARGED_V1, "applied")
    duplicates = consumed(GROUP_SESSION_CHARGED_V1, "duplicate")
    await outbound.publish(first)  # the same delivery again
    await outbound.publish(charged(session_id))  # the same news under a new id

    async def both_seen() -> bool | None:
        return (
            consumed(GROUP_SESSION_CHARGED_V1, "duplicate") > duplicates
            and consumed(GROUP_SESSION_CHARGED_V1, "applied") > applied
        ) or None

    await eventually(both_seen)
    after = await detail(api, auth(READ), session_id)
    assert (after["locked"], after["version"]) == (True, locked["version"])


# -- force --------------------------------------------------------------------------------------


async def test_force_without_the_force_scope_is_403_and_without_a_reason_422(
    api: httpx.AsyncClient, outbound: Outbound, auth: Any
) -> None:
    session_id = await locked_session(api, outbound, auth())
    url = f"/v1/group-sessions/{session_id}/participants/m6/status"
    no_scope = await api.put(url, json=force("ATTENDED"), headers=auth(READ, WRITE))
    assert (no_scope.status_code, no_scope.json()["code"]) == (403, "INSUFFICIENT_SCOPE")
    no_reason = await api.put(url, json=force("ATTENDED", None), headers=auth(WRITE, FORCE))
    assert (no_reason.status_code, no_reason.json()["code"]) == (422, "FORCE_REASON_REQUIRED")
    body = await detail(api, auth(READ), session_id)
    assert (body["status"], body["locked"]) == ("CLOSED", True)


async def test_a_forced_change_reopens_emits_reopened_and_is_audited_append_only(
    api: httpx.AsyncClient, runtime: ServiceRuntime, outbound: Outbound, auth: Any
) -> None:
    session_id = await locked_session(api, outbound, auth())
    admin = auth(READ, WRITE, FORCE, subject="admin-mg")
    response = await api.put(
        f"/v1/group-sessions/{session_id}/participants/m6/status",
        json=force("ATTENDED"),
        headers=admin,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["locked"], body["closing"]) == ("OPEN", False, None)
    assert {p["member_id"]: p["status"] for p in body["participants"]}["m6"] == "ATTENDED"
    assert body["billing_preview"]["band"] == {"name": "Medium", "rate": "40.00"}

    reopened = (await outbound.one(GROUP_SESSION_REOPENED_V1, session_id))["data"]
    assert (reopened["forced"], reopened["close_sequence"], reopened["reopened_by"]) == (
        True,
        1,
        "admin-mg",
    )
    assert reopened["override_reason"] == "sign-in sheet shows the full session"

    audit = (
        await api.get(f"/v1/group-sessions/{session_id}/overrides", headers=auth(READ))
    ).json()["items"]
    assert [
        (a["subject_id"], a["from_status"], a["to_status"], a["actor"], a["reason"], a["reopened"])
        for a in audit
    ] == [
        ("m6", "LEFT_EARLY", "ATTENDED", "admin-mg", "sign-in sheet shows the full session", True)
    ]
    async with runtime.engine.begin() as connection:
        with pytest.raises(DBAPIError, match="append-only"):
            await connection.execute(update(ATTENDANCE_OVERRIDE).values(reason="tampered"))
    async with runtime.engine.begin() as connection:
        with pytest.raises(DBAPIError, match="append-only"):
            await connection.execute(delete(ATTENDANCE_OVERRIDE))

    refinalized = await api.post(f"/v1/group-sessions/{session_id}/finalize", headers=auth())
    assert refinalized.status_code == 200
    second = (await outbound.one(GROUP_SESSION_CLOSED_V1, session_id, index=1))["data"]
    assert second["close_sequence"] == 2
    assert len(second["billable_participants"]) == 6


async def test_a_claim_at_the_payer_refuses_the_force_with_claim_submitted_until_reversed(
    api: httpx.AsyncClient, outbound: Outbound, auth: Any
) -> None:
    session_id = await locked_session(api, outbound, auth())
    by_session, by_charge = new_id("clm"), new_id("clm")
    await outbound.publish(claim_status(by_session, "SUBMITTED", session_ids=[session_id]))
    await outbound.publish(
        claim_status(by_charge, "ACCEPTED", session_ids=[], charge_ids=[f"ch-{session_id}-1-m1"])
    )
    await detail(api, auth(READ), session_id, lambda b: len(b["claims"]) == 2)
    url = f"/v1/group-sessions/{session_id}/participants/m6/status"
    admin = auth(READ, WRITE, FORCE)
    refused = await api.put(url, json=force("ATTENDED"), headers=admin)
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "CLAIM_SUBMITTED"
    assert sorted(problem["claim_ids"]) == sorted([by_session, by_charge])

    await outbound.publish(claim_status(by_session, "REVERSED", session_ids=[session_id]))
    await outbound.publish(claim_status(by_charge, "REPLACED", session_ids=[session_id]))
    await detail(
        api,
        auth(READ),
        session_id,
        lambda b: {c["status"] for c in b["claims"]} == {"REVERSED", "REPLACED"},
    )
    allowed = await api.put(url, json=force("ATTENDED"), headers=admin)
    assert (allowed.status_code, allowed.json()["status"]) == (200, "OPEN")


# -- tenants ------------------------------------------------------------------------------------


async def test_another_tenant_finds_nothing(
    api: httpx.AsyncClient, outbound: Outbound, auth: Any
) -> None:
    session_id = await session_ready_to_finalize(api, outbound, auth())
    intruder = auth(READ, WRITE, FORCE, tenant=OTHER_TENANT)
    base = f"/v1/group-sessions/{session_id}"
    responses = [
        await api.get(base, headers=intruder),
        await api.get(f"{base}/overrides", headers=intruder),
        await api.post(f"{base}/finalize", headers=intruder),
        await api.put(f"{base}/participants/m7/status", json=force("ATTENDED"), headers=intruder),
    ]
    assert [r.status_code for r in responses] == [404, 404, 404, 404]
    body = await detail(api, auth(READ), session_id)
    assert body["status"] == "OPEN"
