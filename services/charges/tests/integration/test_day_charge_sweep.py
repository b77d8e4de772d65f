"""Days written as they complete (SPEC 5, 9): the sweep writes a stay day once the
midnight after it has passed where the facility is, each day once however many sweeps
race, and the background task keeps sweeping. The clock is the tests' own."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import pytest

from charges.adapters.db.charges_repository import ChargeRepository
from charges.domain.charges import Charge
from charges.entrypoints.background import day_charge_sweep
from charges.service_layer.stay_days import DayChargesWritten, write_completed_days
from common.runtime import ServiceRuntime
from common.testing.messages import eventually
from contracts.envelope import CloudEvent
from contracts.events import (
    CHARGES_RECORDED_V1,
    FACILITY_UPSERTED_V1,
    MEMBER_UPSERTED_V1,
    STAYS_STAY_ADMITTED_V1,
    STAYS_STAY_DISCHARGED_V1,
    STAYS_STAY_LEAVE_ENDED_V1,
    STAYS_STAY_LEAVE_STARTED_V1,
)

from ..group_sessions import member_data
from ..stays import V2_DISCHARGE, V2_LEAVE, Clock, stay_data

Publish = Callable[..., Awaitable[CloudEvent]]
Applied = Callable[[CloudEvent], Awaitable[None]]
Outboxed = Callable[[str, str], Awaitable[list[dict[str, Any]]]]

TENANT = "demo-bh"


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock.fixed("2026-01-10T14:00:00-06:00")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def sweep(
    runtime: ServiceRuntime, clock: Clock, batch_size: int = 200
) -> list[DayChargesWritten]:
    async with runtime.unit_of_work() as uow:
        return await write_completed_days(uow, runtime.tenants, now=clock(), batch_size=batch_size)


async def admitted(
    publish: Publish, applied: Applied, *, admit: str, facility_id: str = "fac-springfield-res"
) -> str:
    member_id, stay_id = unique("m"), unique("stay")
    await applied(
        await publish(MEMBER_UPSERTED_V1, member_data(member_id, "acme-commercial"), tenant=TENANT)
    )
    data = stay_data(stay_id, 1, member_id=member_id, admit=admit, facility_id=facility_id)
    await applied(await publish(STAYS_STAY_ADMITTED_V1, data, tenant=TENANT))
    return stay_id


async def days_of(runtime: ServiceRuntime, stay_id: str) -> dict[date, Charge]:
    async with runtime.sessionmaker() as session:
        charges = await ChargeRepository(session).of_stay(TENANT, stay_id)
    return {
        c.terms.date_of_service: c for c in sorted(charges, key=lambda c: c.terms.date_of_service)
    }


async def told(outboxed: Outboxed, stay_id: str) -> list[tuple[str, list[str]]]:
    return [
        (e["data"]["change"], [c["date_of_service"] for c in e["data"]["charges"]])
        for e in await outboxed(CHARGES_RECORDED_V1, stay_id)
    ]


async def test_vector_2_as_it_happens_each_day_is_written_once_it_completes(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, outboxed: Outboxed, clock: Clock
) -> None:
    member_id, stay_id = unique("m"), unique("stay")
    await applied(
        await publish(MEMBER_UPSERTED_V1, member_data(member_id, "acme-commercial"), tenant=TENANT)
    )

    async def stay_event(event_type: str, version: int, **kwargs: Any) -> None:
        data = stay_data(stay_id, version, member_id=member_id, **kwargs)
        if event_type in (STAYS_STAY_LEAVE_STARTED_V1, STAYS_STAY_LEAVE_ENDED_V1):
            data["leave_id"] = "loa-1"
        await applied(await publish(event_type, data, tenant=TENANT))

    clock.at("2026-01-10T14:00:00-06:00")
    await stay_event(STAYS_STAY_ADMITTED_V1, 1)
    assert await days_of(runtime, stay_id) == {}  # the admission day is not over

    clock.at("2026-01-20T09:00:00-06:00")
    await sweep(runtime, clock)
    open_leave = [("loa-1", "2026-01-20", None, "THERAPEUTIC")]
    await stay_event(STAYS_STAY_LEAVE_STARTED_V1, 2, leaves=open_leave)
    clock.at("2026-01-23T16:00:00-06:00")
    await sweep(runtime, clock)
    await stay_event(STAYS_STAY_LEAVE_ENDED_V1, 3, leaves=[V2_LEAVE])
    clock.at("2026-02-03T11:00:00-06:00")
    await sweep(runtime, clock)
    await stay_event(STAYS_STAY_DISCHARGED_V1, 4, leaves=[V2_LEAVE], discharge=V2_DISCHARGE)
    clock.at("2026-02-10T12:00:00-06:00")
    await sweep(runtime, clock)

    days = await days_of(runtime, stay_id)
    assert (min(days), max(days), len(days)) == (date(2026, 1, 10), date(2026, 2, 2), 24)
    assert {c.version for c in days.values()} == {1}  # each day written once, never rewritten
    leave = sorted(day for day, c in days.items() if not c.terms.covered)
    assert leave == [date(2026, 1, 20), date(2026, 1, 21), date(2026, 1, 22)]
    assert [(change, len(dates)) for change, dates in await told(outboxed, stay_id)] == [
        ("BUILT", 10),  # 01-10 .. 01-19, by the sweep on the 20th
        ("BUILT", 3),  # 01-20 .. 01-22, away
        ("BUILT", 11),  # 01-23 .. 02-02
    ]


async def test_an_open_stay_admitted_three_days_ago_gets_exactly_its_complete_days(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, outboxed: Outboxed, clock: Clock
) -> None:
    clock.at("2026-03-09T10:00:00-05:00")
    stay_id = await admitted(publish, applied, admit="2026-03-09")
    clock.at("2026-03-12T12:00:00-05:00")
    await sweep(runtime, clock)
    assert sorted(await days_of(runtime, stay_id)) == [date(2026, 3, d) for d in (9, 10, 11)]
    assert await sweep(runtime, clock) == []  # nothing more until midnight
    assert await told(outboxed, stay_id) == [("BUILT", ["2026-03-09", "2026-03-10", "2026-03-11"])]


async def test_a_day_is_written_at_the_midnight_after_it_where_the_facility_is(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, clock: Clock
) -> None:
    facility_id = unique("fac-la")
    facility = {
        "facility_id": facility_id,
        "name": "Pacific House",
        "npi": "1234567893",
        "tax_id": "123456789",
        "address": {
            "line1": "1 Main St",
            "city": "Los Angeles",
            "state": "CA",
            "postal_code": "90012",
        },
        "time_zone": "America/Los_Angeles",
        "taxonomy_code": "324500000X",
    }
    await applied(await publish(FACILITY_UPSERTED_V1, facility, tenant=TENANT))
    clock.at("2026-03-12T12:00:00-05:00")
    chicago = await admitted(publish, applied, admit="2026-03-10")  # unknown facility: tenant zone
    pacific = await admitted(publish, applied, admit="2026-03-10", facility_id=facility_id)
    march_12 = date(2026, 3, 12)

    clock.at("2026-03-12T23:59:59-05:00")
    await sweep(runtime, clock)
    assert march_12 not in await days_of(runtime, chicago)
    clock.at("2026-03-13T00:00:00-05:00")
    await sweep(runtime, clock)
    assert march_12 in await days_of(runtime, chicago)
    assert march_12 not in await days_of(runtime, pacific)  # 22:00 on the 12th there
    clock.at("2026-03-13T00:00:00-07:00")
    await sweep(runtime, clock)
    assert march_12 in await days_of(runtime, pacific)


async def test_two_sweeps_racing_write_each_day_once(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, outboxed: Outboxed, clock: Clock
) -> None:
    clock.at("2026-03-13T12:00:00-05:00")
    stays = [await admitted(publish, applied, admit="2026-03-11") for _ in range(3)]
    clock.at("2026-03-20T12:00:00-05:00")
    await asyncio.gather(*(sweep(runtime, clock, batch_size=2) for _ in range(4)))
    await sweep(runtime, clock)  # whatever a lost race left for later
    for stay_id in stays:
        days = await days_of(runtime, stay_id)
        assert sorted(days) == [date(2026, 3, d) for d in range(11, 20)]
        assert {c.version for c in days.values()} == {1}
        dates = Counter(
            day for _, told_dates in await told(outboxed, stay_id) for day in told_dates
        )
        assert set(dates.values()) == {1} and len(dates) == 9


async def test_the_background_sweep_drains_a_backlog_as_days_complete(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, clock: Clock
) -> None:
    clock.at("2026-03-21T12:00:00-05:00")
    stays = [await admitted(publish, applied, admit="2026-03-20") for _ in range(3)]
    clock.at("2026-03-24T12:00:00-05:00")
    task = asyncio.create_task(day_charge_sweep(clock, interval=0.05, batch_size=1)(runtime))
    try:

        async def all_written() -> bool | None:
            counts = [len(await days_of(runtime, stay_id)) for stay_id in stays]
            return True if counts == [4, 4, 4] else None  # 03-20 .. 03-23

        await eventually(all_written, seconds=10)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
