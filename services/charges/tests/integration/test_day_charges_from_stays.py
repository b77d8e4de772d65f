"""Day charges from stay events over the real broker and database (SPEC 5 per-diem, SPEC 12
vectors 2 and 3): every complete day written when a stay event arrives, the remaining days
at discharge, a late leave rewriting written days, each day once however the events repeat
or reorder; and the charges API over them (filter and group by stay, fix, void)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from charges.adapters.db.charges_repository import ChargeRepository
from charges.adapters.db.stays_repository import StayRepository
from charges.domain.charges import Charge, day_charge_id_for
from common.outbox import OUTBOX
from common.runtime import ServiceRuntime
from contracts.envelope import CloudEvent
from contracts.events import (
    CHARGES_RECORDED_V1,
    CLAIM_STATUS_CHANGED_V1,
    MEMBER_UPSERTED_V1,
    STAY_CHARGED_V1,
    STAYS_STAY_ADMITTED_V1,
    STAYS_STAY_CORRECTED_V1,
    STAYS_STAY_DISCHARGED_V1,
    STAYS_STAY_LEAVE_STARTED_V1,
)

from ..group_sessions import claim_status_data, member_data
from ..stays import V2_DISCHARGE, V2_LEAVE, Clock, corrected, stay_data

Publish = Callable[..., Awaitable[CloudEvent]]
Applied = Callable[[CloudEvent], Awaitable[None]]
Outboxed = Callable[[str, str], Awaitable[list[dict[str, Any]]]]

TENANT = "demo-bh"
READ = "billing.claim.read"
WRITE = "billing.claim.write"
LEAVE_DAYS = [date(2026, 1, 20), date(2026, 1, 21), date(2026, 1, 22)]


@pytest.fixture(scope="module")
def clock() -> Clock:
    """Mid-March 2026 in Chicago unless a test moves it: vector 2 is long past."""
    return Clock.fixed("2026-03-12T12:00:00-05:00")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def auth(token: Callable[..., str], *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(tenant=TENANT, scopes=list(scopes or (READ, WRITE)))}"}


async def covered_member(
    publish: Publish, applied: Applied, payer_id: str = "acme-commercial"
) -> str:
    member_id = unique("m")
    data = member_data(member_id, payer_id, start="2024-01-01")
    await applied(await publish(MEMBER_UPSERTED_V1, data, tenant=TENANT))
    return member_id


async def stay_event(
    publish: Publish, applied: Applied, event_type: str, data: dict[str, Any], **kwargs: Any
) -> CloudEvent:
    event = await publish(event_type, data, tenant=TENANT, **kwargs)
    await applied(event)
    return event


async def days_of(runtime: ServiceRuntime, stay_id: str) -> dict[date, Charge]:
    async with runtime.sessionmaker() as session:
        charges = await ChargeRepository(session).of_stay(TENANT, stay_id)
    return {
        c.terms.date_of_service: c for c in sorted(charges, key=lambda c: c.terms.date_of_service)
    }


def billed(charges: dict[date, Charge]) -> dict[date, Charge]:
    return {day: c for day, c in charges.items() if c.status != "VOID"}


async def recorded(outboxed: Outboxed, stay_id: str) -> list[tuple[str, list[str]]]:
    """(change, [date of each charge]) of each ``charges.charges.recorded.v1`` told."""
    return [
        (e["data"]["change"], [c["date_of_service"] for c in e["data"]["charges"]])
        for e in await outboxed(CHARGES_RECORDED_V1, stay_id)
    ]


async def charged(outboxed: Outboxed, stay_id: str) -> list[tuple[int, list[tuple[str, int]]]]:
    """(stay version, [(date, version) of each changed day]) of each
    ``charges.stay.charged.v1`` told."""
    return [
        (
            e["data"]["stay_version"],
            [(c["date_of_service"], c["charge_version"]) for c in e["data"]["changed"]],
        )
        for e in await outboxed(STAY_CHARGED_V1, stay_id)
    ]


# --------------------------------------------------------------------------- vector 2


async def test_vector_2_replayed_writes_its_24_days_at_once(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, outboxed: Outboxed
) -> None:
    member, stay_id = await covered_member(publish, applied), unique("stay")
    data = stay_data(stay_id, 4, member_id=member, leaves=[V2_LEAVE], discharge=V2_DISCHARGE)
    await stay_event(publish, applied, STAYS_STAY_DISCHARGED_V1, data)

    days = await days_of(runtime, stay_id)
    assert (min(days), max(days), len(days)) == (date(2026, 1, 10), date(2026, 2, 2), 24)
    assert date(2026, 2, 3) not in days
    for day, charge in days.items():
        terms = charge.terms
        assert charge.charge_id == day_charge_id_for(TENANT, stay_id, day)
        assert (charge.version, charge.status, terms.payer_id) == (1, "READY", "acme-commercial")
        if day in LEAVE_DAYS:
            assert (terms.revenue_code, terms.amount, terms.covered) == (
                "0183",
                Decimal("0.00"),
                False,
            )
        else:
            assert (terms.revenue_code, terms.amount, terms.covered) == (
                "1001",
                Decimal("300.00"),
                True,
            )
    january = [c.terms.amount for day, c in days.items() if day.month == 1]
    february = [c.terms.amount for day, c in days.items() if day.month == 2]
    assert (len(january), sum(january), len(february), sum(february)) == (
        22,
        Decimal("5700.00"),
        2,
        Decimal("600.00"),
    )

    [message] = await outboxed(CHARGES_RECORDED_V1, stay_id)
    assert message["data"]["change"] == "BUILT"
    charges = message["data"]["charges"]
    assert [c["date_of_service"] for c in charges][:2] == ["2026-01-10", "2026-01-11"]
    first = charges[0]
    assert {
        k: first[k] for k in ("kind", "filing_type", "revenue_code", "units", "unit_basis")
    } == {
        "kind": "PER_DIEM",
        "filing_type": "INSTITUTIONAL",
        "revenue_code": "1001",
        "units": "1",
        "unit_basis": "DA",
    }
    assert first["source"] == {"kind": "STAY", "id": stay_id, "sequence": 4}
    assert (first["procedure_code"], first["group"], first["covered"]) == (None, None, True)
    assert [c["covered"] for c in charges if c["date_of_service"] == "2026-01-20"] == [False]


async def test_a_leave_recorded_after_january_was_written_turns_three_days_into_leave_days(
    runtime: ServiceRuntime,
    publish: Publish,
    applied: Applied,
    outboxed: Outboxed,
    clock: Clock,
) -> None:
    member, stay_id = await covered_member(publish, applied), unique("stay")
    clock.at("2026-02-01T12:00:00-06:00")  # January is complete, February 1 is not
    admitted = stay_data(stay_id, 1, member_id=member)
    await stay_event(publish, applied, STAYS_STAY_ADMITTED_V1, admitted)
    january = await days_of(runtime, stay_id)
    assert len(january) == 22 and all(c.terms.revenue_code == "1001" for c in january.values())

    late_leave = stay_data(stay_id, 2, member_id=member, leaves=[V2_LEAVE])
    await stay_event(
        publish, applied, STAYS_STAY_LEAVE_STARTED_V1, late_leave | {"leave_id": "loa-1"}
    )
    days = await days_of(runtime, stay_id)
    for day in LEAVE_DAYS:
        charge = days[day]
        assert (charge.version, charge.status, charge.terms.revenue_code) == (2, "READY", "0183")
        assert (charge.terms.amount, charge.terms.covered) == (Decimal("0.00"), False)
        assert charge.charge_id == january[day].charge_id
    assert all(c.version == 1 for day, c in days.items() if day not in LEAVE_DAYS)
    assert await recorded(outboxed, stay_id) == [
        ("BUILT", [f"2026-01-{n}" for n in range(10, 32)]),
        ("FIXED", ["2026-01-20", "2026-01-21", "2026-01-22"]),
    ]
    [_, fixed] = await outboxed(CHARGES_RECORDED_V1, stay_id)
    assert {c["source"]["sequence"] for c in fixed["data"]["charges"]} == {2}
    # Each version applied is told, with the days it changed, after them (#10).
    assert await charged(outboxed, stay_id) == [
        (1, [(f"2026-01-{n}", 1) for n in range(10, 32)]),
        (2, [("2026-01-20", 2), ("2026-01-21", 2), ("2026-01-22", 2)]),
    ]
    async with runtime.sessionmaker() as session:
        told = await session.execute(
            select(OUTBOX.c.event_type)
            .where(OUTBOX.c.payload["subject"].astext == stay_id)
            .order_by(OUTBOX.c.id)
        )
        assert [t for (t,) in told] == [
            CHARGES_RECORDED_V1,
            STAY_CHARGED_V1,
            CHARGES_RECORDED_V1,
            STAY_CHARGED_V1,
        ]

    clock.at("2026-02-03T10:30:00-06:00")
    discharged = stay_data(stay_id, 3, member_id=member, leaves=[V2_LEAVE], discharge=V2_DISCHARGE)
    await stay_event(publish, applied, STAYS_STAY_DISCHARGED_V1, discharged)
    days = await days_of(runtime, stay_id)
    assert len(days) == 24 and max(days) == date(2026, 2, 2)
    assert (await recorded(outboxed, stay_id))[2:] == [("BUILT", ["2026-02-01", "2026-02-02"])]
    assert (await charged(outboxed, stay_id))[2:] == [(3, [("2026-02-01", 1), ("2026-02-02", 1)])]
    clock.at("2026-03-12T12:00:00-05:00")


async def test_a_stay_version_that_bills_every_day_alike_is_told_charged_with_no_day(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, outboxed: Outboxed
) -> None:
    """A new diagnosis changes no day charge; the claims service still learns that the
    days it has are the new version's, so a cycle waiting for them is built (#10)."""
    member, stay_id = await covered_member(publish, applied), unique("stay")
    data = stay_data(stay_id, 1, member_id=member, discharge=V2_DISCHARGE)
    await stay_event(publish, applied, STAYS_STAY_DISCHARGED_V1, data)
    rediagnosed = {
        **data,
        "stay_version": 2,
        "admission": {**data["admission"], "principal_diagnosis": "F331"},
    }
    await stay_event(publish, applied, STAYS_STAY_DISCHARGED_V1, rediagnosed)
    assert [change for change, _ in await recorded(outboxed, stay_id)] == ["BUILT"]
    told = await charged(outboxed, stay_id)
    assert [(version, len(days)) for version, days in told] == [(1, 24), (2, 0)]


