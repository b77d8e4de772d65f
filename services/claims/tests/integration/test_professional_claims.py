"""Group charges become professional claims (SPEC 6, SPEC 12 vector 1) through the real
broker and database: one claim per member, payer and date of service, scrubbed, submitted
at once in the sample tenant (auto_submit_claims: true), moved on by the EDI gateway's
reports; and the claims API with its refusals.

Members, providers and charges are the samples of contracts/samples with ids changed."""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from claims.adapters.db.repository import ProjectionRepository
from claims.domain.projections import Provider, SourceStamp
from claims.settings import ClaimsSettings
from common.outbox import OUTBOX
from common.runtime import ServiceRuntime
from common.testing.processes import SAMPLE_TENANTS
from contracts.envelope import CloudEvent
from contracts.events import (
    CHARGES_RECORDED_V1,
    CLAIM_STATUS_CHANGED_V1,
    CLAIM_SUBMITTED_V1,
    EDI_CLAIM_REJECTED_V1,
    EDI_CLAIM_TRANSMITTED_V1,
    MEMBER_UPSERTED_V1,
    PROVIDER_UPSERTED_V1,
)
from contracts.topology import Topology

Publish = Callable[..., Awaitable[CloudEvent]]
Applied = Callable[[CloudEvent], Awaitable[None]]

SAMPLES = SAMPLE_TENANTS.parent
TENANT = "demo-bh"
MANUAL = "demo-bh-manual"  # the sample tenant with auto_submit_claims: false
DAY = "2026-03-09"
BILLING_NPI = "1999999984"
READ = ["billing.claim.read"]
WRITE = ["billing.claim.read", "billing.claim.write"]


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
    assert MANUAL in manual and "auto_submit_claims: false" in manual
    (folder / f"{MANUAL}.yaml").write_text(manual)
    return service_settings(
        ClaimsSettings,
        db_schema=schema,
        topology_prefix=topology.prefix,
        prefetch=1,
        tenant_config_dir=folder,
        edi_gateway_url="http://edi-gateway:8005",
    )


# --------------------------------------------------------------------------- sample data


def sample(event_type: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / f"{event_type}.json").read_text())["data"]
    return copy.deepcopy(data)


def run_id() -> str:
    return uuid.uuid4().hex[:8]


def member_data(member_id: str, diagnoses: list[str] | None = None) -> dict[str, Any]:
    data = sample(MEMBER_UPSERTED_V1)
    data["member_id"] = member_id
    data["diagnoses"] = ["F332"] if diagnoses is None else diagnoses
    own = data["coverages"][0]
    own.update(
        coverage_id=f"cov-{member_id}",
        payer_id="acme-commercial",  # no modifier replacement: HQ stays
        subscriber_id=f"ACM{member_id[-8:].upper()}",
    )
    data["coverages"] = [own]
    return data


def provider_data(provider_id: str, npi: str = "1700000007") -> dict[str, Any]:
    data = sample(PROVIDER_UPSERTED_V1)
    data.update(provider_id=provider_id, npi=npi)
    return data


def charge_data(
    member_id: str,
    session_id: str,
    provider_id: str,
    *,
    version: int = 1,
    status: str = "READY",
    billable_count: int = 5,
    band: str = "Small",
    amount: str = "50.00",
) -> dict[str, Any]:
    charge = sample(CHARGES_RECORDED_V1)["charges"][0]
    charge.update(
        charge_id=f"ch-{session_id}-{member_id}",
        charge_version=version,
        status=status,
        member_id=member_id,
        payer_id="acme-commercial",
        coverage_id=f"cov-{member_id}",
        date_of_service=DAY,
        modifiers=["HQ"],
        rate=amount,
        amount=amount,
        rendering_provider_id=provider_id,
        source={"kind": "GROUP_SESSION", "id": session_id, "sequence": 1},
    )
    charge["group"].update(
        session_id=session_id,
        billable_count=billable_count,
        band_name=band,
        supervisors_present=[provider_id],
    )
    return charge


def recorded(*charges: dict[str, Any], change: str = "BUILT") -> dict[str, Any]:
    return {"change": change, "reason": None, "charges": list(charges)}


def bearer(
    token: Callable[..., str], tenant: str = TENANT, scopes: list[str] = READ
) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(tenant=tenant, scopes=scopes)}"}


