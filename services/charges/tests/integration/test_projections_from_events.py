"""The EHR feed keeps charges' projections current: through the inbox, once per event id,
and never letting an older event overwrite a newer one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import aio_pika

from charges.adapters.db.repository import ProjectionRepository
from charges.domain.projections import CoveragePeriod, Facility, MemberCoverage, Provider
from common.runtime import ServiceRuntime
from contracts.envelope import CloudEvent
from contracts.events import FACILITY_UPSERTED_V1, MEMBER_UPSERTED_V1, PROVIDER_UPSERTED_V1
from contracts.topology import Topology

Publish = Callable[..., Awaitable[CloudEvent]]
Applied = Callable[[CloudEvent], Awaitable[None]]

MORNING = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def member_data(member_id: str, *coverages: dict[str, Any], active: bool = True) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "first_name": "Jane",
        "last_name": "Doe",
        "birth_date": "1970-03-15",
        "sex": "F",
        "active": active,
        "coverages": list(coverages),
    }


def coverage(
    coverage_id: str, payer_id: str, start: str, end: str | None = None, *, primary: bool = True
) -> dict[str, Any]:
    return {
        "coverage_id": coverage_id,
        "payer_id": payer_id,
        "subscriber_id": "MCD000123456",
        "relationship_to_subscriber": "18",
        "is_primary": primary,
        "effective_from": start,
        "effective_to": end,
    }


def provider_data(
    provider_id: str, *, npi: str = "1234567893", active: bool = True
) -> dict[str, Any]:
    return {
        "provider_id": provider_id,
        "npi": npi,
        "first_name": "Sam",
        "last_name": "Lee",
        "taxonomy_code": "101YM0800X",
        "active": active,
    }


def facility_data(facility_id: str, *, state: str, time_zone: str) -> dict[str, Any]:
    return {
        "facility_id": facility_id,
        "name": "Oak House",
        "npi": "1234567893",
        "tax_id": "123456789",
        "address": {
            "line1": "200 Oak Ave",
            "city": "Springfield",
            "state": state,
            "postal_code": "62702",
        },
        "time_zone": time_zone,
        "taxonomy_code": "324500000X",
    }


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def member(
    runtime: ServiceRuntime, member_id: str, tenant: str = "tenant-a"
) -> MemberCoverage | None:
    async with runtime.sessionmaker() as session:
        return await ProjectionRepository(session).get_member(tenant, member_id)


async def provider(runtime: ServiceRuntime, provider_id: str) -> Provider | None:
    async with runtime.sessionmaker() as session:
        return await ProjectionRepository(session).get_provider("tenant-a", provider_id)


async def facility(runtime: ServiceRuntime, facility_id: str) -> Facility | None:
    async with runtime.sessionmaker() as session:
        return await ProjectionRepository(session).get_facility("tenant-a", facility_id)


async def test_a_member_upsert_keeps_the_member_and_its_coverage_periods(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    member_id = unique("m")
    event = await publish(
        MEMBER_UPSERTED_V1,
        member_data(
            member_id,
            coverage("cov-1", "medicaid", "2026-01-01", "2026-03-31"),
            coverage("cov-2", "commercial", "2026-01-01", primary=False),
        ),
    )
    await applied(event)
    assert await member(runtime, member_id) == MemberCoverage(
        member_id,
        True,
        (
            CoveragePeriod("cov-1", "medicaid", "18", True, date(2026, 1, 1), date(2026, 3, 31)),
            CoveragePeriod("cov-2", "commercial", "18", False, date(2026, 1, 1), None),
        ),
    )


async def test_the_member_is_kept_under_its_own_tenant_only(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    member_id = unique("m")
    await applied(await publish(MEMBER_UPSERTED_V1, member_data(member_id), tenant="tenant-b"))
    assert await member(runtime, member_id, tenant="tenant-a") is None
    assert await member(runtime, member_id, tenant="tenant-b") is not None


async def test_a_newer_upsert_replaces_the_coverage_periods(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    member_id = unique("m")
    await applied(
        await publish(
            MEMBER_UPSERTED_V1,
            member_data(member_id, coverage("cov-1", "medicaid", "2026-01-01")),
            time=MORNING,
        )
    )
    await applied(
        await publish(
            MEMBER_UPSERTED_V1,
            member_data(
                member_id,
                coverage("cov-1", "medicaid", "2026-01-01", "2026-03-31"),
                coverage("cov-3", "mco", "2026-04-01"),
                active=False,
            ),
            time=NOON,
        )
    )
    kept = await member(runtime, member_id)
    assert kept is not None
    assert kept.active is False
    assert [(c.coverage_id, c.effective_to) for c in kept.coverages] == [
        ("cov-1", date(2026, 3, 31)),
        ("cov-3", None),
    ]


async def test_an_older_upsert_arriving_late_changes_nothing(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    member_id = unique("m")
    await applied(
        await publish(
            MEMBER_UPSERTED_V1,
            member_data(member_id, coverage("cov-2", "mco", "2026-04-01")),
            time=NOON,
        )
    )
    late = await publish(
        MEMBER_UPSERTED_V1,
        member_data(member_id, coverage("cov-1", "medicaid", "2026-01-01"), active=False),
        time=MORNING,
    )
    await applied(late)
    kept = await member(runtime, member_id)
    assert kept is not None
    assert kept.active is True
    assert [c.payer_id for c in kept.coverages] == ["mco"]


async def test_a_redelivered_event_id_changes_nothing(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    member_id = unique("m")
    first = await publish(
        MEMBER_UPSERTED_V1,
        member_data(member_id, coverage("cov-1", "medicaid", "2026-01-01")),
        time=MORNING,
    )
    await applied(first)
    # Same id, later time and other content: a duplicate is recognised by its id alone.
    await publish(
        MEMBER_UPSERTED_V1,
        member_data(member_id, coverage("cov-9", "other", "2026-01-01"), active=False),
        event_id=first.id,
        time=NOON,
    )
    # Deliveries are applied in order (prefetch 1): once this one is in, the duplicate was seen.
    await applied(await publish(MEMBER_UPSERTED_V1, member_data(unique("m"))))
    kept = await member(runtime, member_id)
    assert kept is not None
    assert kept.active is True
    assert [c.payer_id for c in kept.coverages] == ["medicaid"]


async def test_a_provider_upsert_keeps_npi_and_active_flag(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    provider_id = unique("p")
    await applied(await publish(PROVIDER_UPSERTED_V1, provider_data(provider_id), time=MORNING))
    await applied(
        await publish(PROVIDER_UPSERTED_V1, provider_data(provider_id, active=False), time=NOON)
    )
    assert await provider(runtime, provider_id) == Provider(provider_id, "1234567893", False)


async def test_an_older_provider_upsert_arriving_late_changes_nothing(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    provider_id = unique("p")
    await applied(await publish(PROVIDER_UPSERTED_V1, provider_data(provider_id), time=NOON))
    await applied(
        await publish(PROVIDER_UPSERTED_V1, provider_data(provider_id, active=False), time=MORNING)
    )
    assert await provider(runtime, provider_id) == Provider(provider_id, "1234567893", True)


async def test_a_facility_upsert_keeps_state_and_time_zone(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    facility_id = unique("f")
    await applied(
        await publish(
            FACILITY_UPSERTED_V1,
            facility_data(facility_id, state="IL", time_zone="America/Chicago"),
            time=MORNING,
        )
    )
    await applied(
        await publish(
            FACILITY_UPSERTED_V1,
            facility_data(facility_id, state="NY", time_zone="America/New_York"),
            time=NOON,
        )
    )
    assert await facility(runtime, facility_id) == Facility(facility_id, "NY", "America/New_York")


async def test_an_older_facility_upsert_arriving_late_changes_nothing(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    facility_id = unique("f")
    await applied(
        await publish(
            FACILITY_UPSERTED_V1,
            facility_data(facility_id, state="NY", time_zone="America/New_York"),
            time=NOON,
        )
    )
    await applied(
        await publish(
            FACILITY_UPSERTED_V1,
            facility_data(facility_id, state="IL", time_zone="America/Chicago"),
            time=MORNING,
        )
    )
    assert await facility(runtime, facility_id) == Facility(facility_id, "NY", "America/New_York")


async def test_a_member_with_two_primaries_at_once_is_dead_lettered_with_its_code(
    runtime: ServiceRuntime, publish: Publish, topology: Topology, rcm_amqp_url: str
) -> None:
    member_id = unique("m")
    event = await publish(
        MEMBER_UPSERTED_V1,
        member_data(
            member_id,
            coverage("cov-1", "medicaid", "2026-01-01"),
            coverage("cov-2", "mco", "2026-02-01"),
        ),
    )
    connection = await aio_pika.connect(rcm_amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(topology.dead_letter_queue("charges"))
        for _ in range(200):
            message = await queue.get(no_ack=True, fail=False)
            if message is not None and message.message_id == event.id:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("not dead-lettered")
    assert message.headers["x-rcm-error-code"] == "SCHEMA_INVALID"
    assert await member(runtime, member_id) is None
