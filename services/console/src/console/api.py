"""The other services' HTTP APIs, called with the signed-in user's token."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from common.logging import get_logger

log = get_logger(__name__)

Params = Mapping[str, str | int | None]


@dataclass
class ApiError(Exception):
    """A refusal (or failure) of an upstream API, as problem details."""

    service: str
    status: int
    code: str
    title: str
    detail: str | None = None
    body: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.service} {self.status} {self.code}"

    @property
    def message(self) -> str:
        """What to tell the user: the problem's title and detail, with the code."""
        text = self.title
        if self.detail:
            text = f"{text}: {self.detail}"
        return f"{text} ({self.code})"


@dataclass(frozen=True)
class Upstreams:
    attendance: str
    stays: str
    charges: str
    claims: str
    edi_gateway: str | None

    def base(self, service: str) -> str:
        url = getattr(self, service.replace("-", "_"))
        if not url:
            raise ApiError(service, 503, "SERVICE_NOT_CONFIGURED", f"No URL for {service}")
        return str(url).rstrip("/")


class Api:
    """One user's calls: ``await api.get("claims", "/v1/claims/x")``."""

    def __init__(self, client: httpx.AsyncClient, upstreams: Upstreams, token: str) -> None:
        self._client = client
        self._upstreams = upstreams
        self._headers = {"Authorization": f"Bearer {token}"}

    async def request(
        self,
        service: str,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
    ) -> httpx.Response:
        url = self._upstreams.base(service) + path
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            response = await self._client.request(
                method, url, params=clean, json=json, headers=self._headers
            )
        except httpx.HTTPError as exc:
            log.warning("upstream_unreachable", service=service, error_type=type(exc).__name__)
            raise ApiError(
                service, 503, "SERVICE_UNAVAILABLE", f"The {service} service does not answer"
            ) from exc
        if response.status_code >= 400:
            raise _problem(service, response)
        return response

    async def get(self, service: str, path: str, params: Params | None = None) -> Any:
        return (await self.request(service, "GET", path, params=params)).json()

    async def send(self, service: str, method: str, path: str, json: Any = None) -> Any:
        response = await self.request(service, method, path, json=json)
        return response.json() if response.content else None


def _problem(service: str, response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return ApiError(
        service=service,
        status=response.status_code,
        code=str(body.get("code") or f"HTTP_{response.status_code}"),
        title=str(body.get("title") or response.reason_phrase or "Error"),
        detail=body.get("detail") if isinstance(body.get("detail"), str) else None,
        body=body,
    )
