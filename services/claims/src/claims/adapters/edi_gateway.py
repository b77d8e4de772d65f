"""The EDI gateway's dry-run rendering over HTTP (``POST /v1/interchanges/preview``), on
the caller's own bearer token: the gateway sees the same tenant and scopes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from claims.service_layer.ports import EdiPreviewUnavailable

PREVIEW_PATH = "/v1/interchanges/preview"


class HttpEdiPreview:
    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_seconds: float = 60.0,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._transport = transport
        self._timeout = timeout_seconds

    async def render(
        self, authorization: str | None, documents: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        headers = {"Authorization": authorization} if authorization else {}
        try:
            async with httpx.AsyncClient(
                base_url=self._base_url, transport=self._transport, timeout=self._timeout
            ) as client:
                response = await client.post(
                    PREVIEW_PATH, json={"claims": list(documents)}, headers=headers
                )
        except httpx.HTTPError as exc:
            raise EdiPreviewUnavailable(
                "EDI_GATEWAY_UNREACHABLE",
                f"the EDI gateway did not answer ({type(exc).__name__})",
            ) from exc
        if response.status_code != 200:
            code = "HTTP_ERROR"
            try:
                problem = response.json()
            except ValueError:
                problem = None
            if isinstance(problem, dict) and problem.get("code"):
                code = str(problem["code"])
            raise EdiPreviewUnavailable(
                "EDI_GATEWAY_REFUSED",
                f"the EDI gateway answered {response.status_code} {code}",
                status=response.status_code,
                gateway_code=code,
            )
        try:
            rendered: dict[str, Any] = response.json()
        except ValueError as exc:
            raise EdiPreviewUnavailable(
                "EDI_GATEWAY_REFUSED", "the EDI gateway's answer is not JSON"
            ) from exc
        return rendered
