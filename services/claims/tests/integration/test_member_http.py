"""``GET /v1/members/{member_id}``: the member as claims print it."""

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
HOME = {"line1": "100 Main St", "city": "Springfield", "state": "IL", "postal_code": "62701"}


@pytest.fixture(scope="module")
async def member_id(publish: Publish, applied: Applied) -> str:
    member_id = f"m-{uuid.uuid4().hex[:8]}"
    data = {
        "member_id": member_id,
        "first_name": "Maria",
        "last_name": "Brown",
        "birth_date": "2012-02-11",
        "sex": "F",
        "address": HOME,
        "coverages": [
            {
                "coverage_id": "cov-parent",
                "payer_id": "medicaid",
                "subscriber_id": "MCD000222222",
                "relationship_to_subscriber": "19",
                "subscriber": {
                    "first_name": "Ana",
                    "last_name": "Brown",
                    "birth_date": "1985-07-04",
                    "sex": "F",
                    "address": HOME,
                },
                "is_primary": True,
                "effective_from": "2026-01-01",
            }
        ],
        "diagnoses": ["F33.1", "f411"],
    }
    await applied(await publish(MEMBER_UPSERTED_V1, data, tenant="tenant-a"))
    return member_id


def bearer(
    token: Callable[..., str], tenant: str = "tenant-a", scopes: list[str] | None = None
) -> dict[str, str]:
    granted = [READ] if scopes is None else scopes
    return {"Authorization": f"Bearer {token(tenant=tenant, scopes=granted)}"}


async def test_the_member_record_carries_patient_and_subscriber_demographics(
    client: httpx.AsyncClient, token: Callable[..., str], member_id: str
) -> None:
    response = await client.get(f"/v1/members/{member_id}", headers=bearer(token))
    assert response.status_code == 200
    address = HOME | {"line2": None}
    assert response.json() == {
        "member_id": member_id,
        "active": True,
        "patient": {
            "first_name": "Maria",
            "last_name": "Brown",
            "middle_name": None,
            "birth_date": "2012-02-11",
            "sex": "F",
            "address": address,
        },
        "coverages": [
            {
                "coverage_id": "cov-parent",
                "payer_id": "medicaid",
                "subscriber_id": "MCD000222222",
                "relationship_to_subscriber": "19",
                "is_primary": True,
                "effective_from": "2026-01-01",
                "effective_to": None,
                "group_number": None,
                "subscriber": {
                    "first_name": "Ana",
                    "last_name": "Brown",
                    "middle_name": None,
                    "birth_date": "1985-07-04",
                    "sex": "F",
                    "address": address,
                },
            }
        ],
        "diagnoses": ["F331", "F411"],
    }


async def test_without_a_token_the_answer_is_401(client: httpx.AsyncClient, member_id: str) -> None:
    response = await client.get(f"/v1/members/{member_id}")
    assert response.status_code == 401


async def test_without_the_claim_read_scope_the_answer_is_403(
    client: httpx.AsyncClient, token: Callable[..., str], member_id: str
) -> None:
    response = await client.get(
        f"/v1/members/{member_id}", headers=bearer(token, scopes=["clinical.encounter.read"])
    )
    assert response.status_code == 403


async def test_another_tenant_sees_no_such_member(
    client: httpx.AsyncClient, token: Callable[..., str], member_id: str
) -> None:
    response = await client.get(
        f"/v1/members/{member_id}", headers=bearer(token, tenant="tenant-b")
    )
    assert response.status_code == 404
    assert response.json()["code"] == "MEMBER_NOT_FOUND"
