"""After an 837P claim left our hands (#5), through the real broker and database: the
acknowledgments that move it (in any order, twice, for old versions), and an operator's
void (reverse, frequency 8) and rebuild, or replacement (frequency 7), after a forced
attendance change on a billed group session; each audit-logged.

Sample tenant ``demo-bh`` auto-submits; members, providers and charges are the samples of
contracts/samples with ids changed. A session of 6 billable members is Medium at $40.00,
one of 5 is Small at $50.00."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from claims.adapters.db.tables import CLAIM_OVERRIDE_AUDIT
from claims.domain.corrections import Acknowledgment, AcknowledgmentEffect, AcknowledgmentOutcome
from claims.service_layer.professional_claims import record_acknowledgment
from claims.settings import ClaimsSettings
from common.outbox import OUTBOX
from common.runtime import ServiceRuntime
from common.testing.processes import SAMPLE_TENANTS
from contracts.envelope import CloudEvent
from contracts.events import (
    CHARGES_RECORDED_V1,
    CLAIM_STATUS_CHANGED_V1,
    CLAIM_SUBMITTED_V1,
    EDI_CLAIM_ACCEPTED_V1,
    EDI_CLAIM_REJECTED_V1,
    MEMBER_UPSERTED_V1,
    PROVIDER_UPSERTED_V1,
)
from contracts.topology import Topology

Publish = Callable[..., Awaitable[CloudEvent]]
Applied = Callable[[CloudEvent], Awaitable[None]]
Send = Callable[..., Awaitable[CloudEvent]]
Token = Callable[..., str]

SAMPLES = SAMPLE_TENANTS.parent
TENANT = "demo-bh"
DAY = "2026-03-09"
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
    (folder / f"{TENANT}.yaml").write_text((SAMPLE_TENANTS / f"{TENANT}.yaml").read_text())
    return service_settings(
        ClaimsSettings,
        db_schema=schema,
        topology_prefix=topology.prefix,
        prefetch=1,
        tenant_config_dir=folder,
    )


@pytest.fixture
def send(publish: Publish, applied: Applied) -> Send:
    async def send(event_type: str, data: dict[str, Any], **kwargs: Any) -> CloudEvent:
        kwargs.setdefault("tenant", TENANT)
        event = await publish(event_type, data, **kwargs)
        await applied(event)
        return event

    return send


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
        payer_id="acme-commercial",
        subscriber_id=f"ACM{member_id[-8:].upper()}",
    )
    data["coverages"] = [own]
    return data


def charge_data(
    member_id: str,
    session_id: str,
    provider_id: str,
    *,
    version: int = 1,
    status: str = "READY",
    billable_count: int = 6,
    band: str = "Medium",
    amount: str = "40.00",
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


def bearer(token: Token, tenant: str = TENANT, scopes: list[str] = WRITE) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(tenant=tenant, scopes=scopes)}"}


async def detail(client: httpx.AsyncClient, token: Token, claim_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/claims/{claim_id}", headers=bearer(token, scopes=READ))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def claim_of(client: httpx.AsyncClient, token: Token, member_id: str) -> dict[str, Any]:
    response = await client.get(
        "/v1/claims", params={"member_id": member_id}, headers=bearer(token, scopes=READ)
    )
    assert response.status_code == 200, response.text
    [claim] = response.json()["items"]
    body: dict[str, Any] = claim
    return body


async def outbox(runtime: ServiceRuntime, event_type: str, claim_id: str) -> list[dict[str, Any]]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(OUTBOX.c.payload).where(OUTBOX.c.event_type == event_type).order_by(OUTBOX.c.id)
        )
        return [p["data"] for (p,) in rows if p["data"]["claim_id"] == claim_id]


async def billed_session(send: Send, run: str, count: int) -> tuple[str, str, list[str]]:
    """A group session of ``count`` members (6 billable: Medium, $40.00), billed: each
    member's claim SUBMITTED. Returns (provider, session, members)."""
    provider_id = f"prov-{run}"
    provider = sample(PROVIDER_UPSERTED_V1)
    provider.update(provider_id=provider_id, npi="1700000007")
    await send(PROVIDER_UPSERTED_V1, provider)
    members = [f"m-{run}-{n}" for n in range(1, count + 1)]
    for member_id in members:
        await send(MEMBER_UPSERTED_V1, member_data(member_id))
    session_id = f"gs-{run}"
    await send(
        CHARGES_RECORDED_V1, recorded(*(charge_data(m, session_id, provider_id) for m in members))
    )
    return provider_id, session_id, members


