"""After an 837I cycle claim left our hands (#5), through the real broker and database: a
leave recorded late on a submitted cycle marks it STALE for a reversal; the operator
replaces it (type of bill frequency digit 7, the LOA days and span 74 now in it, REF*F8)
or voids it (digit 8) and rebuilds a fresh original.

Tenant ``demo-bh`` (auto-submits): program ``residential`` (MONTHLY, TOB 86, 1001 at
$300.00, LOA 0183 at $0.00, discharge day not billed). The stay: admitted 2026-01-10,
discharged 2026-02-03; January is an interim first claim (2), February the last (4)."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from claims.bootstrap import build_runtime
from claims.settings import ClaimsSettings
from common.outbox import OUTBOX
from common.runtime import ServiceRuntime
from common.testing.messages import bearer as bearer_header
from common.testing.processes import SAMPLE_TENANTS
from contracts.envelope import CloudEvent
from contracts.events import (
    CHARGES_RECORDED_V1,
    CLAIM_SUBMITTED_V1,
    CLAIM_WITHDRAWAL_REQUESTED_V1,
    EDI_CLAIM_ACCEPTED_V1,
    EDI_CLAIM_REJECTED_V1,
    EDI_CLAIM_TRANSMITTED_V1,
    EDI_CLAIM_WITHDRAWAL_ANSWERED_V1,
    FACILITY_UPSERTED_V1,
    MEMBER_UPSERTED_V1,
    STAYS_STAY_ADMITTED_V1,
    STAYS_STAY_CORRECTED_V1,
    STAYS_STAY_DISCHARGED_V1,
)
from contracts.topology import Topology

Publish = Callable[..., Awaitable[CloudEvent]]
Applied = Callable[[CloudEvent], Awaitable[None]]
Send = Callable[..., Awaitable[CloudEvent]]
Token = Callable[..., str]

SAMPLES = SAMPLE_TENANTS.parent
TENANT = "demo-bh"
FACILITY = "fac-springfield-res"
READ = ["billing.claim.read"]
WRITE = ["billing.claim.read", "billing.claim.write"]
DISCHARGE = ("2026-02-03", 10, "01")
LATE_LEAVE = (("loa-late", "2026-01-20", "2026-01-23"),)


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


@pytest.fixture(scope="module")
async def runtime(settings: ClaimsSettings) -> AsyncIterator[ServiceRuntime]:
    runtime = build_runtime(settings, background=False)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


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


def member_data(member_id: str) -> dict[str, Any]:
    data = sample(MEMBER_UPSERTED_V1)
    data["member_id"] = member_id
    own = data["coverages"][0]  # il-medicaid, self
    own.update(coverage_id=f"cov-{member_id}", subscriber_id=f"MCD{member_id[-8:].upper()}")
    data["coverages"] = [own]
    data["program_enrollments"] = []
    return data


def stay_data(
    stay_id: str,
    member_id: str,
    version: int,
    *,
    leaves: tuple[tuple[str, str, str], ...] = (),
    discharge: tuple[str, int, str] | None = None,
) -> dict[str, Any]:
    admit = "2026-01-10"
    return {
        "stay_id": stay_id,
        "stay_version": version,
        "member_id": member_id,
        "facility_id": FACILITY,
        "program_id": "residential",
        "status": "DISCHARGED" if discharge else "ADMITTED",
        "admission": {
            "admit_date": admit,
            "admit_hour": 14,
            "admission_type": "3",
            "admission_source": "1",
            "principal_diagnosis": "F33.2",
            "admitting_diagnosis": "F33.2",
            "other_diagnoses": ["F41.1"],
            "drg": "885",
            "procedures": [{"code": "GZHZZZZ", "performed_on": admit}],
        },
        "leaves": [
            {"leave_id": i, "start_date": s, "return_date": r, "reason": "THERAPEUTIC"}
            for i, s, r in leaves
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
    stay_version: int = 2,
) -> dict[str, Any]:
    """A day charge of the stay, written from ``stay_version`` (2: the discharge)."""
    return {
        "charge_id": f"dc-{stay_id}-{day.isoformat()}",
        "charge_version": version,
        "kind": "PER_DIEM",
        "filing_type": "INSTITUTIONAL",
        "status": "READY",
        "issues": [],
        "member_id": member_id,
        "program_id": "residential",
        "facility_id": FACILITY,
        "payer_id": "il-medicaid",
        "coverage_id": f"cov-{member_id}",
        "date_of_service": day.isoformat(),
        "revenue_code": "0183" if leave else "1001",
        "units": "1",
        "unit_basis": "DA",
        "rate": "0.00" if leave else "300.00",
        "amount": "0.00" if leave else "300.00",
        "covered": not leave,
        "source": {"kind": "STAY", "id": stay_id, "sequence": stay_version},
    }


def recorded(charges: list[dict[str, Any]], change: str = "BUILT") -> dict[str, Any]:
    return {"change": change, "reason": None, "charges": charges}


def january_echo(stay_id: str, member_id: str, *, leave: bool) -> dict[str, Any]:
    """The charges service's echo of January's void: its day charges READY again, one
    version on, billing what they billed."""
    on_leave = days("2026-01-20", "2026-01-22") if leave else []
    return recorded(
        [
            day_charge(
                stay_id,
                member_id,
                d,
                leave=d in on_leave,
                version=3 if d in on_leave else 2,
                stay_version=3 if d in on_leave else 2,
            )
            for d in days("2026-01-10", "2026-01-31")
        ],
        change="CLAIMED",
    )


def bearer(token: Token, scopes: list[str] = WRITE) -> dict[str, str]:
    return bearer_header(token(tenant=TENANT, scopes=scopes))


async def stay_claims(
    client: httpx.AsyncClient, token: Token, stay_id: str
) -> list[dict[str, Any]]:
    response = await client.get(
        "/v1/claims", params={"stay_id": stay_id}, headers=bearer(token, READ)
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return sorted(items, key=lambda c: (c["period_from"], c["created_at"]))


async def detail(client: httpx.AsyncClient, token: Token, claim_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/claims/{claim_id}", headers=bearer(token, READ))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def submitted(runtime: ServiceRuntime, claim_id: str) -> list[dict[str, Any]]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(OUTBOX.c.payload)
            .where(OUTBOX.c.event_type == CLAIM_SUBMITTED_V1)
            .order_by(OUTBOX.c.id)
        )
        return [p["data"] for (p,) in rows if p["data"]["claim_id"] == claim_id]


async def post(
    client: httpx.AsyncClient, token: Token, claim_id: str, action: str, reason: str | None = None
) -> httpx.Response:
    body = None if reason is None else {"reason": reason}
    return await client.post(f"/v1/claims/{claim_id}/{action}", json=body, headers=bearer(token))


async def transmitted(send: Send, claim: dict[str, Any], interchange: int) -> None:
    """The gateway's word that the claim's version left in an interchange."""
    await send(
        EDI_CLAIM_TRANSMITTED_V1,
        {
            "claim_id": claim["claim_id"],
            "claim_version": claim["claim_version"],
            "patient_control_number": claim["patient_control_number"],
            "clearinghouse_id": "local-dev",
            "interchange_control_number": f"{interchange:09d}",
            "group_control_number": str(interchange),
            "transaction_set_control_number": "0001",
            "file_name": f"{TENANT}_local-dev_837I_{interchange:09d}.x12",
            "file_sha256": "0" * 64,
            "transmitted_at": "2026-02-04T10:00:00Z",
        },
    )


async def answer_withdrawal(
    send: Send, claim: dict[str, Any], outcome: str, status: str
) -> CloudEvent:
    return await send(
        EDI_CLAIM_WITHDRAWAL_ANSWERED_V1,
        {
            "claim_id": claim["claim_id"],
            "claim_version": claim["claim_version"],
            "patient_control_number": claim["patient_control_number"],
            "outcome": outcome,
            "submission_status": status,
            "answered_at": "2026-02-04T10:00:01Z",
        },
    )


async def withdrawal_requests(runtime: ServiceRuntime, claim_id: str) -> list[dict[str, Any]]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(OUTBOX.c.payload)
            .where(OUTBOX.c.event_type == CLAIM_WITHDRAWAL_REQUESTED_V1)
            .order_by(OUTBOX.c.id)
        )
        return [p["data"] for (p,) in rows if p["data"]["claim_id"] == claim_id]


async def billed_stay(
    send: Send, client: httpx.AsyncClient, token: Token, *, sent: bool = True
) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    """The stay billed without a leave: January and February SUBMITTED at once and, when
    ``sent``, transmitted by the gateway. Returns (stay id, member id, January, February)."""
    run = uuid.uuid4().hex[:8]
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    await send(MEMBER_UPSERTED_V1, member_data(member_id))
    await send(FACILITY_UPSERTED_V1, sample(FACILITY_UPSERTED_V1))
    await send(STAYS_STAY_ADMITTED_V1, stay_data(stay_id, member_id, 1))
    await send(STAYS_STAY_DISCHARGED_V1, stay_data(stay_id, member_id, 2, discharge=DISCHARGE))
    charges = [day_charge(stay_id, member_id, d) for d in days("2026-01-10", "2026-02-02")]
    await send(CHARGES_RECORDED_V1, recorded(charges))
    january, february = await stay_claims(client, token, stay_id)
    assert (january["status"], january["frequency_code"]) == ("SUBMITTED", "2")
    assert (february["status"], february["frequency_code"]) == ("SUBMITTED", "4")
    if sent:
        await transmitted(send, january, 101)
        await transmitted(send, february, 101)
    return stay_id, member_id, january, february


async def submitted_stay_with_a_late_leave(
    send: Send, client: httpx.AsyncClient, token: Token, *, sent: bool = True
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The billed stay, then a leave 01-20 .. 01-23 recorded late, and the charges
    service's LOA day charges for it. Returns (stay id, January as first sent, February)."""
    stay_id, member_id, january, february = await billed_stay(send, client, token, sent=sent)
    corrected = {
        **stay_data(stay_id, member_id, 3, leaves=LATE_LEAVE, discharge=DISCHARGE),
        "correction_kind": "LEAVE_CHANGED",
        "leave_id": "loa-late",
        "affected_from": "2026-01-20",
        "affected_through": "2026-01-22",
    }
    await send(STAYS_STAY_CORRECTED_V1, corrected)
    rewritten = [
        day_charge(stay_id, member_id, d, leave=True, version=2, stay_version=3)
        for d in days("2026-01-20", "2026-01-22")
    ]
    await send(CHARGES_RECORDED_V1, recorded(rewritten))
    stale = await detail(client, token, january["claim_id"])
    assert (stale["status"], stale["reversal_needed"], stale["claim_version"]) == (
        "STALE",
        True,
        1,
    )
    assert "reverse and rebuild" in stale["stale_reason"]
    return stay_id, january, february