async def test_duplicate_stay_events_change_nothing(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, outboxed: Outboxed
) -> None:
    member, stay_id = await covered_member(publish, applied), unique("stay")
    data = stay_data(stay_id, 4, member_id=member, leaves=[V2_LEAVE], discharge=V2_DISCHARGE)
    event = await stay_event(publish, applied, STAYS_STAY_DISCHARGED_V1, data)
    before = await days_of(runtime, stay_id)

    await stay_event(publish, applied, STAYS_STAY_DISCHARGED_V1, data, event_id=event.id)
    await stay_event(publish, applied, STAYS_STAY_DISCHARGED_V1, data)  # same version, new id
    assert await days_of(runtime, stay_id) == before
    assert [change for change, _ in await recorded(outboxed, stay_id)] == ["BUILT"]
    assert [version for version, _ in await charged(outboxed, stay_id)] == [4]


async def test_an_older_stay_version_arriving_late_is_ignored_the_newest_is_kept(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, outboxed: Outboxed
) -> None:
    member, stay_id = await covered_member(publish, applied), unique("stay")
    newest = stay_data(stay_id, 3, member_id=member, leaves=[V2_LEAVE], discharge=V2_DISCHARGE)
    older = stay_data(stay_id, 2, member_id=member, discharge=V2_DISCHARGE)  # no leave yet
    await stay_event(publish, applied, STAYS_STAY_DISCHARGED_V1, newest)
    await stay_event(publish, applied, STAYS_STAY_DISCHARGED_V1, older)

    days = await days_of(runtime, stay_id)
    assert [days[day].terms.revenue_code for day in LEAVE_DAYS] == ["0183"] * 3
    assert {c.version for c in days.values()} == {1}
    async with runtime.sessionmaker() as session:
        kept = await StayRepository(session).get(TENANT, stay_id)
    assert kept is not None and kept.stay.stay_version == 3
    assert len(await recorded(outboxed, stay_id)) == 1
    assert [version for version, _ in await charged(outboxed, stay_id)] == [3]  # not 2