@pytest.fixture
def send(publish: Publish, applied: Applied) -> Callable[..., Awaitable[CloudEvent]]:
    """Publish an event and wait until the consumer has applied it."""

    async def send(event_type: str, data: dict[str, Any], **kwargs: Any) -> CloudEvent:
        kwargs.setdefault("tenant", TENANT)
        event = await publish(event_type, data, **kwargs)
        await applied(event)
        return event

    return send


Send = Callable[..., Awaitable[CloudEvent]]


async def known_members(send: Send, run: str, count: int, tenant: str = TENANT) -> list[str]:
    members = [f"m-{run}-{n}" for n in range(1, count + 1)]
    for member_id in members:
        await send(MEMBER_UPSERTED_V1, member_data(member_id), tenant=tenant)
    return members


async def known_provider(
    send: Send, run: str, npi: str = "1700000007", tenant: str = TENANT
) -> str:
    provider_id = f"prov-{run}"
    await send(PROVIDER_UPSERTED_V1, provider_data(provider_id, npi), tenant=tenant)
    return provider_id


async def claims_of(
    client: httpx.AsyncClient,
    token: Callable[..., str],
    tenant: str = TENANT,
    **params: str,
) -> list[dict[str, Any]]:
    response = await client.get("/v1/claims", params=params, headers=bearer(token, tenant))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def detail(
    client: httpx.AsyncClient, token: Callable[..., str], claim_id: str, tenant: str = TENANT
) -> dict[str, Any]:
    response = await client.get(f"/v1/claims/{claim_id}", headers=bearer(token, tenant))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def outbox(runtime: ServiceRuntime, event_type: str, claim_id: str) -> list[dict[str, Any]]:
    """The ``data`` of the events the service published about a claim, oldest first."""
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(OUTBOX.c.payload).where(OUTBOX.c.event_type == event_type).order_by(OUTBOX.c.id)
        )
        return [p["data"] for (p,) in rows if p["data"]["claim_id"] == claim_id]


# --------------------------------------------------------------------------- vector 1


