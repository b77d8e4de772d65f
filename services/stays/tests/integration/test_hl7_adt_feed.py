"""The HL7 v2 ADT feed of the stays service over MLLP (issue #7), real database and broker:
a real MLLP client sends SPEC 12 vector 2's stay as ADT messages (A01 admitted 2026-01-10
14:30, A21 leave 01-20, A22 back 01-23, A03 discharged home 2026-02-03 10:15); the stay
reads, and is announced, as when the same facts come as JSON events. Refusals are
acknowledged AE (a stay rule, with its code) or AR (unreadable, not ours); a message sent
twice is applied once; the cancels (A11, A13, A52, A53) are announced corrections."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest_asyncio
from aio_pika.abc import AbstractChannel
from hl7.mllp import open_hl7_connection

from common.runtime import ServiceRuntime
from common.testing.messages import eventually, publish_event, running_service
from contracts.events import (
    STAY_ADMITTED_V1,
    STAY_DISCHARGED_V1,
    STAY_LEAVE_ENDED_V1,
    STAY_LEAVE_STARTED_V1,
    STAYS_STAY_ADMITTED_V1,
    STAYS_STAY_CORRECTED_V1,
    STAYS_STAY_DISCHARGED_V1,
    STAYS_STAY_LEAVE_ENDED_V1,
    STAYS_STAY_LEAVE_STARTED_V1,
)
from contracts.topology import Topology
from stays.bootstrap import MIGRATIONS, StaysRuntime, build_runtime
from stays.entrypoints.adt_feed.listener import HL7_MESSAGES
from stays.settings import StaysSettings

from ..unit.adt_samples import a01, a03, a21, a22, cancel
from .conftest import DELIVERY_LIMIT
from .stay_feed import READ, Announced, ehr_event, headers, new_id, stay_at_version


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def service(
    service_settings: Callable[..., StaysSettings],
) -> AsyncIterator[tuple[ServiceRuntime, httpx.AsyncClient]]:
    """The stays service with its MLLP listener (overrides the conftest's ``service``, so
    ``api`` and ``announced`` are this one's)."""
    settings = service_settings(
        StaysSettings,
        db_schema=f"stays_hl7_{uuid.uuid4().hex[:8]}",
        delivery_limit=DELIVERY_LIMIT,
        hl7_mllp_port=free_port(),
    )
    async with running_service(build_runtime(settings), MIGRATIONS) as running:
        runtime = running[0]
        assert isinstance(runtime, StaysRuntime)

        async def listening() -> bool | None:
            return True if runtime.adt_listener and runtime.adt_listener.serving else None

        await eventually(listening)
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def mllp(
    service: tuple[ServiceRuntime, httpx.AsyncClient],
) -> AsyncIterator[Callable[[str | bytes], Any]]:
    """``await send(message)``: the message framed over one MLLP connection; its ACK."""
    settings = service[0].settings
    assert isinstance(settings, StaysSettings)
    reader, writer = await open_hl7_connection("127.0.0.1", settings.hl7_mllp_port)

    async def send(text: str | bytes) -> Any:
        writer.writeblock(text.encode() if isinstance(text, str) else text)
        await writer.drain()
        return await reader.readmessage()

    yield send
    writer.close()
    await writer.wait_closed()


def msa(ack: Any) -> tuple[str, str, str]:
    segment = ack.segment("MSA")
    return str(segment[1]), str(segment[2]), str(segment[3]) if len(segment) > 3 else ""


def control() -> str:
    return uuid.uuid4().hex[:20].upper()


def twin_events(stay_id: str) -> list[Any]:
    """The JSON events telling what the ADT messages of ``adt_vector_2`` tell."""
    leave_id = f"{stay_id}-loa-20260120"
    return [
        ehr_event(
            STAY_ADMITTED_V1,
            {
                "stay_id": stay_id,
                "member_id": "MRN4471",
                "facility_id": "fac-springfield-res",
                "program_id": "residential",
                "admission": {
                    "admit_date": "2026-01-10",
                    "admit_hour": 14,
                    "admission_type": "3",
                    "admission_source": "1",
                    "principal_diagnosis": "F33.2",
                    "admitting_diagnosis": "F33.2",
                    "other_diagnoses": ["F41.1"],
                },
            },
        ),
        ehr_event(
            STAY_LEAVE_STARTED_V1,
            {
                "stay_id": stay_id,
                "leave_id": leave_id,
                "start_date": "2026-01-20",
                "reason": "OTHER",
                "expected_return_date": "2026-01-23",
            },
        ),
        ehr_event(
            STAY_LEAVE_ENDED_V1,
            {"stay_id": stay_id, "leave_id": leave_id, "return_date": "2026-01-23"},
        ),
        ehr_event(
            STAY_DISCHARGED_V1,
            {
                "stay_id": stay_id,
                "discharge_date": "2026-02-03",
                "discharge_hour": 10,
                "patient_status": "01",
            },
        ),
    ]


async def adt_vector_2(send: Callable[[str], Any], visit: str) -> None:
    for text in (
        a01(visit, control()),
        a21(visit, control()),
        a22(visit, control()),
        a03(visit, control()),
    ):
        assert msa(await send(text))[0] == "AA"


def without_ids(document: Any, stay_id: str) -> Any:
    """``document`` with the stay's id (in stay and leave ids) and the per-message
    bookkeeping (when, by whom, from which event) left out."""
    if isinstance(document, dict):
        return {
            key: without_ids(value, stay_id)
            for key, value in document.items()
            if key not in ("recorded_at", "recorded_by", "event_id", "as_of")
        }
    if isinstance(document, list):
        return [without_ids(item, stay_id) for item in document]
    if isinstance(document, str):
        return document.replace(stay_id, "<stay>")
    return document


# -- vector 2 told in HL7 ----------------------------------------------------------------


async def test_adt_messages_record_the_stay_as_its_json_events_do(
    api: httpx.AsyncClient,
    mllp: Callable[[str], Any],
    channel: AbstractChannel,
    rcm_topology: Topology,
    announced: Announced,
    token: Callable[..., str],
) -> None:
    visit, twin = new_id("V"), new_id("stay")
    auth = headers(token, READ)
    await adt_vector_2(mllp, visit)
    by_json: dict[str, Any] = {}
    for version, event in enumerate(twin_events(twin), start=1):
        await publish_event(channel, rcm_topology, event)  # one at a time, as they happen
        by_json = await stay_at_version(api, auth, twin, version)

    by_hl7 = await stay_at_version(api, auth, visit, 4)
    assert (by_hl7["status"], by_hl7["member_id"], by_hl7["facility_id"]) == (
        "DISCHARGED",
        "MRN4471",
        "fac-springfield-res",
    )
    assert [(lv["start_date"], lv["return_date"]) for lv in by_hl7["leaves"]] == [
        ("2026-01-20", "2026-01-23")
    ]
    assert by_hl7["discharge"] == {
        "discharge_date": "2026-02-03",
        "discharge_hour": 10,
        "patient_status": "01",
    }
    # 01-10 .. 02-02: 24 days, 3 nights away, 21 covered: what the per-diem claim bills.
    assert (by_hl7["length_of_stay_days"], by_hl7["loa_nights"], by_hl7["covered_days"]) == (
        24,
        3,
        21,
    )
    assert all(
        h["via"] == "feed" and h["recorded_by"] == "hl7/HARBOR_EHR" for h in by_hl7["history"]
    )
    assert without_ids(by_hl7, visit) == without_ids(by_json, twin)

    from_hl7 = await announced.of(visit, 4)
    from_json = await announced.of(twin, 4)
    assert [(e["type"], e["data"]["stay_version"]) for e in from_hl7] == [
        (STAYS_STAY_ADMITTED_V1, 1),
        (STAYS_STAY_LEAVE_STARTED_V1, 2),
        (STAYS_STAY_LEAVE_ENDED_V1, 3),
        (STAYS_STAY_DISCHARGED_V1, 4),
    ]
    assert [without_ids(e["data"], visit) for e in from_hl7] == [
        without_ids(e["data"], twin) for e in from_json
    ]


async def test_the_listener_is_part_of_readiness_and_counts_messages_by_type_and_ack(
    service: tuple[ServiceRuntime, httpx.AsyncClient], mllp: Callable[[str], Any]
) -> None:
    _, api = service
    before = HL7_MESSAGES.labels("stays", "ADT^A01", "AA")._value.get()
    assert msa(await mllp(a01(new_id("V"), control())))[0] == "AA"
    assert HL7_MESSAGES.labels("stays", "ADT^A01", "AA")._value.get() == before + 1
    ready = await api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["hl7_mllp"] is True
    assert "rcm_hl7_messages_total" in (await api.get("/metrics")).text


# -- refusals ----------------------------------------------------------------------------


async def test_a_leave_for_a_visit_with_no_stay_is_answered_ae_with_the_reason(
    mllp: Callable[[str], Any],
) -> None:
    message_id = control()
    ack = await mllp(a21(new_id("V"), message_id))
    code, acked, text = msa(ack)
    assert (code, acked) == ("AE", message_id)
    assert text.startswith("STAY_UNKNOWN: no stay V-")
    assert str(ack.segment("ERR")[5]).startswith("STAY_UNKNOWN^")


async def test_a_leave_before_the_admission_is_answered_ae_leave_outside_stay(
    api: httpx.AsyncClient, mllp: Callable[[str], Any], token: Callable[..., str]
) -> None:
    visit = new_id("V")
    assert msa(await mllp(a01(visit, control())))[0] == "AA"
    code, _, text = msa(await mllp(a21(visit, control(), out="20260105090000")))
    assert (code, text.split(":")[0]) == ("AE", "LEAVE_OUTSIDE_STAY")
    stay = await stay_at_version(api, headers(token, READ), visit, 1)
    assert (stay["stay_version"], stay["leaves"]) == (1, [])


async def test_a_garbage_frame_is_answered_ar_and_the_connection_goes_on(
    mllp: Callable[[str | bytes], Any],
) -> None:
    code, acked, text = msa(await mllp(b"\x00garbage, not HL7"))
    assert (code, acked) == ("AR", "")
    assert text.startswith("HL7_UNPARSEABLE")
    assert msa(await mllp(a01(new_id("V"), control())))[0] == "AA"


async def test_a_message_lacking_the_visit_number_is_answered_ar(
    mllp: Callable[[str], Any],
) -> None:
    message_id = control()
    code, acked, text = msa(await mllp(a01("", message_id)))
    assert (code, acked) == ("AR", message_id)
    assert text.startswith("HL7_REQUIRED_FIELD_MISSING: PV1-19")


async def test_a_sender_no_tenant_configures_is_answered_ar(mllp: Callable[[str], Any]) -> None:
    text = a01(new_id("V"), control()).replace("|HARBOR_EHR|", "|STRANGER|", 1)
    code, _, reason = msa(await mllp(text))
    assert (code, reason.split(":")[0]) == ("AR", "HL7_SENDER_NOT_MAPPED")


# -- duplicates --------------------------------------------------------------------------


async def test_the_same_message_twice_is_applied_once_and_acknowledged_aa_twice(
    api: httpx.AsyncClient,
    mllp: Callable[[str], Any],
    announced: Announced,
    token: Callable[..., str],
) -> None:
    visit, leave_out = new_id("V"), control()
    assert msa(await mllp(a01(visit, control())))[0] == "AA"
    assert msa(await mllp(a21(visit, leave_out))) == ("AA", leave_out, "")
    assert msa(await mllp(a21(visit, leave_out))) == ("AA", leave_out, "")
    stay = await stay_at_version(api, headers(token, READ), visit, 2)
    assert stay["stay_version"] == 2
    assert [lv["leave_id"] for lv in stay["leaves"]] == [f"{visit}-loa-20260120"]
    # The leave told again under a new control id changes nothing either.
    assert msa(await mllp(a21(visit, control())))[0] == "AA"
    assert msa(await mllp(a01(visit, control())))[0] == "AA"
    events = await announced.of(visit, 2)
    assert [e["type"] for e in await announced.all_of(visit)] == [e["type"] for e in events]
    assert len(events) == 2


# -- cancels -----------------------------------------------------------------------------


async def test_a13_after_a03_reopens_the_stay(
    api: httpx.AsyncClient,
    mllp: Callable[[str], Any],
    announced: Announced,
    token: Callable[..., str],
) -> None:
    visit = new_id("V")
    await adt_vector_2(mllp, visit)
    assert msa(await mllp(cancel("A13", visit, control())))[0] == "AA"
    stay = await stay_at_version(api, headers(token, READ), visit, 5)
    assert (stay["status"], stay["discharge"]) == ("ADMITTED", None)
    undone = (await announced.of(visit, 5))[4]
    assert (undone["type"], undone["data"]["correction_kind"]) == (
        STAYS_STAY_CORRECTED_V1,
        "DISCHARGE_UNDONE",
    )
    assert (undone["data"]["affected_from"], undone["data"]["affected_through"]) == (
        "2026-02-03",
        None,
    )


async def test_a52_removes_the_leave_and_announces_the_correction_that_stales_its_cycle(
    api: httpx.AsyncClient,
    mllp: Callable[[str], Any],
    announced: Announced,
    token: Callable[..., str],
) -> None:
    visit = new_id("V")
    await adt_vector_2(mllp, visit)
    a52 = cancel("A52", visit, control(), occurred="20260120091500")
    assert msa(await mllp(a52))[0] == "AA"
    stay = await stay_at_version(api, headers(token, READ), visit, 5)
    assert (stay["leaves"], stay["loa_nights"], stay["covered_days"]) == ([], 0, 24)
    cancelled = (await announced.of(visit, 5))[4]
    assert cancelled["type"] == STAYS_STAY_CORRECTED_V1
    data = cancelled["data"]
    assert (data["correction_kind"], data["leave_id"], data["leaves"]) == (
        "LEAVE_CANCELLED",
        f"{visit}-loa-20260120",
        [],
    )
    # The nights 01-20..01-22 bill again: the cycle holding them is re-cut downstream.
    assert (data["affected_from"], data["affected_through"]) == ("2026-01-20", "2026-01-22")


async def test_a11_cancels_the_admission(
    api: httpx.AsyncClient,
    mllp: Callable[[str], Any],
    announced: Announced,
    token: Callable[..., str],
) -> None:
    visit = new_id("V")
    assert msa(await mllp(a01(visit, control())))[0] == "AA"
    assert msa(await mllp(cancel("A11", visit, control())))[0] == "AA"
    stay = await stay_at_version(api, headers(token, READ), visit, 2)
    assert (stay["status"], stay["length_of_stay_days"]) == ("ENTERED_IN_ERROR", 0)
    voided = (await announced.of(visit, 2))[1]
    assert voided["data"]["correction_kind"] == "ADMISSION_ENTERED_IN_ERROR"
    # Nothing more changes a voided stay: a leave is refused with the rule's code.
    code, _, text = msa(await mllp(a21(visit, control())))
    assert (code, text.split(":")[0]) == ("AE", "STAY_ENTERED_IN_ERROR")


async def test_a53_cancels_the_leaves_return(
    api: httpx.AsyncClient,
    mllp: Callable[[str], Any],
    announced: Announced,
    token: Callable[..., str],
) -> None:
    visit = new_id("V")
    for text in (a01(visit, control()), a21(visit, control()), a22(visit, control())):
        assert msa(await mllp(text))[0] == "AA"
    assert msa(await mllp(cancel("A53", visit, control())))[0] == "AA"
    stay = await stay_at_version(api, headers(token, READ), visit, 4)
    assert [(lv["start_date"], lv["return_date"], lv["open"]) for lv in stay["leaves"]] == [
        ("2026-01-20", None, True)
    ]
    reopened = (await announced.of(visit, 4))[3]
    assert (reopened["data"]["correction_kind"], reopened["data"]["leave_id"]) == (
        "LEAVE_CHANGED",
        f"{visit}-loa-20260120",
    )
    # Back again: the A22 now ends the reopened leave.
    assert msa(await mllp(a22(visit, control(), back="20260124090000")))[0] == "AA"
    stay = await stay_at_version(api, headers(token, READ), visit, 5)
    assert stay["leaves"][0]["return_date"] == "2026-01-24"


async def test_a_return_with_no_leave_away_is_answered_ae_leave_unknown(
    mllp: Callable[[str], Any],
) -> None:
    visit = new_id("V")
    assert msa(await mllp(a01(visit, control())))[0] == "AA"
    code, _, text = msa(await mllp(a22(visit, control())))
    assert (code, text.split(":")[0]) == ("AE", "LEAVE_UNKNOWN")