# --------------------------------------------------------------------------- corrections


async def test_a_stay_entered_in_error_voids_all_its_days_in_one_message(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, outboxed: Outboxed
) -> None:
    member, stay_id = await covered_member(publish, applied), unique("stay")
    data = stay_data(stay_id, 1, member_id=member, admit="2026-03-01")
    await stay_event(publish, applied, STAYS_STAY_ADMITTED_V1, data)
    assert len(await days_of(runtime, stay_id)) == 11  # 03-01 .. 03-11; the 12th is today

    void = corrected(
        stay_data(stay_id, 2, member_id=member, admit="2026-03-01", status="ENTERED_IN_ERROR"),
        "ADMISSION_ENTERED_IN_ERROR",
        "2026-03-01",
    )
    await stay_event(publish, applied, STAYS_STAY_CORRECTED_V1, void)
    days = await days_of(runtime, stay_id)
    assert len(days) == 11 and {(c.status, c.version) for c in days.values()} == {("VOID", 2)}
    assert [(change, len(dates)) for change, dates in await recorded(outboxed, stay_id)] == [
        ("BUILT", 11),
        ("VOIDED", 11),
    ]


async def test_a_corrected_admission_and_an_undone_discharge_move_the_days(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, outboxed: Outboxed, clock: Clock
) -> None:
    member, stay_id = await covered_member(publish, applied), unique("stay")
    clock.at("2026-02-05T12:00:00-06:00")
    discharged = stay_data(stay_id, 1, member_id=member, discharge=V2_DISCHARGE)
    await stay_event(publish, applied, STAYS_STAY_DISCHARGED_V1, discharged)
    assert len(await days_of(runtime, stay_id)) == 24

    later_admit = stay_data(
        stay_id, 2, member_id=member, admit="2026-01-12", discharge=V2_DISCHARGE
    )
    await stay_event(
        publish,
        applied,
        STAYS_STAY_CORRECTED_V1,
        corrected(later_admit, "ADMISSION_CHANGED", "2026-01-10"),
    )
    days = await days_of(runtime, stay_id)
    assert [days[date(2026, 1, n)].status for n in (10, 11, 12)] == ["VOID", "VOID", "READY"]

    undone = stay_data(stay_id, 3, member_id=member, admit="2026-01-12")
    await stay_event(
        publish,
        applied,
        STAYS_STAY_CORRECTED_V1,
        corrected(undone, "DISCHARGE_UNDONE", "2026-02-03"),
    )
    days = billed(await days_of(runtime, stay_id))
    assert (min(days), max(days), len(days)) == (date(2026, 1, 12), date(2026, 2, 4), 24)
    [first, *then] = await recorded(outboxed, stay_id)
    assert (first[0], len(first[1])) == ("BUILT", 24)
    assert then == [
        ("VOIDED", ["2026-01-10", "2026-01-11"]),
        ("BUILT", ["2026-02-03", "2026-02-04"]),
    ]
    clock.at("2026-03-12T12:00:00-05:00")


