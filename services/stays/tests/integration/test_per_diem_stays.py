"""Per-diem stays end to end in the stays service (issue #4), real database and broker:
SPEC 12 vector 2's stay (admitted 2026-01-10 at 14h, leave 01-20 back 01-23, discharged
home, status 01, on 2026-02-03) told by the EHR feed and by the HTTP API, each change
announced as the whole stay with stay_version 1..4; every coded refusal; events out of
order; duplicates; late corrections; enrollment windows; tenants."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from aio_pika.abc import AbstractChannel

from common.metrics import MESSAGES_CONSUMED
from common.runtime import ServiceRuntime
from common.testing.messages import eventually, publish_event
from contracts.envelope import CloudEvent
from contracts.events import (
    MEMBER_UPSERTED_V1,
    STAY_ADMITTED_V1,
    STAY_CORRECTED_V1,
    STAY_DISCHARGED_V1,
    STAY_LEAVE_ENDED_V1,
    STAY_LEAVE_STARTED_V1,
    STAYS_STAY_ADMITTED_V1,
    STAYS_STAY_CORRECTED_V1,
    STAYS_STAY_DISCHARGED_V1,
    STAYS_STAY_LEAVE_ENDED_V1,
    STAYS_STAY_LEAVE_STARTED_V1,
)
from contracts.events.stays import StayState
from contracts.topology import HEADER_ERROR_CODE, Topology

from .conftest import DELIVERY_LIMIT
from .stay_feed import (
    OTHER_TENANT,
    READ,
    TENANT,
    WRITE,
    Announced,
    applied,
    dead_letter,
    ehr_event,
    headers,
    new_id,
    stay_at_version,
    stay_data,
)

VECTOR_2_EVENTS = [
    (STAYS_STAY_ADMITTED_V1, 1),
    (STAYS_STAY_LEAVE_STARTED_V1, 2),
    (STAYS_STAY_LEAVE_ENDED_V1, 3),
    (STAYS_STAY_DISCHARGED_V1, 4),
]


def leave_started(stay_id: str, leave_id: str = "loa-1", start: str = "2026-01-20") -> CloudEvent:
    return ehr_event(
        STAY_LEAVE_STARTED_V1,
        {
            "stay_id": stay_id,
            "leave_id": leave_id,
            "start_date": start,
            "reason": "THERAPEUTIC",
            # A plan only: the leave stays open until the member is back.
            "expected_return_date": "2026-01-23" if start == "2026-01-20" else None,
        },
    )


def leave_ended(stay_id: str, leave_id: str = "loa-1", back: str = "2026-01-23") -> CloudEvent:
    return ehr_event(
        STAY_LEAVE_ENDED_V1, {"stay_id": stay_id, "leave_id": leave_id, "return_date": back}
    )


def discharged(stay_id: str, on: str = "2026-02-03") -> CloudEvent:
    return ehr_event(
        STAY_DISCHARGED_V1,
        {"stay_id": stay_id, "discharge_date": on, "discharge_hour": 10, "patient_status": "01"},
    )


def corrected(stay_id: str, correction: dict[str, Any], note: str | None = None) -> CloudEvent:
    return ehr_event(
        STAY_CORRECTED_V1,
        {
            "stay_id": stay_id,
            "correction": correction,
            "corrected_at": "2026-02-05T15:20:00Z",
            "corrected_by": "user-hr-records",
            "note": note,
        },
    )


def leaves_of(body: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(lv["leave_id"], lv["start_date"], lv["return_date"]) for lv in body["leaves"]]


def assert_vector_2_stay(stay: dict[str, Any]) -> None:
    assert (stay["status"], stay["stay_version"]) == ("DISCHARGED", 4)
    assert leaves_of(stay) == [("loa-1", "2026-01-20", "2026-01-23")]
    assert stay["discharge"] == {
        "discharge_date": "2026-02-03",
        "discharge_hour": 10,
        "patient_status": "01",
    }
    # 01-10 .. 02-02: 24 days, 3 of them nights away (01-20, 21, 22), 21 covered.
    assert (stay["length_of_stay_days"], stay["loa_nights"], stay["covered_days"]) == (24, 3, 21)
    assert [(h["stay_version"], h["change"]) for h in stay["history"]] == [
        (1, "ADMITTED"),
        (2, "LEAVE_STARTED"),
        (3, "LEAVE_ENDED"),
        (4, "DISCHARGED"),
    ]


def assert_vector_2_events(events: list[dict[str, Any]]) -> None:
    assert [(e["type"], e["data"]["stay_version"]) for e in events] == VECTOR_2_EVENTS
    for event in events:
        StayState.model_validate(event["data"])  # the contract's invariants hold
    admitted, started, ended, closed = (e["data"] for e in events)
    assert admitted["admission"]["admit_hour"] == 14
    assert (started["leave_id"], leaves_of(started)) == ("loa-1", [("loa-1", "2026-01-20", None)])
    assert (ended["leave_id"], leaves_of(ended)) == (
        "loa-1",
        [("loa-1", "2026-01-20", "2026-01-23")],
    )
    assert (closed["status"], closed["discharge"]["discharge_date"]) == ("DISCHARGED", "2026-02-03")
    assert leaves_of(closed) == [("loa-1", "2026-01-20", "2026-01-23")]


async def feed_vector_2(
    api: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    auth: dict[str, str],
    stay_id: str,
) -> dict[str, Any]:
    """The EHR tells the stay one event at a time, as it happens."""
    steps = [
        ehr_event(STAY_ADMITTED_V1, stay_data(stay_id)),
        leave_started(stay_id),
        leave_ended(stay_id),
        discharged(stay_id),
    ]
    stay: dict[str, Any] = {}
    for version, event in enumerate(steps, start=1):
        await publish_event(channel, topology, event)
        stay = await stay_at_version(api, auth, stay_id, version)
    return stay


# -- vector 2 ------------------------------------------------------------------------------


async def test_vector_2_through_the_feed_announces_the_whole_stay_at_versions_1_to_4(
    api: httpx.AsyncClient,
    channel: AbstractChannel,
    rcm_topology: Topology,
    announced: Announced,
    token: Callable[..., str],
) -> None:
    stay_id = new_id()
    stay = await feed_vector_2(api, channel, rcm_topology, headers(token, READ), stay_id)
    assert_vector_2_stay(stay)
    assert all(h["via"] == "feed" and h["event_id"] for h in stay["history"])
    assert_vector_2_events(await announced.of(stay_id, 4))


async def test_vector_2_through_the_api_announces_the_same_events(
    api: httpx.AsyncClient, announced: Announced, token: Callable[..., str]
) -> None:
    stay_id = new_id()
    auth = headers(token)
    created = await api.post("/v1/stays", json=stay_data(stay_id), headers=auth)
    assert created.status_code == 201, created.text
    added = await api.post(
        f"/v1/stays/{stay_id}/leaves",
        json={"leave_id": "loa-1", "start_date": "2026-01-20", "reason": "THERAPEUTIC"},
        headers=auth,
    )
    assert added.status_code == 201, added.text
    assert added.headers["location"] == f"/v1/stays/{stay_id}/leaves/loa-1"
    back = await api.post(
        f"/v1/stays/{stay_id}/leaves/loa-1/return", json={"return_date": "2026-01-23"}, headers=auth
    )
    assert back.status_code == 200, back.text
    out = await api.post(
        f"/v1/stays/{stay_id}/discharge",
        json={"discharge_date": "2026-02-03", "discharge_hour": 10, "patient_status": "01"},
        headers=auth,
    )
    assert out.status_code == 200, out.text
    stay = out.json()
    assert_vector_2_stay(stay)
    assert all(h["via"] == "api" and h["event_id"] is None for h in stay["history"])
    assert_vector_2_events(await announced.of(stay_id, 4))


async def test_an_open_stay_counts_its_days_through_as_of(
    api: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    stay_id = new_id()
    auth = headers(token)
    await api.post("/v1/stays", json=stay_data(stay_id), headers=auth)
    await api.post(
        f"/v1/stays/{stay_id}/leaves",
        json={"leave_id": "loa-1", "start_date": "2026-01-20", "return_date": "2026-01-23"},
        headers=auth,
    )
    january = (await api.get(f"/v1/stays/{stay_id}?as_of=2026-01-31", headers=auth)).json()
    # Vector 2's January: 22 days, 19 covered, 3 LOA.
    assert (january["length_of_stay_days"], january["covered_days"], january["loa_nights"]) == (
        22,
        19,
        3,
    )
    assert january["leaves"][0]["loa_nights"] == 3


async def test_the_feed_told_all_at_once_in_reverse_order_ends_as_vector_2(
    api: httpx.AsyncClient,
    channel: AbstractChannel,
    rcm_topology: Topology,
    announced: Announced,
    token: Callable[..., str],
) -> None:
    """Discharge, return, leave, admission published together: what waits for an earlier
    event is retried, a leave told after the discharge is closed by it until its return
    arrives, and the stay ends as vector 2 with versions 1..4, each a valid whole stay."""
    stay_id = new_id()
    burst = [
        discharged(stay_id),
        leave_ended(stay_id),
        leave_started(stay_id),
        ehr_event(STAY_ADMITTED_V1, stay_data(stay_id)),
    ]
    for event in burst:
        await publish_event(channel, rcm_topology, event)
    stay = await stay_at_version(api, headers(token, READ), stay_id, 4)
    assert (stay["status"], stay["stay_version"]) == ("DISCHARGED", 4)
    assert leaves_of(stay) == [("loa-1", "2026-01-20", "2026-01-23")]
    assert (stay["length_of_stay_days"], stay["loa_nights"], stay["covered_days"]) == (24, 3, 21)
    events = await announced.of(stay_id, 4)
    assert [e["data"]["stay_version"] for e in events] == [1, 2, 3, 4]
    assert events[0]["type"] == STAYS_STAY_ADMITTED_V1
    for event in events:
        StayState.model_validate(event["data"])


# -- refusals through the feed -------------------------------------------------------------


async def test_feed_refusals_are_dead_lettered_with_their_code_and_change_nothing(
    api: httpx.AsyncClient,
    channel: AbstractChannel,
    rcm_topology: Topology,
    token: Callable[..., str],
) -> None:
    stay_id = new_id()
    auth = headers(token, READ)
    await publish_event(channel, rcm_topology, ehr_event(STAY_ADMITTED_V1, stay_data(stay_id)))
    await stay_at_version(api, auth, stay_id, 1)
    await publish_event(channel, rcm_topology, leave_started(stay_id, "loa-1", "2026-01-20"))
    await publish_event(channel, rcm_topology, leave_ended(stay_id, "loa-1", "2026-01-23"))
    await stay_at_version(api, auth, stay_id, 3)

    refusals = [
        (leave_started(stay_id, "loa-0", "2026-01-05"), "LEAVE_OUTSIDE_STAY"),
        (leave_started(stay_id, "loa-2", "2026-01-22"), "LEAVE_OVERLAPS"),
        (discharged(stay_id, "2026-01-09"), "DISCHARGE_BEFORE_ADMISSION"),
        (leave_ended(stay_id, "loa-1", "2026-01-25"), "LEAVE_NOT_OPEN"),
    ]
    for event, code in refusals:
        await publish_event(channel, rcm_topology, event)
        dead = await dead_letter(channel, rcm_topology, event.id)
        assert dead.headers[HEADER_ERROR_CODE] == code, code
    stay = await stay_at_version(api, auth, stay_id, 3)
    assert stay["stay_version"] == 3
    assert leaves_of(stay) == [("loa-1", "2026-01-20", "2026-01-23")]


async def test_an_event_for_an_unknown_stay_is_retried_then_dead_lettered_stay_unknown(
    channel: AbstractChannel, rcm_topology: Topology
) -> None:
    retried = MESSAGES_CONSUMED.labels("stays", STAY_LEAVE_STARTED_V1, "retried")
    retried_before = retried._value.get()
    orphan = leave_started(new_id("never-admitted"))
    await publish_event(channel, rcm_topology, orphan)
    dead = await dead_letter(channel, rcm_topology, orphan.id)
    assert dead.headers[HEADER_ERROR_CODE] == "STAY_UNKNOWN"
    # Tried DELIVERY_LIMIT times: the admission may only be late.
    assert retried._value.get() - retried_before == DELIVERY_LIMIT


async def test_a_stay_event_of_another_tenant_does_not_touch_this_tenants_stay(
    api: httpx.AsyncClient,
    channel: AbstractChannel,
    rcm_topology: Topology,
    token: Callable[..., str],
) -> None:
    stay_id = new_id()
    await publish_event(channel, rcm_topology, ehr_event(STAY_ADMITTED_V1, stay_data(stay_id)))
    await stay_at_version(api, headers(token, READ), stay_id)
    foreign = discharged(stay_id)
    foreign = foreign.model_copy(update={"tenantid": OTHER_TENANT})
    await publish_event(channel, rcm_topology, foreign)
    dead = await dead_letter(channel, rcm_topology, foreign.id)
    assert dead.headers[HEADER_ERROR_CODE] == "STAY_UNKNOWN"
    stay = await stay_at_version(api, headers(token, READ), stay_id)
    assert (stay["status"], stay["stay_version"]) == ("ADMITTED", 1)


async def test_a_return_before_its_leave_start_is_retried_and_applied_once_the_start_arrives(
    api: httpx.AsyncClient,
    channel: AbstractChannel,
    rcm_topology: Topology,
    announced: Announced,
    token: Callable[..., str],
) -> None:
    stay_id = new_id()
    auth = headers(token, READ)
    await publish_event(channel, rcm_topology, ehr_event(STAY_ADMITTED_V1, stay_data(stay_id)))
    await stay_at_version(api, auth, stay_id, 1)
    await publish_event(channel, rcm_topology, leave_ended(stay_id))
    await asyncio.sleep(0.3)  # refused as LEAVE_UNKNOWN at least once, waiting for its start
    await publish_event(channel, rcm_topology, leave_started(stay_id))
    stay = await stay_at_version(api, auth, stay_id, 3)
    assert leaves_of(stay) == [("loa-1", "2026-01-20", "2026-01-23")]
    events = await announced.of(stay_id, 3)
    assert [e["type"] for e in events] == [
        STAYS_STAY_ADMITTED_V1,
        STAYS_STAY_LEAVE_STARTED_V1,
        STAYS_STAY_LEAVE_ENDED_V1,
    ]


async def test_duplicates_change_nothing_and_announce_nothing(
    service: tuple[ServiceRuntime, httpx.AsyncClient],
    channel: AbstractChannel,
    rcm_topology: Topology,
    announced: Announced,
    token: Callable[..., str],
) -> None:
    runtime, api = service
    stay_id = new_id()
    auth = headers(token, READ)
    await feed_vector_2(api, channel, rcm_topology, auth, stay_id)
    # Told again under new ids (a replayed feed), and each redelivered under its own id.
    again = [leave_started(stay_id), leave_ended(stay_id), discharged(stay_id)]
    for event in [*again, *again]:
        await publish_event(channel, rcm_topology, event)
    await applied(runtime, *(event.id for event in again))
    stay = await stay_at_version(api, auth, stay_id, 4)
    assert_vector_2_stay(stay)
    events = await announced.all_of(stay_id)
    assert [e["data"]["stay_version"] for e in events] == [1, 2, 3, 4]


# -- corrections ---------------------------------------------------------------------------


async def test_a_leave_cancelled_late_and_a_discharge_undone_are_announced_corrections(
    api: httpx.AsyncClient,
    channel: AbstractChannel,
    rcm_topology: Topology,
    announced: Announced,
    token: Callable[..., str],
) -> None:
    stay_id = new_id()
    auth = headers(token, READ)
    await feed_vector_2(api, channel, rcm_topology, auth, stay_id)

    cancel = corrected(
        stay_id, {"kind": "LEAVE_CANCELLED", "leave_id": "loa-1"}, note="Leave entered in error"
    )
    await publish_event(channel, rcm_topology, cancel)
    stay = await stay_at_version(api, auth, stay_id, 5)
    assert (stay["leaves"], stay["loa_nights"], stay["covered_days"]) == ([], 0, 24)
    assert [lv["leave_id"] for lv in stay["cancelled_leaves"]] == ["loa-1"]
    line = stay["history"][-1]
    assert (line["correction_kind"], line["recorded_by"], line["note"], line["event_id"]) == (
        "LEAVE_CANCELLED",
        "user-hr-records",
        "Leave entered in error",
        cancel.id,
    )

    await publish_event(channel, rcm_topology, corrected(stay_id, {"kind": "DISCHARGE_UNDONE"}))
    stay = await stay_at_version(api, auth, stay_id, 6)
    assert (stay["status"], stay["discharge"]) == ("ADMITTED", None)

    events = await announced.of(stay_id, 6)
    cancelled, undone = events[4], events[5]
    assert cancelled["type"] == undone["type"] == STAYS_STAY_CORRECTED_V1
    assert cancelled["data"]["correction_kind"] == "LEAVE_CANCELLED"
    assert cancelled["data"]["leave_id"] == "loa-1" and cancelled["data"]["leaves"] == []
    assert (cancelled["data"]["affected_from"], cancelled["data"]["affected_through"]) == (
        "2026-01-20",
        "2026-01-22",
    )
    assert undone["data"]["correction_kind"] == "DISCHARGE_UNDONE"
    assert (undone["data"]["status"], undone["data"]["discharge"]) == ("ADMITTED", None)
    assert (undone["data"]["affected_from"], undone["data"]["affected_through"]) == (
        "2026-02-03",
        None,
    )


async def test_a_discharge_undone_before_it_was_told_waits_for_the_discharge(
    api: httpx.AsyncClient,
    channel: AbstractChannel,
    rcm_topology: Topology,
    token: Callable[..., str],
) -> None:
    stay_id = new_id()
    auth = headers(token, READ)
    await publish_event(channel, rcm_topology, ehr_event(STAY_ADMITTED_V1, stay_data(stay_id)))
    await stay_at_version(api, auth, stay_id, 1)
    await publish_event(channel, rcm_topology, corrected(stay_id, {"kind": "DISCHARGE_UNDONE"}))
    await asyncio.sleep(0.3)
    await publish_event(channel, rcm_topology, discharged(stay_id))
    stay = await stay_at_version(api, auth, stay_id, 3)
    assert [h["change"] for h in stay["history"]] == ["ADMITTED", "DISCHARGED", "CORRECTED"]
    assert stay["status"] == "ADMITTED"


async def test_a_leave_recorded_after_the_fact_by_the_feed_is_applied_and_announced(
    api: httpx.AsyncClient,
    channel: AbstractChannel,
    rcm_topology: Topology,
    announced: Announced,
    token: Callable[..., str],
) -> None:
    stay_id = new_id()
    auth = headers(token, READ)
    await feed_vector_2(api, channel, rcm_topology, auth, stay_id)
    late = corrected(
        stay_id,
        {
            "kind": "LEAVE_CHANGED",
            "leave": {
                "leave_id": "loa-2",
                "start_date": "2026-01-27",
                "return_date": "2026-01-29",
                "reason": "HOSPITALIZATION",
            },
        },
    )
    await publish_event(channel, rcm_topology, late)
    stay = await stay_at_version(api, auth, stay_id, 5)
    assert leaves_of(stay) == [
        ("loa-1", "2026-01-20", "2026-01-23"),
        ("loa-2", "2026-01-27", "2026-01-29"),
    ]
    assert (stay["loa_nights"], stay["covered_days"]) == (5, 19)
    event = (await announced.of(stay_id, 5))[4]
    assert (event["data"]["correction_kind"], event["data"]["leave_id"]) == (
        "LEAVE_CHANGED",
        "loa-2",
    )
    assert (event["data"]["affected_from"], event["data"]["affected_through"]) == (
        "2026-01-27",
        "2026-01-28",
    )


async def test_an_admission_entered_in_error_voids_the_stay(
    api: httpx.AsyncClient,
    channel: AbstractChannel,
    rcm_topology: Topology,
    announced: Announced,
    token: Callable[..., str],
) -> None:
    stay_id = new_id()
    auth = headers(token, READ)
    await feed_vector_2(api, channel, rcm_topology, auth, stay_id)
    await publish_event(
        channel, rcm_topology, corrected(stay_id, {"kind": "ADMISSION_ENTERED_IN_ERROR"})
    )
    stay = await stay_at_version(api, auth, stay_id, 5)
    assert (stay["status"], stay["length_of_stay_days"]) == ("ENTERED_IN_ERROR", 0)
    event = (await announced.of(stay_id, 5))[4]
    assert event["data"]["status"] == "ENTERED_IN_ERROR"
    later = leave_started(stay_id, "loa-9", "2026-01-25")
    await publish_event(channel, rcm_topology, later)
    dead = await dead_letter(channel, rcm_topology, later.id)
    assert dead.headers[HEADER_ERROR_CODE] == "STAY_ENTERED_IN_ERROR"


# -- the operator's API --------------------------------------------------------------------


async def test_operator_corrects_cancels_and_undoes_through_the_api(
    api: httpx.AsyncClient, announced: Announced, token: Callable[..., str]
) -> None:
    stay_id = new_id()
    auth = headers(token)
    await api.post("/v1/stays", json=stay_data(stay_id), headers=auth)
    base = f"/v1/stays/{stay_id}"
    added = await api.post(
        f"{base}/leaves",
        json={"start_date": "2026-01-20", "return_date": "2026-01-23", "reason": "THERAPEUTIC"},
        headers=auth,
    )
    assert added.status_code == 201
    leave_id = added.json()["leaves"][0]["leave_id"]
    told_again = await api.post(
        f"{base}/leaves",
        json={"leave_id": leave_id, "start_date": "2026-01-20", "reason": "THERAPEUTIC"},
        headers=auth,
    )
    assert (told_again.status_code, told_again.json()["stay_version"]) == (200, 2)

    moved = await api.put(
        f"{base}/leaves/{leave_id}",
        json={"start_date": "2026-01-21", "return_date": "2026-01-24", "reason": "THERAPEUTIC"},
        headers=auth,
    )
    assert moved.status_code == 200, moved.text
    assert leaves_of(moved.json()) == [(leave_id, "2026-01-21", "2026-01-24")]
    out = await api.post(
        f"{base}/discharge",
        json={"discharge_date": "2026-02-03", "discharge_hour": 10, "patient_status": "01"},
        headers=auth,
    )
    assert out.json()["status"] == "DISCHARGED"
    cancelled = await api.request(
        "DELETE", f"{base}/leaves/{leave_id}", json={"reason": "entered in error"}, headers=auth
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["leaves"] == []
    undone = await api.request(
        "DELETE", f"{base}/discharge", json={"reason": "discharge was premature"}, headers=auth
    )
    assert undone.status_code == 200, undone.text
    body = undone.json()
    assert (body["status"], body["stay_version"]) == ("ADMITTED", 6)
    assert [(h["change"], h["correction_kind"]) for h in body["history"]] == [
        ("ADMITTED", None),
        ("LEAVE_STARTED", None),
        ("CORRECTED", "LEAVE_CHANGED"),
        ("DISCHARGED", None),
        ("CORRECTED", "LEAVE_CANCELLED"),
        ("CORRECTED", "DISCHARGE_UNDONE"),
    ]
    assert body["history"][-1]["note"] == "discharge was premature"
    events = await announced.of(stay_id, 6)
    assert [e["type"] for e in events] == [
        STAYS_STAY_ADMITTED_V1,
        STAYS_STAY_LEAVE_STARTED_V1,
        STAYS_STAY_CORRECTED_V1,
        STAYS_STAY_DISCHARGED_V1,
        STAYS_STAY_CORRECTED_V1,
        STAYS_STAY_CORRECTED_V1,
    ]


async def test_operator_corrects_the_admission_and_voids_a_stay_entered_in_error(
    api: httpx.AsyncClient, announced: Announced, token: Callable[..., str]
) -> None:
    stay_id = new_id()
    auth = headers(token)
    await api.post("/v1/stays", json=stay_data(stay_id), headers=auth)
    base = f"/v1/stays/{stay_id}"
    corrected_admission = {**stay_data(stay_id)["admission"], "admit_date": "2026-01-08"}
    changed = await api.put(
        f"{base}/admission",
        json={"admission": corrected_admission, "note": "per intake form"},
        headers=auth,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["admission"]["admit_date"] == "2026-01-08"
    await api.post(
        f"{base}/discharge",
        json={"discharge_date": "2026-02-03", "discharge_hour": 10, "patient_status": "01"},
        headers=auth,
    )
    moved = await api.put(
        f"{base}/discharge",
        json={"discharge_date": "2026-02-05", "discharge_hour": 9, "patient_status": "01"},
        headers=auth,
    )
    assert moved.json()["discharge"]["discharge_date"] == "2026-02-05"
    voided = await api.request("DELETE", base, json={"reason": "wrong member"}, headers=auth)
    assert voided.json()["status"] == "ENTERED_IN_ERROR"
    late = await api.post(f"{base}/leaves", json={"start_date": "2026-01-20"}, headers=auth)
    assert (late.status_code, late.json()["code"]) == (409, "STAY_ENTERED_IN_ERROR")
    events = await announced.of(stay_id, 5)
    assert [e["data"].get("correction_kind") for e in events] == [
        None,
        "ADMISSION_CHANGED",
        None,
        "DISCHARGE_CHANGED",
        "ADMISSION_ENTERED_IN_ERROR",
    ]
    assert (events[1]["data"]["affected_from"], events[1]["data"]["note"]) == (
        "2026-01-08",
        "per intake form",
    )
    assert (events[3]["data"]["affected_from"], events[3]["data"]["affected_through"]) == (
        "2026-02-03",
        "2026-02-05",
    )


async def test_api_refusals_answer_problem_details_with_their_code(
    api: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    stay_id = new_id()
    auth = headers(token)
    await api.post("/v1/stays", json=stay_data(stay_id), headers=auth)
    base = f"/v1/stays/{stay_id}"
    await api.post(
        f"{base}/leaves", json={"leave_id": "loa-1", "start_date": "2026-01-20"}, headers=auth
    )

    async def refusal(method: str, path: str, body: dict[str, Any]) -> tuple[int, str]:
        response = await api.request(method, f"{base}{path}", json=body, headers=auth)
        assert response.headers["content-type"].startswith("application/problem+json")
        return response.status_code, response.json()["code"]

    assert await refusal("POST", "/leaves", {"start_date": "2026-01-05"}) == (
        422,
        "LEAVE_OUTSIDE_STAY",
    )
    assert await refusal("POST", "/leaves", {"start_date": "2026-01-25"}) == (
        409,
        "LEAVE_ALREADY_OPEN",
    )
    assert await refusal(
        "POST", "/leaves", {"start_date": "2026-01-15", "return_date": "2026-01-21"}
    ) == (422, "LEAVE_OVERLAPS")
    assert await refusal(
        "POST", "/leaves", {"start_date": "2026-01-15", "return_date": "2026-01-14"}
    ) == (422, "OUT_OF_ORDER")
    assert await refusal("POST", "/leaves/loa-9/return", {"return_date": "2026-01-23"}) == (
        404,
        "LEAVE_UNKNOWN",
    )
    assert await refusal("DELETE", "/discharge", {"reason": "no discharge yet"}) == (
        409,
        "STAY_NOT_DISCHARGED",
    )
    discharge = {"discharge_date": "2026-01-09", "discharge_hour": 10, "patient_status": "01"}
    assert await refusal("POST", "/discharge", discharge) == (422, "DISCHARGE_BEFORE_ADMISSION")
    assert await refusal(
        "POST", "/discharge", {**discharge, "discharge_date": "2026-02-03", "patient_status": "30"}
    ) == (422, "VALIDATION_ERROR")
    await api.post(
        f"{base}/discharge", json={**discharge, "discharge_date": "2026-02-03"}, headers=auth
    )
    assert await refusal("POST", "/leaves", {"start_date": "2026-02-05"}) == (
        409,
        "STAY_DISCHARGED",
    )
    assert await refusal("POST", "/discharge", {**discharge, "discharge_date": "2026-02-04"}) == (
        409,
        "STAY_DISCHARGED",
    )
    response = await api.post(
        "/v1/stays/no-such-stay/leaves", json={"start_date": "2026-01-20"}, headers=auth
    )
    assert (response.status_code, response.json()["code"]) == (404, "STAY_UNKNOWN")


async def test_stay_changes_need_the_write_scope_and_the_stays_tenant(
    api: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    stay_id = new_id()
    await api.post("/v1/stays", json=stay_data(stay_id), headers=headers(token))
    leave = {"start_date": "2026-01-20"}
    path = f"/v1/stays/{stay_id}/leaves"
    assert (await api.post(path, json=leave)).status_code == 401
    assert (await api.post(path, json=leave, headers=headers(token, READ))).status_code == 403
    other = headers(token, READ, WRITE, tenant=OTHER_TENANT)
    assert (await api.post(path, json=leave, headers=other)).status_code == 404
    assert (await api.get(f"/v1/stays/{stay_id}", headers=other)).status_code == 404
    stay = await api.get(f"/v1/stays/{stay_id}", headers=headers(token, READ))
    assert stay.json()["stay_version"] == 1


# -- enrollment windows --------------------------------------------------------------------


def member_upserted(member_id: str, windows: list[dict[str, Any]], at: str) -> CloudEvent:
    return CloudEvent.new(
        type=MEMBER_UPSERTED_V1,
        source="https://ehr.example.com/feed",
        tenantid=TENANT,
        time=datetime.fromisoformat(at).replace(tzinfo=UTC),
        data={
            "member_id": member_id,
            "first_name": "JANE",
            "last_name": "DOE",
            "birth_date": "1970-03-15",
            "sex": "F",
            "program_enrollments": windows,
        },
    )


async def test_enrollment_windows_from_the_member_feed_show_and_resolve_an_admit_date(
    service: tuple[ServiceRuntime, httpx.AsyncClient],
    channel: AbstractChannel,
    rcm_topology: Topology,
    token: Callable[..., str],
) -> None:
    runtime, api = service
    member_id = new_id("m")
    newer = member_upserted(
        member_id,
        [
            {"program_id": "group-therapy", "enrolled_from": "2025-09-15"},
            {
                "program_id": "residential",
                "enrolled_from": "2026-01-10",
                "enrolled_to": "2026-02-03",
            },
        ],
        "2026-01-11T09:00:00",
    )
    older = member_upserted(
        member_id,
        [{"program_id": "residential", "enrolled_from": "2025-01-01"}],
        "2026-01-01T09:00:00",
    )
    await publish_event(channel, rcm_topology, newer)
    path = f"/v1/members/{member_id}/enrollments"

    async def shown() -> dict[str, Any] | None:
        response = await api.get(path, headers=headers(token, READ))
        return response.json() if response.status_code == 200 else None

    body = await eventually(shown)
    assert [(w["program_id"], w["enrolled_from"], w["enrolled_to"]) for w in body["items"]] == [
        ("group-therapy", "2025-09-15", None),
        ("residential", "2026-01-10", "2026-02-03"),
    ]
    await publish_event(channel, rcm_topology, older)  # said before the newer: ignored
    await applied(runtime, older.id)
    resolved = await api.get(
        f"{path}?program_id=residential&on=2026-01-15", headers=headers(token, READ)
    )
    assert resolved.json()["resolved_admit_date"] == "2026-01-10"
    outside = await api.get(
        f"{path}?program_id=residential&on=2026-03-01", headers=headers(token, READ)
    )
    assert outside.json()["resolved_admit_date"] is None
    other = headers(token, READ, tenant=OTHER_TENANT)
    assert (await api.get(path, headers=other)).status_code == 404
    assert (await api.get(path)).status_code == 401
