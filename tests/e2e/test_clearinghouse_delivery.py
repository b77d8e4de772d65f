"""Issue #5's proof, end to end: the five services as processes, the clearinghouse sandbox
as a real SFTP server (its own process) on the far side. Claims go out over SFTP under a
pinned host key, the sandbox validates them with pyx12 and answers with 999 and 277CA
files, the gateway polls and applies those, and the claims API reads ACCEPTED or
REJECTED. Outages, a wrong host key and a gateway killed mid-upload lose nothing and
send nothing twice."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from datetime import date
from typing import Any

import httpx
import pytest

from common.testing.clearinghouse import SandboxProcess
from common.testing.messages import bearer
from common.testing.processes import Suite
from common.testing.scenarios import LeaveOfAbsence, eventually, run_group_session, run_stay
from common.testing.x12 import pyx12_errors

from .conftest import SFTP_TENANT, WRONG_HOST_KEY_TENANT

pytestmark = pytest.mark.e2e

Publish = Callable[..., Coroutine[Any, Any, None]]
READ = ("billing.claim.read",)
SESSION_MARKS = ["ATTENDED", "ATTENDED", "LATE", "ABSENT"]  # three billable members
PAYERS = ["acme-commercial", "il-medicaid"]


def headers(token: Callable[..., str], tenant: str) -> Callable[[Sequence[str]], dict[str, str]]:
    return lambda scopes: bearer(token(tenant=tenant, scopes=list(scopes)))


async def claim_statuses(
    suite: Suite, token: Callable[..., str], tenant: str, **filters: str
) -> dict[str, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=suite.url("claims"), timeout=10) as api:
        response = await api.get("/v1/claims", params=filters, headers=headers(token, tenant)(READ))
        response.raise_for_status()
        return {c["claim_id"]: c for c in response.json()["items"]}


async def claim_detail(
    suite: Suite, token: Callable[..., str], tenant: str, claim_id: str
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=suite.url("claims"), timeout=10) as api:
        response = await api.get(f"/v1/claims/{claim_id}", headers=headers(token, tenant)(READ))
        response.raise_for_status()
        detail: dict[str, Any] = response.json()
        return detail


async def settle(
    suite: Suite,
    token: Callable[..., str],
    tenant: str,
    expected: Callable[[dict[str, dict[str, Any]]], bool],
    seconds: float = 90,
    **filters: str,
) -> dict[str, dict[str, Any]]:
    async def probe() -> dict[str, dict[str, Any]] | None:
        claims = await claim_statuses(suite, token, tenant, **filters)
        return claims if claims and expected(claims) else None

    return await eventually(probe, seconds)


def all_status(status: str) -> Callable[[dict[str, dict[str, Any]]], bool]:
    return lambda claims: all(c["status"] == status for c in claims.values())


async def interchanges(
    suite: Suite, token: Callable[..., str], tenant: str
) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=suite.url("edi-gateway"), timeout=10) as api:
        response = await api.get(
            "/v1/interchanges", params={"limit": 500}, headers=headers(token, tenant)(READ)
        )
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items


def received_for(received: list[dict[str, Any]], tenant: str) -> list[dict[str, Any]]:
    """The sandbox's received files sent by ``tenant`` (file names carry the tenant id)."""
    return [r for r in received if r["name"].startswith(f"{tenant}_")]


def assert_one_upload_per_interchange(received: list[dict[str, Any]]) -> None:
    names = Counter(r["name"] for r in received)
    isa13s = Counter(r["isa13"] for r in received)
    assert all(n == 1 for n in names.values()), names
    assert all(n == 1 for n in isa13s.values()), isa13s


async def test_a_group_session_and_a_residential_month_are_accepted_by_the_clearinghouse(
    suite: Suite, publish: Publish, token: Callable[..., str], sandbox: SandboxProcess
) -> None:
    run = uuid.uuid4().hex[:8]
    session = await run_group_session(
        attendance_url=suite.url("attendance"),
        claims_url=suite.url("claims"),
        publish=publish,
        bearer=headers(token, SFTP_TENANT),
        tenant=SFTP_TENANT,
        run=run,
        day=date(2026, 3, 9),
        marks=SESSION_MARKS,
        payers=PAYERS,
    )
    stay_claims = await run_stay(
        claims_url=suite.url("claims"),
        publish=publish,
        bearer=headers(token, SFTP_TENANT),
        tenant=SFTP_TENANT,
        run=run,
        program_id="residential",
        admitted=date(2026, 1, 10),
        admit_hour=14,
        leaves=[LeaveOfAbsence("loa-1", date(2026, 1, 20), date(2026, 1, 23))],
        discharged=date(2026, 2, 3),
        discharge_status="01",
        expected_claims=2,
    )
    assert len(session.claims) == 3 and len(stay_claims) == 2

    group = await settle(
        suite, token, SFTP_TENANT, all_status("ACCEPTED"), session_id=session.session_id
    )
    stay = await settle(suite, token, SFTP_TENANT, all_status("ACCEPTED"), stay_id=f"stay-{run}")
    assert len(group) == 3 and len(stay) == 2

    # What the sandbox received: every file clean under pyx12, each claim in exactly one
    # file, one upload per interchange; and the acknowledgment that moved each claim.
    pcns = {c["patient_control_number"] for c in [*group.values(), *stay.values()]}
    mine = [
        r
        for r in received_for(await sandbox.received(), SFTP_TENANT)
        if {c["patient_control_number"] for c in r["claims"]} & pcns
    ]
    assert_one_upload_per_interchange(mine)
    in_files = Counter(c["patient_control_number"] for r in mine for c in r["claims"])
    assert set(in_files) == pcns and all(n == 1 for n in in_files.values())
    for record in mine:
        path = sandbox.inbound / record["name"]
        assert pyx12_errors(path) == []
        assert record["outcome"] == "answered" and any(
            a.startswith("999_") for a in record["acknowledgments"]
        )
    for claim in [*group.values(), *stay.values()]:
        detail = await claim_detail(suite, token, SFTP_TENANT, claim["claim_id"])
        [accepted] = [a for a in detail["acknowledgments"] if a["outcome"] == "ACCEPTED"]
        assert accepted["stage"] == "277CA" and accepted["party"] == "CLEARINGHOUSE"
        assert accepted["payer_claim_control_number"]
        assert detail["status_history"][-1]["to_status"] == "ACCEPTED"


