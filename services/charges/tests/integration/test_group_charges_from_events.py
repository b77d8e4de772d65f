"""Group charges over the real broker and database: a closed session becomes one charge per
billable participant (SPEC 5, SPEC 12 vector 1), once; a reopen voids them; a re-close
re-prices the same charges; coverage arriving later makes a charge READY; claims' news
moves charges on and off claims."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel

from charges.adapters.db.charges_repository import ChargeRepository
from charges.domain.charges import Charge, ClaimHold, charge_id_for
from common.runtime import ServiceRuntime
from common.testing.messages import eventually, next_dead_letter
from contracts.envelope import CloudEvent
from contracts.events import (
    CHARGES_RECORDED_V1,
    CLAIM_STATUS_CHANGED_V1,
    GROUP_SESSION_CHARGED_V1,
    GROUP_SESSION_CLOSED_V1,
    GROUP_SESSION_REOPENED_V1,
    MEMBER_UPSERTED_V1,
)
from contracts.events.claims import ClaimStatus
from contracts.topology import HEADER_ERROR_CODE, HEADER_ERROR_REASON, Topology

from ..conftest import DATED_TENANT
from ..group_sessions import (
    VECTOR_1_ROSTER,
    claim_status_data,
    closed_data,
    member_data,
    reopened_data,
)

Publish = Callable[..., Awaitable[CloudEvent]]
Applied = Callable[[CloudEvent], Awaitable[None]]
Outboxed = Callable[[str, str], Awaitable[list[dict[str, Any]]]]

TENANT = "demo-bh"
ACME = "acme-commercial"
MEDICAID = "il-medicaid"
LEFT_EARLY_BILLABLE = ("ATTENDED", "LATE", "LEFT_EARLY")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def roster_of(prefix: str, rows: list[tuple[str, str]] = VECTOR_1_ROSTER) -> list[tuple[str, str]]:
    """Vector 1's roster (m-1..m-7) under member ids of the test's own."""
    return [(f"{prefix}-{member.removeprefix('m-')}", status) for member, status in rows]


async def members(
    publish: Publish,
    applied: Applied,
    roster: list[tuple[str, str]],
    payer_id: str | None,
    tenant: str = TENANT,
    start: str = "2024-01-01",
) -> None:
    for member_id, _ in roster:
        data = member_data(member_id, payer_id, start=start)
        await applied(await publish(MEMBER_UPSERTED_V1, data, tenant=tenant))


async def session_charges(
    runtime: ServiceRuntime, session_id: str, tenant: str = TENANT
) -> list[Charge]:
    async with runtime.sessionmaker() as session:
        return await ChargeRepository(session).of_session(tenant, session_id)


async def close(
    publish: Publish, applied: Applied, session_id: str, tenant: str = TENANT, **kwargs: Any
) -> CloudEvent:
    event = await publish(GROUP_SESSION_CLOSED_V1, closed_data(session_id, **kwargs), tenant=tenant)
    await applied(event)
    return event


@pytest.fixture(scope="module")
async def channel(rcm_amqp_url: str) -> AsyncIterator[AbstractChannel]:
    connection = await aio_pika.connect(rcm_amqp_url)
    async with connection:
        yield await connection.channel()


async def test_vector_1_five_billable_make_five_charges_of_50_dollars_with_hq(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, outboxed: Outboxed
) -> None:
    prefix, session_id = unique("m"), unique("gs")
    roster = roster_of(prefix)
    await members(publish, applied, roster, ACME)
    await close(publish, applied, session_id, roster=roster)

    charges = await session_charges(runtime, session_id)
    assert sorted(c.terms.member_id for c in charges) == [f"{prefix}-{n}" for n in "12345"]
    for charge in charges:
        assert charge.charge_id == charge_id_for(TENANT, session_id, charge.terms.member_id)
        assert (charge.version, charge.status) == (1, "READY")
        assert (charge.terms.rate, charge.terms.amount) == (Decimal("50.00"), Decimal("50.00"))
        assert charge.terms.modifiers == ("HQ",)
        assert charge.terms.units == 1
        assert charge.terms.place_of_service == "11"
        assert charge.terms.rendering_provider_id == "prov-ann"
        assert charge.terms.payer_id == ACME
        assert charge.terms.group.band_name == "Small"

    [recorded] = await outboxed(CHARGES_RECORDED_V1, session_id)
    assert recorded["data"]["change"] == "BUILT"
    assert [c["amount"] for c in recorded["data"]["charges"]] == ["50.00"] * 5
    assert recorded["data"]["charges"][0]["group"]["billable_count"] == 5
    [charged] = await outboxed(GROUP_SESSION_CHARGED_V1, session_id)
    assert charged["data"] | {"charge_ids": None} == {
        "session_id": session_id,
        "close_sequence": 1,
        "charge_ids": None,
        "ready_count": 5,
        "needs_fix_count": 0,
        "band_name": "Small",
        "rate_per_participant": "50.00",
    }
    assert sorted(charged["data"]["charge_ids"]) == sorted(c.charge_id for c in charges)


async def test_the_medicaid_payer_gets_hg_instead_of_hq(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    prefix, session_id = unique("m"), unique("gs")
    roster = roster_of(prefix)
    await members(publish, applied, roster, MEDICAID)
    await close(publish, applied, session_id, roster=roster)
    charges = await session_charges(runtime, session_id)
    assert [(c.terms.modifiers, c.terms.amount) for c in charges] == [
        (("HG",), Decimal("50.00"))
    ] * 5


async def test_vector_1_with_left_early_billable_makes_six_charges_of_40_dollars(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    prefix, session_id = unique("m"), unique("gs")
    roster = roster_of(prefix)
    await members(publish, applied, roster, ACME)
    await close(publish, applied, session_id, roster=roster, billable=LEFT_EARLY_BILLABLE)
    charges = await session_charges(runtime, session_id)
    assert len(charges) == 6
    assert {(c.terms.group.band_name, c.terms.amount) for c in charges} == {
        ("Medium", Decimal("40.00"))
    }


async def test_a_redelivered_or_repeated_close_makes_no_second_set(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, outboxed: Outboxed
) -> None:
    prefix, session_id = unique("m"), unique("gs")
    roster = roster_of(prefix)
    await members(publish, applied, roster, ACME)
    first = await close(publish, applied, session_id, roster=roster)
    data = closed_data(session_id, roster=roster)
    await publish(GROUP_SESSION_CLOSED_V1, data, tenant=TENANT, event_id=first.id)  # redelivery
    await close(publish, applied, session_id, roster=roster)  # the same close, a new event id

    charges = await session_charges(runtime, session_id)
    assert len(charges) == 5
    assert {c.version for c in charges} == {1}
    assert len(await outboxed(CHARGES_RECORDED_V1, session_id)) == 1
    assert len(await outboxed(GROUP_SESSION_CHARGED_V1, session_id)) == 1


async def test_a_reopen_voids_the_charges_and_the_next_close_reprices_the_same_ones(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, outboxed: Outboxed
) -> None:
    prefix, session_id = unique("m"), unique("gs")
    roster = roster_of(prefix)
    await members(publish, applied, roster, ACME)
    await close(publish, applied, session_id, roster=roster)
    built = {c.charge_id: c for c in await session_charges(runtime, session_id)}

    reopen = reopened_data(session_id, 1)
    await applied(await publish(GROUP_SESSION_REOPENED_V1, reopen, tenant=TENANT))
    await applied(await publish(GROUP_SESSION_REOPENED_V1, reopen, tenant=TENANT))  # again
    voided = await session_charges(runtime, session_id)
    assert {(c.status, c.version) for c in voided} == {("VOID", 2)}
    [_, voided_event] = await outboxed(CHARGES_RECORDED_V1, session_id)
    assert voided_event["data"]["change"] == "VOIDED"
    assert {c["status"] for c in voided_event["data"]["charges"]} == {"VOID"}

    # Closed again with m-6 corrected from LEFT_EARLY to ATTENDED: 6 billable, Medium.
    corrected = [(m, "ATTENDED" if m.endswith("-6") else s) for m, s in roster]
    await close(publish, applied, session_id, roster=corrected, close_sequence=2)
    rebuilt = {c.charge_id: c for c in await session_charges(runtime, session_id)}
    assert set(built) < set(rebuilt) and len(rebuilt) == 6
    for charge_id in built:
        assert (rebuilt[charge_id].version, rebuilt[charge_id].status) == (3, "READY")
        assert rebuilt[charge_id].terms.amount == Decimal("40.00")
        assert rebuilt[charge_id].terms.group.close_sequence == 2
    [_, charged_2] = await outboxed(GROUP_SESSION_CHARGED_V1, session_id)
    assert (charged_2["data"]["close_sequence"], charged_2["data"]["ready_count"]) == (2, 6)


async def test_a_participant_no_longer_billable_at_the_next_close_has_the_charge_voided(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    prefix, session_id = unique("m"), unique("gs")
    roster = roster_of(prefix)
    await members(publish, applied, roster, ACME)
    await close(publish, applied, session_id, roster=roster)
    await applied(
        await publish(GROUP_SESSION_REOPENED_V1, reopened_data(session_id, 1), tenant=TENANT)
    )
    absent = [(m, "ABSENT" if m.endswith("-5") else s) for m, s in roster]
    await close(publish, applied, session_id, roster=absent, close_sequence=2)
    by_member = {c.terms.member_id: c for c in await session_charges(runtime, session_id)}
    assert by_member[f"{prefix}-5"].status == "VOID"
    assert {by_member[f"{prefix}-{n}"].status for n in "1234"} == {"READY"}


async def test_a_pricing_version_effective_next_month_does_not_reprice_this_month(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    # dated-bh: Small $50.00 through 2026-03-31, $60.00 from 2026-04-01.
    prefix = unique("m")
    roster = roster_of(prefix)
    await members(publish, applied, roster, ACME, tenant=DATED_TENANT)
    march, april = unique("gs"), unique("gs")
    await close(
        publish, applied, march, tenant=DATED_TENANT, roster=roster, session_date="2026-03-31"
    )
    await close(
        publish, applied, april, tenant=DATED_TENANT, roster=roster, session_date="2026-04-01"
    )
    march_charges = await session_charges(runtime, march, tenant=DATED_TENANT)
    april_charges = await session_charges(runtime, april, tenant=DATED_TENANT)
    assert {c.terms.amount for c in march_charges} == {Decimal("50.00")}
    assert {c.terms.amount for c in april_charges} == {Decimal("60.00")}
    assert {c.version for c in march_charges} == {1}


async def test_no_coverage_needs_a_fix_until_the_member_event_brings_it(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, outboxed: Outboxed
) -> None:
    prefix, session_id = unique("m"), unique("gs")
    roster = roster_of(prefix)
    await members(publish, applied, roster[:4], ACME)  # m-5 not known yet
    await close(publish, applied, session_id, roster=roster)
    m5 = f"{prefix}-5"
    waiting = {c.terms.member_id: c for c in await session_charges(runtime, session_id)}[m5]
    assert waiting.status == "NEEDS_FIX"
    assert [i.code for i in waiting.terms.issues] == ["NO_ACTIVE_COVERAGE"]
    assert waiting.terms.payer_id is None

    await applied(await publish(MEMBER_UPSERTED_V1, member_data(m5, MEDICAID), tenant=TENANT))
    fixed = {c.terms.member_id: c for c in await session_charges(runtime, session_id)}[m5]
    assert (fixed.status, fixed.version, fixed.terms.issues) == ("READY", 2, ())
    assert (fixed.terms.payer_id, fixed.terms.modifiers) == (MEDICAID, ("HG",))
    [rechecked] = await outboxed(CHARGES_RECORDED_V1, m5)
    assert rechecked["data"]["change"] == "RECHECKED"
    assert [c["charge_id"] for c in rechecked["data"]["charges"]] == [fixed.charge_id]


async def test_a_date_without_a_pricing_version_needs_a_fix_for_missing_rate(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, outboxed: Outboxed
) -> None:
    prefix, session_id = unique("m"), unique("gs")
    roster = roster_of(prefix)
    await members(publish, applied, roster, ACME)
    await close(publish, applied, session_id, roster=roster, session_date="2024-06-03")
    charges = await session_charges(runtime, session_id)
    assert {(c.status, c.terms.issues[0].code) for c in charges} == {("NEEDS_FIX", "MISSING_RATE")}
    [charged] = await outboxed(GROUP_SESSION_CHARGED_V1, session_id)
    assert (charged["data"]["ready_count"], charged["data"]["needs_fix_count"]) == (0, 5)


async def test_two_billable_participants_are_below_the_minimum_and_need_a_fix(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    prefix, session_id = unique("m"), unique("gs")
    roster = [(f"{prefix}-1", "ATTENDED"), (f"{prefix}-2", "LATE"), (f"{prefix}-3", "ABSENT")]
    await members(publish, applied, roster, ACME)
    await close(publish, applied, session_id, roster=roster)
    charges = await session_charges(runtime, session_id)
    assert [[i.code for i in c.terms.issues] for c in charges] == [["GROUP_SIZE_BELOW_MINIMUM"]] * 2


async def test_claims_news_moves_charges_on_claim_billed_and_back_to_ready_in_order(
    runtime: ServiceRuntime, publish: Publish, applied: Applied, outboxed: Outboxed
) -> None:
    prefix, session_id, claim_id = unique("m"), unique("gs"), unique("clm")
    roster = roster_of(prefix)
    await members(publish, applied, roster, ACME)
    await close(publish, applied, session_id, roster=roster)
    charge_id = charge_id_for(TENANT, session_id, f"{prefix}-1")

    async def claim(status: str) -> Charge:
        data = claim_status_data(claim_id, status, [charge_id])
        await applied(await publish(CLAIM_STATUS_CHANGED_V1, data, tenant=TENANT))
        [charge] = [
            c for c in await session_charges(runtime, session_id) if c.charge_id == charge_id
        ]
        return charge

    submitted = await claim("SUBMITTED")
    assert (submitted.status, submitted.version, submitted.claim) == (
        "ON_CLAIM",
        2,
        ClaimHold(claim_id, ClaimStatus.SUBMITTED),
    )
    billed = await claim("ACCEPTED")
    assert (billed.status, billed.version) == ("BILLED", 3)
    late = await claim("SUBMITTED")  # older news arriving after ACCEPTED
    assert (late.status, late.version) == ("BILLED", 3)
    released = await claim("REVERSED")
    assert (released.status, released.version, released.claim) == ("READY", 4, None)
    changes = [e["data"] for e in await outboxed(CHARGES_RECORDED_V1, claim_id)]
    assert [(d["change"], d["charges"][0]["status"]) for d in changes] == [
        ("CLAIMED", "ON_CLAIM"),
        ("CLAIMED", "BILLED"),
        ("CLAIMED", "READY"),
    ]
    assert changes[0]["charges"][0]["claim_id"] == claim_id


async def test_a_reopen_over_a_submitted_claim_is_dead_lettered_and_voids_nothing(
    runtime: ServiceRuntime,
    publish: Publish,
    applied: Applied,
    channel: AbstractChannel,
    topology: Topology,
) -> None:
    prefix, session_id, claim_id = unique("m"), unique("gs"), unique("clm")
    roster = roster_of(prefix)
    await members(publish, applied, roster, ACME)
    await close(publish, applied, session_id, roster=roster)
    charge_id = charge_id_for(TENANT, session_id, f"{prefix}-1")
    data = claim_status_data(claim_id, "SUBMITTED", [charge_id])
    await applied(await publish(CLAIM_STATUS_CHANGED_V1, data, tenant=TENANT))

    reopen = await publish(GROUP_SESSION_REOPENED_V1, reopened_data(session_id), tenant=TENANT)
    dead = await next_dead_letter(channel, topology, "charges")
    assert dead.message_id == reopen.id
    assert dead.headers[HEADER_ERROR_CODE] == "CLAIM_SUBMITTED"
    assert claim_id in str(dead.headers[HEADER_ERROR_REASON])
    assert "VOID" not in {c.status for c in await session_charges(runtime, session_id)}


async def test_a_close_for_a_tenant_without_configuration_is_dead_lettered(
    runtime: ServiceRuntime, publish: Publish, channel: AbstractChannel, topology: Topology
) -> None:
    session_id = unique("gs")
    event = await publish(GROUP_SESSION_CLOSED_V1, closed_data(session_id), tenant="nobody")
    dead = await next_dead_letter(channel, topology, "charges")
    assert (dead.message_id, dead.headers[HEADER_ERROR_CODE]) == (
        event.id,
        "TENANT_NOT_CONFIGURED",
    )
    assert await session_charges(runtime, session_id, tenant="nobody") == []


async def test_the_recorded_and_charged_events_reach_the_broker(
    runtime: ServiceRuntime,
    publish: Publish,
    applied: Applied,
    channel: AbstractChannel,
    topology: Topology,
) -> None:
    exchange = await channel.get_exchange(topology.events_exchange, ensure=False)
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(exchange, routing_key="charges.#")
    prefix, session_id = unique("m"), unique("gs")
    roster = roster_of(prefix)
    await members(publish, applied, roster, ACME)
    await close(publish, applied, session_id, roster=roster)
    seen: set[str] = set()

    async def both() -> set[str] | None:
        message = await queue.get(fail=False, no_ack=True)
        if message is not None:
            event = CloudEvent.model_validate_json(message.body)
            if event.subject == session_id:
                seen.add(event.type)
        return seen if len(seen) == 2 else None

    assert await eventually(both) == {CHARGES_RECORDED_V1, GROUP_SESSION_CHARGED_V1}