def acknowledgment(
    event_type: str, claim: dict[str, Any], version: int | None = None, **fields: Any
) -> dict[str, Any]:
    data = sample(event_type)
    data.update(
        claim_id=claim["claim_id"],
        claim_version=claim["claim_version"] if version is None else version,
        patient_control_number=claim["patient_control_number"],
        **fields,
    )
    return data


def payer_rejection(
    claim: dict[str, Any], version: int | None = None, **fields: Any
) -> dict[str, Any]:
    return acknowledgment(
        EDI_CLAIM_REJECTED_V1,
        claim,
        version,
        **{
            "stage": "277CA",
            "party": "PAYER",
            "codes": ["A7:562:PR"],
            "message": "Entity's National Provider Identifier (NPI) invalid",
            **fields,
        },
    )


async def post(
    client: httpx.AsyncClient, token: Token, claim_id: str, action: str, reason: str | None
) -> httpx.Response:
    body = None if reason is None else {"reason": reason}
    return await client.post(f"/v1/claims/{claim_id}/{action}", json=body, headers=bearer(token))


# --------------------------------------------------------------------------- acknowledgments


async def test_acknowledgments_move_a_claim_and_a_rejection_wins_in_either_order(
    runtime: ServiceRuntime,
    send: Send,
    publish: Publish,
    client: httpx.AsyncClient,
    token: Token,
) -> None:
    run = run_id()
    _, _, (first, second) = await billed_session(send, run, 2)
    one, two = await claim_of(client, token, first), await claim_of(client, token, second)

    # Accepted, then rejected by the payer, then accepted again: REJECTED.
    await send(EDI_CLAIM_ACCEPTED_V1, acknowledgment(EDI_CLAIM_ACCEPTED_V1, one))
    assert (await detail(client, token, one["claim_id"]))["status"] == "ACCEPTED"
    await send(EDI_CLAIM_REJECTED_V1, payer_rejection(one))
    await send(EDI_CLAIM_ACCEPTED_V1, acknowledgment(EDI_CLAIM_ACCEPTED_V1, one))
    body = await detail(client, token, one["claim_id"])
    assert body["status"] == "REJECTED"
    assert [(a["outcome"], a["effect"]) for a in body["acknowledgments"]] == [
        ("ACCEPTED", "APPLIED"),
        ("REJECTED", "APPLIED"),
        ("ACCEPTED", "REJECTION_STANDS"),
    ]
    rejected = body["status_history"][-1]
    assert (rejected["from_status"], rejected["to_status"], rejected["stage"]) == (
        "ACCEPTED",
        "REJECTED",
        "277CA",
    )
    assert rejected["reason_codes"] == ["A7:562:PR"]
    changed = (await outbox(runtime, CLAIM_STATUS_CHANGED_V1, one["claim_id"]))[-1]
    assert (changed["status"], changed["reason_codes"]) == ("REJECTED", ["A7:562:PR"])
    assert changed["reason"] == "277CA: Entity's National Provider Identifier (NPI) invalid"

    # Rejected first: the acceptance after it, the same event redelivered and the same
    # rejection under a new event id change nothing.
    rejection = await send(EDI_CLAIM_REJECTED_V1, payer_rejection(two))
    await send(EDI_CLAIM_ACCEPTED_V1, acknowledgment(EDI_CLAIM_ACCEPTED_V1, two))
    await publish(EDI_CLAIM_REJECTED_V1, payer_rejection(two), tenant=TENANT, event_id=rejection.id)
    await send(EDI_CLAIM_REJECTED_V1, payer_rejection(two))
    body = await detail(client, token, two["claim_id"])
    assert body["status"] == "REJECTED"
    assert [a["effect"] for a in body["acknowledgments"]] == [
        "APPLIED",
        "REJECTION_STANDS",
        "UNCHANGED",
    ]
    assert [c["to_status"] for c in body["status_history"]][-2:] == ["SUBMITTED", "REJECTED"]


