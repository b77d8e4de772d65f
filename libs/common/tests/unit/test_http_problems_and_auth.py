"""HTTP edge: bearer JWT with tenant and scopes, errors as RFC 9457 problem details with a
stable code (SPEC 8, 10)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import pytest
from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel, Field

import common.runtime
from common.errors import DomainError
from common.http import Principal, TokenVerifier, require_scopes
from common.http.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from common.runtime import ServiceRuntime
from common.settings import ServiceSettings
from common.testing.tokens import TEST_JWT_SECRET

READ = "billing.claim.read"
WRITE = "billing.claim.write"


class NewCharge(BaseModel):
    member_id: str
    units: int = Field(ge=1)


router = APIRouter()


@router.get("/claims/{claim_id}")
async def read_claim(
    claim_id: str, principal: Principal = Depends(require_scopes(READ))
) -> dict[str, Any]:
    return {"claim_id": claim_id, "tenant": principal.tenant_id, "subject": principal.subject}


@router.post("/charges", status_code=201)
async def create_charge(
    charge: NewCharge, principal: Principal = Depends(require_scopes(WRITE))
) -> dict[str, Any]:
    return {"member_id": charge.member_id, "units": charge.units}


@router.get("/boom")
async def boom() -> dict[str, Any]:
    raise RuntimeError("subscriber_id=W123456789 leaked?")


@router.get("/refused")
async def refused() -> dict[str, Any]:
    raise ClaimRefused(
        "CLAIM_SUBMITTED", "claim c-1 is submitted", claims=["c-1"], status="SUBMITTED"
    )


class ClaimRefused(DomainError):
    pass


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.state.token_verifier = TokenVerifier(
        shared_secret=TEST_JWT_SECRET, jwks_url=None, audience="rcm", issuer=None
    )
    install_problem_handlers(app, "lib-http", {"CLAIM_SUBMITTED": 409})
    app.include_router(router)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://svc"
    ) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith("/" + code.lower().replace("_", "-"))
    assert body["title"]
    return body


async def test_request_without_a_token_is_401_unauthenticated_with_a_bearer_challenge(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/claims/c-1")

    body = assert_problem(response, 401, "UNAUTHENTICATED")
    assert response.headers["www-authenticate"] == "Bearer"
    assert body["instance"] == "/claims/c-1"


async def test_token_with_a_bad_signature_is_401_invalid_token(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    forged = token(tenant="tenant-a", scopes=[READ], secret="another-secret-0123456789-abcdefghij")

    response = await client.get("/claims/c-1", headers=bearer(forged))

    assert_problem(response, 401, "INVALID_TOKEN")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_expired_token_is_401_token_expired(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    expired = token(tenant="tenant-a", scopes=[READ], ttl_seconds=-60)

    response = await client.get("/claims/c-1", headers=bearer(expired))

    assert_problem(response, 401, "TOKEN_EXPIRED")


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "user-1", "scope": READ, "aud": "rcm"},  # names no tenant
        {"sub": "user-1", "tenant": "tenant-a", "scope": READ, "aud": "another-api"},
    ],
    ids=["no_tenant", "other_audience"],
)
async def test_token_without_a_tenant_or_for_another_audience_is_401_invalid_token(
    client: httpx.AsyncClient, claims: dict[str, Any]
) -> None:
    signed = jwt.encode({**claims, "exp": int(time.time()) + 600}, TEST_JWT_SECRET, "HS256")

    response = await client.get("/claims/c-1", headers=bearer(signed))

    assert_problem(response, 401, "INVALID_TOKEN")


async def test_token_without_the_required_scope_is_403_insufficient_scope(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    response = await client.get(
        "/claims/c-1", headers=bearer(token(tenant="tenant-a", scopes=[WRITE]))
    )

    body = assert_problem(response, 403, "INSUFFICIENT_SCOPE")
    assert body["required_scopes"] == [READ]


async def test_token_with_the_required_scope_is_200_with_its_tenant(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    response = await client.get(
        "/claims/c-1", headers=bearer(token(tenant="tenant-a", scopes=[READ], subject="biller-3"))
    )

    assert response.status_code == 200
    assert response.json() == {"claim_id": "c-1", "tenant": "tenant-a", "subject": "biller-3"}


async def test_invalid_request_is_422_validation_error_with_each_location(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    response = await client.post(
        "/charges",
        json={"units": 0, "note": "Zelda Sayre"},
        headers=bearer(token(tenant="tenant-a", scopes=[WRITE])),
    )

    body = assert_problem(response, 422, "VALIDATION_ERROR")
    assert body["instance"] == "/charges"
    assert sorted(body) == ["code", "errors", "instance", "status", "title", "type"]
    errors = {e["loc"]: e for e in body["errors"]}
    assert set(errors) == {"body.member_id", "body.units"}
    assert errors["body.member_id"]["type"] == "missing"
    assert errors["body.units"]["type"] == "greater_than_equal"
    assert all(sorted(e) == ["loc", "msg", "type"] for e in body["errors"])  # no input echoed
    assert "Zelda" not in response.text


async def test_service_app_checks_tokens_with_the_configured_secret(
    token: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The PHI field names of the event contracts are another package's concern.
    monkeypatch.setattr(common.runtime, "_contract_phi_keys", frozenset)
    runtime = ServiceRuntime(
        ServiceSettings(service_name="lib-http", jwt_secret=TEST_JWT_SECRET), routers=[router]
    )
    async with client_of(runtime.create_app()) as client:  # no lifespan: nothing connects
        allowed = await client.get(
            "/claims/c-2", headers=bearer(token(tenant="tenant-b", scopes=[READ]))
        )
        refused = await client.get("/claims/c-2")
        unknown = await client.get("/nowhere")

    assert allowed.status_code == 200
    assert allowed.json()["tenant"] == "tenant-b"
    assert_problem(refused, 401, "UNAUTHENTICATED")
    assert_problem(unknown, 404, "NOT_FOUND")


async def test_an_unexpected_error_is_a_500_problem_without_its_text(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/boom")
    body = assert_problem(response, 500, "INTERNAL_ERROR")
    assert "W123456789" not in response.text
    assert "detail" not in body


async def test_a_domain_error_answers_with_the_status_its_code_is_mapped_to(
    client: httpx.AsyncClient,
) -> None:
    body = assert_problem(await client.get("/refused"), 409, "CLAIM_SUBMITTED")
    assert body["claims"] == ["c-1"]
    # A detail named like a standard member never overwrites it.
    assert body["status"] == 409
    assert body["status_detail"] == "SUBMITTED"
