"""The charges API: list and read charges with their age, generate a session's charges on
demand, fix and void a charge; every refusal a problem with its code."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from charges.adapters.db.repository import ProjectionRepository
from charges.domain.charges import charge_id_for
from charges.domain.projections import CoveragePeriod, MemberCoverage, SourceStamp
from common.runtime import ServiceRuntime
from contracts.envelope import CloudEvent
from contracts.events import (
    CHARGES_RECORDED_V1,
    CLAIM_STATUS_CHANGED_V1,
    GROUP_SESSION_CHARGED_V1,
    GROUP_SESSION_CLOSED_V1,
    GROUP_SESSION_REOPENED_V1,
    MEMBER_UPSERTED_V1,
)

from ..conftest import DATED_TENANT
from ..group_sessions import claim_status_data, closed_data, member_data, reopened_data

Publish = Callable[..., Awaitable[CloudEvent]]
Applied = Callable[[CloudEvent], Awaitable[None]]
Outboxed = Callable[[str, str], Awaitable[list[dict[str, Any]]]]

TENANT = "demo-bh"
READ = "billing.claim.read"
WRITE = "billing.claim.write"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def auth(token: Callable[..., str], *scopes: str, tenant: str = TENANT) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(tenant=tenant, scopes=list(scopes or (READ, WRITE)))}"}


class Session:
    """A closed session of the test's own: 5 billable (3 ATTENDED, 1 LATE, 1 more
    ATTENDED), 1 ABSENT; members covered by acme unless told otherwise."""

    def __init__(self, session_id: str, members: list[str]) -> None:
        self.session_id = session_id
        self.members = members

    def charge_id(self, index: int) -> str:
        return charge_id_for(TENANT, self.session_id, self.members[index])


async def closed_session(
    publish: Publish,
    applied: Applied,
    *,
    covered: bool = True,
    session_date: str = "2026-03-09",
) -> Session:
    prefix = unique("m")
    members = [f"{prefix}-{n}" for n in range(1, 7)]
    statuses = ["ATTENDED", "ATTENDED", "ATTENDED", "LATE", "ATTENDED", "ABSENT"]
    if covered:
        for member_id in members:
            data = member_data(member_id, "acme-commercial", start="2024-01-01")
            await applied(await publish(MEMBER_UPSERTED_V1, data, tenant=TENANT))
    session = Session(unique("gs"), members[:5])
    data = closed_data(
        session.session_id,
        roster=list(zip(members, statuses, strict=True)),
        session_date=session_date,
    )
    await applied(await publish(GROUP_SESSION_CLOSED_V1, data, tenant=TENANT))
    return session


@pytest.fixture(scope="module")
async def session(publish: Publish, applied: Applied) -> Session:
    return await closed_session(publish, applied)


# --------------------------------------------------------------------------- reading


async def test_the_list_filters_by_session_and_gives_each_charge_its_age_in_days(
    client: httpx.AsyncClient, token: Callable[..., str], session: Session
) -> None:
    response = await client.get(
        "/v1/charges", params={"session_id": session.session_id}, headers=auth(token, READ)
    )
    assert response.status_code == 200
    items = response.json()["items"]
    today = datetime.now(UTC).astimezone(ZoneInfo("America/Chicago")).date()
    assert len(items) == 5
    assert {i["charge_id"] for i in items} == {session.charge_id(n) for n in range(5)}
    for item in items:
        assert item["age_days"] == (today - date(2026, 3, 9)).days
        assert (item["status"], item["amount"], item["modifiers"]) == ("READY", "50.00", ["HQ"])
        assert item["issues"] == []
        assert item["group"]["band_name"] == "Small"


async def test_the_list_filters_by_member_status_and_date_range(
    client: httpx.AsyncClient, token: Callable[..., str], session: Session
) -> None:
    headers = auth(token, READ)
    member = session.members[0]
    by_member = await client.get("/v1/charges", params={"member_id": member}, headers=headers)
    assert [i["member_id"] for i in by_member.json()["items"]] == [member]
    in_range = await client.get(
        "/v1/charges",
        params={"member_id": member, "status": "READY", "from": "2026-03-09", "to": "2026-03-09"},
        headers=headers,
    )
    assert len(in_range.json()["items"]) == 1
    out_of_range = await client.get(
        "/v1/charges", params={"member_id": member, "from": "2026-03-10"}, headers=headers
    )
    assert out_of_range.json()["items"] == []
    needs_fix = await client.get(
        "/v1/charges", params={"member_id": member, "status": "NEEDS_FIX"}, headers=headers
    )
    assert needs_fix.json()["items"] == []
    no_stay = await client.get("/v1/charges", params={"stay_id": "stay-1"}, headers=headers)
    assert no_stay.json()["items"] == []


async def test_one_charge_reads_with_its_age(
    client: httpx.AsyncClient, token: Callable[..., str], session: Session
) -> None:
    response = await client.get(f"/v1/charges/{session.charge_id(0)}", headers=auth(token, READ))
    assert response.status_code == 200
    body = response.json()
    assert (body["charge_id"], body["charge_version"], body["member_id"]) == (
        session.charge_id(0),
        1,
        session.members[0],
    )
    assert body["age_days"] >= 0 and body["override"] is None


async def test_a_range_whose_end_is_before_its_start_answers_422(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    response = await client.get(
        "/v1/charges", params={"from": "2026-03-10", "to": "2026-03-09"}, headers=auth(token, READ)
    )
    assert (response.status_code, response.json()["code"]) == (422, "DATE_RANGE_OUT_OF_ORDER")


async def test_an_unknown_status_answers_422(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    response = await client.get("/v1/charges", params={"status": "PAID"}, headers=auth(token, READ))
    assert (response.status_code, response.json()["code"]) == (422, "VALIDATION_ERROR")


# --------------------------------------------------------------------------- generate


async def test_generate_for_a_session_never_closed_answers_404(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    response = await client.post("/v1/group-sessions/gs-never/charges", headers=auth(token))
    assert (response.status_code, response.json()["code"]) == (404, "SESSION_NOT_CLOSED")


async def test_generate_after_the_close_built_them_changes_nothing(
    client: httpx.AsyncClient, token: Callable[..., str], session: Session, outboxed: Outboxed
) -> None:
    for _ in range(2):
        response = await client.post(
            f"/v1/group-sessions/{session.session_id}/charges", headers=auth(token)
        )
        assert response.status_code == 200
        body = response.json()
        assert (body["built"], body["rechecked"], body["close_sequence"]) == (0, 0, 1)
        assert sorted(c["charge_id"] for c in body["charges"]) == sorted(
            session.charge_id(n) for n in range(5)
        )
        assert {c["charge_version"] for c in body["charges"]} == {1}
    assert len(await outboxed(CHARGES_RECORDED_V1, session.session_id)) == 1
    assert len(await outboxed(GROUP_SESSION_CHARGED_V1, session.session_id)) == 1


async def test_generate_rechecks_charges_that_need_a_fix(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    token: Callable[..., str],
    publish: Publish,
    applied: Applied,
) -> None:
    uncovered = await closed_session(publish, applied, covered=False)
    await cover_quietly(runtime, uncovered.members[0])
    response = await client.post(
        f"/v1/group-sessions/{uncovered.session_id}/charges", headers=auth(token)
    )
    body = response.json()
    assert (body["built"], body["rechecked"]) == (0, 1)
    ready = [c for c in body["charges"] if c["status"] == "READY"]
    assert [c["member_id"] for c in ready] == [uncovered.members[0]]


async def test_generate_for_a_reopened_session_answers_409(
    client: httpx.AsyncClient, token: Callable[..., str], publish: Publish, applied: Applied
) -> None:
    reopened = await closed_session(publish, applied)
    event = await publish(
        GROUP_SESSION_REOPENED_V1, reopened_data(reopened.session_id), tenant=TENANT
    )
    await applied(event)
    response = await client.post(
        f"/v1/group-sessions/{reopened.session_id}/charges", headers=auth(token)
    )
    assert (response.status_code, response.json()["code"]) == (409, "SESSION_REOPENED")


# --------------------------------------------------------------------------- fix


async def cover_quietly(runtime: ServiceRuntime, member_id: str) -> None:
    """Coverage arriving without an event (so without the automatic re-check)."""
    member = MemberCoverage(
        member_id,
        True,
        (CoveragePeriod(f"cov-{member_id}", "il-medicaid", "18", True, date(2026, 1, 1)),),
    )
    async with runtime.sessionmaker() as db, db.begin():
        stamp = SourceStamp(datetime.now(UTC), unique("evt"))
        await ProjectionRepository(db).save_member(TENANT, member, stamp)


async def test_a_recheck_after_coverage_arrived_makes_the_charge_ready(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    token: Callable[..., str],
    publish: Publish,
    applied: Applied,
    outboxed: Outboxed,
) -> None:
    uncovered = await closed_session(publish, applied, covered=False)
    charge_id = uncovered.charge_id(0)
    before = (await client.get(f"/v1/charges/{charge_id}", headers=auth(token))).json()
    assert [i["code"] for i in before["issues"]] == ["NO_ACTIVE_COVERAGE"]

    await cover_quietly(runtime, uncovered.members[0])
    response = await client.post(f"/v1/charges/{charge_id}/fix", json={}, headers=auth(token))
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["charge_version"], body["payer_id"], body["modifiers"]) == (
        "READY",
        2,
        "il-medicaid",
        ["HG"],
    )
    [recorded] = await outboxed(CHARGES_RECORDED_V1, charge_id)
    assert recorded["data"]["change"] == "RECHECKED"

    again = await client.post(f"/v1/charges/{charge_id}/fix", json={}, headers=auth(token))
    assert again.json()["charge_version"] == 2  # nothing new: no version, no event
    assert len(await outboxed(CHARGES_RECORDED_V1, charge_id)) == 1


async def test_a_payer_override_with_a_reason_fixes_a_charge_without_coverage(
    client: httpx.AsyncClient,
    token: Callable[..., str],
    publish: Publish,
    applied: Applied,
    outboxed: Outboxed,
) -> None:
    uncovered = await closed_session(publish, applied, covered=False)
    charge_id = uncovered.charge_id(1)
    response = await client.post(
        f"/v1/charges/{charge_id}/fix",
        json={"payer_id": "il-medicaid", "reason": "eligibility confirmed by phone"},
        headers=auth(token),
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["payer_id"], body["modifiers"], body["amount"]) == (
        "READY",
        "il-medicaid",
        ["HG"],
        "50.00",
    )
    assert body["override"]["reason"] == "eligibility confirmed by phone"
    [recorded] = await outboxed(CHARGES_RECORDED_V1, charge_id)
    assert (recorded["data"]["change"], recorded["data"]["reason"]) == (
        "FIXED",
        "eligibility confirmed by phone",
    )


async def test_a_rate_override_fixes_a_missing_rate(
    client: httpx.AsyncClient, token: Callable[..., str], publish: Publish, applied: Applied
) -> None:
    unpriced = await closed_session(publish, applied, session_date="2024-06-03")
    response = await client.post(
        f"/v1/charges/{unpriced.charge_id(0)}/fix",
        json={"rate": "42.50", "reason": "2024 contract rate"},
        headers=auth(token),
    )
    body = response.json()
    assert (body["status"], body["rate"], body["amount"], body["issues"]) == (
        "READY",
        "42.50",
        "42.50",
        [],
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"payer_id": "il-medicaid"}, "REASON_REQUIRED"),
        ({"payer_id": "nobody-plan", "reason": "x"}, "PAYER_NOT_CONFIGURED"),
        ({"coverage_id": "cov-none", "reason": "x"}, "COVERAGE_NOT_FOUND"),
        ({"rate": "-1", "reason": "x"}, "VALIDATION_ERROR"),
        ({"rate": "10.001", "reason": "x"}, "VALIDATION_ERROR"),
    ],
)
async def test_a_fix_that_cannot_apply_answers_422(
    client: httpx.AsyncClient,
    token: Callable[..., str],
    session: Session,
    body: dict[str, Any],
    code: str,
) -> None:
    response = await client.post(
        f"/v1/charges/{session.charge_id(2)}/fix", json=body, headers=auth(token)
    )
    assert (response.status_code, response.json()["code"]) == (422, code)


async def test_a_charge_on_a_claim_is_not_fixed_or_voided(
    client: httpx.AsyncClient,
    token: Callable[..., str],
    publish: Publish,
    applied: Applied,
) -> None:
    claimed = await closed_session(publish, applied)
    charge_id = claimed.charge_id(0)
    data = claim_status_data(unique("clm"), "DRAFT", [charge_id])
    await applied(await publish(CLAIM_STATUS_CHANGED_V1, data, tenant=TENANT))
    fix = await client.post(
        f"/v1/charges/{charge_id}/fix", json={"rate": "1.00", "reason": "x"}, headers=auth(token)
    )
    assert (fix.status_code, fix.json()["code"]) == (409, "CHARGE_LOCKED")
    void = await client.post(
        f"/v1/charges/{charge_id}/void", json={"reason": "duplicate"}, headers=auth(token)
    )
    assert (void.status_code, void.json()["code"]) == (409, "CHARGE_LOCKED")


# --------------------------------------------------------------------------- void


async def test_a_void_with_a_reason_voids_once_and_a_void_charge_is_not_fixed(
    client: httpx.AsyncClient,
    token: Callable[..., str],
    session: Session,
    outboxed: Outboxed,
) -> None:
    charge_id = session.charge_id(4)
    for _ in range(2):
        response = await client.post(
            f"/v1/charges/{charge_id}/void",
            json={"reason": "entered in error"},
            headers=auth(token),
        )
        assert response.status_code == 200
        assert (response.json()["status"], response.json()["charge_version"]) == ("VOID", 2)
    [recorded] = await outboxed(CHARGES_RECORDED_V1, charge_id)
    assert (recorded["data"]["change"], recorded["data"]["reason"]) == (
        "VOIDED",
        "entered in error",
    )
    fix = await client.post(f"/v1/charges/{charge_id}/fix", json={}, headers=auth(token))
    assert (fix.status_code, fix.json()["code"]) == (409, "CHARGE_VOID")


async def test_a_void_without_a_reason_answers_422(
    client: httpx.AsyncClient, token: Callable[..., str], session: Session
) -> None:
    response = await client.post(
        f"/v1/charges/{session.charge_id(3)}/void", json={}, headers=auth(token)
    )
    assert (response.status_code, response.json()["code"]) == (422, "VALIDATION_ERROR")


# --------------------------------------------------------------------------- who may


async def test_without_a_token_every_route_answers_401(
    client: httpx.AsyncClient, session: Session
) -> None:
    charge = f"/v1/charges/{session.charge_id(0)}"
    for method, path in [
        ("GET", "/v1/charges"),
        ("GET", charge),
        ("POST", f"/v1/group-sessions/{session.session_id}/charges"),
        ("POST", f"{charge}/fix"),
        ("POST", f"{charge}/void"),
    ]:
        response = await client.request(method, path, json={})
        assert (response.status_code, response.json()["code"]) == (401, "UNAUTHENTICATED")


async def test_reading_needs_the_read_scope_and_changing_the_write_scope(
    client: httpx.AsyncClient, token: Callable[..., str], session: Session
) -> None:
    charge = f"/v1/charges/{session.charge_id(0)}"
    write_only = auth(token, WRITE)
    read_only = auth(token, READ)
    assert (await client.get("/v1/charges", headers=write_only)).status_code == 403
    assert (await client.get(charge, headers=write_only)).status_code == 403
    for path, body in [
        (f"/v1/group-sessions/{session.session_id}/charges", None),
        (f"{charge}/fix", {}),
        (f"{charge}/void", {"reason": "x"}),
    ]:
        response = await client.post(path, json=body, headers=read_only)
        assert (response.status_code, response.json()["code"]) == (403, "INSUFFICIENT_SCOPE")


async def test_another_tenant_neither_sees_nor_changes_the_charges(
    client: httpx.AsyncClient, token: Callable[..., str], session: Session
) -> None:
    other = auth(token, READ, WRITE, tenant=DATED_TENANT)
    charge = f"/v1/charges/{session.charge_id(0)}"
    listed = await client.get(
        "/v1/charges", params={"session_id": session.session_id}, headers=other
    )
    assert listed.json()["items"] == []
    for method, path, body in [
        ("GET", charge, None),
        ("POST", f"{charge}/fix", {}),
        ("POST", f"{charge}/void", {"reason": "x"}),
    ]:
        response = await client.request(method, path, json=body, headers=other)
        assert (response.status_code, response.json()["code"]) == (404, "CHARGE_NOT_FOUND")
    generate = await client.post(f"/v1/group-sessions/{session.session_id}/charges", headers=other)
    assert (generate.status_code, generate.json()["code"]) == (404, "SESSION_NOT_CLOSED")
    mine = await client.get(charge, headers=auth(token, READ))
    assert mine.json()["charge_version"] == 1


async def test_an_unknown_charge_answers_404(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    response = await client.get("/v1/charges/ch-nothing", headers=auth(token, READ))
    assert (response.status_code, response.json()["code"]) == (404, "CHARGE_NOT_FOUND")