async def test_a_claim_the_clearinghouse_rejects_reads_rejected_the_rest_of_its_file_accepted(
    suite: Suite, publish: Publish, token: Callable[..., str], sandbox: SandboxProcess
) -> None:
    # The sandbox answers after 6 s; by then we know the claims' control numbers and pick
    # one to reject (the switches are read when the sandbox answers).
    await sandbox.set_switches(delay_seconds=6)
    try:
        session = await run_group_session(
            attendance_url=suite.url("attendance"),
            claims_url=suite.url("claims"),
            publish=publish,
            bearer=headers(token, SFTP_TENANT),
            tenant=SFTP_TENANT,
            run=uuid.uuid4().hex[:8],
            day=date(2026, 3, 10),
            marks=SESSION_MARKS,
            payers=["acme-commercial"],  # one payer: the three claims share one file
            until_transmitted=False,
        )
        rejected = sorted(c["patient_control_number"] for c in session.claims)[0]
        await sandbox.set_switches(reject_pattern=f"^{rejected}$")
        claims = await settle(
            suite,
            token,
            SFTP_TENANT,
            lambda cs: (
                all(c["status"] in ("ACCEPTED", "REJECTED") for c in cs.values()) and len(cs) == 3
            ),
            session_id=session.session_id,
        )
    finally:
        await sandbox.set_switches(delay_seconds=0, reject_pattern="")

    by_pcn = {c["patient_control_number"]: c for c in claims.values()}
    assert by_pcn[rejected]["status"] == "REJECTED"
    assert all(c["status"] == "ACCEPTED" for pcn, c in by_pcn.items() if pcn != rejected)
    files = {
        r["name"]
        for r in await sandbox.received()
        for c in r["claims"]
        if c["patient_control_number"] in by_pcn
    }
    assert len(files) == 1  # one file: the rejection is per claim, not per file

    detail = await claim_detail(suite, token, SFTP_TENANT, by_pcn[rejected]["claim_id"])
    [rejection] = [a for a in detail["acknowledgments"] if a["outcome"] == "REJECTED"]
    assert rejection["stage"] == "277CA"
    assert any(code.startswith("A7:") for code in rejection["codes"])
    assert rejection["message"]  # the clearinghouse's reason, as sent (STC12)
    last = detail["status_history"][-1]
    assert last["to_status"] == "REJECTED" and last["reason_codes"]


async def test_files_wait_while_the_clearinghouse_is_down_and_arrive_once_after(
    suite: Suite, publish: Publish, token: Callable[..., str], sandbox: SandboxProcess
) -> None:
    run = uuid.uuid4().hex[:8]
    await sandbox.outage(60)
    scenario = asyncio.create_task(
        run_group_session(
            attendance_url=suite.url("attendance"),
            claims_url=suite.url("claims"),
            publish=publish,
            bearer=headers(token, SFTP_TENANT),
            tenant=SFTP_TENANT,
            run=run,
            day=date(2026, 3, 11),
            marks=SESSION_MARKS,
            payers=PAYERS,
            within_seconds=150,
        )
    )
    try:
        # While it is down: the interchanges wait as PENDING and say why.
        async def waiting() -> list[dict[str, Any]] | None:
            items = [
                i
                for i in await interchanges(suite, token, SFTP_TENANT)
                if i["status"] == "PENDING" and i.get("last_delivery_error")
            ]
            return items or None

        pending = await eventually(waiting, 50)
        assert all(i["last_delivery_error"].startswith("SFTP_") for i in pending)
        assert not [
            r
            for r in received_for(await sandbox.received(), SFTP_TENANT)
            if r["isa13"] in {str(i["isa13"]) for i in pending}
            or int(r["isa13"] or 0) in {i["isa13"] for i in pending}
        ]
        session = await scenario
    finally:
        if not scenario.done():
            scenario.cancel()
        await sandbox.end_outage()

    claims = await settle(
        suite, token, SFTP_TENANT, all_status("ACCEPTED"), session_id=session.session_id
    )
    pcns = {c["patient_control_number"] for c in claims.values()}
    mine = [
        r
        for r in received_for(await sandbox.received(), SFTP_TENANT)
        if {c["patient_control_number"] for c in r["claims"]} & pcns
    ]
    assert mine, "nothing arrived after the outage"
    assert_one_upload_per_interchange(mine)
    sent = [
        i
        for i in await interchanges(suite, token, SFTP_TENANT)
        if i["isa13"] in {int(r["isa13"]) for r in mine}
    ]
    assert sent and all(i["status"] == "SENT" and i["delivery_attempts"] > 1 for i in sent)


