"""The dry run of a claim build (issue #8) through the real broker and database:
``POST /v1/claims/build/preview`` (a member, or a group session's charges) and
``POST /v1/stays/{stay_id}/claims/build/preview`` build and scrub as the build does, roll
back, and answer with each claim as it would be sent, its scrub issues and the EDI
gateway's 837 with pyx12's verdict. The gateway here is a stand-in on the HTTP transport
(the edi-gateway's own tests and tests/e2e/test_dry_run.py render for real); it answers
what it was given, so the test sees exactly which documents went to it.

Tenants: ``demo-bh-manual`` (no auto-submit: claims wait READY for the operator) and
``demo-bh-on-request`` (no auto-submit, and a stay's closed cycle is built only when the
operator asks)."""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from claims.adapters.db.tables import PCN_SEQUENCE
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
    FACILITY_UPSERTED_V1,
    MEMBER_UPSERTED_V1,
    PROVIDER_UPSERTED_V1,
    STAYS_STAY_ADMITTED_V1,
    STAYS_STAY_DISCHARGED_V1,
)
from contracts.topology import Topology

Publish = Callable[..., Awaitable[CloudEvent]]
Applied = Callable[[CloudEvent], Awaitable[None]]
Send = Callable[..., Awaitable[CloudEvent]]
Token = Callable[..., str]

SAMPLES = SAMPLE_TENANTS.parent
TENANT = "demo-bh"
MANUAL = "demo-bh-manual"
ON_REQUEST = "demo-bh-on-request"
FACILITY = "fac-springfield-res"
DAY = "2026-03-09"
WRITE = ["billing.claim.read", "billing.claim.write"]
GATEWAY_URL = "http://edi-gateway.test"


