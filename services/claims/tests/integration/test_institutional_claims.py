"""Per-diem stays become 837I cycle claims (SPEC 6, SPEC 12 vectors 2 and 3) through the
real broker and database: stay events (stays.stay.*, the whole stay each time) and day
charges (charges.charges.recorded.v1, PER_DIEM) are fed as the stays and charges services
send them; claims cut the stay into cycles, build each closed cycle once its days are
READY, submit at once in the sample tenant (auto_submit_claims: true), and mark STALE what
a late stay event lands on.

Tenant ``demo-bh``: program ``residential`` (MONTHLY, TOB 86, 1001 at $300.00, LOA 0183 at
$0.00, discharge day not billed) and ``adult-day`` (WEEKLY, TOB 89, 3103 at $85.00,
discharge day billed). ``demo-bh-manual`` is the same without auto-submit."""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from claims.adapters.db.institutional_repository import InstitutionalRepository
from claims.adapters.db.tables import CLAIM_CHARGE
from claims.adapters.reference_data import PACKAGED
from claims.bootstrap import build_runtime
from claims.domain.code_sets import PatternDiagnosisCodeSet
from claims.entrypoints.cli import refresh
from claims.service_layer import institutional_claims
from claims.service_layer.dependencies import ClaimsDependencies
from claims.service_layer.institutional_claims import close_cycles_due
from claims.settings import ClaimsSettings
from common.outbox import OUTBOX
from common.runtime import ServiceRuntime
from common.testing.messages import bearer as bearer_header
from common.testing.processes import SAMPLE_TENANTS
from contracts.envelope import CloudEvent
from contracts.events import (
    CHARGES_RECORDED_V1,
    CLAIM_STATUS_CHANGED_V1,
    CLAIM_SUBMITTED_V1,
    CLAIM_WITHDRAWAL_REQUESTED_V1,
    EDI_CLAIM_REJECTED_V1,
    EDI_CLAIM_WITHDRAWAL_ANSWERED_V1,
    FACILITY_UPSERTED_V1,
    MEMBER_UPSERTED_V1,
    STAY_CHARGED_V1,
    STAYS_STAY_ADMITTED_V1,
    STAYS_STAY_CORRECTED_V1,
    STAYS_STAY_DISCHARGED_V1,
    STAYS_STAY_LEAVE_ENDED_V1,
    STAYS_STAY_LEAVE_STARTED_V1,
)
from contracts.topology import Topology

Publish = Callable[..., Awaitable[CloudEvent]]
Applied = Callable[[CloudEvent], Awaitable[None]]
Send = Callable[..., Awaitable[CloudEvent]]
Token = Callable[..., str]

SAMPLES = SAMPLE_TENANTS.parent
TENANT = "demo-bh"
MANUAL = "demo-bh-manual"
ON_REQUEST = "demo-bh-on-request"  # programs that build a closed cycle only when asked
FACILITY = "fac-springfield-res"
READ = ["billing.claim.read"]
WRITE = ["billing.claim.read", "billing.claim.write"]
ONE_DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def settings(
    service_settings: Callable[..., ClaimsSettings],
    schema: str,
    topology: Topology,
    tmp_path_factory: pytest.TempPathFactory,
) -> ClaimsSettings:
    folder: Path = tmp_path_factory.mktemp("tenants")
    text = (SAMPLE_TENANTS / f"{TENANT}.yaml").read_text()
    (folder / f"{TENANT}.yaml").write_text(text)
    manual = text.replace(f"tenant_id: {TENANT}", f"tenant_id: {MANUAL}", 1)
    manual = manual.replace("auto_submit_claims: true", "auto_submit_claims: false", 1)
    assert "auto_submit_claims: false" in manual
    (folder / f"{MANUAL}.yaml").write_text(manual)
    on_request = manual.replace(f"tenant_id: {MANUAL}", f"tenant_id: {ON_REQUEST}", 1)
    on_request = on_request.replace(
        "auto_build_on_cycle_close: true", "auto_build_on_cycle_close: false"
    )
    assert on_request.count("auto_build_on_cycle_close: false") == 2
    (folder / f"{ON_REQUEST}.yaml").write_text(on_request)
    return service_settings(
        ClaimsSettings,
        db_schema=schema,
        topology_prefix=topology.prefix,
        prefetch=1,
        tenant_config_dir=folder,
    )


@pytest.fixture(scope="module")
async def runtime(settings: ClaimsSettings) -> AsyncIterator[ServiceRuntime]:
    # The time-driven check is driven by the tests (with their own clock), not a loop.
    runtime = build_runtime(settings, background=False)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


@pytest.fixture
def send(publish: Publish, applied: Applied) -> Send:
    """Publish an event and wait until the consumer has applied it."""

    async def send(event_type: str, data: dict[str, Any], **kwargs: Any) -> CloudEvent:
        kwargs.setdefault("tenant", TENANT)
        event = await publish(event_type, data, **kwargs)
        await applied(event)
        return event

    return send


# --------------------------------------------------------------------------- feeds


def run_id() -> str:
    return uuid.uuid4().hex[:8]


def sample(event_type: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / f"{event_type}.json").read_text())["data"]
    return copy.deepcopy(data)