async def test_a_wrong_host_key_sends_nothing_and_says_why(
    suite: Suite, publish: Publish, token: Callable[..., str], sandbox: SandboxProcess
) -> None:
    session = await run_group_session(
        attendance_url=suite.url("attendance"),
        claims_url=suite.url("claims"),
        publish=publish,
        bearer=headers(token, WRONG_HOST_KEY_TENANT),
        tenant=WRONG_HOST_KEY_TENANT,
        run=uuid.uuid4().hex[:8],
        day=date(2026, 3, 12),
        marks=SESSION_MARKS,
        payers=PAYERS,
        until_transmitted=False,
    )

    async def refused() -> list[dict[str, Any]] | None:
        items = [
            i
            for i in await interchanges(suite, token, WRONG_HOST_KEY_TENANT)
            if (i.get("last_delivery_error") or "").startswith("SFTP_HOST_KEY_MISMATCH")
        ]
        return items or None

    waiting = await eventually(refused, 60)
    assert all(i["status"] == "PENDING" and i["sent_at"] is None for i in waiting)
    assert "pinned" in waiting[0]["last_delivery_error"]
    assert received_for(await sandbox.received(), WRONG_HOST_KEY_TENANT) == []
    assert not [p for p in sandbox.inbound.iterdir() if WRONG_HOST_KEY_TENANT in p.name]
    claims = await claim_statuses(
        suite, token, WRONG_HOST_KEY_TENANT, session_id=session.session_id
    )
    assert claims and all(
        c["status"] == "SUBMITTED" and not c["transmissions"] for c in claims.values()
    )


async def test_a_gateway_killed_during_an_upload_sends_each_interchange_once(
    suite: Suite, publish: Publish, token: Callable[..., str], sandbox: SandboxProcess
) -> None:
    gateway = suite.processes["edi-gateway"]
    await sandbox.set_switches(upload_delay_seconds=3)
    run = uuid.uuid4().hex[:8]
    scenario = asyncio.create_task(
        run_group_session(
            attendance_url=suite.url("attendance"),
            claims_url=suite.url("claims"),
            publish=publish,
            bearer=headers(token, SFTP_TENANT),
            tenant=SFTP_TENANT,
            run=run,
            day=date(2026, 3, 13),
            marks=SESSION_MARKS,
            payers=PAYERS,
            within_seconds=150,
        )
    )
    try:
        # An upload in flight: its temporary name is in the sandbox's inbound folder.
        async def uploading() -> bool | None:
            parts = [p for p in sandbox.inbound.glob(f".{SFTP_TENANT}_*.part")]
            return True if parts else None

        await eventually(uploading, 60)
        gateway.stop(signal.SIGKILL)
        await sandbox.set_switches(upload_delay_seconds=0)
        gateway.start()
        await eventually(lambda: _ready(gateway.base_url), 60)
        session = await scenario
    finally:
        if not scenario.done():
            scenario.cancel()
        await sandbox.set_switches(upload_delay_seconds=0)

    claims = await settle(
        suite, token, SFTP_TENANT, all_status("ACCEPTED"), session_id=session.session_id
    )
    pcns = {c["patient_control_number"] for c in claims.values()}
    assert len(pcns) == 3  # no claim lost
    everything = received_for(await sandbox.received(), SFTP_TENANT)
    mine = [r for r in everything if {c["patient_control_number"] for c in r["claims"]} & pcns]
    assert_one_upload_per_interchange(mine)
    in_files = Counter(c["patient_control_number"] for r in mine for c in r["claims"])
    assert set(in_files) == pcns and all(n == 1 for n in in_files.values())
    # No control number used twice by this sender, across everything it ever sent.
    all_isa13 = [i["isa13"] for i in await interchanges(suite, token, SFTP_TENANT)]
    assert len(all_isa13) == len(set(all_isa13))
    assert_one_upload_per_interchange(everything)
    assert not list(sandbox.inbound.glob(".*.part"))  # the torn upload was cleaned up


async def _ready(base_url: str) -> bool | None:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return True if (await client.get(f"{base_url}/readyz")).status_code == 200 else None
    except httpx.HTTPError:
        return None
