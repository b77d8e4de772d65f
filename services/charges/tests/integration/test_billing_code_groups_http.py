"""Billing code groups through the API (seed 004): the seed's groups, "assign to all
active users / clients" with counts, ending assignments, deleting a group, default groups
for whoever becomes active, and every refusal as a problem with its code."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from charges.adapters.db.code_groups_repository import CodeGroupRepository
from charges.domain.code_groups import BillingCodeGroup, DuplicateGroupName
from common.runtime import ServiceRuntime
from contracts.envelope import CloudEvent
from contracts.events import MEMBER_UPSERTED_V1, PROVIDER_UPSERTED_V1

from ..code_groups import (
    BCBS_CODES,
    NONBILLABLE_CODES,
    NONBILLABLES_TENANT,
    UBH_CODES,
    provider_data,
    write_tenants,
)
from ..group_sessions import member_data

Publish = Callable[..., Awaitable[CloudEvent]]
Applied = Callable[[CloudEvent], Awaitable[None]]

TENANT = "demo-bh"
READ = "billing.claim.read"
WRITE = "billing.claim.write"
OTHER_TENANT = "other-bh"
REPEAT_TENANT = "repeat-bh"


@pytest.fixture(scope="module")
def tenant_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tenants(
        tmp_path_factory.mktemp("tenants"),
        enforced=(),
        plain=(NONBILLABLES_TENANT, OTHER_TENANT, REPEAT_TENANT),
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def auth(
    token: Callable[..., str], *scopes: str, tenant: str = TENANT, subject: str = "admin-1"
) -> dict[str, str]:
    granted = list(scopes or (READ, WRITE))
    return {"Authorization": f"Bearer {token(tenant=tenant, scopes=granted, subject=subject)}"}


async def create(
    client: httpx.AsyncClient,
    token: Callable[..., str],
    name: str,
    codes: list[str],
    *,
    tenant: str = TENANT,
    **flags: Any,
) -> dict[str, Any]:
    response = await client.post(
        "/v1/billing-code-groups",
        json={"name": name, "codes": codes, **flags},
        headers=auth(token, tenant=tenant),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


# --------------------------------------------------------------------------- the seed


async def test_the_seeds_bcbs_auth_group_holds_its_five_codes(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    name = unique("BCBS Auth Group")
    group = await create(client, token, name, ["90847", "90791", "90832", "90834", "90837"])
    assert (group["name"], group["active"], group["default"]) == (name, True, False)
    assert group["codes"] == ["90791", "90832", "90834", "90837", "90847"] == BCBS_CODES
    assert [c["code"] for c in group["assigned_codes"]] == BCBS_CODES
    unassigned = {c["code"] for c in group["unassigned_codes"]}
    assert not unassigned & set(BCBS_CODES)
    assert "90853" in unassigned
    read = await client.get(
        f"/v1/billing-code-groups/{group['group_id']}", headers=auth(token, READ)
    )
    assert read.json() == group


async def test_the_seeds_ubh_auth_group_never_holds_90837(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    group = await create(client, token, unique("UBH Auth Group"), UBH_CODES)
    assert group["codes"] == ["90791", "90832", "90834", "90847"]
    assert "90837" in {c["code"] for c in group["unassigned_codes"]}


async def test_new_nonbillables_go_to_all_active_users_and_all_active_clients_with_counts(
    client: httpx.AsyncClient,
    token: Callable[..., str],
    publish: Publish,
    applied: Applied,
) -> None:
    """Seed 004's use case at ABC Therapeutic Group: 3 active staff (1 more inactive), 4
    active clients (1 more inactive), a group of 4 nonbillable codes."""
    tenant = NONBILLABLES_TENANT
    for n, active in enumerate([True, True, True, False]):
        data = provider_data(f"staff-{n}", active=active)
        await applied(await publish(PROVIDER_UPSERTED_V1, data, tenant=tenant))
    for n, active in enumerate([True, True, True, True, False]):
        data = {**member_data(f"client-{n}", "acme-commercial"), "active": active}
        await applied(await publish(MEMBER_UPSERTED_V1, data, tenant=tenant))
    group = await create(client, token, "New Nonbillables", NONBILLABLE_CODES, tenant=tenant)
    url = f"/v1/billing-code-groups/{group['group_id']}"
    headers = auth(token, tenant=tenant, subject="power-user")
    dates = {"effective_from": "2026-03-01"}

    users = await client.post(f"{url}/assign-to-all-active-users", json=dates, headers=headers)
    assert users.status_code == 200, users.text
    assert users.json() == {
        "assignees": 3,
        "codes": 4,
        "assigned": 12,
        "already_assigned": 0,
        "skipped": 0,
        "recheck": {"checked": 0, "changed": 0, "more": False},
    }
    clients = await client.post(f"{url}/assign-to-all-active-clients", json=dates, headers=headers)
    assert (clients.json()["assignees"], clients.json()["assigned"]) == (4, 16)

    listed = await client.get(
        "/v1/code-assignments",
        params={"group_id": group["group_id"], "on": "2026-03-01", "limit": 100},
        headers=auth(token, READ, tenant=tenant),
    )
    items = listed.json()["items"]
    assert len(items) == 28
    assert {(i["assignee_kind"], i["assignee_id"]) for i in items} == {
        *(("STAFF", f"staff-{n}") for n in range(3)),
        *(("CLIENT", f"client-{n}") for n in range(4)),
    }
    assert {i["assigned_by"] for i in items} == {"power-user"}
    assert all(i["effective_through"] is None for i in items)


async def test_assigning_to_all_again_with_the_same_dates_writes_nothing(
    client: httpx.AsyncClient,
    token: Callable[..., str],
    publish: Publish,
    applied: Applied,
) -> None:
    members = [unique("m") for _ in range(3)]
    for member_id in members:
        data = member_data(member_id, "acme-commercial")
        await applied(await publish(MEMBER_UPSERTED_V1, data, tenant=REPEAT_TENANT))
    group = await create(client, token, "Intake", ["90791", "H0031"], tenant=REPEAT_TENANT)
    url = f"/v1/billing-code-groups/{group['group_id']}/assign-to-all-active-clients"
    headers = auth(token, tenant=REPEAT_TENANT)
    dates = {"effective_from": "2026-01-01", "effective_through": "2026-12-31"}

    first = (await client.post(url, json=dates, headers=headers)).json()
    again = (await client.post(url, json=dates, headers=headers)).json()
    assert (first["assigned"], first["already_assigned"], first["skipped"]) == (6, 0, 0)
    assert (again["assigned"], again["already_assigned"], again["skipped"]) == (0, 6, 0)
    # A period inside the one already assigned adds nothing either: skipped.
    inside = {"effective_from": "2026-02-01", "effective_through": "2026-02-28"}
    within = (await client.post(url, json=inside, headers=headers)).json()
    assert (within["assigned"], within["already_assigned"], within["skipped"]) == (0, 0, 6)
    listed = await client.get(
        "/v1/code-assignments",
        params={"group_id": group["group_id"]},
        headers=auth(token, READ, tenant=REPEAT_TENANT),
    )
    assert len(listed.json()["items"]) == 6


# --------------------------------------------------------------------------- group edits


async def test_a_group_is_renamed_deactivated_and_its_codes_added_and_removed(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    group = await create(client, token, unique("Med management"), ["99213"])
    url = f"/v1/billing-code-groups/{group['group_id']}"
    headers = auth(token)
    renamed = await client.patch(url, json={"name": "Med Mgmt", "active": False}, headers=headers)
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["active"]) == ("Med Mgmt", False)
    added = await client.post(f"{url}/codes", json={"codes": ["90863", "99214"]}, headers=headers)
    assert added.json()["codes"] == ["90863", "99213", "99214"]
    removed = await client.delete(f"{url}/codes/99213", headers=headers)
    assert removed.json()["codes"] == ["90863", "99214"]
    everything = await client.post(f"{url}/codes/add-all", headers=headers)
    assert everything.json()["unassigned_codes"] == []
    total = len(everything.json()["assigned_codes"])
    codes = await client.get("/v1/billing-codes", headers=auth(token, READ))
    assert total == len(codes.json()["items"])
    nothing = await client.post(f"{url}/codes/remove-all", headers=headers)
    assert nothing.json()["codes"] == []
    assert len(nothing.json()["unassigned_codes"]) == total
    trail = await client.get(f"{url}/audit", headers=auth(token, READ))
    assert [e["action"] for e in trail.json()["items"]] == [
        "CREATED",
        "UPDATED",
        "CODES_ADDED",
        "CODES_REMOVED",
        "CODES_ADDED_ALL",
        "CODES_REMOVED_ALL",
    ]
    assert {e["actor"] for e in trail.json()["items"]} == {"admin-1"}


async def test_deleting_a_group_keeps_the_assignments_made_from_it(
    client: httpx.AsyncClient,
    token: Callable[..., str],
    publish: Publish,
    applied: Applied,
) -> None:
    member_id = unique("m")
    await applied(
        await publish(MEMBER_UPSERTED_V1, member_data(member_id, "acme-commercial"), tenant=TENANT)
    )
    name = unique("BCBS Auth Group")
    group = await create(client, token, name, BCBS_CODES)
    url = f"/v1/billing-code-groups/{group['group_id']}"
    headers = auth(token)
    body = {"assignee_kind": "CLIENT", "assignee_id": member_id, "effective_from": "2026-03-01"}
    assigned = await client.post(f"{url}/assignments", json=body, headers=headers)
    assert (assigned.json()["assignees"], assigned.json()["assigned"]) == (1, 5)

    deleted = await client.delete(url, headers=headers)
    assert deleted.status_code == 204
    problem(await client.get(url, headers=headers), 404, "BILLING_CODE_GROUP_NOT_FOUND")
    listed = await client.get(
        "/v1/code-assignments",
        params={"assignee_kind": "CLIENT", "assignee_id": member_id, "on": "2026-06-01"},
        headers=headers,
    )
    assert sorted(i["code"] for i in listed.json()["items"]) == BCBS_CODES
    # The name is free again.
    assert (await create(client, token, name, ["90791"]))["group_id"] != group["group_id"]


async def test_ending_assignments_is_the_only_undo(
    client: httpx.AsyncClient,
    token: Callable[..., str],
    publish: Publish,
    applied: Applied,
) -> None:
    member_id = unique("m")
    await applied(
        await publish(MEMBER_UPSERTED_V1, member_data(member_id, "acme-commercial"), tenant=TENANT)
    )
    group = await create(client, token, unique("Family"), ["90846", "90847"])
    url = f"/v1/billing-code-groups/{group['group_id']}"
    headers = auth(token, subject="admin-2")
    for start, through in (("2026-01-01", "2026-06-30"), ("2026-07-01", None)):
        body = {
            "assignee_kind": "CLIENT",
            "assignee_id": member_id,
            "effective_from": start,
            "effective_through": through,
        }
        assigned = await client.post(f"{url}/assignments", json=body, headers=headers)
        assert assigned.json()["assigned"] == 2

    ended = await client.post(
        f"{url}/assignments/end", json={"through": "2026-03-31"}, headers=headers
    )
    # The two from January end on March 31; the two from July never start.
    assert ended.json() == {"ended": 4, "not_started": 2}

    def on(day: str) -> Any:
        return client.get(
            "/v1/code-assignments", params={"assignee_id": member_id, "on": day}, headers=headers
        )

    assert len((await on("2026-03-31")).json()["items"]) == 2
    assert (await on("2026-04-01")).json()["items"] == []
    assert (await on("2026-08-01")).json()["items"] == []
    everything = (await on_all(client, headers, member_id))["items"]
    assert {i["ended_by"] for i in everything} == {"admin-2"}
    again = await client.post(
        f"{url}/assignments/end", json={"through": "2026-03-31"}, headers=headers
    )
    assert again.json() == {"ended": 0, "not_started": 0}


async def on_all(client: httpx.AsyncClient, headers: dict[str, str], member_id: str) -> Any:
    response = await client.get(
        "/v1/code-assignments", params={"assignee_id": member_id}, headers=headers
    )
    return response.json()


async def test_one_assignment_is_ended_by_its_id(
    client: httpx.AsyncClient,
    token: Callable[..., str],
    publish: Publish,
    applied: Applied,
) -> None:
    member_id = unique("m")
    await applied(
        await publish(MEMBER_UPSERTED_V1, member_data(member_id, "acme-commercial"), tenant=TENANT)
    )
    group = await create(client, token, unique("Crisis"), ["90839"])
    headers = auth(token)
    body = {"assignee_kind": "CLIENT", "assignee_id": member_id, "effective_from": "2026-03-01"}
    await client.post(
        f"/v1/billing-code-groups/{group['group_id']}/assignments", json=body, headers=headers
    )
    [assignment] = (await on_all(client, headers, member_id))["items"]
    url = f"/v1/code-assignments/{assignment['assignment_id']}/end"
    early = await client.post(url, json={"through": "2026-02-28"}, headers=headers)
    problem(early, 422, "END_BEFORE_START")
    ended = await client.post(url, json={"through": "2026-03-15"}, headers=headers)
    assert ended.status_code == 200
    assert (ended.json()["effective_through"], ended.json()["ended_by"]) == (
        "2026-03-15",
        "admin-1",
    )
    missing = await client.post(
        "/v1/code-assignments/999999999/end", json={"through": "2026-03-15"}, headers=headers
    )
    problem(missing, 404, "CODE_ASSIGNMENT_NOT_FOUND")


# --------------------------------------------------------------------------- default groups


async def test_a_default_group_is_assigned_to_a_client_who_becomes_active_from_that_day(
    client: httpx.AsyncClient,
    token: Callable[..., str],
    publish: Publish,
    applied: Applied,
) -> None:
    """A client already active when the group was marked default does not get it."""
    tenant = OTHER_TENANT
    before = unique("m")
    data = member_data(before, "acme-commercial")
    await applied(await publish(MEMBER_UPSERTED_V1, data, tenant=tenant))
    group = await create(client, token, unique("Intake default"), ["90791"], tenant=tenant)
    marked = await client.patch(
        f"/v1/billing-code-groups/{group['group_id']}",
        json={"default": True},
        headers=auth(token, tenant=tenant),
    )
    assert marked.json()["default"] is True
    newcomer = unique("m")
    inactive = {**member_data(newcomer, "acme-commercial"), "active": False}
    await applied(await publish(MEMBER_UPSERTED_V1, inactive, tenant=tenant))
    # 2027-05-02 03:00 UTC is May 1 in Chicago: the tenant's business day.
    became_active = datetime(2027, 5, 2, 3, 0, tzinfo=UTC)
    active = member_data(newcomer, "acme-commercial")
    await applied(await publish(MEMBER_UPSERTED_V1, active, tenant=tenant, time=became_active))

    headers = auth(token, READ, tenant=tenant)
    [assignment] = (await on_all(client, headers, newcomer))["items"]
    assert (assignment["code"], assignment["group_id"]) == ("90791", group["group_id"])
    assert (assignment["effective_from"], assignment["effective_through"]) == ("2027-05-01", None)
    assert assignment["assigned_by"] == "system:charges"
    assert (await on_all(client, headers, before))["items"] == []


async def test_a_default_group_is_assigned_to_a_new_active_staff_member(
    client: httpx.AsyncClient,
    token: Callable[..., str],
    publish: Publish,
    applied: Applied,
) -> None:
    tenant = OTHER_TENANT
    group = await create(
        client, token, unique("Staff default"), ["90832", "90834"], tenant=tenant, default=True
    )
    staff = unique("p")
    event = await publish(
        PROVIDER_UPSERTED_V1, provider_data(staff), tenant=tenant, time=datetime.now(UTC)
    )
    await applied(event)
    response = await client.get(
        "/v1/code-assignments",
        params={"assignee_kind": "STAFF", "assignee_id": staff, "group_id": group["group_id"]},
        headers=auth(token, READ, tenant=tenant),
    )
    items = response.json()["items"]
    assert sorted(i["code"] for i in items) == ["90832", "90834"]
    assert {i["group_id"] for i in items} == {group["group_id"]}


# --------------------------------------------------------------------------- refusals


async def test_a_duplicate_group_name_is_refused_whatever_its_case(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    name = unique("UBH Auth Group")
    first = await create(client, token, name, UBH_CODES)
    again = await client.post(
        "/v1/billing-code-groups", json={"name": f" {name.upper()} "}, headers=auth(token)
    )
    body = problem(again, 409, "DUPLICATE_GROUP_NAME")
    assert body["existing_group_id"] == first["group_id"]
    other = await create(client, token, unique("Other"), [])
    renamed = await client.patch(
        f"/v1/billing-code-groups/{other['group_id']}",
        json={"name": name.lower()},
        headers=auth(token),
    )
    problem(renamed, 409, "DUPLICATE_GROUP_NAME")


async def test_an_unknown_code_is_refused_on_create_and_on_add(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    refused = await client.post(
        "/v1/billing-code-groups",
        json={"name": unique("Bad"), "codes": ["90791", "99999"]},
        headers=auth(token),
    )
    assert problem(refused, 422, "UNKNOWN_BILLING_CODE")["codes"] == ["99999"]
    group = await create(client, token, unique("Good"), ["90791"])
    added = await client.post(
        f"/v1/billing-code-groups/{group['group_id']}/codes",
        json={"codes": ["NOPE1"]},
        headers=auth(token),
    )
    problem(added, 422, "UNKNOWN_BILLING_CODE")


async def test_an_end_date_before_the_start_date_is_refused(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    group = await create(client, token, unique("Dates"), ["90791"])
    refused = await client.post(
        f"/v1/billing-code-groups/{group['group_id']}/assign-to-all-active-clients",
        json={"effective_from": "2026-03-01", "effective_through": "2026-02-28"},
        headers=auth(token),
    )
    problem(refused, 422, "END_BEFORE_START")


async def test_assigning_an_inactive_group_is_refused(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    group = await create(client, token, unique("Dormant"), ["90791"], active=False)
    for path in ("assign-to-all-active-clients", "assign-to-all-active-users"):
        refused = await client.post(
            f"/v1/billing-code-groups/{group['group_id']}/{path}",
            json={"effective_from": "2026-03-01"},
            headers=auth(token),
        )
        problem(refused, 409, "GROUP_INACTIVE")


async def test_an_unknown_group_client_or_staff_member_is_not_found(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    headers = auth(token)
    missing = await client.get("/v1/billing-code-groups/bcg-nope", headers=headers)
    problem(missing, 404, "BILLING_CODE_GROUP_NOT_FOUND")
    group = await create(client, token, unique("Anyone"), ["90791"])
    url = f"/v1/billing-code-groups/{group['group_id']}/assignments"
    for kind, code in (("CLIENT", "MEMBER_NOT_FOUND"), ("STAFF", "PROVIDER_NOT_FOUND")):
        body = {"assignee_kind": kind, "assignee_id": "nobody", "effective_from": "2026-03-01"}
        problem(await client.post(url, json=body, headers=headers), 404, code)


async def test_changing_groups_needs_the_write_scope_and_stays_in_the_tenant(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    refused = await client.post(
        "/v1/billing-code-groups", json={"name": unique("x")}, headers=auth(token, READ)
    )
    problem(refused, 403, "INSUFFICIENT_SCOPE")
    group = await create(client, token, unique("Mine"), ["90791"])
    theirs = await client.get(
        f"/v1/billing-code-groups/{group['group_id']}", headers=auth(token, tenant=OTHER_TENANT)
    )
    problem(theirs, 404, "BILLING_CODE_GROUP_NOT_FOUND")
    listed = await client.get("/v1/billing-code-groups", headers=auth(token, tenant=OTHER_TENANT))
    assert group["group_id"] not in {g["group_id"] for g in listed.json()["items"]}


async def test_the_openapi_document_describes_the_group_endpoints(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {
        "/v1/billing-codes",
        "/v1/billing-code-groups",
        "/v1/billing-code-groups/{group_id}",
        "/v1/billing-code-groups/{group_id}/codes",
        "/v1/billing-code-groups/{group_id}/codes/add-all",
        "/v1/billing-code-groups/{group_id}/codes/remove-all",
        "/v1/billing-code-groups/{group_id}/assignments",
        "/v1/billing-code-groups/{group_id}/assign-to-all-active-clients",
        "/v1/billing-code-groups/{group_id}/assign-to-all-active-users",
        "/v1/billing-code-groups/{group_id}/assignments/end",
        "/v1/code-assignments",
        "/v1/code-assignments/{assignment_id}/end",
        "/v1/charges/code-assignment-recheck",
    } <= set(paths)


async def test_two_groups_written_at_once_under_one_name_meet_the_unique_index(
    runtime: ServiceRuntime,
) -> None:
    """The name check before writing can race; the database's index then decides, and the
    loser is DUPLICATE_GROUP_NAME, not a crash."""
    name = unique("Raced")
    group = BillingCodeGroup(TENANT, unique("bcg"), name, True, False, None, 1)
    twin = BillingCodeGroup(TENANT, unique("bcg"), name.upper(), True, False, None, 1)
    async with runtime.unit_of_work() as uow:
        repository = CodeGroupRepository(uow.session)
        await repository.insert_group(group, "admin-1")
        with pytest.raises(DuplicateGroupName) as refused:
            await repository.insert_group(twin, "admin-2")
        assert refused.value.details["existing_group_id"] == group.group_id
        # The transaction goes on: the savepoint took the failed insert back.
        assert await repository.get_group(TENANT, group.group_id) is not None