def value_codes(message: dict[str, Any]) -> dict[str, Decimal]:
    return {v["code"]: Decimal(v["amount"]) for v in message["institutional"]["value_codes"]}


# --------------------------------------------------------------------------- withdrawal


async def test_a_claim_known_to_have_left_is_not_asked_back_from_the_gateway(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    _, january, _ = await submitted_stay_with_a_late_leave(send, client, token)
    assert await withdrawal_requests(runtime, january["claim_id"]) == []
    assert (await detail(client, token, january["claim_id"]))["reversal_needed"] is True


async def test_a_claim_gone_stale_before_it_was_sent_is_asked_back_and_rebuilt_as_an_original(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    _, january, february = await submitted_stay_with_a_late_leave(send, client, token, sent=False)
    claim_id = january["claim_id"]
    [request] = await withdrawal_requests(runtime, claim_id)
    assert request == {
        "claim_id": claim_id,
        "claim_version": 1,
        "patient_control_number": january["patient_control_number"],
        "clearinghouse_id": "local-dev",
        "transaction_type": "837I",
        "reason_codes": ["LEAVE_RECORDED"],
    }
    assert await withdrawal_requests(runtime, february["claim_id"]) == []  # not touched

    # Until the gateway answers, no void or replacement is built for it.
    for action in ("reverse", "replace"):
        response = await post(client, token, claim_id, action, "leave recorded late")
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "CLAIM_WITHDRAWAL_PENDING"
    assert len(await submitted(runtime, claim_id)) == 1

    await answer_withdrawal(send, january, "WITHDRAWN", "WITHDRAWN")
    rebuilt = await detail(client, token, claim_id)
    assert (
        rebuilt["status"],
        rebuilt["claim_version"],
        rebuilt["reversal_needed"],
        rebuilt["frequency_code"],
        rebuilt["patient_control_number"],
    ) == ("SUBMITTED", 2, False, "2", january["patient_control_number"])
    [first, second] = await submitted(runtime, claim_id)
    assert (second["claim_version"], second["frequency_code"]) == (2, "2")
    assert second["original_reference"] is None  # an original: the first never left
    lines = second["institutional"]["service_lines"]
    assert [(ln["revenue_code"], ln["units"]) for ln in lines] == [
        ("1001", "19"),
        ("0183", "3"),
    ]
    history = [
        (c["from_status"], c["to_status"], c["reason_codes"]) for c in rebuilt["status_history"]
    ]
    stale_at = history.index(("SUBMITTED", "STALE", ["LEAVE_RECORDED"]))
    assert history[stale_at + 1] == ("STALE", "STALE", ["WITHDRAWN_BEFORE_SENDING"])
    assert [h[1] for h in history[stale_at + 2 :]] == ["READY", "SUBMITTED"]
    assert first["claim_version"] == 1

    # The same answer again (a redelivery under a new event id) changes nothing.
    await answer_withdrawal(send, january, "WITHDRAWN", "WITHDRAWN")
    again = await detail(client, token, claim_id)
    assert (again["status"], again["claim_version"]) == ("SUBMITTED", 2)
    assert len(again["status_history"]) == len(rebuilt["status_history"])
    assert len(await submitted(runtime, claim_id)) == 2


async def test_a_withdrawal_the_gateway_answers_too_late_leaves_the_claim_to_be_replaced(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    _, january, _ = await submitted_stay_with_a_late_leave(send, client, token, sent=False)
    claim_id = january["claim_id"]
    assert len(await withdrawal_requests(runtime, claim_id)) == 1

    await answer_withdrawal(send, january, "TOO_LATE", "BATCHED")
    stale = await detail(client, token, claim_id)
    assert (stale["status"], stale["reversal_needed"], stale["claim_version"]) == (
        "STALE",
        True,
        1,
    )
    last = stale["status_history"][-1]
    assert (last["to_status"], last["reason_codes"]) == ("STALE", ["WITHDRAWAL_TOO_LATE"])
    assert "BATCHED" in last["reason"]

    response = await post(client, token, claim_id, "replace", "leave recorded late")
    assert response.status_code == 200, response.text
    assert (response.json()["claim_version"], response.json()["frequency_code"]) == (2, "7")


async def test_a_late_leave_on_a_submitted_cycle_is_replaced_with_type_of_bill_digit_7(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    stay_id, january, february = await submitted_stay_with_a_late_leave(send, client, token)
    claim_id = january["claim_id"]

    response = await post(client, token, claim_id, "replace", "leave recorded late by the unit")
    assert response.status_code == 200, response.text
    replaced = response.json()
    assert (replaced["status"], replaced["claim_version"], replaced["frequency_code"]) == (
        "SUBMITTED",
        2,
        "7",
    )
    assert replaced["institutional"]["clm05"] == "86:A:7"
    assert [
        (ln["revenue_code"], ln["units"], ln["amount"]) for ln in replaced["institutional_lines"]
    ] == [("1001", "19", "5700.00"), ("0183", "3", "0.00")]
    assert [(c["from_status"], c["to_status"]) for c in replaced["status_history"][-2:]] == [
        ("STALE", "REPLACED"),
        ("REPLACED", "SUBMITTED"),
    ]
    [first, replacement] = await submitted(runtime, claim_id)
    assert (first["frequency_code"], first["original_reference"]) == ("2", None)
    assert replacement["transaction_type"] == "837I"
    assert (
        replacement["claim_version"],
        replacement["frequency_code"],
        replacement["original_reference"],
    ) == (2, "7", january["patient_control_number"])
    assert replacement["patient_control_number"] == january["patient_control_number"]
    institutional = replacement["institutional"]
    assert institutional["type_of_bill"] == "86"
    assert institutional["occurrence_spans"] == [
        {"code": "74", "start": "2026-01-20", "end": "2026-01-22"}
    ]
    assert value_codes(replacement) == {"80": Decimal(19), "81": Decimal(3)}
    assert replacement["total_charge"] == "5700.00"
    assert [ln["line_control_number"] for ln in institutional["service_lines"]] == [
        f"{january['patient_control_number']}-2-1",
        f"{january['patient_control_number']}-2-2",
    ]
    [override] = replaced["overrides"]
    assert (override["action"], override["reason"]) == (
        "REPLACE",
        "leave recorded late by the unit",
    )
    # February is not touched, and the replacement is not replaced again for nothing.
    assert (await detail(client, token, february["claim_id"]))["claim_version"] == 1
    again = await post(client, token, claim_id, "replace", "again")
    assert (again.status_code, again.json()["code"]) == (409, "NOTHING_CHANGED")
    assert (await stay_claims(client, token, stay_id))[0]["claim_id"] == claim_id

    # The payer numbers the replacement; a later void names that number (REF*F8).
    accepted = sample(EDI_CLAIM_ACCEPTED_V1)
    accepted.update(
        claim_id=claim_id,
        claim_version=2,
        patient_control_number=january["patient_control_number"],
        payer_claim_control_number="PCCN-JAN-2",
    )
    await send(EDI_CLAIM_ACCEPTED_V1, accepted)
    assert (await detail(client, token, claim_id))["status"] == "ACCEPTED"
    assert (
        await post(client, token, claim_id, "reverse", "stay billed in error")
    ).status_code == 200
    void = (await submitted(runtime, claim_id))[-1]
    assert (void["claim_version"], void["frequency_code"], void["original_reference"]) == (
        3,
        "8",
        "PCCN-JAN-2",
    )
    assert value_codes(void) == {"80": Decimal(19), "81": Decimal(3)}  # what it cancels


async def test_a_late_leave_on_a_submitted_cycle_is_voided_and_rebuilt_fresh(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    stay_id, january, february = await submitted_stay_with_a_late_leave(send, client, token)
    claim_id = january["claim_id"]

    response = await post(client, token, claim_id, "reverse", "leave recorded late")
    assert response.status_code == 200, response.text
    reversed_ = response.json()
    assert (reversed_["status"], reversed_["claim_version"], reversed_["frequency_code"]) == (
        "REVERSED",
        2,
        "8",
    )
    void = (await submitted(runtime, claim_id))[-1]
    assert (void["frequency_code"], void["original_reference"]) == (
        "8",
        january["patient_control_number"],  # no 277CA number yet: our CLM01
    )
    assert void["institutional"]["occurrence_spans"] == []  # the content that was sent
    assert void["total_charge"] == "6600.00"
    assert void["institutional"]["type_of_bill"] == "86"
    # The void alone bills nothing again: its days wait for the operator's rebuild.
    assert reversed_["held_for_rebuild"] is True
    member_id = reversed_["member_id"]
    await send(CHARGES_RECORDED_V1, january_echo(stay_id, member_id, leave=True))
    await send(MEMBER_UPSERTED_V1, member_data(member_id))  # anything later, unrelated
    live = {c["claim_id"] for c in await stay_claims(client, token, stay_id)}
    assert live == {claim_id, february["claim_id"]}
    held = await detail(client, token, claim_id)
    assert (held["held_for_rebuild"], len(held["held_charge_ids"])) == (True, 22)

    response = await post(client, token, claim_id, "rebuild")
    assert response.status_code == 200, response.text
    fresh = response.json()
    assert fresh["claim_id"] != claim_id
    assert fresh["patient_control_number"] != january["patient_control_number"]
    assert (fresh["status"], fresh["claim_version"], fresh["frequency_code"]) == (
        "SUBMITTED",
        1,
        "2",
    )
    [original] = await submitted(runtime, fresh["claim_id"])
    assert (original["frequency_code"], original["original_reference"]) == ("2", None)
    assert original["institutional"]["occurrence_spans"] == [
        {"code": "74", "start": "2026-01-20", "end": "2026-01-22"}
    ]
    assert value_codes(original) == {"80": Decimal(19), "81": Decimal(3)}
    rebuilt = await detail(client, token, claim_id)
    assert (rebuilt["superseded_by"], rebuilt["held_for_rebuild"]) == (fresh["claim_id"], False)
    live = [c["claim_id"] for c in await stay_claims(client, token, stay_id)]
    assert set(live) == {claim_id, fresh["claim_id"], february["claim_id"]}
    again = await post(client, token, claim_id, "rebuild")
    assert (again.status_code, again.json()["code"]) == (409, "CLAIM_ALREADY_REBUILT")
    assert (await detail(client, token, claim_id))["institutional"]["clm05"] == "86:A:8"
    # A reversed claim is not replaced.
    refused = await post(client, token, claim_id, "replace", "x")
    assert (refused.status_code, refused.json()["code"]) == (409, "CLAIM_NOT_REPLACEABLE")


async def test_a_voided_cycle_is_billed_afresh_by_itself_once_the_stay_changes(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    stay_id, member_id, january, february = await billed_stay(send, client, token)
    claim_id = january["claim_id"]
    response = await post(client, token, claim_id, "reverse", "leave to record")
    assert response.status_code == 200, response.text
    await send(CHARGES_RECORDED_V1, january_echo(stay_id, member_id, leave=False))
    live = {c["claim_id"] for c in await stay_claims(client, token, stay_id)}
    assert live == {claim_id, february["claim_id"]}

    # After the void, the leave 01-20 .. 01-23 is recorded and its days rewritten.
    corrected = {
        **stay_data(stay_id, member_id, 3, leaves=LATE_LEAVE, discharge=DISCHARGE),
        "correction_kind": "LEAVE_CHANGED",
        "leave_id": "loa-late",
        "affected_from": "2026-01-20",
        "affected_through": "2026-01-22",
    }
    await send(STAYS_STAY_CORRECTED_V1, corrected)
    rewritten = [
        day_charge(stay_id, member_id, d, leave=True, version=3, stay_version=3)
        for d in days("2026-01-20", "2026-01-22")
    ]
    await send(CHARGES_RECORDED_V1, recorded(rewritten))

    [fresh] = [
        c
        for c in await stay_claims(client, token, stay_id)
        if c["claim_id"] not in (claim_id, february["claim_id"])
    ]
    body = await detail(client, token, fresh["claim_id"])
    assert (body["status"], body["frequency_code"], body["total_charge"]) == (
        "SUBMITTED",
        "2",
        "5700.00",
    )
    assert [(ln["revenue_code"], ln["units"]) for ln in body["institutional_lines"]] == [
        ("1001", "19"),
        ("0183", "3"),
    ]
    assert (await detail(client, token, claim_id))["held_for_rebuild"] is False
    assert (await detail(client, token, february["claim_id"]))["claim_version"] == 1


async def test_an_acknowledgment_of_a_stale_cycle_claim_leaves_it_waiting_for_a_void(
    send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    _, january, _ = await submitted_stay_with_a_late_leave(send, client, token)
    claim_id = january["claim_id"]
    await send(EDI_CLAIM_REJECTED_V1, rejection(january))
    body = await detail(client, token, claim_id)
    assert (body["status"], body["reversal_needed"]) == ("STALE", True)
    assert body["acknowledgments"][0]["effect"] == "CLAIM_STALE"
    response = await post(client, token, claim_id, "rebuild")
    assert (response.status_code, response.json()["code"]) == (409, "CLAIM_SUBMITTED")


async def test_a_rejected_cycle_claim_is_rebuilt_as_a_fresh_original_never_voided(
    runtime: ServiceRuntime, send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    stay_id, _, january, february = await billed_stay(send, client, token)
    claim_id = january["claim_id"]
    await send(EDI_CLAIM_REJECTED_V1, rejection(january))
    assert (await detail(client, token, claim_id))["status"] == "REJECTED"
    refused = await post(client, token, claim_id, "reverse", "x")
    assert (refused.status_code, refused.json()["code"]) == (409, "CLAIM_NOT_REVERSIBLE")

    response = await post(client, token, claim_id, "rebuild")
    assert response.status_code == 200, response.text
    fresh = response.json()
    assert fresh["claim_id"] != claim_id
    assert (fresh["status"], fresh["frequency_code"], fresh["total_charge"]) == (
        "SUBMITTED",
        "2",
        "6600.00",
    )
    [original] = await submitted(runtime, fresh["claim_id"])
    assert (original["frequency_code"], original["original_reference"]) == ("2", None)
    body = await detail(client, token, claim_id)
    assert (body["status"], body["superseded_by"]) == ("REJECTED", fresh["claim_id"])
    assert (await detail(client, token, february["claim_id"]))["claim_version"] == 1
    assert {c["claim_id"] for c in await stay_claims(client, token, stay_id)} == {
        claim_id,
        fresh["claim_id"],
        february["claim_id"],
    }


def rejection(claim: dict[str, Any]) -> dict[str, Any]:
    data = sample(EDI_CLAIM_REJECTED_V1)
    data.update(
        claim_id=claim["claim_id"],
        claim_version=claim["claim_version"],
        patient_control_number=claim["patient_control_number"],
        stage="999",
        codes=["IK5:R"],
        message="transaction set rejected",
    )
    return data