class StandInGateway:
    """``POST /v1/interchanges/preview`` as the edi-gateway answers it: one file per
    clearinghouse holding the documents it got; ``errors`` are pyx12 findings to report,
    ``down`` makes it unreachable."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.down = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        assert request.url.path == "/v1/interchanges/preview"
        body = json.loads(request.content)
        self.calls.append({"authorization": request.headers.get("authorization"), **body})
        claims = body["claims"]
        clm = "~".join(f"CLM*{c['patient_control_number']}*{c['total_charge']}" for c in claims)
        return httpx.Response(
            200,
            json={
                "preview": True,
                "files": [
                    {
                        "clearinghouse_id": claims[0]["clearinghouse_id"],
                        "transaction_type": claims[0]["transaction_type"],
                        "usage_indicator": "T",
                        "claim_ids": [c["claim_id"] for c in claims],
                        "interchange_control_number": "999999999",
                        "text": f"ISA*...~{clm}~IEA*1*999999999~",
                        "valid": not self.errors,
                        "errors": self.errors,
                    }
                ],
                "refused": [],
            },
        )


@pytest.fixture(scope="module")
def gateway() -> StandInGateway:
    return StandInGateway()


@pytest.fixture(scope="module")
def settings(
    service_settings: Callable[..., ClaimsSettings],
    schema: str,
    topology: Topology,
    tmp_path_factory: pytest.TempPathFactory,
) -> ClaimsSettings:
    folder: Path = tmp_path_factory.mktemp("tenants")
    sample_tenant = (SAMPLE_TENANTS / f"{TENANT}.yaml").read_text()
    manual = sample_tenant.replace(f"tenant_id: {TENANT}", f"tenant_id: {MANUAL}", 1)
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
        edi_gateway_url=GATEWAY_URL,
    )


@pytest.fixture(scope="module")
async def runtime(
    settings: ClaimsSettings, gateway: StandInGateway
) -> AsyncIterator[ServiceRuntime]:
    runtime = build_runtime(
        settings, background=False, edi_transport=httpx.MockTransport(gateway.handle)
    )
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


@pytest.fixture
def send(publish: Publish, applied: Applied) -> Send:
    async def send(event_type: str, data: dict[str, Any], tenant: str) -> CloudEvent:
        event = await publish(event_type, data, tenant=tenant)
        await applied(event)
        return event

    return send


@pytest.fixture(autouse=True)
def gateway_up(gateway: StandInGateway) -> None:
    gateway.calls.clear()
    gateway.errors = []
    gateway.down = False


# --------------------------------------------------------------------------- feeds


def sample(event_type: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / f"{event_type}.json").read_text())["data"]
    return copy.deepcopy(data)


def run_id() -> str:
    return uuid.uuid4().hex[:8]


def bearer(token: Token, tenant: str) -> dict[str, str]:
    return bearer_header(token(tenant=tenant, scopes=WRITE))


async def group_session(
    send: Send, tenant: str, diagnoses: list[str] | None = None
) -> tuple[str, list[str]]:
    """A group session of 2026-03-09 whose two members' READY charges ($50.00, 90853 HQ,
    acme-commercial) are on file."""
    run = run_id()
    provider_id, session_id = f"prov-{run}", f"gs-{run}"
    provider = sample(PROVIDER_UPSERTED_V1)
    provider.update(provider_id=provider_id, npi="1700000007")
    await send(PROVIDER_UPSERTED_V1, provider, tenant)
    members = [f"m-{run}-{n}" for n in (1, 2)]
    charges = []
    for member_id in members:
        member = sample(MEMBER_UPSERTED_V1)
        member.update(member_id=member_id, diagnoses=diagnoses or ["F332"])
        coverage = member["coverages"][0]
        coverage.update(
            coverage_id=f"cov-{member_id}",
            payer_id="acme-commercial",
            subscriber_id=f"ACM{member_id[-8:].upper()}",
        )
        member["coverages"] = [coverage]
        await send(MEMBER_UPSERTED_V1, member, tenant)
        charge = sample(CHARGES_RECORDED_V1)["charges"][0]
        charge.update(
            charge_id=f"ch-{session_id}-{member_id}",
            member_id=member_id,
            payer_id="acme-commercial",
            coverage_id=f"cov-{member_id}",
            date_of_service=DAY,
            modifiers=["HQ"],
            rate="50.00",
            amount="50.00",
            rendering_provider_id=provider_id,
            source={"kind": "GROUP_SESSION", "id": session_id, "sequence": 1},
        )
        charge["group"].update(session_id=session_id, supervisors_present=[provider_id])
        charges.append(charge)
    await send(CHARGES_RECORDED_V1, {"change": "BUILT", "reason": None, "charges": charges}, tenant)
    return session_id, members


async def discharged_stay(send: Send, tenant: str) -> str:
    """Residential (MONTHLY, TOB 86, 1001 at $300.00): admitted 2026-01-10, discharged home
    2026-02-03, every day charge READY: two closed cycles, January and February."""
    run = run_id()
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    member = sample(MEMBER_UPSERTED_V1)
    member["member_id"] = member_id
    coverage = member["coverages"][0]
    coverage.update(coverage_id=f"cov-{member_id}", subscriber_id=f"MCD{member_id[-8:].upper()}")
    member["coverages"], member["program_enrollments"] = [coverage], []
    await send(MEMBER_UPSERTED_V1, member, tenant)
    await send(FACILITY_UPSERTED_V1, sample(FACILITY_UPSERTED_V1), tenant)
    stay: dict[str, Any] = {
        "stay_id": stay_id,
        "stay_version": 1,
        "member_id": member_id,
        "facility_id": FACILITY,
        "program_id": "residential",
        "status": "ADMITTED",
        "admission": {
            "admit_date": "2026-01-10",
            "admit_hour": 14,
            "admission_type": "3",
            "admission_source": "1",
            "principal_diagnosis": "F33.2",
            "admitting_diagnosis": "F33.2",
            "other_diagnoses": [],
            "drg": "885",
            "procedures": [],
        },
        "leaves": [],
        "discharge": None,
    }
    await send(STAYS_STAY_ADMITTED_V1, stay, tenant)
    discharged = {
        **stay,
        "stay_version": 2,
        "status": "DISCHARGED",
        "discharge": {"discharge_date": "2026-02-03", "discharge_hour": 10, "patient_status": "01"},
    }
    await send(STAYS_STAY_DISCHARGED_V1, discharged, tenant)
    first = date(2026, 1, 10)
    charges = [
        {
            "charge_id": f"dc-{stay_id}-{day.isoformat()}",
            "charge_version": 1,
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
            "revenue_code": "1001",
            "units": "1",
            "unit_basis": "DA",
            "rate": "300.00",
            "amount": "300.00",
            "covered": True,
            "source": {"kind": "STAY", "id": stay_id, "sequence": 1},
        }
        for day in (first + timedelta(days=n) for n in range(24))  # 01-10 .. 02-02
    ]
    await send(CHARGES_RECORDED_V1, {"change": "BUILT", "reason": None, "charges": charges}, tenant)
    return stay_id


# --------------------------------------------------------------------------- reading back


async def row_counts(runtime: ServiceRuntime, schema: str) -> dict[str, int]:
    """Rows of every table of the service's schema (the outbox and the patient control
    number counter included), and the counter's values."""
    async with runtime.sessionmaker() as session:
        names = (
            await session.execute(
                text(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = :schema ORDER BY table_name"
                ),
                {"schema": schema},
            )
        ).scalars()
        counts = {}
        for name in names:
            counted = await session.execute(text(f'SELECT count(*) FROM "{schema}"."{name}"'))
            counts[name] = int(counted.scalar_one())
        sequence = await session.execute(
            text(f'SELECT coalesce(sum(last_value), 0) FROM "{schema}".{PCN_SEQUENCE.name}')
        )
        counts["pcn_sequence.last_value"] = int(sequence.scalar_one())
        return counts