def member_data(member_id: str, enrollments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    data = sample(MEMBER_UPSERTED_V1)
    data["member_id"] = member_id
    own = data["coverages"][0]  # il-medicaid, self, since 2025-01-01
    own.update(coverage_id=f"cov-{member_id}", subscriber_id=f"MCD{member_id[-8:].upper()}")
    data["coverages"] = [own]
    data["program_enrollments"] = enrollments or []
    return data


def stay_data(
    stay_id: str,
    member_id: str,
    version: int,
    *,
    admit: str = "2026-01-10",
    program: str = "residential",
    leaves: tuple[tuple[str, str, str | None], ...] = (),
    discharge: tuple[str, int, str] | None = None,
    drg: str | None = "885",
) -> dict[str, Any]:
    return {
        "stay_id": stay_id,
        "stay_version": version,
        "member_id": member_id,
        "facility_id": FACILITY,
        "program_id": program,
        "status": "DISCHARGED" if discharge else "ADMITTED",
        "admission": {
            "admit_date": admit,
            "admit_hour": 14,
            "admission_type": "3",
            "admission_source": "1",
            "principal_diagnosis": "F33.2",
            "admitting_diagnosis": "F33.2",
            "other_diagnoses": ["F41.1"],
            "drg": drg,
            "procedures": [{"code": "GZHZZZZ", "performed_on": admit}],
        },
        "leaves": [
            {
                "leave_id": leave_id,
                "start_date": start,
                "return_date": back,
                "reason": "THERAPEUTIC",
            }
            for leave_id, start, back in leaves
        ],
        "discharge": None
        if discharge is None
        else {
            "discharge_date": discharge[0],
            "discharge_hour": discharge[1],
            "patient_status": discharge[2],
        },
    }


def days(first: str, last: str) -> list[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def day_charge(
    stay_id: str,
    member_id: str,
    day: date,
    *,
    leave: bool = False,
    version: int = 1,
    program: str = "residential",
    code: str = "1001",
    rate: str = "300.00",
    status: str = "READY",
    stay_version: int = 1,
) -> dict[str, Any]:
    """One day charge as the charges service writes it: id stable per (stay, date), written
    from ``stay_version`` of the stay."""
    charge: dict[str, Any] = {
        "charge_id": f"dc-{stay_id}-{day.isoformat()}",
        "charge_version": version,
        "kind": "PER_DIEM",
        "filing_type": "INSTITUTIONAL",
        "status": status,
        "issues": [{"code": "NO_ACTIVE_COVERAGE", "message": "no coverage"}]
        if status == "NEEDS_FIX"
        else [],
        "member_id": member_id,
        "program_id": program,
        "facility_id": FACILITY,
        "payer_id": None if status == "NEEDS_FIX" else "il-medicaid",
        "coverage_id": f"cov-{member_id}",
        "date_of_service": day.isoformat(),
        "revenue_code": "0183" if leave else code,
        "units": "1",
        "unit_basis": "DA",
        "rate": "0.00" if leave else rate,
        "amount": "0.00" if leave else rate,
        "covered": not leave,
        "source": {"kind": "STAY", "id": stay_id, "sequence": stay_version},
    }
    return charge


def recorded(charges: list[dict[str, Any]], change: str = "BUILT") -> dict[str, Any]:
    return {"change": change, "reason": None, "charges": charges}


def stay_charged(
    stay_id: str, stay_version: int, changed: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The charges service's word that the stay's days are in line with ``stay_version``,
    with the day charges that version changed."""
    return {
        "stay_id": stay_id,
        "stay_version": stay_version,
        "changed": [
            {k: c[k] for k in ("charge_id", "charge_version", "date_of_service")}
            for c in changed or []
        ],
    }


def january_and_february(
    stay_id: str, member_id: str, *, with_leave: bool, stay_version: int = 4
) -> list[dict[str, Any]]:
    """Vector 2's day charges: 2026-01-10 .. 2026-02-02 (02-03 is the discharge day), as
    written from the stay's last version (``vector_2_stay``'s fourth)."""
    leave = set(days("2026-01-20", "2026-01-22")) if with_leave else set()
    return [
        day_charge(stay_id, member_id, d, leave=d in leave, stay_version=stay_version)
        for d in days("2026-01-10", "2026-02-02")
    ]


def bearer(token: Token, tenant: str = TENANT, scopes: list[str] = WRITE) -> dict[str, str]:
    return bearer_header(token(tenant=tenant, scopes=scopes))


async def stay_claims(
    client: httpx.AsyncClient, token: Token, stay_id: str, tenant: str = TENANT
) -> list[dict[str, Any]]:
    response = await client.get(
        "/v1/claims", params={"stay_id": stay_id}, headers=bearer(token, tenant, READ)
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return sorted(items, key=lambda c: c["period_from"])


async def detail(
    client: httpx.AsyncClient, token: Token, claim_id: str, tenant: str = TENANT
) -> dict[str, Any]:
    response = await client.get(f"/v1/claims/{claim_id}", headers=bearer(token, tenant, READ))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def outbox(runtime: ServiceRuntime, event_type: str, claim_id: str) -> list[dict[str, Any]]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(OUTBOX.c.payload).where(OUTBOX.c.event_type == event_type).order_by(OUTBOX.c.id)
        )
        return [p["data"] for (p,) in rows if p["data"]["claim_id"] == claim_id]


async def known_member_and_facility(
    send: Send, member_id: str, tenant: str = TENANT, **member: Any
) -> None:
    await send(MEMBER_UPSERTED_V1, member_data(member_id, **member), tenant=tenant)
    await send(FACILITY_UPSERTED_V1, sample(FACILITY_UPSERTED_V1), tenant=tenant)


async def vector_2_stay(send: Send, stay_id: str, member_id: str, tenant: str = TENANT) -> None:
    """Admitted 2026-01-10, away 01-20 back 01-23, discharged home (01) 2026-02-03."""
    leave = (("loa-1", "2026-01-20", None),)
    back = (("loa-1", "2026-01-20", "2026-01-23"),)
    await send(STAYS_STAY_ADMITTED_V1, stay_data(stay_id, member_id, 1), tenant=tenant)
    await send(
        STAYS_STAY_LEAVE_STARTED_V1,
        {**stay_data(stay_id, member_id, 2, leaves=leave), "leave_id": "loa-1"},
        tenant=tenant,
    )
    await send(
        STAYS_STAY_LEAVE_ENDED_V1,
        {**stay_data(stay_id, member_id, 3, leaves=back), "leave_id": "loa-1"},
        tenant=tenant,
    )
    await send(
        STAYS_STAY_DISCHARGED_V1,
        stay_data(stay_id, member_id, 4, leaves=back, discharge=("2026-02-03", 10, "01")),
        tenant=tenant,
    )


# --------------------------------------------------------------------------- vector 2


async def test_vector_2_a_monthly_stay_with_a_leave_makes_two_837i_claims_submitted_at_once(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    await known_member_and_facility(send, member_id)
    await vector_2_stay(send, stay_id, member_id)
    assert await stay_claims(client, token, stay_id) == []  # no day charge yet: nothing built
    await send(
        CHARGES_RECORDED_V1, recorded(january_and_february(stay_id, member_id, with_leave=True))
    )

    january, february = await stay_claims(client, token, stay_id)
    assert (january["status"], february["status"]) == ("SUBMITTED", "SUBMITTED")
    assert january["transaction_type"] == "837I" and january["stay_id"] == stay_id

    [jan] = await outbox(runtime, CLAIM_SUBMITTED_V1, january["claim_id"])
    detail_jan = jan["institutional"]
    assert jan["transaction_type"] == "837I" and jan["service_lines"] == []
    assert f"{detail_jan['type_of_bill']}:A:{jan['frequency_code']}" == "86:A:2"
    assert detail_jan["statement_period"] == {"start": "2026-01-10", "end": "2026-01-31"}
    assert detail_jan["patient_status"] == "30"
    assert [(v["code"], v["amount"]) for v in detail_jan["value_codes"]] == [
        ("80", "19"),
        ("81", "3"),
    ]
    assert detail_jan["occurrence_spans"] == [
        {"code": "74", "start": "2026-01-20", "end": "2026-01-22"}
    ]
    assert detail_jan["occurrences"] == []
    assert [
        (ln["revenue_code"], ln["units"], ln["unit_basis"], ln["amount"])
        for ln in detail_jan["service_lines"]
    ] == [("1001", "19", "DA", "5700.00"), ("0183", "3", "DA", "0.00")]
    assert jan["total_charge"] == "5700.00"
    assert (detail_jan["admission_date"], detail_jan["admission_hour"]) == ("2026-01-10", 14)
    assert detail_jan["discharge_hour"] is None  # only on the final claim
    assert (detail_jan["drg"], detail_jan["principal_diagnosis"]) == ("885", "F332")
    assert detail_jan["other_diagnoses"] == ["F411"]
    assert detail_jan["principal_procedure"] == {"code": "GZHZZZZ", "performed_on": "2026-01-10"}
    assert jan["billing_provider"]["npi"] == "1999999984"  # the tenant's, not the facility's
    assert jan["subscriber"]["subscriber_id"] == f"MCD{member_id[-8:].upper()}"
    assert jan["source"]["stay_id"] == stay_id

    [feb] = await outbox(runtime, CLAIM_SUBMITTED_V1, february["claim_id"])
    detail_feb = feb["institutional"]
    assert f"{detail_feb['type_of_bill']}:A:{feb['frequency_code']}" == "86:A:4"
    assert detail_feb["statement_period"] == {"start": "2026-02-01", "end": "2026-02-03"}
    assert detail_feb["patient_status"] == "01"
    assert [(v["code"], v["amount"]) for v in detail_feb["value_codes"]] == [
        ("80", "2"),
        ("81", "0"),
    ]
    assert detail_feb["occurrence_spans"] == []  # no span 74 without non-covered days
    assert detail_feb["occurrences"] == []  # through date is the discharge date: no 42
    assert [
        (ln["revenue_code"], ln["units"], ln["unit_basis"], ln["amount"])
        for ln in detail_feb["service_lines"]
    ] == [("1001", "2", "DA", "600.00")]
    assert detail_feb["discharge_hour"] == 10
    assert detail_feb["admission_date"] == "2026-01-10"  # the original admission, every cycle

    # Built READY and submitted in one transaction: announced once, as submitted (charges
    # would otherwise mark the same 22 days twice); the claim's history keeps both steps.
    changes = await outbox(runtime, CLAIM_STATUS_CHANGED_V1, january["claim_id"])
    assert [(c["previous_status"], c["status"]) for c in changes] == [(None, "SUBMITTED")]
    assert len(changes[0]["charge_ids"]) == 22 and changes[0]["source"]["stay_id"] == stay_id
    history = (await detail(client, token, january["claim_id"]))["status_history"]
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "READY"),
        ("READY", "SUBMITTED"),
    ]


async def built_once_with_the_leave(
    runtime: ServiceRuntime, client: httpx.AsyncClient, token: Token, stay_id: str
) -> None:
    """Vector 2's January and February, each built once and submitted, never STALE, and
    January billing the three leave days as non-covered."""
    january, february = await stay_claims(client, token, stay_id)
    assert (january["status"], february["status"]) == ("SUBMITTED", "SUBMITTED")
    assert (january["claim_version"], february["claim_version"]) == (1, 1)
    history = (await detail(client, token, january["claim_id"]))["status_history"]
    assert "STALE" not in {h["to_status"] for h in history}
    [submitted] = await outbox(runtime, CLAIM_SUBMITTED_V1, january["claim_id"])
    assert [(v["code"], v["amount"]) for v in submitted["institutional"]["value_codes"]] == [
        ("80", "19"),
        ("81", "3"),
    ]


async def test_day_charges_written_from_a_newer_stay_wait_for_it_and_the_claim_is_built_once(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    """The charges service heard of the leave (stay version 2) and wrote the days from it
    before this service's copy of that stay event arrived: the cycles wait for the stay
    instead of being built without the leave and going STALE when it lands (#10)."""
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    back = (("loa-1", "2026-01-20", "2026-01-23"),)
    discharged = ("2026-02-03", 10, "01")
    await known_member_and_facility(send, member_id)
    await send(STAYS_STAY_DISCHARGED_V1, stay_data(stay_id, member_id, 1, discharge=discharged))
    written_from_v2 = [
        {**charge, "source": {**charge["source"], "sequence": 2}}
        for charge in january_and_february(stay_id, member_id, with_leave=True)
    ]
    await send(CHARGES_RECORDED_V1, recorded(written_from_v2))
    assert await stay_claims(client, token, stay_id) == []

    await send(
        STAYS_STAY_LEAVE_ENDED_V1,
        {
            **stay_data(stay_id, member_id, 2, leaves=back, discharge=discharged),
            "leave_id": "loa-1",
        },
    )
    await built_once_with_the_leave(runtime, client, token, stay_id)


async def test_a_stay_version_the_charges_service_said_it_applied_is_waited_for(
    send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    """The charges service wrote the days from stay version 1, then applied version 2 and
    changed no day, and says so (that word overtaking the days); this service has only
    version 1: the cycle waits for version 2's event rather than bill a stay it knows is
    outdated (#10)."""
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    discharged = ("2026-02-03", 10, "01")
    await known_member_and_facility(send, member_id)
    await send(STAYS_STAY_DISCHARGED_V1, stay_data(stay_id, member_id, 1, discharge=discharged))
    await send(STAY_CHARGED_V1, stay_charged(stay_id, 2))
    from_v1 = january_and_february(stay_id, member_id, with_leave=False, stay_version=1)
    await send(CHARGES_RECORDED_V1, recorded(from_v1))
    assert await stay_claims(client, token, stay_id) == []

    await send(
        STAYS_STAY_CORRECTED_V1,
        {
            **stay_data(stay_id, member_id, 2, discharge=discharged, drg="886"),
            "correction_kind": "ADMISSION_CHANGED",
            "affected_from": "2026-01-10",
            "affected_through": "2026-01-10",
        },
    )
    january, february = await stay_claims(client, token, stay_id)
    assert (january["claim_version"], february["claim_version"]) == (1, 1)


async def test_days_written_from_an_older_stay_wait_for_the_charges_service_to_apply_the_newer(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    """The other way round (#10): this service has the leave (stay version 2) while the
    charges service's days are still version 1's, without it. No cycle is built until that
    service says it applied version 2 and the days it rewrote for it are here, whichever
    of the two comes first; the claims are then built once, with the leave."""
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    discharged = ("2026-02-03", 10, "01")
    leave = (("loa-1", "2026-01-20", "2026-01-23"),)
    await known_member_and_facility(send, member_id)
    await send(STAYS_STAY_ADMITTED_V1, stay_data(stay_id, member_id, 1))
    await send(
        STAYS_STAY_DISCHARGED_V1,
        stay_data(stay_id, member_id, 2, leaves=leave, discharge=discharged),
    )
    from_v1 = january_and_february(stay_id, member_id, with_leave=False, stay_version=1)
    await send(CHARGES_RECORDED_V1, recorded(from_v1))
    await send(STAY_CHARGED_V1, stay_charged(stay_id, 1, from_v1))
    assert await stay_claims(client, token, stay_id) == []

    rewritten = [
        day_charge(stay_id, member_id, d, leave=True, version=2, stay_version=2)
        for d in days("2026-01-20", "2026-01-22")
    ]
    # Its word on version 2 overtakes the rewritten days: February, which the leave does
    # not touch, is built; January waits for its three days.
    await send(STAY_CHARGED_V1, stay_charged(stay_id, 2, rewritten))
    assert [c["period_from"] for c in await stay_claims(client, token, stay_id)] == ["2026-02-01"]

    await send(CHARGES_RECORDED_V1, recorded(rewritten, change="FIXED"))
    await built_once_with_the_leave(runtime, client, token, stay_id)


async def test_the_claim_shows_its_institutional_context_and_per_diem_day_calculation(
    send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    await known_member_and_facility(send, member_id)
    await vector_2_stay(send, stay_id, member_id)
    await send(
        CHARGES_RECORDED_V1, recorded(january_and_february(stay_id, member_id, with_leave=True))
    )
    january, february = await stay_claims(client, token, stay_id)

    body = await detail(client, token, january["claim_id"])
    institutional, per_diem = body["institutional"], body["per_diem"]
    assert institutional["clm05"] == "86:A:2"
    assert institutional["cycle"] == {
        "first_day": "2026-01-10",
        "last_day": "2026-01-31",
        "billing_period": "MONTHLY",
        "final": False,
    }
    assert institutional["service_facility"]["npi"] == "1333333338"
    assert (per_diem["days_in_period"], per_diem["covered_days"], per_diem["non_covered_days"]) == (
        22,
        19,
        3,
    )
    by_day = {d["date"]: d for d in per_diem["days"]}
    assert by_day["2026-01-19"]["expected"] == "COVERED"
    assert (
        by_day["2026-01-20"]["expected"] == by_day["2026-01-20"]["billed_as"] == "LEAVE_OF_ABSENCE"
    )
    assert by_day["2026-01-23"]["expected"] == "COVERED"  # the return day is covered
    assert body["issues"] == []

    feb = (await detail(client, token, february["claim_id"]))["per_diem"]
    assert [(d["date"], d["expected"]) for d in feb["days"]] == [
        ("2026-02-01", "COVERED"),
        ("2026-02-02", "COVERED"),
        ("2026-02-03", "NOT_BILLED"),  # the discharge day
    ]


# --------------------------------------------------------------------------- vector 3


async def test_vector_3_a_weekly_adult_day_sunday_and_monday_fall_in_two_claims(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    await known_member_and_facility(send, member_id)
    # Sunday 2026-03-08 in, discharged Monday 2026-03-09; adult-day bills the discharge day.
    await send(
        STAYS_STAY_DISCHARGED_V1,
        stay_data(
            stay_id,
            member_id,
            2,
            admit="2026-03-08",
            program="adult-day",
            discharge=("2026-03-09", 16, "01"),
        ),
    )
    charges = [
        day_charge(stay_id, member_id, d, program="adult-day", code="3103", rate="85.00")
        for d in days("2026-03-08", "2026-03-09")
    ]
    await send(CHARGES_RECORDED_V1, recorded(charges))
    # Written from the admission (version 1); the discharge bills those days alike, and
    # the charges service says so: the stay's days are version 2's as they are.
    assert await stay_claims(client, token, stay_id) == []
    await send(STAY_CHARGED_V1, stay_charged(stay_id, 2))

    sunday, monday = await stay_claims(client, token, stay_id)
    [first] = await outbox(runtime, CLAIM_SUBMITTED_V1, sunday["claim_id"])
    [second] = await outbox(runtime, CLAIM_SUBMITTED_V1, monday["claim_id"])
    # Weeks anchored on Monday 03-02 and 03-09.
    assert first["institutional"]["statement_period"] == {
        "start": "2026-03-08",
        "end": "2026-03-08",
    }
    assert second["institutional"]["statement_period"] == {
        "start": "2026-03-09",
        "end": "2026-03-09",
    }
    assert (first["frequency_code"], second["frequency_code"]) == ("2", "4")
    assert first["institutional"]["type_of_bill"] == "89"
    assert [(v["code"], v["amount"]) for v in second["institutional"]["value_codes"]] == [
        ("80", "1"),
        ("81", "0"),
    ]
    assert [ln["revenue_code"] for ln in first["institutional"]["service_lines"]] == ["3103"]
    assert (first["total_charge"], second["total_charge"]) == ("85.00", "85.00")


# --------------------------------------------------------------------------- stale


async def test_a_leave_recorded_after_january_was_built_marks_it_stale_and_the_rebuilt_claim_has_it(
    runtime: ServiceRuntime, send: Send, publish: Publish, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    await known_member_and_facility(send, member_id, tenant=MANUAL)
    discharged = stay_data(stay_id, member_id, 2, discharge=("2026-02-03", 10, "01"))
    await send(STAYS_STAY_ADMITTED_V1, stay_data(stay_id, member_id, 1), tenant=MANUAL)
    await send(STAYS_STAY_DISCHARGED_V1, discharged, tenant=MANUAL)
    await send(
        CHARGES_RECORDED_V1,
        recorded(january_and_february(stay_id, member_id, with_leave=False, stay_version=2)),
        tenant=MANUAL,
    )
    january, february = await stay_claims(client, token, stay_id, MANUAL)
    assert (january["status"], january["claim_version"]) == ("READY", 1)
    assert january["institutional_lines"][0]["units"] == "22"

    # The EHR records a leave 01-20 .. 01-23 after the fact; the charges service rewrites
    # the three days away as LOA days (new versions of the same day charges).
    corrected = {
        **stay_data(
            stay_id,
            member_id,
            3,
            leaves=(("loa-late", "2026-01-20", "2026-01-23"),),
            discharge=("2026-02-03", 10, "01"),
        ),
        "correction_kind": "LEAVE_CHANGED",
        "leave_id": "loa-late",
        "affected_from": "2026-01-20",
        "affected_through": "2026-01-22",
    }
    leave_event = await send(STAYS_STAY_CORRECTED_V1, corrected, tenant=MANUAL)
    # STALE at once, and rebuilt only from the rewritten days: the days this service has
    # are stay version 2's until the charges service's rewrite lands (#10).
    waiting = await detail(client, token, january["claim_id"], MANUAL)
    assert (waiting["status"], waiting["claim_version"]) == ("STALE", 1)
    rewritten = [
        day_charge(stay_id, member_id, d, leave=True, version=2, stay_version=3)
        for d in days("2026-01-20", "2026-01-22")
    ]
    charges_event = await send(CHARGES_RECORDED_V1, recorded(rewritten), tenant=MANUAL)

    body = await detail(client, token, january["claim_id"], MANUAL)
    assert body["status"] == "READY" and body["claim_version"] == 2
    stale = [c for c in body["status_history"] if c["to_status"] == "STALE"]
    assert len(stale) == 1
    assert stale[0]["reason_codes"] == ["LEAVE_RECORDED"]
    assert "leave loa-late was recorded after the claim was built" in stale[0]["reason"]
    assert [v["reason"] for v in body["versions"]] == ["BUILT", "DAY_CHARGES_CHANGED"]
    assert [
        (ln["revenue_code"], ln["units"], ln["amount"]) for ln in body["institutional_lines"]
    ] == [
        ("1001", "19", "5700.00"),
        ("0183", "3", "0.00"),
    ]
    assert body["institutional"]["occurrence_spans"] == [
        {"code": "74", "start": "2026-01-20", "end": "2026-01-22"}
    ]
    # February is untouched by a leave in January.
    assert (await detail(client, token, february["claim_id"], MANUAL))["claim_version"] == 1

    # Duplicates change nothing: the same events again, and the same stay version anew.
    await publish(STAYS_STAY_CORRECTED_V1, corrected, tenant=MANUAL, event_id=leave_event.id)
    await publish(
        CHARGES_RECORDED_V1, recorded(rewritten), tenant=MANUAL, event_id=charges_event.id
    )
    await send(STAYS_STAY_CORRECTED_V1, corrected, tenant=MANUAL)
    await send(CHARGES_RECORDED_V1, recorded(rewritten), tenant=MANUAL)
    again = await detail(client, token, january["claim_id"], MANUAL)
    assert (again["claim_version"], again["status"]) == (2, "READY")
    assert len(again["status_history"]) == len(body["status_history"])


async def test_an_open_stay_bills_month_by_month_and_later_events_leave_earlier_claims_alone(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    await known_member_and_facility(send, member_id)
    away = (("loa-1", "2026-01-20", None),)
    await send(STAYS_STAY_ADMITTED_V1, stay_data(stay_id, member_id, 1))
    await send(
        STAYS_STAY_LEAVE_STARTED_V1,
        {**stay_data(stay_id, member_id, 2, leaves=away), "leave_id": "loa-1"},
    )
    january_days = [
        day_charge(stay_id, member_id, d, leave=d >= date(2026, 1, 20), stay_version=2)
        for d in days("2026-01-10", "2026-01-31")
    ]
    await send(CHARGES_RECORDED_V1, recorded(january_days))
    [january] = await stay_claims(client, token, stay_id)
    [sent] = await outbox(runtime, CLAIM_SUBMITTED_V1, january["claim_id"])
    assert sent["institutional"]["occurrence_spans"] == [
        {"code": "74", "start": "2026-01-20", "end": "2026-01-31"}  # still away at month end
    ]
    assert [v["amount"] for v in sent["institutional"]["value_codes"]] == ["10", "12"]

    # Back on 02-05, discharged 02-10: February is the final claim; January stays as sent.
    back = (("loa-1", "2026-01-20", "2026-02-05"),)
    await send(
        STAYS_STAY_LEAVE_ENDED_V1,
        {**stay_data(stay_id, member_id, 3, leaves=back), "leave_id": "loa-1"},
    )
    await send(
        STAYS_STAY_DISCHARGED_V1,
        stay_data(stay_id, member_id, 4, leaves=back, discharge=("2026-02-10", 11, "01")),
    )
    february_days = [
        day_charge(stay_id, member_id, d, leave=d < date(2026, 2, 5), stay_version=4)
        for d in days("2026-02-01", "2026-02-09")
    ]
    await send(CHARGES_RECORDED_V1, recorded(february_days))
    january_after, february = await stay_claims(client, token, stay_id)
    assert (january_after["status"], january_after["claim_version"]) == ("SUBMITTED", 1)
    [feb] = await outbox(runtime, CLAIM_SUBMITTED_V1, february["claim_id"])
    assert feb["frequency_code"] == "4"
    assert feb["institutional"]["occurrence_spans"] == [
        {"code": "74", "start": "2026-02-01", "end": "2026-02-04"}
    ]
    assert [v["amount"] for v in feb["institutional"]["value_codes"]] == ["5", "4"]


async def test_a_late_discharge_on_a_submitted_claim_marks_it_for_reverse_and_rebuild(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    await known_member_and_facility(send, member_id)
    await send(STAYS_STAY_ADMITTED_V1, stay_data(stay_id, member_id, 1))
    charges = [day_charge(stay_id, member_id, d) for d in days("2026-01-10", "2026-01-31")]
    await send(CHARGES_RECORDED_V1, recorded(charges))
    [january] = await stay_claims(client, token, stay_id)
    assert (january["status"], january["frequency_code"]) == ("SUBMITTED", "2")

    # The discharge on 2026-01-25 arrives after January was built and sent as interim.
    late = stay_data(stay_id, member_id, 2, discharge=("2026-01-25", 9, "01"))
    await send(STAYS_STAY_DISCHARGED_V1, late)

    [after] = await stay_claims(client, token, stay_id)
    assert after["claim_id"] == january["claim_id"]
    assert (after["status"], after["reversal_needed"], after["claim_version"]) == ("STALE", True, 1)
    assert "the discharge was recorded after the claim was built" in after["stale_reason"]
    assert "reverse and rebuild" in after["stale_reason"]
    [change] = [
        c
        for c in await outbox(runtime, CLAIM_STATUS_CHANGED_V1, january["claim_id"])
        if c["status"] == "STALE"
    ]
    assert change["reason_codes"] == ["DISCHARGE_RECORDED"]


async def test_a_late_discharge_before_the_claims_left_withdraws_them_and_cancels_the_gone_month(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    """The EHR's discharge reaches claims after the stay's in-house months were built and
    submitted from its days (the CI race of the tenth session): both are asked back; once
    withdrawn, January is rebuilt as the only claim (admit through discharge, digit 1) and
    February, whose days are gone, is cancelled, never sent."""
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    await known_member_and_facility(send, member_id)
    await send(STAYS_STAY_ADMITTED_V1, stay_data(stay_id, member_id, 1))
    charges = [day_charge(stay_id, member_id, d) for d in days("2026-01-10", "2026-02-28")]
    await send(CHARGES_RECORDED_V1, recorded(charges))
    january, february = await stay_claims(client, token, stay_id)
    assert [(c["status"], c["frequency_code"]) for c in (january, february)] == [
        ("SUBMITTED", "2"),
        ("SUBMITTED", "3"),
    ]

    late = stay_data(stay_id, member_id, 2, discharge=("2026-01-25", 9, "01"))
    await send(STAYS_STAY_DISCHARGED_V1, late)
    requests = {
        c["claim_id"]: await outbox(runtime, CLAIM_WITHDRAWAL_REQUESTED_V1, c["claim_id"])
        for c in (january, february)
    }
    assert {k: [r["reason_codes"] for r in v] for k, v in requests.items()} == {
        january["claim_id"]: [["DISCHARGE_RECORDED"]],
        february["claim_id"]: [["STAY_DAYS_GONE", "DISCHARGE_RECORDED"]],
    }
    # The charges service voids the days from the discharge day on, from stay version 2.
    gone_days = [
        {**day_charge(stay_id, member_id, d, version=2, stay_version=2), "status": "VOID"}
        for d in days("2026-01-25", "2026-02-28")
    ]
    await send(CHARGES_RECORDED_V1, recorded(gone_days, change="VOIDED"))
    await send(STAY_CHARGED_V1, stay_charged(stay_id, 2))
    for claim in (february, january):
        await send(
            EDI_CLAIM_WITHDRAWAL_ANSWERED_V1,
            {
                "claim_id": claim["claim_id"],
                "claim_version": 1,
                "patient_control_number": claim["patient_control_number"],
                "outcome": "WITHDRAWN",
                "submission_status": "WITHDRAWN",
                "answered_at": "2026-02-01T10:00:00Z",
            },
        )

    by_id = {c["claim_id"]: c for c in await stay_claims(client, token, stay_id)}
    rebuilt, gone = by_id[january["claim_id"]], by_id[february["claim_id"]]
    assert (rebuilt["status"], rebuilt["claim_version"], rebuilt["frequency_code"]) == (
        "SUBMITTED",
        2,
        "1",
    )
    assert (rebuilt["period_from"], rebuilt["period_to"]) == ("2026-01-10", "2026-01-25")
    assert gone["status"] == "CANCELLED"
    assert len(await outbox(runtime, CLAIM_SUBMITTED_V1, february["claim_id"])) == 1
    [_, again] = await outbox(runtime, CLAIM_SUBMITTED_V1, january["claim_id"])
    assert (again["claim_version"], again["original_reference"]) == (2, None)


# --------------------------------------------------------------------------- blocking, API


async def test_a_missing_or_needs_fix_day_blocks_the_cycle_and_the_api_names_the_day(
    send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    await known_member_and_facility(send, member_id, tenant=MANUAL)
    await send(STAYS_STAY_ADMITTED_V1, stay_data(stay_id, member_id, 1), tenant=MANUAL)
    charges = [
        day_charge(stay_id, member_id, d, status="NEEDS_FIX" if d == date(2026, 1, 15) else "READY")
        for d in days("2026-01-10", "2026-01-31")
        if d != date(2026, 1, 12)
    ]
    await send(CHARGES_RECORDED_V1, recorded(charges), tenant=MANUAL)
    assert await stay_claims(client, token, stay_id, MANUAL) == []

    response = await client.post(f"/v1/stays/{stay_id}/claims/build", headers=bearer(token, MANUAL))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["claims"] == []
    [blocked] = [b for b in body["blocked"] if b["first_day"] == "2026-01-10"]
    assert [(d["date"], d["reason"], d["issue_codes"]) for d in blocked["days"]] == [
        ("2026-01-12", "MISSING", []),
        ("2026-01-15", "NEEDS_FIX", ["NO_ACTIVE_COVERAGE"]),
    ]

    response = await client.post(
        f"/v1/stays/{stay_id}/claims/build",
        json={"period": {"from": "2026-01-10", "to": "2026-01-20"}},
        headers=bearer(token, MANUAL),
    )
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "CYCLE_NOT_READY"
    assert [d["date"] for d in problem["days"]] == ["2026-01-12", "2026-01-15"]

    # The charges service fixes the two days: the closed cycle builds at once.
    fixed = [day_charge(stay_id, member_id, date(2026, 1, 12))]
    fixed.append(day_charge(stay_id, member_id, date(2026, 1, 15), version=2))
    await send(CHARGES_RECORDED_V1, recorded(fixed, change="FIXED"), tenant=MANUAL)
    [january] = await stay_claims(client, token, stay_id, MANUAL)
    assert (january["status"], january["period_from"], january["period_to"]) == (
        "READY",
        "2026-01-10",
        "2026-01-31",
    )


async def test_the_build_api_can_cut_an_explicit_period_or_another_billing_period(
    send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    await known_member_and_facility(send, member_id, tenant=MANUAL)
    await vector_2_stay(send, stay_id, member_id, tenant=MANUAL)
    await send(
        CHARGES_RECORDED_V1,
        recorded(january_and_february(stay_id, member_id, with_leave=True)),
        tenant=MANUAL,
    )
    assert len(await stay_claims(client, token, stay_id, MANUAL)) == 2

    # SPAN for the whole stay: one claim, admission through discharge (frequency 1).
    response = await client.post(
        f"/v1/stays/{stay_id}/claims/build",
        json={"billing_period": "SPAN"},
        headers=bearer(token, MANUAL),
    )
    assert response.status_code == 200, response.text
    [span] = response.json()["claims"]
    assert (span["period_from"], span["period_to"], span["frequency_code"]) == (
        "2026-01-10",
        "2026-02-03",
        "1",
    )
    body = await detail(client, token, span["claim_id"], MANUAL)
    assert body["per_diem"]["days_in_period"] == 24
    assert (body["per_diem"]["covered_days"], body["per_diem"]["non_covered_days"]) == (21, 3)

    # An explicit cycle 01-10 .. 01-19: the rest is cut around it.
    response = await client.post(
        f"/v1/stays/{stay_id}/claims/build",
        json={"period": {"from": "2026-01-10", "to": "2026-01-19"}},
        headers=bearer(token, MANUAL),
    )
    assert response.status_code == 200, response.text
    periods = [
        (c["period_from"], c["period_to"], c["frequency_code"]) for c in response.json()["claims"]
    ]
    assert sorted(periods) == [("2026-01-10", "2026-01-19", "2"), ("2026-01-20", "2026-02-03", "4")]

    response = await client.post(
        f"/v1/stays/{stay_id}/claims/build",
        json={"period": {"from": "2025-12-01", "to": "2025-12-31"}},
        headers=bearer(token, MANUAL),
    )
    assert (response.status_code, response.json()["code"]) == (422, "PERIOD_OUTSIDE_STAY")
    response = await client.post(
        "/v1/stays/stay-nobody/claims/build", headers=bearer(token, MANUAL)
    )
    assert (response.status_code, response.json()["code"]) == (404, "STAY_NOT_FOUND")


async def test_a_month_end_builds_many_stays_in_one_request_and_answers_for_each(
    send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    first, second, short = (f"{run_id()}" for _ in range(3))
    for run in (first, second):
        await known_member_and_facility(send, f"m-{run}", tenant=ON_REQUEST)
        await vector_2_stay(send, f"stay-{run}", f"m-{run}", tenant=ON_REQUEST)
        charges = january_and_february(f"stay-{run}", f"m-{run}", with_leave=True)
        await send(CHARGES_RECORDED_V1, recorded(charges), tenant=ON_REQUEST)
    # A stay whose January lacks a day: blocked, named, and the others still build.
    await known_member_and_facility(send, f"m-{short}", tenant=ON_REQUEST)
    await send(
        STAYS_STAY_ADMITTED_V1, stay_data(f"stay-{short}", f"m-{short}", 1), tenant=ON_REQUEST
    )
    charges = [
        day_charge(f"stay-{short}", f"m-{short}", d)
        for d in days("2026-01-10", "2026-01-31")
        if d != date(2026, 1, 12)
    ]
    await send(CHARGES_RECORDED_V1, recorded(charges), tenant=ON_REQUEST)
    nobody = f"stay-nobody-{run_id()}"
    asked = [f"stay-{first}", f"stay-{short}", nobody, f"stay-{second}", f"stay-{first}"]

    response = await client.post(
        "/v1/stays/claims/build", json={"stay_ids": asked}, headers=bearer(token, ON_REQUEST)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    results = {r["stay_id"]: r for r in body["results"]}
    assert [r["stay_id"] for r in body["results"]] == list(dict.fromkeys(asked))
    for run in (first, second):
        result = results[f"stay-{run}"]
        listed = await stay_claims(client, token, f"stay-{run}", ON_REQUEST)
        assert [(c["status"], c["frequency_code"]) for c in listed] == [
            ("READY", "2"),
            ("READY", "4"),
        ]
        assert sorted(result["built"]) == sorted(result["claim_ids"])
        assert sorted(result["claim_ids"]) == sorted(c["claim_id"] for c in listed)
        assert result["error"] is None and result["blocked"] == []
    blocked = results[f"stay-{short}"]
    assert (blocked["built"], blocked["error"]) == ([], None)
    [january] = [b for b in blocked["blocked"] if b["first_day"] == "2026-01-10"]
    assert [(d["date"], d["reason"]) for d in january["days"]] == [("2026-01-12", "MISSING")]
    assert await stay_claims(client, token, f"stay-{short}", ON_REQUEST) == []
    assert results[nobody]["error"]["code"] == "STAY_NOT_FOUND"
    assert results[nobody]["built"] == []
    assert (body["built"], body["failed"]) == (4, 1)

    # Asked again, nothing has changed: nothing is built twice.
    again = await client.post(
        "/v1/stays/claims/build", json={"stay_ids": asked}, headers=bearer(token, ON_REQUEST)
    )
    assert again.status_code == 200, again.text
    assert (again.json()["built"], again.json()["failed"]) == (0, 1)
    for run in (first, second):
        assert len(await stay_claims(client, token, f"stay-{run}", ON_REQUEST)) == 2

    for wrong in ({"stay_ids": []}, {"stay_ids": [f"s-{n}" for n in range(501)]}, {}):
        refused = await client.post(
            "/v1/stays/claims/build", json=wrong, headers=bearer(token, ON_REQUEST)
        )
        assert refused.status_code == 422, refused.text


async def test_a_stay_that_fails_in_a_shared_transaction_is_redone_alone_and_the_rest_commit(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    runs = [run_id() for _ in range(3)]
    for run in runs:
        await known_member_and_facility(send, f"m-{run}", tenant=ON_REQUEST)
        await vector_2_stay(send, f"stay-{run}", f"m-{run}", tenant=ON_REQUEST)
        charges = january_and_february(f"stay-{run}", f"m-{run}", with_leave=True)
        await send(CHARGES_RECORDED_V1, recorded(charges), tenant=ON_REQUEST)
    poisoned = f"stay-{runs[1]}"
    deps = dependencies_at(runtime, datetime(2026, 3, 1, 12, tzinfo=UTC))
    calls: list[str] = []

    async def build(
        uow: institutional_claims.UnitOfWork, facts: institutional_claims.StayFacts
    ) -> institutional_claims.StayOutcome:
        calls.append(facts.stay_id)
        trigger = institutional_claims.Trigger("REQUESTED", requested=True)
        outcome = await institutional_claims.reconcile_stay(
            uow, deps, ON_REQUEST, facts.stay_id, trigger, read=facts
        )
        if facts.stay_id == poisoned:  # after its claims were written
            raise RuntimeError("this stay's build breaks")
        return outcome

    stay_ids = [f"stay-{run}" for run in runs]
    results = await institutional_claims.work_through_stays(
        runtime.unit_of_work, deps, ON_REQUEST, stay_ids, build, chunk_size=3
    )
    assert isinstance(results[poisoned], RuntimeError)
    # The chunk went back; each stay was then done in its own transaction.
    assert calls == [*stay_ids[:2], *stay_ids]
    for stay_id in stay_ids:
        listed = await stay_claims(client, token, stay_id, ON_REQUEST)
        if stay_id == poisoned:
            assert listed == []
            continue
        outcome = results[stay_id]
        assert isinstance(outcome, institutional_claims.StayOutcome)
        assert sorted(outcome.touched) == sorted(c["claim_id"] for c in listed)
        assert [(c["status"], c["frequency_code"]) for c in listed] == [
            ("READY", "2"),
            ("READY", "4"),
        ]


async def test_editing_the_institutional_context_is_validated_and_rebuilds_the_claim(
    send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    await known_member_and_facility(send, member_id, tenant=MANUAL)
    await vector_2_stay(send, stay_id, member_id, tenant=MANUAL)
    await send(
        CHARGES_RECORDED_V1,
        recorded(january_and_february(stay_id, member_id, with_leave=True)),
        tenant=MANUAL,
    )
    january, _ = await stay_claims(client, token, stay_id, MANUAL)
    url = f"/v1/claims/{january['claim_id']}/institutional"

    refused = await client.put(
        url,
        json={
            "drg": "000",
            "leaves": [
                {"start_date": "2026-01-05", "return_date": "2026-01-08"},
                {"return_date": "2026-01-25"},
            ],
            "covered_days": 20,
            "non_covered_days": 3,
        },
        headers=bearer(token, MANUAL),
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["codes"] == [
        "DRG_NOT_IN_MASTER",
        "LOA_OUTSIDE_STAY",
        "LOA_WITHOUT_DATE",
        "STAY_DAY_MISMATCH",
    ]
    assert (await detail(client, token, january["claim_id"], MANUAL))["claim_version"] == 1

    accepted = await client.put(url, json={"drg": "886"}, headers=bearer(token, MANUAL))
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert (body["claim_version"], body["status"]) == (2, "READY")
    assert body["institutional"]["drg"] == "886"
    assert body["institutional"]["edited_fields"] == ["drg"]
    assert body["versions"][-1]["reason"] == "CONTEXT_EDITED"

    # The edit stays with the claim when it is rebuilt; a rebuild that changes nothing
    # makes no version.
    rebuilt = await client.post(
        f"/v1/claims/{january['claim_id']}/rebuild", headers=bearer(token, MANUAL)
    )
    assert rebuilt.status_code == 200, rebuilt.text
    assert (rebuilt.json()["claim_version"], rebuilt.json()["institutional"]["drg"]) == (2, "886")


async def test_a_submitted_claim_cannot_be_edited_or_rebuilt(
    send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    await known_member_and_facility(send, member_id)
    await vector_2_stay(send, stay_id, member_id)
    await send(
        CHARGES_RECORDED_V1, recorded(january_and_february(stay_id, member_id, with_leave=True))
    )
    january, _ = await stay_claims(client, token, stay_id)
    for response in (
        await client.put(
            f"/v1/claims/{january['claim_id']}/institutional",
            json={"drg": "886"},
            headers=bearer(token),
        ),
        await client.post(f"/v1/claims/{january['claim_id']}/rebuild", headers=bearer(token)),
    ):
        assert (response.status_code, response.json()["code"]) == (409, "CLAIM_SUBMITTED")


async def test_an_operator_submits_a_ready_cycle_claim_when_the_tenant_does_not_auto_submit(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    await known_member_and_facility(send, member_id, tenant=MANUAL)
    await vector_2_stay(send, stay_id, member_id, tenant=MANUAL)
    await send(
        CHARGES_RECORDED_V1,
        recorded(january_and_february(stay_id, member_id, with_leave=True)),
        tenant=MANUAL,
    )
    _, february = await stay_claims(client, token, stay_id, MANUAL)
    response = await client.post(
        f"/v1/claims/{february['claim_id']}/submit", headers=bearer(token, MANUAL)
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "SUBMITTED"
    [sent] = await outbox(runtime, CLAIM_SUBMITTED_V1, february["claim_id"])
    assert (sent["transaction_type"], sent["frequency_code"]) == ("837I", "4")


async def test_the_gateway_rejecting_a_cycle_claim_makes_it_rejected_with_its_day_charges(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    await known_member_and_facility(send, member_id)
    await vector_2_stay(send, stay_id, member_id)
    await send(
        CHARGES_RECORDED_V1, recorded(january_and_february(stay_id, member_id, with_leave=True))
    )
    _, february = await stay_claims(client, token, stay_id)
    rejected = sample(EDI_CLAIM_REJECTED_V1)
    rejected.update(
        claim_id=february["claim_id"],
        claim_version=1,
        patient_control_number=february["patient_control_number"],
    )
    await send(EDI_CLAIM_REJECTED_V1, rejected)
    assert (await detail(client, token, february["claim_id"]))["status"] == "REJECTED"
    last = (await outbox(runtime, CLAIM_STATUS_CHANGED_V1, february["claim_id"]))[-1]
    assert (last["status"], last["source"]["stay_id"]) == ("REJECTED", stay_id)
    assert sorted(last["charge_ids"]) == [
        f"dc-{stay_id}-2026-02-01",
        f"dc-{stay_id}-2026-02-02",
    ]


async def test_a_program_without_auto_build_builds_a_closed_cycle_when_the_operator_asks(
    send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    await known_member_and_facility(send, member_id, tenant=ON_REQUEST)
    await vector_2_stay(send, stay_id, member_id, tenant=ON_REQUEST)
    await send(
        CHARGES_RECORDED_V1,
        recorded(january_and_february(stay_id, member_id, with_leave=True)),
        tenant=ON_REQUEST,
    )
    assert await stay_claims(client, token, stay_id, ON_REQUEST) == []
    response = await client.post(
        f"/v1/stays/{stay_id}/claims/build", headers=bearer(token, ON_REQUEST)
    )
    assert response.status_code == 200, response.text
    built = response.json()["claims"]
    assert [(c["status"], c["frequency_code"]) for c in built] == [("READY", "2"), ("READY", "4")]
    assert sorted(response.json()["built"]) == sorted(c["claim_id"] for c in built)


# --------------------------------------------------------------------------- admit date


async def test_a_stay_known_only_by_its_day_charges_takes_its_admit_date_from_the_enrollment(
    send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    enrolled, stranger = f"m-{run}-1", f"m-{run}-2"
    window = [{"program_id": "residential", "enrolled_from": "2026-04-01", "enrolled_to": None}]
    await known_member_and_facility(send, enrolled, tenant=MANUAL, enrollments=window)
    await known_member_and_facility(send, stranger, tenant=MANUAL)
    for member_id in (enrolled, stranger):
        stay_id = f"stay-{member_id}"
        charges = [day_charge(stay_id, member_id, d) for d in days("2026-04-03", "2026-04-07")]
        await send(CHARGES_RECORDED_V1, recorded(charges), tenant=MANUAL)

    built = {}
    for member_id in (enrolled, stranger):
        response = await client.post(
            f"/v1/stays/stay-{member_id}/claims/build",
            json={"period": {"from": "2026-04-03", "to": "2026-04-07"}},
            headers=bearer(token, MANUAL),
        )
        assert response.status_code == 200, response.text
        [claim] = response.json()["claims"]
        built[member_id] = await detail(client, token, claim["claim_id"], MANUAL)

    resolved = built[enrolled]
    assert resolved["institutional"]["admission"]["date"] == "2026-04-01"
    assert resolved["institutional"]["admission"]["date_source"] == "ENROLLMENT"
    assert ("INSTITUTIONAL_ADMIT_AUTO_RESOLVED", "warning") in {
        (i["code"], i["severity"]) for i in resolved["issues"]
    }
    missing = built[stranger]
    assert missing["institutional"]["admission"]["date"] is None
    assert "MISSING_ADMIT_DATE" in {i["code"] for i in missing["issues"]}
    assert missing["status"] == "DRAFT"

    # The operator supplies what no stay record told: the claim becomes READY.
    response = await client.put(
        f"/v1/claims/{resolved['claim_id']}/institutional",
        json={"admission_type": "3", "admission_source": "1", "principal_diagnosis": "F33.2"},
        headers=bearer(token, MANUAL),
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "READY"
    assert [i["code"] for i in response.json()["issues"]] == ["INSTITUTIONAL_ADMIT_AUTO_RESOLVED"]


async def test_day_charges_of_a_professional_program_are_a_filing_type_mismatch(
    send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    await known_member_and_facility(send, member_id, tenant=MANUAL)
    await send(
        STAYS_STAY_DISCHARGED_V1,
        stay_data(stay_id, member_id, 1, discharge=("2026-01-13", 10, "01")),
        tenant=MANUAL,
    )
    charges = [
        day_charge(stay_id, member_id, d, program="group-therapy")
        for d in days("2026-01-10", "2026-01-12")
    ]
    await send(CHARGES_RECORDED_V1, recorded(charges), tenant=MANUAL)
    [claim] = await stay_claims(client, token, stay_id, MANUAL)
    body = await detail(client, token, claim["claim_id"], MANUAL)
    assert body["status"] == "DRAFT"
    assert {i["code"] for i in body["issues"]} == {"FILING_TYPE_MISMATCH"}


# --------------------------------------------------------------------------- time


async def test_the_time_driven_check_closes_a_cycle_when_its_month_has_ended(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    await known_member_and_facility(send, member_id)
    # A stay in March 2031: its month has not ended, whatever day the suite runs.
    await send(STAYS_STAY_ADMITTED_V1, stay_data(stay_id, member_id, 1, admit="2031-03-03"))
    charges = [day_charge(stay_id, member_id, d) for d in days("2031-03-03", "2031-03-31")]
    await send(CHARGES_RECORDED_V1, recorded(charges))
    assert await stay_claims(client, token, stay_id) == []

    def deps_at(moment: datetime) -> ClaimsDependencies:
        return dependencies_at(runtime, moment)

    # 2031-04-01 03:00 UTC is still March 31 in Chicago: the month has not ended there.
    early = await close_cycles_due(
        runtime.unit_of_work, deps_at(datetime(2031, 4, 1, 3, tzinfo=UTC))
    )
    assert early.touched == []
    sweep = await close_cycles_due(
        runtime.unit_of_work, deps_at(datetime(2031, 4, 1, 12, tzinfo=UTC))
    )
    [march] = await stay_claims(client, token, stay_id)
    assert sweep.touched == [march["claim_id"]]
    assert (march["period_from"], march["period_to"], march["frequency_code"]) == (
        "2031-03-03",
        "2031-03-31",
        "2",
    )
    assert march["status"] == "SUBMITTED"
    body = await detail(client, token, march["claim_id"])
    assert body["institutional"]["patient_status"] == "30"
    assert body["per_diem"]["days_in_period"] == 29  # still a patient: the through date counts
    # Checked again, nothing more to do.
    again = await close_cycles_due(runtime.unit_of_work, deps_at(datetime(2031, 4, 2, tzinfo=UTC)))
    assert again.touched == [] and not again.more_due


async def january_stays(
    send: Send, client: httpx.AsyncClient, token: Token, year: int
) -> list[str]:
    """Three stays admitted in January ``year`` with every day charged: their month ends
    unbuilt until a cycle-close check runs after it."""
    stay_ids = []
    for n in range(3):
        run = run_id()
        member_id, stay_id = f"m-{run}", f"stay-{run}"
        await known_member_and_facility(send, member_id)
        admit = f"{year}-01-{10 + n}"
        await send(STAYS_STAY_ADMITTED_V1, stay_data(stay_id, member_id, 1, admit=admit))
        charges = [day_charge(stay_id, member_id, d) for d in days(admit, f"{year}-01-31")]
        await send(CHARGES_RECORDED_V1, recorded(charges))
        assert await stay_claims(client, token, stay_id) == []
        stay_ids.append(stay_id)
    return stay_ids


def dependencies_at(runtime: ServiceRuntime, moment: datetime) -> ClaimsDependencies:
    return ClaimsDependencies(
        tenant_config=runtime.tenants.get, diagnoses=PatternDiagnosisCodeSet(), clock=lambda: moment
    )


async def test_two_replicas_checking_at_once_build_each_closed_cycle_once(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    stay_ids = await january_stays(send, client, token, 2033)
    deps = dependencies_at(runtime, datetime(2033, 2, 1, 12, tzinfo=UTC))
    sweeps = await asyncio.gather(
        *(close_cycles_due(runtime.unit_of_work, deps, batch_size=500) for _ in range(2))
    )
    touched = [claim_id for sweep in sweeps for claim_id in sweep.touched]
    for stay_id in stay_ids:
        [january] = await stay_claims(client, token, stay_id)
        assert january["period_to"] == "2033-01-31" and january["status"] == "SUBMITTED"
        assert touched.count(january["claim_id"]) == 1


async def test_a_backlog_beyond_one_batch_is_worked_through_without_waiting(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    stay_ids = await january_stays(send, client, token, 2034)
    deps = dependencies_at(runtime, datetime(2034, 2, 1, 12, tzinfo=UTC))
    first = await close_cycles_due(runtime.unit_of_work, deps, batch_size=1)
    assert first.more_due  # a full batch moved on: the check comes again at once
    sweeps = 1
    while (await close_cycles_due(runtime.unit_of_work, deps, batch_size=1)).more_due:
        sweeps += 1
        assert sweeps < 100, "the check never ran out of due stays"
    assert sweeps >= len(stay_ids)
    for stay_id in stay_ids:
        [january] = await stay_claims(client, token, stay_id)
        assert january["period_to"] == "2034-01-31"


# --------------------------------------------------------------------------- reference data


async def test_the_drg_master_is_refreshed_from_a_file_by_the_api_and_the_command(
    settings: ClaimsSettings,
    client: httpx.AsyncClient,
    token: Token,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    writer = bearer_header(token(tenant=TENANT, scopes=["billing.reference.write"]))
    bad = await client.put(
        "/v1/reference/drg-master",
        content="drg,mdc,description\n88,,too short\n885,19,Psychoses\n885,19,again\n",
        headers={**writer, "Content-Type": "text/csv"},
    )
    assert bad.status_code == 422, bad.text
    assert bad.json()["code"] == "REFERENCE_DATA_INVALID"
    assert bad.json()["errors"] == ["line 2: a DRG is 3 digits", "line 4: DRG 885 is listed twice"]
    forbidden = await client.put("/v1/reference/drg-master", content="x", headers=bearer(token))
    assert forbidden.status_code == 403

    packaged = (PACKAGED / "ms_drg.csv").read_text()
    response = await client.put(
        "/v1/reference/drg-master",
        content=packaged,
        headers={**writer, "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    first = response.json()["version"]

    path = tmp_path / "ms_drg_next.csv"
    path.write_text(packaged + "999,,Ungroupable (test release)\n")
    assert await refresh(settings, "drg-master", path, path.read_text()) == 0
    assert f"drg-master: version {first + 1}" in capsys.readouterr().out

    listed = await client.get("/v1/reference", headers=bearer(token, scopes=READ))
    tables = {t["name"]: t for t in listed.json()}
    assert tables["drg-master"]["version"] == first + 1
    assert tables["drg-master"]["rows"] == 767
    assert tables["revenue-codes"]["version"] == 0  # the packaged file


# --------------------------------------------------------------------------- echoes (#10)


async def test_the_echo_of_a_cycle_claims_status_on_its_day_charges_leaves_the_stay_alone(
    send: Send, client: httpx.AsyncClient, token: Token, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The charges service answers every status of a cycle claim with a new version of
    its ~31 day charges (ON_CLAIM, BILLED, READY again after a void): kept, but the stay is
    not reconciled for it; a day charge that bills differently still is."""
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    await known_member_and_facility(send, member_id)
    await vector_2_stay(send, stay_id, member_id)
    charges = january_and_february(stay_id, member_id, with_leave=True)
    await send(CHARGES_RECORDED_V1, recorded(charges))
    before = await stay_claims(client, token, stay_id)
    assert [c["status"] for c in before] == ["SUBMITTED", "SUBMITTED"]

    reconciled: list[str] = []
    real = institutional_claims.reconcile_stay

    async def counting(*args: Any, **kwargs: Any) -> Any:
        reconciled.append(args[3])
        return await real(*args, **kwargs)

    monkeypatch.setattr(institutional_claims, "reconcile_stay", counting)
    for version, status in ((2, "ON_CLAIM"), (3, "BILLED")):
        echoed = [{**c, "charge_version": version, "status": status} for c in charges]
        await send(CHARGES_RECORDED_V1, recorded(echoed, change="CLAIMED"))
    assert reconciled == []
    assert await stay_claims(client, token, stay_id) == before

    repriced = {**charges[3], "charge_version": 4, "status": "READY", "rate": "310.00"}
    repriced["amount"] = "310.00"
    await send(CHARGES_RECORDED_V1, recorded([repriced], change="FIXED"))
    assert reconciled == [stay_id]
    january, february = await stay_claims(client, token, stay_id)
    assert (january["status"], february["status"]) == ("STALE", "SUBMITTED")


async def test_a_charge_taken_by_another_claim_leaves_the_one_that_held_it(
    runtime: ServiceRuntime,
) -> None:
    # hold_charges in two statements, each on its own index (delete the claim's holds,
    # then upsert on the charge's primary key): the end state is what one DELETE with an
    # OR and an INSERT left, for the claim and for the claim the charges came from.
    tenant, first, second = f"t-{uuid.uuid4().hex[:6]}", "clm-first", "clm-second"

    async def held() -> dict[str, list[str]]:
        async with runtime.sessionmaker() as session:
            rows = await session.execute(
                select(CLAIM_CHARGE.c.claim_id, CLAIM_CHARGE.c.charge_id)
                .where(CLAIM_CHARGE.c.tenant_id == tenant)
                .order_by(CLAIM_CHARGE.c.claim_id, CLAIM_CHARGE.c.charge_id)
            )
            holds: dict[str, list[str]] = {}
            for claim_id, charge_id in rows:
                holds.setdefault(claim_id, []).append(charge_id)
            return holds

    async def hold(claim_id: str, charge_ids: list[str]) -> None:
        async with runtime.sessionmaker() as session, session.begin():
            await InstitutionalRepository(session).hold_charges(tenant, claim_id, charge_ids)

    await hold(first, ["ch-1", "ch-2", "ch-3"])
    assert await held() == {first: ["ch-1", "ch-2", "ch-3"]}
    await hold(second, ["ch-3", "ch-4"])
    assert await held() == {first: ["ch-1", "ch-2"], second: ["ch-3", "ch-4"]}
    await hold(first, ["ch-2", "ch-5"])  # drops ch-1, keeps ch-2, takes a new one
    assert await held() == {first: ["ch-2", "ch-5"], second: ["ch-3", "ch-4"]}
    await hold(second, [])
    assert await held() == {first: ["ch-2", "ch-5"]}
