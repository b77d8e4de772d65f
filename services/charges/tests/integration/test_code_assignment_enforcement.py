"""Code-assignment enforcement (SPEC 5): with the tenant's enforce_code_assignment on, a
group charge whose code (90853) is not assigned to its member or its rendering staff on
the date of service needs a fix; assigning it re-checks the charge, which goes READY and
is told like any charge change. With enforcement off nothing changes."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from charges.domain.charges import charge_id_for
from contracts.envelope import CloudEvent
from contracts.events import (
    CHARGES_RECORDED_V1,
    GROUP_SESSION_CLOSED_V1,
    MEMBER_UPSERTED_V1,
    PROVIDER_UPSERTED_V1,
)

from ..code_groups import ENFORCED_TENANT, provider_data, write_tenants
from ..group_sessions import closed_data, member_data

Publish = Callable[..., Awaitable[CloudEvent]]
Applied = Callable[[CloudEvent], Awaitable[None]]
Outboxed = Callable[[str, str], Awaitable[list[dict[str, Any]]]]

PLAIN_TENANT = "demo-bh"
SESSION_DATE = "2026-03-09"
NOT_TO_MEMBER = "CODE_NOT_ASSIGNED_TO_MEMBER"
NOT_TO_STAFF = "CODE_NOT_ASSIGNED_TO_STAFF"


@pytest.fixture(scope="module")
def tenant_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tenants(tmp_path_factory.mktemp("tenants"), enforced=(ENFORCED_TENANT,), plain=())


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def auth(token: Callable[..., str], tenant: str = ENFORCED_TENANT) -> dict[str, str]:
    scopes = ["billing.claim.read", "billing.claim.write"]
    return {"Authorization": f"Bearer {token(tenant=tenant, scopes=scopes, subject='admin-1')}"}


class GroupSession:
    def __init__(self, tenant: str, session_id: str, members: list[str], staff: str) -> None:
        self.tenant = tenant
        self.session_id = session_id
        self.members = members
        self.staff = staff

    def charge_id(self, member_id: str) -> str:
        return charge_id_for(self.tenant, self.session_id, member_id)


async def records(
    publish: Publish, applied: Applied, tenant: str, count: int
) -> tuple[list[str], str]:
    """``count`` covered clients and one active staff member, as the EHR feed tells them."""
    members = [unique("m") for _ in range(count)]
    for member_id in members:
        data = member_data(member_id, "acme-commercial", start="2024-01-01")
        await applied(await publish(MEMBER_UPSERTED_V1, data, tenant=tenant))
    staff = unique("prov")
    await applied(await publish(PROVIDER_UPSERTED_V1, provider_data(staff), tenant=tenant))
    return members, staff


async def close_session(
    publish: Publish, applied: Applied, tenant: str, members: list[str], staff: str
) -> GroupSession:
    """A 90853 session of ``members`` (all ATTENDED) supervised by ``staff``."""
    session_id = unique("gs")
    data = closed_data(
        session_id,
        roster=[(m, "ATTENDED") for m in members],
        supervisors=[(staff, "ATTENDED")],
        session_date=SESSION_DATE,
    )
    await applied(await publish(GROUP_SESSION_CLOSED_V1, data, tenant=tenant))
    return GroupSession(tenant, session_id, members, staff)


async def charges_of(
    client: httpx.AsyncClient, token: Callable[..., str], session: GroupSession
) -> dict[str, dict[str, Any]]:
    response = await client.get(
        "/v1/charges",
        params={"session_id": session.session_id},
        headers=auth(token, session.tenant),
    )
    assert response.status_code == 200, response.text
    return {c["member_id"]: c for c in response.json()["items"]}


def issue_codes(charge: dict[str, Any]) -> list[str]:
    return [i["code"] for i in charge["issues"]]


async def group_of_90853(client: httpx.AsyncClient, token: Callable[..., str]) -> str:
    response = await client.post(
        "/v1/billing-code-groups",
        json={"name": unique("Group psychotherapy"), "codes": ["90853"]},
        headers=auth(token),
    )
    assert response.status_code == 201, response.text
    group_id: str = response.json()["group_id"]
    return group_id


async def assign(
    client: httpx.AsyncClient,
    token: Callable[..., str],
    group_id: str,
    kind: str,
    assignee_id: str,
    effective_from: str = "2026-01-01",
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/billing-code-groups/{group_id}/assignments",
        json={"assignee_kind": kind, "assignee_id": assignee_id, "effective_from": effective_from},
        headers=auth(token),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_with_enforcement_on_a_code_assigned_to_nobody_needs_a_fix_for_member_and_staff(
    client: httpx.AsyncClient,
    token: Callable[..., str],
    publish: Publish,
    applied: Applied,
    outboxed: Outboxed,
) -> None:
    members, staff = await records(publish, applied, ENFORCED_TENANT, 3)
    session = await close_session(publish, applied, ENFORCED_TENANT, members, staff)
    charges = await charges_of(client, token, session)
    assert {c["status"] for c in charges.values()} == {"NEEDS_FIX"}
    assert {tuple(issue_codes(c)) for c in charges.values()} == {(NOT_TO_MEMBER, NOT_TO_STAFF)}

    group_id = await group_of_90853(client, token)
    to_staff = await assign(client, token, group_id, "STAFF", staff)
    # The staff issue is gone from all three; each still lacks the member's assignment.
    assert to_staff["recheck"] == {"checked": 3, "changed": 3, "more": False}
    charges = await charges_of(client, token, session)
    assert {tuple(issue_codes(c)) for c in charges.values()} == {(NOT_TO_MEMBER,)}

    to_clients = await client.post(
        f"/v1/billing-code-groups/{group_id}/assign-to-all-active-clients",
        json={"effective_from": "2026-01-01"},
        headers=auth(token),
    )
    assert to_clients.json()["recheck"]["changed"] >= 3
    charges = await charges_of(client, token, session)
    assert {c["status"] for c in charges.values()} == {"READY"}
    assert all(c["issues"] == [] for c in charges.values())

    told = await outboxed(CHARGES_RECORDED_V1, ENFORCED_TENANT)
    ready = {
        c["charge_id"]
        for event in told
        if event["data"]["change"] == "RECHECKED"
        for c in event["data"]["charges"]
        if c["status"] == "READY"
    }
    assert {session.charge_id(m) for m in members} <= ready


async def test_a_member_lacking_90853_needs_a_fix_until_assigned_then_goes_ready(
    client: httpx.AsyncClient,
    token: Callable[..., str],
    publish: Publish,
    applied: Applied,
    outboxed: Outboxed,
) -> None:
    members, staff = await records(publish, applied, ENFORCED_TENANT, 4)
    group_id = await group_of_90853(client, token)
    await assign(client, token, group_id, "STAFF", staff)
    lacking = members[-1]
    for member_id in members[:-1]:
        await assign(client, token, group_id, "CLIENT", member_id)
    session = await close_session(publish, applied, ENFORCED_TENANT, members, staff)

    charges = await charges_of(client, token, session)
    assert [charges[m]["status"] for m in members] == ["READY", "READY", "READY", "NEEDS_FIX"]
    assert issue_codes(charges[lacking]) == [NOT_TO_MEMBER]
    assert charges[lacking]["issues"][0]["message"] == (
        "code 90853 is not assigned to the member on 2026-03-09"
    )

    # Assigned from the day after the session: not in force on the date of service.
    late = await assign(client, token, group_id, "CLIENT", lacking, effective_from="2026-03-10")
    assert late["recheck"] == {"checked": 1, "changed": 0, "more": False}
    asked = await client.post(
        "/v1/charges/code-assignment-recheck",
        json={"assignee_kind": "CLIENT", "assignee_id": lacking},
        headers=auth(token),
    )
    assert asked.json() == {"checked": 1, "changed": 0, "more": False}
    assert (await charges_of(client, token, session))[lacking]["status"] == "NEEDS_FIX"

    in_time = await assign(client, token, group_id, "CLIENT", lacking, effective_from="2026-03-01")
    assert in_time["recheck"] == {"checked": 1, "changed": 1, "more": False}
    charge = (await charges_of(client, token, session))[lacking]
    assert (charge["status"], charge["issues"], charge["charge_version"]) == ("READY", [], 2)
    [event] = await outboxed(CHARGES_RECORDED_V1, lacking)
    assert event["data"]["change"] == "RECHECKED"
    assert [(c["charge_id"], c["status"]) for c in event["data"]["charges"]] == [
        (session.charge_id(lacking), "READY")
    ]


async def test_an_operators_recheck_of_the_charge_sees_an_assignment(
    client: httpx.AsyncClient,
    token: Callable[..., str],
    publish: Publish,
    applied: Applied,
) -> None:
    """The charge's own re-check (fix with no override) prices it against the assignments."""
    members, staff = await records(publish, applied, ENFORCED_TENANT, 3)
    session = await close_session(publish, applied, ENFORCED_TENANT, members, staff)
    group_id = await group_of_90853(client, token)
    for kind, who in (("STAFF", staff), *(("CLIENT", m) for m in members)):
        await assign(client, token, group_id, kind, who)
    # Already re-checked by the assignments; asking again changes nothing.
    fixed = await client.post(
        f"/v1/charges/{session.charge_id(members[0])}/fix", json={}, headers=auth(token)
    )
    assert (fixed.json()["status"], fixed.json()["issues"]) == ("READY", [])


async def test_with_enforcement_off_the_same_charge_is_ready_at_once(
    client: httpx.AsyncClient,
    token: Callable[..., str],
    publish: Publish,
    applied: Applied,
) -> None:
    members, staff = await records(publish, applied, PLAIN_TENANT, 3)
    session = await close_session(publish, applied, PLAIN_TENANT, members, staff)
    charges = await charges_of(client, token, session)
    assert [(charges[m]["status"], charges[m]["issues"]) for m in members] == [("READY", [])] * 3


async def test_a_recheck_of_one_assignee_names_its_kind(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    refused = await client.post(
        "/v1/charges/code-assignment-recheck", json={"assignee_id": "m-1"}, headers=auth(token)
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "ASSIGNEE_KIND_REQUIRED"