async def submitted_documents(runtime: ServiceRuntime, claim_id: str) -> list[dict[str, Any]]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(OUTBOX.c.payload).where(OUTBOX.c.event_type == CLAIM_SUBMITTED_V1)
        )
        return [p["data"] for (p,) in rows if p["data"]["claim_id"] == claim_id]


async def scraped(client: httpx.AsyncClient, status: str) -> float:
    body = (await client.get("/metrics")).text
    found = re.search(
        rf'^rcm_claim_status_transitions_total\{{status="{status}"\}} (\S+)$', body, re.M
    )
    return float(found.group(1)) if found else 0.0


async def preview(
    client: httpx.AsyncClient, token: Token, tenant: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/claims/build/preview", json=body, headers=bearer(token, tenant)
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


# --------------------------------------------------------------------------- 837P


async def test_a_session_dry_run_returns_what_the_build_and_submit_send_and_stores_nothing(
    runtime: ServiceRuntime,
    schema: str,
    send: Send,
    client: httpx.AsyncClient,
    token: Token,
    gateway: StandInGateway,
) -> None:
    session_id, members = await group_session(send, MANUAL)
    before = await row_counts(runtime, schema)

    dry = await preview(client, token, MANUAL, session_id=session_id)

    assert dry["dry_run"] is True
    claims = sorted(dry["claims"], key=lambda c: c["member_id"])
    assert [c["member_id"] for c in claims] == members
    for claim in claims:
        assert (claim["status"], claim["status_before"]) == ("READY", "READY")
        assert claim["would_send"] is True and claim["sent_before"] is False
        assert claim["issues"] == [] and claim["note"] is None
        document = claim["document"]
        assert document["patient_control_number"] == claim["patient_control_number"]
        assert (document["total_charge"], document["transaction_type"]) == ("50.00", "837P")
        assert document["service_lines"][0]["modifiers"] == ["HQ"]
    # The gateway got exactly those documents, on the caller's token, and its 837 is shown.
    (call,) = gateway.calls
    assert call["claims"] == [c["document"] for c in dry["claims"]]
    assert call["authorization"].startswith("Bearer ")
    (file,) = dry["edi"]["files"]
    assert dry["edi"]["valid"] is True and dry["edi"]["note"] is None
    assert [f"CLM*{c['patient_control_number']}*50.00" in file["text"] for c in claims] == [
        True,
        True,
    ]
    assert await row_counts(runtime, schema) == before  # nothing stored, no event in the outbox

    for member_id in members:
        built = await client.post(
            "/v1/claims/build", json={"member_id": member_id}, headers=bearer(token, MANUAL)
        )
        assert built.status_code == 200, built.text
    for claim in claims:
        submitted = await client.post(
            f"/v1/claims/{claim['claim_id']}/submit", headers=bearer(token, MANUAL)
        )
        assert submitted.status_code == 200, submitted.text
        assert await submitted_documents(runtime, claim["claim_id"]) == [claim["document"]]


async def test_a_claim_with_scrub_errors_comes_back_with_its_issues_and_no_837(
    send: Send, client: httpx.AsyncClient, token: Token, gateway: StandInGateway
) -> None:
    # Z99999 is no ICD-10-CM code.
    _, members = await group_session(send, MANUAL, diagnoses=["Z99999"])

    dry = await preview(client, token, MANUAL, member_id=members[0])

    (claim,) = dry["claims"]
    assert claim["status"] == "DRAFT" and claim["would_send"] is False
    assert claim["document"] is None and claim["note"]["code"] == "SCRUB_ERRORS"
    errors = [i["code"] for i in claim["issues"] if i["severity"] == "error"]
    assert "INVALID_DIAGNOSIS" in errors
    assert "INVALID_DIAGNOSIS" in claim["note"]["detail"]
    assert dry["edi"] == {
        "valid": None,
        "files": [],
        "refused": [],
        "note": {"code": "NOTHING_TO_RENDER", "detail": "no claim of the dry run would be sent"},
    }
    assert gateway.calls == []


async def test_the_gateways_pyx12_errors_come_back_with_the_claim_they_are_about(
    send: Send, client: httpx.AsyncClient, token: Token, gateway: StandInGateway
) -> None:
    _, members = await group_session(send, MANUAL)
    finding = {
        "code": "2010BA/NM104:5",
        "description": "NM104 (Subscriber First Name): too long",
        "level": "ELEMENT",
        "segment_number": 14,
        "segment_id": "NM1",
        "element": "NM104",
        "claim_id": None,
    }
    gateway.errors = [finding]

    dry = await preview(client, token, MANUAL, member_id=members[0])

    assert dry["edi"]["valid"] is False
    assert dry["edi"]["files"][0]["errors"] == [finding]
    assert dry["claims"][0]["would_send"] is True  # the scrub passed: pyx12 is the gateway's


async def test_an_unreachable_gateway_still_returns_the_claims_with_a_coded_note(
    send: Send, client: httpx.AsyncClient, token: Token, gateway: StandInGateway
) -> None:
    _, members = await group_session(send, MANUAL)
    gateway.down = True

    dry = await preview(client, token, MANUAL, member_id=members[0])

    (claim,) = dry["claims"]
    assert claim["document"] is not None and claim["issues"] == []
    assert dry["edi"]["files"] == [] and dry["edi"]["valid"] is None
    assert dry["edi"]["note"] == {
        "code": "EDI_GATEWAY_UNREACHABLE",
        "detail": "the EDI gateway did not answer (ConnectError)",
    }


async def test_the_dry_run_is_refused_like_the_build(
    client: httpx.AsyncClient, token: Token
) -> None:
    read_only = bearer_header(token(tenant=MANUAL, scopes=["billing.claim.read"]))
    response = await client.post(
        "/v1/claims/build/preview", json={"member_id": "m-1"}, headers=read_only
    )
    assert response.status_code == 403
    both = await client.post(
        "/v1/claims/build/preview",
        json={"member_id": "m-1", "session_id": "gs-1"},
        headers=bearer(token, MANUAL),
    )
    assert both.status_code == 422
    unknown = await client.post(
        "/v1/claims/build/preview", json={"session_id": "gs-nobody"}, headers=bearer(token, MANUAL)
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "SESSION_NOT_BILLED")


# --------------------------------------------------------------------------- 837I


async def test_a_stay_dry_run_opens_nothing_and_the_real_build_makes_the_same_claims(
    runtime: ServiceRuntime,
    schema: str,
    send: Send,
    client: httpx.AsyncClient,
    token: Token,
    gateway: StandInGateway,
) -> None:
    stay_id = await discharged_stay(send, ON_REQUEST)
    before = await row_counts(runtime, schema)
    ready_before = await scraped(client, "READY")

    response = await client.post(
        f"/v1/stays/{stay_id}/claims/build/preview", headers=bearer(token, ON_REQUEST)
    )

    assert response.status_code == 200, response.text
    dry = response.json()
    assert (dry["dry_run"], dry["stay_id"], dry["blocked"]) == (True, stay_id, [])
    claims = dry["claims"]
    assert [(c["status"], c["status_before"]) for c in claims] == [("READY", None)] * 2
    documents = [c["document"] for c in claims]
    # Type of bill 86 with the cycle's frequency: the first cycle (2), the discharge's (4).
    assert [(d["institutional"]["type_of_bill"], d["frequency_code"]) for d in documents] == [
        ("86", "2"),
        ("86", "4"),
    ]
    assert [d["total_charge"] for d in documents] == ["6600.00", "600.00"]  # 22 and 2 days
    (call,) = gateway.calls
    assert call["claims"] == documents
    assert dry["edi"]["valid"] is True
    # Nothing opened, nothing numbered, nothing counted.
    assert await row_counts(runtime, schema) == before
    assert await scraped(client, "READY") == ready_before

    built = await client.post(
        f"/v1/stays/{stay_id}/claims/build", headers=bearer(token, ON_REQUEST)
    )
    assert built.status_code == 200, built.text
    real = sorted(built.json()["claims"], key=lambda c: c["period_from"])
    # The real build gives the very patient control numbers (CLM01) the dry run showed.
    assert [c["patient_control_number"] for c in real] == [
        c["patient_control_number"] for c in claims
    ]
    assert await scraped(client, "READY") == ready_before + 2
    for claim, shown in zip(real, documents, strict=True):
        submitted_before = await scraped(client, "SUBMITTED")
        sent = await client.post(
            f"/v1/claims/{claim['claim_id']}/submit", headers=bearer(token, ON_REQUEST)
        )
        assert sent.status_code == 200, sent.text
        assert await scraped(client, "SUBMITTED") == submitted_before + 1
        (document,) = await submitted_documents(runtime, claim["claim_id"])
        # The same claim but for its id (a dry run's new claim is not kept).
        assert {**document, "claim_id": None} == {**shown, "claim_id": None}


# --------------------------------------------------------------------------- metric


async def test_every_committed_status_change_is_counted_on_metrics_and_a_dry_run_is_not(
    send: Send, client: httpx.AsyncClient, token: Token
) -> None:
    ready, submitted = await scraped(client, "READY"), await scraped(client, "SUBMITTED")

    session_id, _ = await group_session(send, MANUAL)  # two claims built READY

    assert await scraped(client, "READY") == ready + 2
    dry = await preview(client, token, MANUAL, session_id=session_id)
    assert await scraped(client, "READY") == ready + 2
    sent = await client.post(
        f"/v1/claims/{dry['claims'][0]['claim_id']}/submit", headers=bearer(token, MANUAL)
    )
    assert sent.status_code == 200, sent.text
    assert await scraped(client, "SUBMITTED") == submitted + 1
