"""``GET /v1/members/{member_id}/coverage?on=``: the payer a charge on that date bills."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest

from contracts.envelope import CloudEvent
from contracts.events import MEMBER_UPSERTED_V1

Publish = Callable[..., Awaitable[CloudEvent]]
Applied = Callable[[CloudEvent], Awaitable[None]]

READ = "billing.claim.read"


@pytest.fixture(scope="module")
async def member_id(publish: Publish, applied: Applied) -> str:
    member_id = f"m-{uuid.uuid4().hex[:8]}"
    coverages = [
        {
            "coverage_id": "cov-mcd",
            "payer_id": "medicaid",
            "subscriber_id": "MCD000123456",
            "relationship_to_subscriber": "18",
            "is_primary": True,
            "effective_from": "2026-01-01",
            "effective_to": "2026-03-31",
        }
    ]
    data = {
        "member_id": member_id,
        "first_name": "Jane",
        "last_name": "Doe",
        "birth_date": "1970-03-15",
        "sex": "F",
        "coverages": coverages,
    }
    await applied(await publish(MEMBER_UPSERTED_V1, data, tenant="tenant-a"))
    return member_id


def bearer(
    token: Callable[..., str], tenant: str = "tenant-a", scopes: list[str] | None = None
) -> dict[str, str]:
    granted = [READ] if scopes is None else scopes
    return {"Authorization": f"Bearer {token(tenant=tenant, scopes=granted)}"}


async def test_the_primary_coverage_in_force_on_the_date_is_returned(
    client: httpx.AsyncClient, token: Callable[..., str], member_id: str
) -> None:
    response = await client.get(
        f"/v1/members/{member_id}/coverage", params={"on": "2026-03-31"}, headers=bearer(token)
    )
    assert response.status_code == 200
    assert response.json() == {
        "member_id": member_id,
        "on": "2026-03-31",
        "coverage": {
            "coverage_id": "cov-mcd",
            "payer_id": "medicaid",
            "relationship_to_subscriber": "18",
            "effective_from": "2026-01-01",
            "effective_to": "2026-03-31",
        },
    }


async def test_a_date_without_coverage_answers_null(
    client: httpx.AsyncClient, token: Callable[..., str], member_id: str
) -> None:
    response = await client.get(
        f"/v1/members/{member_id}/coverage", params={"on": "2026-04-01"}, headers=bearer(token)
    )
    assert response.status_code == 200
    assert response.json()["coverage"] is None


async def test_without_a_token_the_answer_is_401(client: httpx.AsyncClient, member_id: str) -> None:
    response = await client.get(f"/v1/members/{member_id}/coverage", params={"on": "2026-03-31"})
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


async def test_without_the_claim_read_scope_the_answer_is_403(
    client: httpx.AsyncClient, token: Callable[..., str], member_id: str
) -> None:
    response = await client.get(
        f"/v1/members/{member_id}/coverage",
        params={"on": "2026-03-31"},
        headers=bearer(token, scopes=["clinical.encounter.read"]),
    )
    assert response.status_code == 403
    assert response.json()["code"] == "INSUFFICIENT_SCOPE"


async def test_another_tenant_sees_no_such_member(
    client: httpx.AsyncClient, token: Callable[..., str], member_id: str
) -> None:
    response = await client.get(
        f"/v1/members/{member_id}/coverage",
        params={"on": "2026-03-31"},
        headers=bearer(token, tenant="tenant-b"),
    )
    assert response.status_code == 404
    assert response.json()["code"] == "MEMBER_NOT_FOUND"


async def test_an_unknown_member_answers_404(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    response = await client.get(
        "/v1/members/m-nobody/coverage", params={"on": "2026-03-31"}, headers=bearer(token)
    )
    assert response.status_code == 404


async def test_a_date_that_is_not_a_date_answers_422(
    client: httpx.AsyncClient, token: Callable[..., str], member_id: str
) -> None:
    response = await client.get(
        f"/v1/members/{member_id}/coverage", params={"on": "31/03/2026"}, headers=bearer(token)
    )
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"