async def test_vector_1_five_billable_members_make_five_fifty_dollar_claims_submitted_at_once(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    run = run_id()
    provider = await known_provider(send, run)
    members = await known_members(send, run, 5)
    session_id = f"gs-{run}"
    await send(
        CHARGES_RECORDED_V1, recorded(*(charge_data(m, session_id, provider) for m in members))
    )

    claims = await claims_of(client, token, session_id=session_id)
    assert len(claims) == 5
    assert sorted(c["member_id"] for c in claims) == members  # each under its own member
    for claim in claims:
        assert claim["status"] == "SUBMITTED"
        assert (claim["line_count"], claim["total_charge"]) == (1, "50.00")
        [line] = claim["lines"]
        assert (line["service"], line["amount"], line["units"]) == ("HC:90853:HQ", "50.00", "1")
        assert line["date_of_service"] == DAY

        [submitted] = await outbox(runtime, CLAIM_SUBMITTED_V1, claim["claim_id"])
        member_id = claim["member_id"]
        assert submitted["transaction_type"] == "837P"
        assert submitted["clearinghouse_id"] == "local-dev"
        assert submitted["patient_control_number"] == claim["patient_control_number"]
        assert submitted["total_charge"] == "50.00"
        assert submitted["billing_provider"]["npi"] == BILLING_NPI
        assert submitted["pay_to_address"]["line1"] == "PO BOX 4410"
        assert (
            submitted["payer"]["edi_payer_id"],
            submitted["payer"]["claim_filing_indicator"],
        ) == (
            "ACMEH",
            "CI",
        )
        subscriber = submitted["subscriber"]
        assert (subscriber["member_id"], subscriber["relationship_to_subscriber"]) == (
            member_id,
            "18",
        )
        assert (subscriber["last_name"], subscriber["subscriber_id"]) == (
            "DOE",
            f"ACM{member_id[-8:].upper()}",
        )
        assert submitted["patient"] is None
        assert submitted["diagnoses"] == ["F332"]
        assert submitted["place_of_service"] == "11"
        assert submitted["source"]["session_ids"] == [session_id]
        [sent_line] = submitted["service_lines"]
        assert sent_line["procedure_code"] == "90853" and sent_line["modifiers"] == ["HQ"]
        assert (sent_line["units"], sent_line["amount"]) == ("1", "50.00")
        assert sent_line["diagnosis_pointers"] == [1]
        assert sent_line["line_control_number"] == f"{claim['patient_control_number']}-1-1"
        assert sent_line["rendering_provider"]["npi"] == "1700000007"
        assert sent_line["charge_ids"] == [f"ch-{session_id}-{member_id}"]

        changes = await outbox(runtime, CLAIM_STATUS_CHANGED_V1, claim["claim_id"])
        # Built READY and submitted in one transaction: announced once, as submitted.
        assert [(c["previous_status"], c["status"]) for c in changes] == [(None, "SUBMITTED")]
        assert all(c["charge_ids"] == sent_line["charge_ids"] for c in changes)
        assert all(c["source"]["session_ids"] == [session_id] for c in changes)


async def test_the_claim_list_filters_by_member_status_and_date(
    send: Send, client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    run = run_id()
    provider = await known_provider(send, run)
    [member] = await known_members(send, run, 1)
    await send(CHARGES_RECORDED_V1, recorded(charge_data(member, f"gs-{run}", provider)))
    assert len(await claims_of(client, token, member_id=member, status="SUBMITTED", date=DAY)) == 1
    assert await claims_of(client, token, member_id=member, status="DRAFT") == []
    assert await claims_of(client, token, member_id=member, date="2026-03-10") == []


# --------------------------------------------------------------------------- versions, duplicates


async def test_charge_versions_arriving_out_of_order_keep_the_newest(
    send: Send, client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    run = run_id()
    provider = await known_provider(send, run)
    [member] = await known_members(send, run, 1)
    session_id = f"gs-{run}"
    # Version 2 (rebuilt after a forced reopen: 6 billable, Medium, $40) overtakes version 1.
    newer = charge_data(
        member, session_id, provider, version=2, billable_count=6, band="Medium", amount="40.00"
    )
    await send(CHARGES_RECORDED_V1, recorded(newer))
    await send(CHARGES_RECORDED_V1, recorded(charge_data(member, session_id, provider, version=1)))

    [claim] = await claims_of(client, token, member_id=member)
    assert (claim["claim_version"], claim["total_charge"]) == (1, "40.00")
    assert claim["lines"][0]["charge_version"] == 2


async def test_a_duplicate_delivery_makes_no_second_claim(
    runtime: ServiceRuntime,
    send: Send,
    publish: Publish,
    client: httpx.AsyncClient,
    token: Callable[..., str],
) -> None:
    run = run_id()
    provider = await known_provider(send, run)
    [member] = await known_members(send, run, 1)
    data = recorded(charge_data(member, f"gs-{run}", provider))
    first = await send(CHARGES_RECORDED_V1, data)
    await publish(CHARGES_RECORDED_V1, data, tenant=TENANT, event_id=first.id)  # redelivered
    await send(CHARGES_RECORDED_V1, data)  # the same charge version under a new event id

    [claim] = await claims_of(client, token, member_id=member)
    assert claim["claim_version"] == 1
    assert len(await outbox(runtime, CLAIM_SUBMITTED_V1, claim["claim_id"])) == 1


# --------------------------------------------------------------------------- scrub outcomes


async def test_a_claim_for_a_member_not_yet_known_waits_as_draft_until_the_member_arrives(
    send: Send, client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    run = run_id()
    provider = await known_provider(send, run)
    member = f"m-{run}-late"
    await send(CHARGES_RECORDED_V1, recorded(charge_data(member, f"gs-{run}", provider)))

    [claim] = await claims_of(client, token, member_id=member)
    waiting = await detail(client, token, claim["claim_id"])
    assert waiting["status"] == "DRAFT"
    assert [(i["code"], i["severity"]) for i in waiting["issues"]] == [("MISSING_MEMBER", "error")]

    await send(MEMBER_UPSERTED_V1, member_data(member))
    done = await detail(client, token, claim["claim_id"])
    assert (done["status"], done["claim_version"], done["issues"]) == ("SUBMITTED", 2, [])
    assert [v["scrubbed_status"] for v in done["versions"]] == ["DRAFT", "READY"]
    assert [h["to_status"] for h in done["status_history"]] == ["DRAFT", "READY", "SUBMITTED"]
    assert done["subscriber"]["member_id"] == member and done["diagnoses"] == ["F332"]


async def test_a_rendering_npi_failing_the_check_digit_keeps_the_claim_draft(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    run = run_id()
    [member] = await known_members(send, run, 1)
    # The feed's contract refuses such an NPI; a record kept from before it did is scrubbed.
    provider = f"prov-{run}-bad"
    async with runtime.sessionmaker() as session, session.begin():
        await ProjectionRepository(session).save_provider(
            TENANT,
            Provider(provider, "1700000008", "ANN", "JONES", "1041C0700X", True),
            SourceStamp(datetime.now(UTC), f"test-{run}"),
        )
    await send(CHARGES_RECORDED_V1, recorded(charge_data(member, f"gs-{run}", provider)))

    [claim] = await claims_of(client, token, member_id=member)
    body = await detail(client, token, claim["claim_id"])
    assert body["status"] == "DRAFT"
    assert [(i["code"], i["line_number"]) for i in body["issues"]] == [("INVALID_NPI", 1)]


async def test_the_rendering_provider_is_omitted_when_it_is_the_billing_provider(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    run = run_id()
    provider = await known_provider(send, run, npi=BILLING_NPI)
    [member] = await known_members(send, run, 1)
    await send(CHARGES_RECORDED_V1, recorded(charge_data(member, f"gs-{run}", provider)))

    [claim] = await claims_of(client, token, member_id=member)
    [submitted] = await outbox(runtime, CLAIM_SUBMITTED_V1, claim["claim_id"])
    assert submitted["service_lines"][0]["rendering_provider"] is None


async def test_fifty_one_sessions_of_one_member_on_one_day_split_into_two_claims(
    send: Send, client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    run = run_id()
    provider = await known_provider(send, run)
    [member] = await known_members(send, run, 1)
    charges = [charge_data(member, f"gs-{run}-{n:02d}", provider) for n in range(1, 52)]
    await send(CHARGES_RECORDED_V1, recorded(*charges))

    claims = await claims_of(client, token, member_id=member)
    assert sorted(c["line_count"] for c in claims) == [1, 50]
    assert sorted(c["total_charge"] for c in claims) == ["2500.00", "50.00"]
    assert {c["status"] for c in claims} == {"SUBMITTED"}
    assert len({c["patient_control_number"] for c in claims}) == 2
    big = next(c for c in claims if c["line_count"] == 50)
    controls = [line["line_control_number"] for line in big["lines"]]
    assert len(set(controls)) == 50


# --------------------------------------------------------------------------- voids


async def test_a_voided_charge_leaves_its_draft_claim_and_an_emptied_claim_is_cancelled(
    send: Send, client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    run = run_id()
    provider = await known_provider(send, run)
    member = f"m-{run}-unknown"  # no member record: the claim stays DRAFT
    morning, evening = (charge_data(member, f"gs-{run}-{n}", provider) for n in ("am", "pm"))
    await send(CHARGES_RECORDED_V1, recorded(morning, evening))
    [claim] = await claims_of(client, token, member_id=member)
    assert (claim["status"], claim["line_count"]) == ("DRAFT", 2)

    await send(
        CHARGES_RECORDED_V1,
        recorded({**morning, "charge_version": 2, "status": "VOID"}, change="VOIDED"),
    )
    rebuilt = await detail(client, token, claim["claim_id"])
    assert (rebuilt["status"], rebuilt["claim_version"], rebuilt["charge_ids"]) == (
        "DRAFT",
        2,
        [evening["charge_id"]],
    )

    await send(
        CHARGES_RECORDED_V1,
        recorded({**evening, "charge_version": 2, "status": "VOID"}, change="VOIDED"),
    )
    emptied = await detail(client, token, claim["claim_id"])
    assert emptied["status"] == "CANCELLED"
    assert [v["version"] for v in emptied["versions"]] == [1, 2]  # kept, never overwritten


async def test_a_charge_voided_under_a_submitted_claim_marks_it_stale(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    run = run_id()
    provider = await known_provider(send, run)
    [member] = await known_members(send, run, 1)
    charge = charge_data(member, f"gs-{run}", provider)
    await send(CHARGES_RECORDED_V1, recorded(charge))
    # The charges service's echo of our claim (ON_CLAIM) changes nothing...
    await send(
        CHARGES_RECORDED_V1,
        recorded({**charge, "charge_version": 2, "status": "ON_CLAIM"}, change="CLAIMED"),
    )
    [claim] = await claims_of(client, token, member_id=member)
    assert claim["status"] == "SUBMITTED"
    # ...a void after submission needs a reverse (#5): the claim says so.
    await send(
        CHARGES_RECORDED_V1,
        recorded({**charge, "charge_version": 3, "status": "VOID"}, change="VOIDED"),
    )

    body = await detail(client, token, claim["claim_id"])
    assert body["status"] == "STALE" and "voided" in body["stale_reason"]
    assert body["status_history"][-1]["reason_codes"] == ["CHARGE_VOIDED"]
    last = (await outbox(runtime, CLAIM_STATUS_CHANGED_V1, claim["claim_id"]))[-1]
    assert (last["previous_status"], last["status"], last["reason_codes"]) == (
        "SUBMITTED",
        "STALE",
        ["CHARGE_VOIDED"],
    )


# --------------------------------------------------------------------------- EDI outcomes


async def submitted_claim(
    send: Send, client: httpx.AsyncClient, token: Callable[..., str]
) -> dict[str, Any]:
    run = run_id()
    provider = await known_provider(send, run)
    [member] = await known_members(send, run, 1)
    await send(CHARGES_RECORDED_V1, recorded(charge_data(member, f"gs-{run}", provider)))
    [claim] = await claims_of(client, token, member_id=member)
    assert claim["status"] == "SUBMITTED"
    return claim


async def test_a_transmission_is_kept_and_the_claims_edi_is_found_through_it(
    send: Send, client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    claim = await submitted_claim(send, client, token)
    path = f"/v1/claims/{claim['claim_id']}/edi"
    before = await client.get(path, headers=bearer(token))
    assert (before.status_code, before.json()["code"]) == (409, "NOT_TRANSMITTED")

    transmitted = sample(EDI_CLAIM_TRANSMITTED_V1)
    transmitted.update(
        claim_id=claim["claim_id"],
        claim_version=claim["claim_version"],
        patient_control_number=claim["patient_control_number"],
        clearinghouse_id="local-dev",
    )
    await send(EDI_CLAIM_TRANSMITTED_V1, transmitted)
    await send(EDI_CLAIM_TRANSMITTED_V1, transmitted)  # reported twice: kept once

    after = await client.get(path, headers=bearer(token))
    assert after.status_code == 200, after.text
    edi = after.json()
    assert edi["transmission"]["file_name"] == transmitted["file_name"]
    assert (
        edi["transmission"]["interchange_control_number"],
        edi["transmission"]["group_control_number"],
        edi["transmission"]["transaction_set_control_number"],
    ) == ("000000101", "101", "0001")
    assert (
        edi["gateway_url"] == f"http://edi-gateway:8005/v1/claims/{claim['claim_id']}/transmissions"
    )
    [listed] = await claims_of(client, token, member_id=claim["member_id"])
    assert len(listed["transmissions"]) == 1 and listed["status"] == "SUBMITTED"


async def test_a_rejection_by_the_gateway_makes_the_claim_rejected_with_its_reasons(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    claim = await submitted_claim(send, client, token)
    rejected = sample(EDI_CLAIM_REJECTED_V1)
    rejected.update(
        claim_id=claim["claim_id"],
        claim_version=claim["claim_version"],
        patient_control_number=claim["patient_control_number"],
    )
    await send(EDI_CLAIM_REJECTED_V1, rejected)

    body = await detail(client, token, claim["claim_id"])
    assert body["status"] == "REJECTED"
    last = body["status_history"][-1]
    assert (last["from_status"], last["stage"], last["reason_codes"]) == (
        "SUBMITTED",
        "PRE_SEND_VALIDATION",
        ["2300/CLM"],
    )
    assert last["reason"] == "CLM segment refused by the X12 validator"
    event = (await outbox(runtime, CLAIM_STATUS_CHANGED_V1, claim["claim_id"]))[-1]
    assert (event["status"], event["reason_codes"]) == ("REJECTED", ["2300/CLM"])
    assert event["reason"].startswith("PRE_SEND_VALIDATION")


# --------------------------------------------------------------------------- operators


async def test_without_auto_submit_a_ready_claim_waits_for_the_operators_submit(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    run = run_id()
    provider = await known_provider(send, run, tenant=MANUAL)
    [member] = await known_members(send, run, 1, tenant=MANUAL)
    await send(
        CHARGES_RECORDED_V1, recorded(charge_data(member, f"gs-{run}", provider)), tenant=MANUAL
    )
    [claim] = await claims_of(client, token, MANUAL, member_id=member)
    assert claim["status"] == "READY"
    assert await outbox(runtime, CLAIM_SUBMITTED_V1, claim["claim_id"]) == []

    path = f"/v1/claims/{claim['claim_id']}/submit"
    response = await client.post(path, headers=bearer(token, MANUAL, ["claims.update"]))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "SUBMITTED"
    [submitted] = await outbox(runtime, CLAIM_SUBMITTED_V1, claim["claim_id"])
    assert submitted["clearinghouse_id"] == "local-dev"

    again = await client.post(path, headers=bearer(token, MANUAL, WRITE))
    assert (again.status_code, again.json()["code"]) == (409, "CLAIM_NOT_READY")


async def test_build_scrubs_a_members_claims_again_on_request(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    run = run_id()
    [member] = await known_members(send, run, 1, tenant=MANUAL)
    provider = f"prov-{run}-later"
    await send(
        CHARGES_RECORDED_V1, recorded(charge_data(member, f"gs-{run}", provider)), tenant=MANUAL
    )
    [claim] = await claims_of(client, token, MANUAL, member_id=member)
    body = await detail(client, token, claim["claim_id"], MANUAL)
    assert [i["code"] for i in body["issues"]] == ["MISSING_RENDERING_PROVIDER"]
    # The provider record lands without its event (e.g. restored from a backup).
    async with runtime.sessionmaker() as session, session.begin():
        await ProjectionRepository(session).save_provider(
            MANUAL,
            Provider(provider, "1700000007", "ANN", "JONES", "1041C0700X", True),
            SourceStamp(datetime.now(UTC), f"test-{run}"),
        )

    response = await client.post(
        "/v1/claims/build",
        json={"member_id": member, "period_from": DAY, "period_to": DAY},
        headers=bearer(token, MANUAL, WRITE),
    )
    assert response.status_code == 200, response.text
    [built] = response.json()["claims"]
    assert (built["claim_id"], built["status"], built["claim_version"]) == (
        claim["claim_id"],
        "READY",
        2,
    )


async def test_patient_control_numbers_are_at_most_20_characters_and_unique_per_tenant(
    send: Send, client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    await submitted_claim(send, client, token)
    numbers = [c["patient_control_number"] for c in await claims_of(client, token, limit="500")]
    assert len(numbers) > 5
    assert all(re.fullmatch(r"P[0-9]{9}", n) for n in numbers)
    assert len(set(numbers)) == len(numbers)


# --------------------------------------------------------------------------- refusals


async def test_every_refusal_is_a_problem_with_a_stable_code(
    send: Send, client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    claim = await submitted_claim(send, client, token)
    path = f"/v1/claims/{claim['claim_id']}"

    async def problem(response: httpx.Response) -> tuple[int, str]:
        assert response.headers["content-type"].startswith("application/problem+json")
        return response.status_code, response.json()["code"]

    assert await problem(await client.get(path)) == (401, "UNAUTHENTICATED")
    assert await problem(
        await client.get(path, headers=bearer(token, scopes=["clinical.encounter.read"]))
    ) == (403, "INSUFFICIENT_SCOPE")
    assert await problem(await client.post(f"{path}/submit", headers=bearer(token))) == (
        403,
        "INSUFFICIENT_SCOPE",
    )
    other = bearer(token, "tenant-b", WRITE)
    assert await problem(await client.get(path, headers=other)) == (404, "CLAIM_NOT_FOUND")
    assert await problem(await client.post(f"{path}/submit", headers=other)) == (
        404,
        "CLAIM_NOT_FOUND",
    )
    assert await problem(await client.get(f"{path}/edi", headers=other)) == (404, "CLAIM_NOT_FOUND")
    assert await claims_of(client, token, "tenant-b") == []
    writer = bearer(token, scopes=WRITE)
    assert await problem(await client.post(f"{path}/submit", headers=writer)) == (
        409,
        "CLAIM_NOT_READY",
    )
    assert await problem(await client.post("/v1/claims/build", json={}, headers=writer)) == (
        422,
        "VALIDATION_ERROR",
    )
    backwards = {"member_id": claim["member_id"], "period_from": "2026-03-10", "period_to": DAY}
    assert await problem(await client.post("/v1/claims/build", json=backwards, headers=writer)) == (
        422,
        "PERIOD_OUT_OF_ORDER",
    )
    nobody = {"member_id": f"m-{run_id()}-nobody"}
    assert await problem(await client.post("/v1/claims/build", json=nobody, headers=writer)) == (
        404,
        "MEMBER_NOT_FOUND",
    )
    assert (
        await client.get(path, headers=bearer(token, scopes=["claims.read"]))
    ).status_code == 200


async def test_the_openapi_document_describes_the_claims_routes(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert {
        "/v1/claims",
        "/v1/claims/build",
        "/v1/claims/{claim_id}",
        "/v1/claims/{claim_id}/submit",
        "/v1/claims/{claim_id}/edi",
    } <= set(document["paths"])
