"""Interchanges: each records its ISA13 and GS06 with its clearinghouse; listed per tenant."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from common.runtime import ServiceRuntime
from edi_gateway.domain.model import ControlNumberKind, TransactionType, UsageIndicator
from edi_gateway.service_layer.control_numbers import allocate_control_numbers
from edi_gateway.service_layer.interchanges import OpenInterchange, open_interchange

READ = "billing.claim.read"


def opening(tenant: str, clearinghouse: str, sender: str = "RCMSENDER") -> OpenInterchange:
    return OpenInterchange(
        tenant_id=tenant,
        clearinghouse_id=clearinghouse,
        sender_id=sender,
        transaction_type=TransactionType.INSTITUTIONAL,
        usage_indicator=UsageIndicator.TEST,
    )


@pytest.fixture(scope="module")
async def opened(runtime: ServiceRuntime) -> dict[str, list[str]]:
    """Tenant A: two interchanges to clearinghouse ch-1, one to ch-2; tenant B: one."""
    ids: dict[str, list[str]] = {"tenant-a": [], "tenant-b": []}
    for tenant, clearinghouse in (
        ("tenant-a", "ch-1"),
        ("tenant-a", "ch-1"),
        ("tenant-a", "ch-2"),
        ("tenant-b", "ch-1"),
    ):
        async with runtime.sessionmaker() as session, session.begin():
            interchange = await open_interchange(session, opening(tenant, clearinghouse))
        ids[tenant].append(interchange.interchange_id)
    return ids


def bearer(
    token: Callable[..., str], tenant: str = "tenant-a", scopes: list[str] | None = None
) -> dict[str, str]:
    granted = [READ] if scopes is None else scopes
    return {"Authorization": f"Bearer {token(tenant=tenant, scopes=granted)}"}


async def test_an_interchange_takes_the_next_isa13_and_gs06_of_its_sender(
    runtime: ServiceRuntime,
) -> None:
    async with runtime.sessionmaker() as session, session.begin():
        await allocate_control_numbers(session, "tenant-c", "SENDERC", ControlNumberKind.GROUP, 4)
        interchange = await open_interchange(session, opening("tenant-c", "ch-1", "SENDERC"))
    assert (interchange.isa13, interchange.gs06) == (1, 5)
    assert interchange.status == "ALLOCATED"


async def test_the_runtime_starts_and_is_ready_without_any_subscription(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": True, "broker": True}


async def test_the_list_holds_the_tenants_interchanges_newest_first(
    client: httpx.AsyncClient, token: Callable[..., str], opened: dict[str, list[str]]
) -> None:
    response = await client.get("/v1/interchanges", headers=bearer(token))
    assert response.status_code == 200
    items = response.json()["items"]
    assert [i["interchange_id"] for i in items] == list(reversed(opened["tenant-a"]))
    assert [(i["isa13"], i["gs06"]) for i in items] == [(3, 3), (2, 2), (1, 1)]
    assert items[0] | {"interchange_id": "x", "created_at": "t"} == {
        "interchange_id": "x",
        "clearinghouse_id": "ch-2",
        "sender_id": "RCMSENDER",
        "transaction_type": "837I",
        "usage_indicator": "T",
        "isa13": 3,
        "gs06": 3,
        "status": "ALLOCATED",
        "created_at": "t",
        "receiver_id": None,
        "transaction_set_control_numbers": [],
        "claim_count": 0,
        "file_id": None,
        "file_name": None,
        "file_sha256": None,
        "sent_at": None,
        "validation_issues": [],
        "delivery_attempts": 0,
        "last_delivery_error": None,
        "last_delivery_attempt_at": None,
    }


async def test_another_tenant_sees_only_its_own_interchanges(
    client: httpx.AsyncClient, token: Callable[..., str], opened: dict[str, list[str]]
) -> None:
    response = await client.get("/v1/interchanges", headers=bearer(token, tenant="tenant-b"))
    assert [i["interchange_id"] for i in response.json()["items"]] == opened["tenant-b"]
    assert response.json()["items"][0]["isa13"] == 1


async def test_the_list_filters_by_clearinghouse(
    client: httpx.AsyncClient, token: Callable[..., str], opened: dict[str, list[str]]
) -> None:
    response = await client.get(
        "/v1/interchanges", params={"clearinghouse_id": "ch-1"}, headers=bearer(token)
    )
    assert [i["interchange_id"] for i in response.json()["items"]] == list(
        reversed(opened["tenant-a"][:2])
    )


async def test_the_list_pages_with_limit_and_offset(
    client: httpx.AsyncClient, token: Callable[..., str], opened: dict[str, list[str]]
) -> None:
    response = await client.get(
        "/v1/interchanges", params={"limit": 1, "offset": 1}, headers=bearer(token)
    )
    assert [i["interchange_id"] for i in response.json()["items"]] == [opened["tenant-a"][1]]


async def test_without_a_token_the_answer_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/interchanges")
    assert response.status_code == 401


async def test_without_the_claim_read_scope_the_answer_is_403(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    response = await client.get("/v1/interchanges", headers=bearer(token, scopes=["claims.read"]))
    assert response.status_code == 403
    assert response.json()["code"] == "INSUFFICIENT_SCOPE"