async def test_every_acknowledgment_is_kept_with_the_payers_claim_control_number(
    send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    _, _, [member] = await billed_session(send, run, 1)
    claim = await claim_of(client, token, member)
    await send(
        EDI_CLAIM_ACCEPTED_V1,
        acknowledgment(
            EDI_CLAIM_ACCEPTED_V1,
            claim,
            stage="999",
            party=None,
            codes=["A"],
            payer_claim_control_number=None,
            clearinghouse_trace_number=None,
            status_date=None,
        ),
    )
    await send(EDI_CLAIM_ACCEPTED_V1, acknowledgment(EDI_CLAIM_ACCEPTED_V1, claim))

    body = await detail(client, token, claim["claim_id"])
    assert body["status"] == "ACCEPTED"
    first, second = body["acknowledgments"]
    assert (first["stage"], first["effect"], first["codes"]) == ("999", "APPLIED", ["A"])
    assert (second["stage"], second["party"], second["effect"]) == ("277CA", "PAYER", "UNCHANGED")
    assert (second["payer_claim_control_number"], second["clearinghouse_trace_number"]) == (
        "PCCN2026031000017",
        "CHT000000123",
    )
    assert (second["status_date"], second["message"]) == ("2026-03-10", "Accepted for processing")
    assert second["received_at"] and second["event_id"]
    assert body["payer_claim_control_number"] == "PCCN2026031000017"
    assert body["versions"][0]["payer_claim_control_number"] == "PCCN2026031000017"


async def test_an_acknowledgment_of_a_stale_claim_is_kept_and_the_claim_stays_stale(
    send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    provider, session_id, [member] = await billed_session(send, run, 1)
    claim = await claim_of(client, token, member)
    voided = charge_data(member, session_id, provider, version=2, status="VOID")
    await send(CHARGES_RECORDED_V1, recorded(voided, change="VOIDED"))
    await send(EDI_CLAIM_REJECTED_V1, payer_rejection(claim))

    body = await detail(client, token, claim["claim_id"])
    assert (body["status"], body["reversal_needed"]) == ("STALE", True)
    assert [a["effect"] for a in body["acknowledgments"]] == ["CLAIM_STALE"]


# --------------------------------------------------------------------------- flow (a)


async def test_a_forced_attendance_change_is_voided_and_rebuilt_or_replaced(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    provider, session_id, (alice, bob, carol) = await billed_session(send, run, 3)
    sent = {m: await claim_of(client, token, m) for m in (alice, bob, carol)}
    assert {c["status"] for c in sent.values()} == {"SUBMITTED"}
    # The payer numbered Alice's claim (277CA REF*1K).
    await send(EDI_CLAIM_ACCEPTED_V1, acknowledgment(EDI_CLAIM_ACCEPTED_V1, sent[alice]))

    # A forced attendance change after billing: Carol was absent. The session has 5
    # billable members now (Small, $50.00); Carol's charge is voided.
    await send(
        CHARGES_RECORDED_V1,
        recorded(
            *(
                charge_data(
                    m,
                    session_id,
                    provider,
                    version=2,
                    billable_count=5,
                    band="Small",
                    amount="50.00",
                )
                for m in (alice, bob)
            ),
            charge_data(carol, session_id, provider, version=2, status="VOID"),
            change="BUILT",
        ),
    )
    for member, code in (
        (alice, "CHARGE_CHANGED"),
        (bob, "CHARGE_CHANGED"),
        (carol, "CHARGE_VOIDED"),
    ):
        body = await detail(client, token, sent[member]["claim_id"])
        assert (body["status"], body["reversal_needed"]) == ("STALE", True)
        assert body["status_history"][-1]["reason_codes"] == [code]

    # Alice: reverse (void, frequency 8, REF*F8 = the payer's number), then rebuild.
    alice_id = sent[alice]["claim_id"]
    response = await post(client, token, alice_id, "reverse", "Carol was marked absent late")
    assert response.status_code == 200, response.text
    reversed_ = response.json()
    assert (reversed_["status"], reversed_["claim_version"], reversed_["frequency_code"]) == (
        "REVERSED",
        2,
        "8",
    )
    assert reversed_["charge_ids"] == [f"ch-{session_id}-{alice}"]  # what the void cancels
    void = (await outbox(runtime, CLAIM_SUBMITTED_V1, alice_id))[-1]
    assert (void["claim_version"], void["frequency_code"], void["original_reference"]) == (
        2,
        "8",
        "PCCN2026031000017",
    )
    assert void["patient_control_number"] == sent[alice]["patient_control_number"]
    [void_line] = void["service_lines"]
    assert (void_line["amount"], void_line["charge_ids"]) == (
        "40.00",  # the content of the version sent
        [f"ch-{session_id}-{alice}"],
    )
    assert void_line["line_control_number"] == f"{sent[alice]['patient_control_number']}-2-1"
    [override] = reversed_["overrides"]
    assert (override["action"], override["reason"], override["from_status"]) == (
        "REVERSE",
        "Carol was marked absent late",
        "STALE",
    )
    assert override["actor"] and override["details"]["original_reference"] == "PCCN2026031000017"
    reversed_event = (await outbox(runtime, CLAIM_STATUS_CHANGED_V1, alice_id))[-1]
    assert (reversed_event["previous_status"], reversed_event["status"]) == ("STALE", "REVERSED")

    response = await post(client, token, alice_id, "rebuild", None)
    assert response.status_code == 200, response.text
    fresh = response.json()
    assert fresh["claim_id"] != alice_id
    assert fresh["patient_control_number"] != sent[alice]["patient_control_number"]
    assert (fresh["status"], fresh["claim_version"], fresh["total_charge"]) == (
        "SUBMITTED",
        1,
        "50.00",
    )
    [original] = await outbox(runtime, CLAIM_SUBMITTED_V1, fresh["claim_id"])
    assert (original["frequency_code"], original["original_reference"]) == ("1", None)
    assert original["service_lines"][0]["amount"] == "50.00"
    assert (await detail(client, token, alice_id))["superseded_by"] == fresh["claim_id"]
    again = await post(client, token, alice_id, "rebuild", None)
    assert (again.status_code, again.json()["code"]) == (409, "CLAIM_ALREADY_REBUILT")

    # Carol: reverse (REF*F8 = our patient control number: no 277CA came), nothing to rebuild.
    carol_id = sent[carol]["claim_id"]
    assert (await post(client, token, carol_id, "reverse", "absent")).status_code == 200
    carol_void = (await outbox(runtime, CLAIM_SUBMITTED_V1, carol_id))[-1]
    assert (carol_void["frequency_code"], carol_void["original_reference"]) == (
        "8",
        sent[carol]["patient_control_number"],
    )
    nothing = await post(client, token, carol_id, "rebuild", None)
    assert (nothing.status_code, nothing.json()["code"]) == (409, "NOTHING_TO_REBUILD")

    # Bob: replace (frequency 7) with the corrected line, as the next version.
    bob_id = sent[bob]["claim_id"]
    response = await post(client, token, bob_id, "replace", "Carol was marked absent late")
    assert response.status_code == 200, response.text
    replaced = response.json()
    assert (replaced["status"], replaced["claim_version"], replaced["total_charge"]) == (
        "SUBMITTED",
        2,
        "50.00",
    )
    assert (replaced["reversal_needed"], replaced["stale_reason"]) == (False, None)
    assert [(v["version"], v["frequency_code"]) for v in replaced["versions"]] == [
        (1, None),
        (2, "7"),
    ]
    assert [
        (c["claim_version"], c["from_status"], c["to_status"])
        for c in replaced["status_history"][-2:]
    ] == [
        (1, "STALE", "REPLACED"),
        (2, "REPLACED", "SUBMITTED"),
    ]
    replacement = (await outbox(runtime, CLAIM_SUBMITTED_V1, bob_id))[-1]
    assert (
        replacement["claim_version"],
        replacement["frequency_code"],
        replacement["original_reference"],
    ) == (2, "7", sent[bob]["patient_control_number"])
    [line] = replacement["service_lines"]
    assert (line["amount"], line["line_control_number"]) == (
        "50.00",
        f"{sent[bob]['patient_control_number']}-2-1",
    )
    assert replaced["overrides"][0]["action"] == "REPLACE"

    # An acknowledgment of the version replaced is kept and changes nothing.
    await send(EDI_CLAIM_REJECTED_V1, payer_rejection(sent[bob], 1))
    body = await detail(client, token, bob_id)
    assert body["status"] == "SUBMITTED"
    assert body["acknowledgments"][-1]["effect"] == "OLDER_VERSION"
    unchanged = await post(client, token, bob_id, "replace", "again")
    assert (unchanged.status_code, unchanged.json()["code"]) == (409, "NOTHING_CHANGED")


# --------------------------------------------------------------------------- held after a void


async def claims_of(client: httpx.AsyncClient, token: Token, member_id: str) -> list[str]:
    response = await client.get(
        "/v1/claims", params={"member_id": member_id}, headers=bearer(token, scopes=READ)
    )
    assert response.status_code == 200, response.text
    return [c["claim_id"] for c in response.json()["items"]]


async def reversed_and_echoed(
    send: Send, client: httpx.AsyncClient, token: Token
) -> tuple[str, str, str, str]:
    """A member's $40.00 claim of a billed 6-member session, ACCEPTED, then reversed (the
    order SPEC 3 asks before a forced attendance change), and the charges service's echo
    of the void: the charge READY again as version 2, billing the same $40.00. Nothing
    bills it again. Returns (provider, session, member, reversed claim id)."""
    run = run_id()
    provider, session_id, [member] = await billed_session(send, run, 1)
    claim = await claim_of(client, token, member)
    await send(EDI_CLAIM_ACCEPTED_V1, acknowledgment(EDI_CLAIM_ACCEPTED_V1, claim))
    response = await post(client, token, claim["claim_id"], "reverse", "attendance to correct")
    assert response.status_code == 200, response.text
    assert response.json()["held_for_rebuild"] is True
    echo = charge_data(member, session_id, provider, version=2)
    await send(CHARGES_RECORDED_V1, recorded(echo, change="CLAIMED"))
    # Something unrelated goes through after it: by then any build would have happened.
    other = sample(PROVIDER_UPSERTED_V1)
    other.update(provider_id=f"prov-other-{run}", npi="1700000007")
    await send(PROVIDER_UPSERTED_V1, other)
    assert await claims_of(client, token, member) == [claim["claim_id"]]
    return provider, session_id, member, claim["claim_id"]


async def test_a_reversed_claims_charges_wait_for_the_operators_rebuild(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    _, session_id, member, claim_id = await reversed_and_echoed(send, client, token)
    body = await detail(client, token, claim_id)
    assert (body["status"], body["held_for_rebuild"]) == ("REVERSED", True)
    assert body["held_charge_ids"] == [f"ch-{session_id}-{member}"]
    sent = await outbox(runtime, CLAIM_SUBMITTED_V1, claim_id)
    assert [m["frequency_code"] for m in sent] == ["1", "8"]  # the original, its void
    # An operator's build of the member's claims leaves the held charge alone too.
    built = await client.post("/v1/claims/build", json={"member_id": member}, headers=bearer(token))
    assert built.status_code == 200, built.text
    assert await claims_of(client, token, member) == [claim_id]

    response = await post(client, token, claim_id, "rebuild", None)
    assert response.status_code == 200, response.text
    fresh = response.json()
    assert fresh["claim_id"] != claim_id
    assert (fresh["status"], fresh["claim_version"], fresh["total_charge"]) == (
        "SUBMITTED",
        1,
        "40.00",
    )
    [original] = await outbox(runtime, CLAIM_SUBMITTED_V1, fresh["claim_id"])
    assert (original["frequency_code"], original["original_reference"]) == ("1", None)
    body = await detail(client, token, claim_id)
    assert (body["held_for_rebuild"], body["held_charge_ids"]) == (False, [])
    assert body["superseded_by"] == fresh["claim_id"]


async def test_a_held_charge_corrected_after_the_reverse_is_billed_afresh_by_itself(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    provider, session_id, member, claim_id = await reversed_and_echoed(send, client, token)
    # The forced attendance change: 5 billable members now (Small, $50.00), version 3.
    corrected = charge_data(
        member, session_id, provider, version=3, billable_count=5, band="Small", amount="50.00"
    )
    await send(CHARGES_RECORDED_V1, recorded(corrected))

    [fresh_id] = [c for c in await claims_of(client, token, member) if c != claim_id]
    fresh = await detail(client, token, fresh_id)
    assert (fresh["status"], fresh["total_charge"]) == ("SUBMITTED", "50.00")
    [line] = fresh["lines"]
    assert (line["charge_id"], line["charge_version"]) == (f"ch-{session_id}-{member}", 3)
    [original] = await outbox(runtime, CLAIM_SUBMITTED_V1, fresh_id)
    assert original["frequency_code"] == "1"
    assert (await detail(client, token, claim_id))["held_for_rebuild"] is False


async def test_a_held_charge_voided_after_the_reverse_is_never_billed_again(
    send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    provider, session_id, member, claim_id = await reversed_and_echoed(send, client, token)
    voided = charge_data(member, session_id, provider, version=3, status="VOID")
    await send(CHARGES_RECORDED_V1, recorded(voided, change="VOIDED"))

    assert await claims_of(client, token, member) == [claim_id]
    assert (await detail(client, token, claim_id))["held_for_rebuild"] is False
    nothing = await post(client, token, claim_id, "rebuild", None)
    assert (nothing.status_code, nothing.json()["code"]) == (409, "NOTHING_TO_REBUILD")


# --------------------------------------------------------------------------- refusals


async def test_a_replacement_that_scrubs_with_errors_changes_nothing(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    _, _, [member] = await billed_session(send, run, 1)
    claim = await claim_of(client, token, member)
    await send(MEMBER_UPSERTED_V1, {**member_data(member, diagnoses=[]), "active": True})

    response = await post(client, token, claim["claim_id"], "replace", "diagnosis corrected")
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "REPLACEMENT_NOT_CLEAN"
    assert "MISSING_DIAGNOSIS" in {i["code"] for i in problem["issues"]}
    body = await detail(client, token, claim["claim_id"])
    assert (body["status"], body["claim_version"], body["overrides"]) == ("SUBMITTED", 1, [])
    assert len(await outbox(runtime, CLAIM_SUBMITTED_V1, claim["claim_id"])) == 1


async def test_every_correction_refusal_is_a_problem_with_a_stable_code(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    _, _, (first, second) = await billed_session(send, run, 2)
    claim = await claim_of(client, token, first)
    claim_id = claim["claim_id"]

    async def code(response: httpx.Response) -> tuple[int, str]:
        assert response.headers["content-type"].startswith("application/problem+json")
        return response.status_code, response.json()["code"]

    assert await code(await post(client, token, "clm-nobody", "reverse", "x")) == (
        404,
        "CLAIM_NOT_FOUND",
    )
    other_tenant = await client.post(
        f"/v1/claims/{claim_id}/reverse",
        json={"reason": "x"},
        headers=bearer(token, "tenant-b"),
    )
    assert await code(other_tenant) == (404, "CLAIM_NOT_FOUND")
    read_only = await client.post(
        f"/v1/claims/{claim_id}/reverse", json={"reason": "x"}, headers=bearer(token, scopes=READ)
    )
    assert await code(read_only) == (403, "INSUFFICIENT_SCOPE")
    for action in ("reverse", "replace"):
        assert await code(await post(client, token, claim_id, action, None)) == (
            422,
            "REASON_REQUIRED",
        )
        assert await code(await post(client, token, claim_id, action, "   ")) == (
            422,
            "REASON_REQUIRED",
        )
    assert await code(await post(client, token, claim_id, "replace", "no change")) == (
        409,
        "NOTHING_CHANGED",
    )

    # A rejected claim never reached the payer's books: rebuilt, never voided.
    await send(EDI_CLAIM_REJECTED_V1, payer_rejection(claim))
    refused = await post(client, token, claim_id, "reverse", "x")
    assert await code(refused) == (409, "CLAIM_NOT_REVERSIBLE")
    assert "rebuild" in refused.json()["title"]
    assert await code(await post(client, token, claim_id, "replace", "x")) == (
        409,
        "CLAIM_NOT_REPLACEABLE",
    )
    rebuilt = await post(client, token, claim_id, "rebuild", None)
    assert rebuilt.status_code == 200, rebuilt.text
    assert rebuilt.json()["claim_id"] != claim_id
    assert rebuilt.json()["status"] == "SUBMITTED"
    # Reversed once, a claim is not reversed again.
    other = (await claim_of(client, token, second))["claim_id"]
    assert (await post(client, token, other, "reverse", "duplicate claim")).status_code == 200
    assert await code(await post(client, token, other, "reverse", "again")) == (
        409,
        "CLAIM_NOT_REVERSIBLE",
    )


async def test_the_override_audit_log_is_append_only(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    run = run_id()
    _, _, [member] = await billed_session(send, run, 1)
    claim_id = (await claim_of(client, token, member))["claim_id"]
    assert (await post(client, token, claim_id, "reverse", "billed in error")).status_code == 200
    async with runtime.sessionmaker() as session:
        with pytest.raises(Exception, match="append-only"):
            await session.execute(
                update(CLAIM_OVERRIDE_AUDIT)
                .where(CLAIM_OVERRIDE_AUDIT.c.claim_id == claim_id)
                .values(reason="rewritten")
            )
        await session.rollback()
    [override] = (await detail(client, token, claim_id))["overrides"]
    assert override["reason"] == "billed in error"


async def test_the_openapi_document_describes_the_corrections(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for action in ("reverse", "replace", "rebuild"):
        operation = paths[f"/v1/claims/{{claim_id}}/{action}"]["post"]
        assert {"404", "409"} <= set(operation["responses"])
    assert (
        "REASON_REQUIRED"
        in paths["/v1/claims/{claim_id}/reverse"]["post"]["responses"]["422"]["description"]
    )


async def test_one_acknowledgment_recorded_twice_is_kept_once_and_moves_the_claim_once(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    """The inbox drops a redelivered event before it reaches the use case; the use case
    holds on its own (the acknowledgment's event id is unique): the second is UNCHANGED."""
    run = run_id()
    _, _, [member] = await billed_session(send, run, 1)
    claim = await claim_of(client, token, member)
    ack = Acknowledgment(
        claim_id=claim["claim_id"],
        claim_version=1,
        outcome=AcknowledgmentOutcome.ACCEPTED,
        stage="277CA",
        codes=("A1:20",),
        message=None,
        acknowledged_at=datetime.now(UTC),
        event_id=str(uuid.uuid4()),
    )
    effects = []
    for _ in range(2):
        async with runtime.unit_of_work() as uow:
            effects.append(await record_acknowledgment(uow, TENANT, ack))
            await uow.commit()
    assert effects == [AcknowledgmentEffect.APPLIED, AcknowledgmentEffect.UNCHANGED]
    body = await detail(client, token, claim["claim_id"])
    assert [a["effect"] for a in body["acknowledgments"]] == ["APPLIED"]
    assert [c["to_status"] for c in body["status_history"]].count("ACCEPTED") == 1
