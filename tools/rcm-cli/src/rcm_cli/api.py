"""The suite's HTTP APIs as the CLI reads them: claims and edi-gateway, under a bearer
token. Problems (4xx/5xx) become :class:`ApiError` with the problem's code."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

DEFAULT_CLAIMS_URL = "http://127.0.0.1:8004"
DEFAULT_GATEWAY_URL = "http://127.0.0.1:8005"
PAGE = 500


class ApiError(RuntimeError):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"HTTP {status} {code}: {detail}")
        self.status = status
        self.code = code


def token_tenant(token: str) -> str | None:
    """The ``tenant`` claim of a JWT, read without verifying it (the API verifies it): which
    tenant a token serves, so a feed of two tenants can be given one token each."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    tenant = claims.get("tenant") if isinstance(claims, dict) else None
    return tenant if isinstance(tenant, str) else None


def _raise_for_problem(response: httpx.Response) -> None:
    if response.is_success:
        return
    code, detail = "HTTP_ERROR", response.reason_phrase
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = str(body.get("code") or code)
        detail = str(body.get("detail") or body.get("title") or detail)
    raise ApiError(response.status_code, code, detail)


class RcmApi:
    """One tenant's view of the claims and gateway APIs (the token decides the tenant)."""

    def __init__(self, claims: httpx.AsyncClient, gateway: httpx.AsyncClient) -> None:
        self.claims = claims
        self.gateway = gateway

    async def _get(self, client: httpx.AsyncClient, path: str, **params: Any) -> Any:
        response = await client.get(path, params={k: v for k, v in params.items() if v is not None})
        _raise_for_problem(response)
        return response.json()

    async def _all(self, client: httpx.AsyncClient, path: str, **params: Any) -> list[Any]:
        items: list[Any] = []
        while True:
            page = await self._get(client, path, **params, limit=PAGE, offset=len(items))
            batch = page.get("items", [])
            items.extend(batch)
            if len(batch) < PAGE:
                return items

    async def claim(self, claim_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._get(self.claims, f"/v1/claims/{claim_id}")
        return result

    async def claims_list(self, **filters: Any) -> list[dict[str, Any]]:
        return await self._all(self.claims, "/v1/claims", **filters)

    async def claim_edi(self, claim_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._get(self.claims, f"/v1/claims/{claim_id}/edi")
        return result

    async def _post(self, client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> Any:
        response = await client.post(path, json=body)
        _raise_for_problem(response)
        return response.json()

    async def claims_dry_run(self, **body: Any) -> dict[str, Any]:
        """The build of a member's or a session's claims, rolled back: the claims as they
        would be sent, their scrub issues, the 837 and pyx12's verdict."""
        wanted = {k: v for k, v in body.items() if v is not None}
        result: dict[str, Any] = await self._post(self.claims, "/v1/claims/build/preview", wanted)
        return result

    async def stay_dry_run(self, stay_id: str, **body: Any) -> dict[str, Any]:
        """The build of a stay's cycle claims, rolled back (as :meth:`claims_dry_run`)."""
        wanted = {k: v for k, v in body.items() if v is not None}
        result: dict[str, Any] = await self._post(
            self.claims, f"/v1/stays/{stay_id}/claims/build/preview", wanted
        )
        return result

    async def claim_transmissions(self, claim_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._get(
            self.gateway, f"/v1/claims/{claim_id}/transmissions"
        )
        return result

    async def interchanges(self, **filters: Any) -> list[dict[str, Any]]:
        return await self._all(self.gateway, "/v1/interchanges", **filters)

    async def acknowledgments(self, **filters: Any) -> list[dict[str, Any]]:
        return await self._all(self.gateway, "/v1/acknowledgments", **filters)

    async def file(self, file_id: str) -> bytes:
        response = await self.gateway.get(f"/v1/files/{file_id}")
        _raise_for_problem(response)
        return response.content

    async def claim_837(self, claim_id: str) -> tuple[str, bytes]:
        """The file name and bytes of the interchange that carried the claim's newest
        transmission: the claims API says it was sent, the gateway serves the file."""
        await self.claim_edi(claim_id)  # 409 NOT_TRANSMITTED until the gateway sent it
        sent = await self.claim_transmissions(claim_id)
        with_files = [t for t in sent.get("items", []) if t.get("file_id")]
        if not with_files:
            raise ApiError(409, "NOT_TRANSMITTED", "the gateway archived no file for it yet")
        newest = with_files[-1]
        return str(newest.get("file_name") or newest["file_id"]), await self.file(newest["file_id"])


@asynccontextmanager
async def open_api(
    claims_url: str,
    gateway_url: str,
    token: str | None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[RcmApi]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx.AsyncClient(
            base_url=claims_url, headers=headers, transport=transport, timeout=30
        ) as claims,
        httpx.AsyncClient(
            base_url=gateway_url, headers=headers, transport=transport, timeout=30
        ) as gateway,
    ):
        yield RcmApi(claims, gateway)
