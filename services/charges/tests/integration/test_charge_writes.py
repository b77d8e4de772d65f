"""Charges saved many at a time (#10): a month of day charges goes in a few statements,
each row's version still checked, so a writer that did not lock cannot overwrite a newer
version, and one stale charge in a batch leaves the whole batch unwritten."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal

import pytest

from charges.adapters.db.charges_repository import (
    ChargeRepository,
    ChargeWrite,
    ConcurrentChargeChange,
)
from charges.domain.charges import Charge, PricingOverride
from charges.service_layer.stay_days import write_completed_days
from common.runtime import ServiceRuntime
from contracts.events import MEMBER_UPSERTED_V1, STAYS_STAY_ADMITTED_V1
from contracts.events.charges import ChargeStatus

from ..group_sessions import member_data
from ..stays import Clock, stay_data
from .test_day_charge_sweep import TENANT, Applied, Publish

ACTOR = "user:test"


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock.fixed("2026-01-10T14:00:00-06:00")


async def month_of_days(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, clock: Clock
) -> list[Charge]:
    """A stay admitted on 1 January with its completed days written (the 1st to the 9th)."""
    member_id, stay_id = f"m-{uuid.uuid4().hex[:8]}", f"stay-{uuid.uuid4().hex[:8]}"
    await applied(
        await publish(MEMBER_UPSERTED_V1, member_data(member_id, "acme-commercial"), tenant=TENANT)
    )
    data = stay_data(stay_id, 1, member_id=member_id, admit="2026-01-01")
    await applied(await publish(STAYS_STAY_ADMITTED_V1, data, tenant=TENANT))
    async with runtime.unit_of_work() as uow:
        await write_completed_days(uow, runtime.tenants, now=clock(), batch_size=200)
    async with runtime.sessionmaker() as session:
        days = await ChargeRepository(session).of_stay(TENANT, stay_id)
    assert len(days) == 9
    return sorted(days, key=lambda c: c.terms.date_of_service)


def overridden(charge: Charge, rate: str) -> Charge:
    return replace(
        charge,
        version=charge.version + 1,
        override=PricingOverride(rate=Decimal(rate), reason="contract rate"),
    )


async def test_a_batch_of_changes_is_written_with_each_version_and_history_row(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, clock: Clock
) -> None:
    days = await month_of_days(runtime, publish, applied, clock)
    first, second = overridden(days[0], "410.00"), overridden(days[1], "420.00")
    # The first day changes twice in one call: the second write checks the first's version.
    first_again = replace(first, version=first.version + 1, override=PricingOverride())
    async with runtime.unit_of_work() as uow:
        await ChargeRepository(uow.session).save_many(
            [
                ChargeWrite(first, days[0].version, "OVERRIDDEN"),
                ChargeWrite(second, days[1].version, "OVERRIDDEN"),
                ChargeWrite(first_again, first.version, "OVERRIDE_REMOVED"),
            ],
            actor=ACTOR,
            reason="month-end fix",
        )
        await uow.commit()
    async with runtime.sessionmaker() as session:
        repository = ChargeRepository(session)
        saved = {
            c.charge_id: c for c in await repository.get_many(TENANT, [c.charge_id for c in days])
        }
        history = [
            (r["charge_version"], r["change"], r["actor"])
            for r in await repository.history(TENANT, days[0].charge_id)
        ]
    assert saved[days[0].charge_id].version == days[0].version + 2
    assert saved[days[0].charge_id].override == PricingOverride()  # NULL again, as asked
    assert saved[days[1].charge_id].override.rate == Decimal("420.00")
    assert saved[days[2].charge_id] == days[2]  # not in the batch: untouched
    assert history[-2:] == [
        (days[0].version + 1, "OVERRIDDEN", ACTOR),
        (days[0].version + 2, "OVERRIDE_REMOVED", ACTOR),
    ]


async def test_one_stale_charge_in_a_batch_leaves_the_whole_batch_unwritten(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, clock: Clock
) -> None:
    days = await month_of_days(runtime, publish, applied, clock)
    writes = [ChargeWrite(overridden(c, "400.00"), c.version, "OVERRIDDEN") for c in days]
    # Another writer saved the fifth day meanwhile: this batch read it one version ago.
    stale = days[4]
    async with runtime.unit_of_work() as uow:
        await ChargeRepository(uow.session).save(
            replace(stale, version=stale.version + 1, status=ChargeStatus.NEEDS_FIX),
            stale.version,
            change="RECHECKED",
            actor=ACTOR,
        )
        await uow.commit()
    with pytest.raises(ConcurrentChargeChange) as refused:
        async with runtime.unit_of_work() as uow:
            await ChargeRepository(uow.session).save_many(writes, actor=ACTOR)
            await uow.commit()
    assert str(refused.value) == stale.charge_id
    async with runtime.sessionmaker() as session:
        saved = await ChargeRepository(session).get_many(TENANT, [c.charge_id for c in days])
    assert all(c.override == PricingOverride() for c in saved)
    assert {c.charge_id: c.version for c in saved} == {
        c.charge_id: c.version + (1 if c is stale else 0) for c in days
    }


async def test_a_new_charge_that_exists_already_is_refused_with_the_rest(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, clock: Clock
) -> None:
    days = await month_of_days(runtime, publish, applied, clock)
    fresh = replace(days[0], charge_id=f"{days[0].charge_id}-x")
    with pytest.raises(ConcurrentChargeChange) as refused:
        async with runtime.unit_of_work() as uow:
            await ChargeRepository(uow.session).save_many(
                [ChargeWrite(fresh, None, "CREATED"), ChargeWrite(days[1], None, "CREATED")],
                actor=ACTOR,
            )
            await uow.commit()
    assert str(refused.value) == days[1].charge_id
    async with runtime.sessionmaker() as session:
        assert await ChargeRepository(session).get_many(TENANT, [fresh.charge_id]) == []


async def test_more_charges_than_one_statement_holds_are_all_written_and_checked(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, clock: Clock
) -> None:
    day = (await month_of_days(runtime, publish, applied, clock))[0]
    count = 1_201  # three statements of new rows, three of changes, three of history
    new = [replace(day, charge_id=f"{day.charge_id}-{n}") for n in range(count)]
    async with runtime.unit_of_work() as uow:
        repository = ChargeRepository(uow.session)
        await repository.save_many([ChargeWrite(c, None, "CREATED") for c in new], actor=ACTOR)
        await repository.save_many(
            [ChargeWrite(overridden(c, "399.00"), c.version, "OVERRIDDEN") for c in new],
            actor=ACTOR,
        )
        await uow.commit()
    async with runtime.sessionmaker() as session:
        repository = ChargeRepository(session)
        saved = await repository.get_many(TENANT, [c.charge_id for c in new])
        last = [r["change"] for r in await repository.history(TENANT, new[-1].charge_id)]
    assert len(saved) == count
    assert {(c.version, c.override.rate) for c in saved} == {(day.version + 1, Decimal("399.00"))}
    assert last == ["CREATED", "OVERRIDDEN"]
    # A stale version in the last statement of a batch still refuses the whole batch.
    saved.sort(key=lambda c: c.charge_id)
    stale = [ChargeWrite(overridden(c, "1.00"), c.version, "OVERRIDDEN") for c in saved]
    stale[-1] = ChargeWrite(overridden(saved[-1], "1.00"), saved[-1].version - 1, "OVERRIDDEN")
    with pytest.raises(ConcurrentChargeChange):
        async with runtime.unit_of_work() as uow:
            await ChargeRepository(uow.session).save_many(stale, actor=ACTOR)
            await uow.commit()
    async with runtime.sessionmaker() as session:
        again = await ChargeRepository(session).get_many(TENANT, [c.charge_id for c in new])
    assert {c.override.rate for c in again} == {Decimal("399.00")}
