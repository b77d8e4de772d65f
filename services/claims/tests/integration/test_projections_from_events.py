"""The EHR feed and the stays service keep claims' projections current: through the inbox,
once per event id, and never letting an older version overwrite a newer one."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

from claims.adapters.db.repository import ProjectionRepository
from claims.domain.projections import (
    Admission,
    ClaimMember,
    Coverage,
    Discharge,
    Facility,
    Leave,
    Person,
    PostalAddress,
    Procedure,
    Provider,
    StayContext,
    StayStatus,
)
from common.runtime import ServiceRuntime
from contracts.envelope import CloudEvent
from contracts.events import (
    FACILITY_UPSERTED_V1,
    MEMBER_UPSERTED_V1,
    PROVIDER_UPSERTED_V1,
    STAYS_STAY_ADMITTED_V1,
    STAYS_STAY_DISCHARGED_V1,
    STAYS_STAY_LEAVE_STARTED_V1,
)

Publish = Callable[..., Awaitable[CloudEvent]]
Applied = Callable[[CloudEvent], Awaitable[None]]

MORNING = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EVENING = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)

HOME = {"line1": "100 Main St", "city": "Springfield", "state": "IL", "postal_code": "62701-0001"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def member_data(member_id: str, *, last_name: str = "Doe", **extra: Any) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "first_name": "Jane",
        "last_name": last_name,
        "birth_date": "1970-03-15",
        "sex": "F",
        "address": HOME,
        "coverages": [
            {
                "coverage_id": "cov-own",
                "payer_id": "medicaid",
                "subscriber_id": "MCD000123456",
                "relationship_to_subscriber": "18",
                "is_primary": True,
                "effective_from": "2026-01-01",
            },
            {
                "coverage_id": "cov-spouse",
                "payer_id": "commercial",
                "subscriber_id": "XYZ987",
                "relationship_to_subscriber": "01",
                "subscriber": {
                    "first_name": "John",
                    "last_name": "Doe",
                    "birth_date": "1968-07-04",
                    "sex": "M",
                    "address": HOME,
                },
                "is_primary": False,
                "effective_from": "2026-01-01",
                "effective_to": "2026-12-31",
                "group_number": "GRP-7",
            },
        ],
        **extra,
    }


def stay_data(stay_id: str, version: int, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "stay_id": stay_id,
        "stay_version": version,
        "member_id": "m-1",
        "facility_id": "f-1",
        "program_id": "residential",
        "status": "ADMITTED",
        "admission": {
            "admit_date": "2026-01-10",
            "admit_hour": 14,
            "admission_type": "3",
            "admission_source": "1",
            "principal_diagnosis": "F33.1",
            "admitting_diagnosis": "F32.9",
            "other_diagnoses": ["F41.1"],
            "drg": "885",
            "procedures": [{"code": "GZ3ZZZZ", "performed_on": "2026-01-11"}],
        },
        "leaves": [],
    }
    data.update(changes)
    return data


async def repository_get(
    runtime: ServiceRuntime, what: str, record_id: str, tenant: str = "tenant-a"
) -> Any:
    async with runtime.sessionmaker() as session:
        repository = ProjectionRepository(session)
        getter = getattr(repository, f"get_{what}")
        return await getter(tenant, record_id)


async def test_a_member_upsert_keeps_what_the_subscriber_and_patient_loops_print(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    member_id = unique("m")
    await applied(await publish(MEMBER_UPSERTED_V1, member_data(member_id, middle_name="Q")))
    home = PostalAddress("100 Main St", "Springfield", "IL", "627010001")
    assert await repository_get(runtime, "member", member_id) == ClaimMember(
        member_id=member_id,
        active=True,
        person=Person("Jane", "Doe", date(1970, 3, 15), "F", middle_name="Q", address=home),
        coverages=(
            Coverage("cov-own", "medicaid", "MCD000123456", "18", True, date(2026, 1, 1)),
            Coverage(
                "cov-spouse",
                "commercial",
                "XYZ987",
                "01",
                False,
                date(2026, 1, 1),
                date(2026, 12, 31),
                group_number="GRP-7",
                subscriber=Person("John", "Doe", date(1968, 7, 4), "M", address=home),
            ),
        ),
    )


async def test_an_older_member_upsert_arriving_late_changes_nothing(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    member_id = unique("m")
    await applied(
        await publish(MEMBER_UPSERTED_V1, member_data(member_id, last_name="Smith"), time=NOON)
    )
    await applied(await publish(MEMBER_UPSERTED_V1, member_data(member_id), time=MORNING))
    kept = await repository_get(runtime, "member", member_id)
    assert kept.person.last_name == "Smith"


async def test_a_newer_member_upsert_replaces_demographics_and_coverages(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    member_id = unique("m")
    await applied(await publish(MEMBER_UPSERTED_V1, member_data(member_id), time=MORNING))
    await applied(
        await publish(
            MEMBER_UPSERTED_V1,
            member_data(member_id, last_name="Smith", coverages=[], active=False),
            time=NOON,
        )
    )
    kept = await repository_get(runtime, "member", member_id)
    assert (kept.person.last_name, kept.active, kept.coverages) == ("Smith", False, ())


async def test_a_redelivered_event_id_changes_nothing(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    member_id = unique("m")
    first = await publish(MEMBER_UPSERTED_V1, member_data(member_id), time=MORNING)
    await applied(first)
    await publish(
        MEMBER_UPSERTED_V1, member_data(member_id, last_name="Smith"), event_id=first.id, time=NOON
    )
    # Deliveries are applied in order (prefetch 1): once this one is in, the duplicate was seen.
    await applied(await publish(MEMBER_UPSERTED_V1, member_data(unique("m"))))
    kept = await repository_get(runtime, "member", member_id)
    assert kept.person.last_name == "Doe"


async def test_a_provider_upsert_keeps_npi_name_and_taxonomy(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    provider_id = unique("p")
    data = {
        "provider_id": provider_id,
        "npi": "1234567893",
        "first_name": "Sam",
        "last_name": "Lee",
        "credential": "LCSW",
        "taxonomy_code": "1041c0700x",
        "active": True,
    }
    await applied(await publish(PROVIDER_UPSERTED_V1, data, time=NOON))
    await applied(await publish(PROVIDER_UPSERTED_V1, data | {"last_name": "Old"}, time=MORNING))
    assert await repository_get(runtime, "provider", provider_id) == Provider(
        provider_id, "1234567893", "Sam", "Lee", "1041C0700X", True, credential="LCSW"
    )


async def test_a_facility_upsert_keeps_npi_tax_id_address_and_zone(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    facility_id = unique("f")
    data = {
        "facility_id": facility_id,
        "name": "Oak House",
        "npi": "1234567893",
        "tax_id": "123456789",
        "address": {
            "line1": "200 Oak Ave",
            "city": "Springfield",
            "state": "IL",
            "postal_code": "62702",
        },
        "time_zone": "America/Chicago",
        "taxonomy_code": "324500000X",
    }
    await applied(await publish(FACILITY_UPSERTED_V1, data, time=NOON))
    await applied(await publish(FACILITY_UPSERTED_V1, data | {"name": "Old Name"}, time=MORNING))
    assert await repository_get(runtime, "facility", facility_id) == Facility(
        facility_id,
        "Oak House",
        "1234567893",
        "123456789",
        PostalAddress("200 Oak Ave", "Springfield", "IL", "62702"),
        "America/Chicago",
        "324500000X",
        True,
    )


async def test_a_stay_admission_becomes_the_stay_context(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    stay_id = unique("s")
    await applied(await publish(STAYS_STAY_ADMITTED_V1, stay_data(stay_id, 1)))
    assert await repository_get(runtime, "stay", stay_id) == StayContext(
        stay_id=stay_id,
        stay_version=1,
        member_id="m-1",
        facility_id="f-1",
        program_id="residential",
        status=StayStatus.ADMITTED,
        admission=Admission(
            admit_date=date(2026, 1, 10),
            admit_hour=14,
            admission_type="3",
            admission_source="1",
            principal_diagnosis="F331",
            admitting_diagnosis="F329",
            other_diagnoses=("F411",),
            drg="885",
            procedures=(Procedure("GZ3ZZZZ", date(2026, 1, 11)),),
        ),
    )


async def test_later_stay_versions_bring_leaves_and_the_discharge(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    stay_id = unique("s")
    leave = {
        "leave_id": "loa-1",
        "start_date": "2026-01-20",
        "return_date": "2026-01-23",
        "reason": "THERAPEUTIC",
    }
    await applied(await publish(STAYS_STAY_ADMITTED_V1, stay_data(stay_id, 1)))
    await applied(
        await publish(
            STAYS_STAY_LEAVE_STARTED_V1,
            stay_data(stay_id, 2, leaves=[leave | {"return_date": None}], leave_id="loa-1"),
        )
    )
    await applied(
        await publish(
            STAYS_STAY_DISCHARGED_V1,
            stay_data(
                stay_id,
                4,
                status="DISCHARGED",
                leaves=[leave],
                discharge={
                    "discharge_date": "2026-02-03",
                    "discharge_hour": 10,
                    "patient_status": "01",
                },
            ),
        )
    )
    kept = await repository_get(runtime, "stay", stay_id)
    assert kept.stay_version == 4
    assert kept.status is StayStatus.DISCHARGED
    assert kept.leaves == (Leave("loa-1", date(2026, 1, 20), "THERAPEUTIC", date(2026, 1, 23)),)
    assert kept.discharge == Discharge(date(2026, 2, 3), 10, "01")


async def test_an_older_stay_version_never_overwrites_a_newer_one(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    """Version 1 arriving after version 2, with a later event time: version 2 stays."""
    stay_id = unique("s")
    leave = {"leave_id": "loa-1", "start_date": "2026-01-20", "reason": "OTHER"}
    await applied(
        await publish(
            STAYS_STAY_LEAVE_STARTED_V1,
            stay_data(stay_id, 2, leaves=[leave], leave_id="loa-1"),
            time=MORNING,
        )
    )
    await applied(await publish(STAYS_STAY_ADMITTED_V1, stay_data(stay_id, 1), time=EVENING))
    kept = await repository_get(runtime, "stay", stay_id)
    assert (kept.stay_version, len(kept.leaves)) == (2, 1)


async def test_projections_are_kept_per_tenant(
    runtime: ServiceRuntime, publish: Publish, applied: Applied
) -> None:
    member_id = unique("m")
    await applied(await publish(MEMBER_UPSERTED_V1, member_data(member_id), tenant="tenant-b"))
    assert await repository_get(runtime, "member", member_id, tenant="tenant-a") is None
    assert await repository_get(runtime, "member", member_id, tenant="tenant-b") is not None