async def test_vector_3_a_weekly_adult_day_stay_writes_sunday_and_monday(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    member, stay_id = await covered_member(publish, applied), unique("stay")
    data = stay_data(
        stay_id,
        2,
        member_id=member,
        program_id="adult-day",
        facility_id="fac-springfield-day",
        admit="2026-03-08",
        discharge=("2026-03-09", "01"),
    )
    await stay_event(publish, applied, STAYS_STAY_DISCHARGED_V1, data)
    days = await days_of(runtime, stay_id)
    assert {day: (c.terms.revenue_code, c.terms.amount) for day, c in days.items()} == {
        date(2026, 3, 8): ("3103", Decimal("85.00")),
        date(2026, 3, 9): ("3103", Decimal("85.00")),
    }


# --------------------------------------------------------------------------- coverage, claims


async def test_days_without_coverage_need_a_fix_until_the_member_arrives(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    member, stay_id = unique("m"), unique("stay")
    data = stay_data(stay_id, 1, member_id=member, admit="2026-03-09")
    await stay_event(publish, applied, STAYS_STAY_ADMITTED_V1, data)
    days = await days_of(runtime, stay_id)
    assert [(c.status, [i.code for i in c.terms.issues]) for c in days.values()] == [
        ("NEEDS_FIX", ["NO_ACTIVE_COVERAGE"])
    ] * 3

    member_event = member_data(member, "il-medicaid", start="2026-01-01")
    await applied(await publish(MEMBER_UPSERTED_V1, member_event, tenant=TENANT))
    days = await days_of(runtime, stay_id)
    assert {(c.status, c.terms.payer_id, c.version) for c in days.values()} == {
        ("READY", "il-medicaid", 2)
    }


async def test_a_day_on_a_submitted_claim_is_rewritten_and_keeps_its_claim(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, outboxed: Outboxed, clock: Clock
) -> None:
    member, stay_id = await covered_member(publish, applied), unique("stay")
    clock.at("2026-02-01T12:00:00-06:00")
    await stay_event(
        publish, applied, STAYS_STAY_ADMITTED_V1, stay_data(stay_id, 1, member_id=member)
    )
    january = await days_of(runtime, stay_id)
    claim = claim_status_data(
        "clm-jan", "SUBMITTED", [c.charge_id for c in january.values()], member_id=member
    )
    await applied(await publish(CLAIM_STATUS_CHANGED_V1, claim, tenant=TENANT))
    on_claim = await days_of(runtime, stay_id)
    assert {c.status for c in on_claim.values()} == {"ON_CLAIM"}

    leave = stay_data(stay_id, 2, member_id=member, leaves=[V2_LEAVE]) | {"leave_id": "loa-1"}
    await stay_event(publish, applied, STAYS_STAY_LEAVE_STARTED_V1, leave)
    days = await days_of(runtime, stay_id)
    for day in LEAVE_DAYS:
        assert (days[day].status, days[day].terms.revenue_code) == ("ON_CLAIM", "0183")
        assert days[day].claim is not None and days[day].claim.claim_id == "clm-jan"
        assert days[day].version == on_claim[day].version + 1
    fixed = (await outboxed(CHARGES_RECORDED_V1, stay_id))[-1]["data"]
    assert fixed["change"] == "FIXED"
    assert [(c["status"], c["claim_id"]) for c in fixed["charges"]] == [("ON_CLAIM", "clm-jan")] * 3
    clock.at("2026-03-12T12:00:00-05:00")


# --------------------------------------------------------------------------- the API


@pytest.fixture(scope="module")
async def vector_2(publish: Publish, applied: Applied) -> str:
    member, stay_id = await covered_member(publish, applied), unique("stay")
    data = stay_data(stay_id, 4, member_id=member, leaves=[V2_LEAVE], discharge=V2_DISCHARGE)
    await stay_event(publish, applied, STAYS_STAY_DISCHARGED_V1, data)
    return stay_id


async def test_the_list_filters_by_stay(
    client: httpx.AsyncClient, token: Callable[..., str], vector_2: str
) -> None:
    response = await client.get(
        "/v1/charges", params={"stay_id": vector_2}, headers=auth(token, READ)
    )
    assert response.status_code == 200
    items = response.json()["items"]
    assert len(items) == 24 and items[0]["date_of_service"] == "2026-02-02"
    assert {i["source"]["id"] for i in items} == {vector_2}
    assert all(i["age_days"] > 0 and i["kind"] == "PER_DIEM" for i in items)


async def test_stay_charges_group_by_stay_under_a_header_with_totals(
    client: httpx.AsyncClient, token: Callable[..., str], vector_2: str
) -> None:
    params = {"stay_id": vector_2, "group_by": "stay"}
    response = await client.get("/v1/charges", params=params, headers=auth(token, READ))
    assert response.status_code == 200
    body = response.json()
    assert body["items"] == []
    [header] = body["stays"]
    charges = header.pop("charges")
    assert header | {"member_id": None} == {
        "stay_id": vector_2,
        "stay_version": 4,
        "stay_status": "DISCHARGED",
        "member_id": None,
        "program_id": "residential",
        "facility_id": "fac-springfield-res",
        "admit_date": "2026-01-10",
        "discharge_date": "2026-02-03",
        "first_date": "2026-01-10",
        "last_date": "2026-02-02",
        "day_count": 24,
        "covered_days": 21,
        "leave_days": 3,
        "total_amount": "6300.00",
        "ready": 24,
        "needs_fix": 0,
        "on_claim": 0,
        "billed": 0,
        "void": 0,
    }
    assert [c["date_of_service"] for c in charges][:3] == ["2026-01-10", "2026-01-11", "2026-01-12"]

    every_stay = await client.get(
        "/v1/charges", params={"group_by": "stay"}, headers=auth(token, READ)
    )
    stays = every_stay.json()["stays"]
    assert vector_2 in [s["stay_id"] for s in stays]
    assert all(c["kind"] == "PER_DIEM" for s in stays for c in s["charges"])


async def test_an_operator_fixes_and_voids_day_charges_and_a_void_sticks(
    client: httpx.AsyncClient,
    token: Callable[..., str],
    runtime: ServiceRuntime,
    publish: Publish,
    applied: Applied,
) -> None:
    member, stay_id = await covered_member(publish, applied), unique("stay")
    await stay_event(
        publish,
        applied,
        STAYS_STAY_ADMITTED_V1,
        stay_data(stay_id, 1, member_id=member, admit="2026-03-09"),
    )
    fix_id = day_charge_id_for(TENANT, stay_id, date(2026, 3, 9))
    void_id = day_charge_id_for(TENANT, stay_id, date(2026, 3, 10))

    fixed = await client.post(
        f"/v1/charges/{fix_id}/fix",
        json={"payer_id": "il-medicaid", "rate": "280.00", "reason": "single case agreement"},
        headers=auth(token),
    )
    assert fixed.status_code == 200, fixed.text
    body = fixed.json()
    assert (body["payer_id"], body["amount"], body["charge_version"]) == (
        "il-medicaid",
        "280.00",
        2,
    )
    assert body["override"]["reason"] == "single case agreement"
    voided = await client.post(
        f"/v1/charges/{void_id}/void",
        json={"reason": "billed by the hospital"},
        headers=auth(token),
    )
    assert voided.status_code == 200 and voided.json()["status"] == "VOID"
    rechecked = await client.post(f"/v1/charges/{fix_id}/fix", json={}, headers=auth(token))
    assert rechecked.status_code == 200 and rechecked.json()["charge_version"] == 2  # nothing new

    discharged = stay_data(
        stay_id, 2, member_id=member, admit="2026-03-09", discharge=("2026-03-12", "01")
    )
    await stay_event(publish, applied, STAYS_STAY_DISCHARGED_V1, discharged)
    days = await days_of(runtime, stay_id)
    assert (days[date(2026, 3, 9)].terms.amount, days[date(2026, 3, 9)].version) == (
        Decimal("280.00"),
        2,
    )
    assert (days[date(2026, 3, 10)].status, days[date(2026, 3, 10)].version) == ("VOID", 2)
    assert days[date(2026, 3, 11)].status == "READY"
