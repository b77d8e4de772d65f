"""Helpers of the integration tests that watch claims leave: the transmissions API polled
until a claim's interchange is SENT, and the gateway's outbound events read from a queue
of the test's own."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from aio_pika.abc import AbstractQueue

from common.testing.messages import bearer, eventually

from .claim_samples import TENANT

READ = "billing.claim.read"
UPLOAD = Path("var/clearinghouse/upload")  # local-dev's upload folder, relative


def headers(token: Callable[..., str], tenant: str = TENANT) -> dict[str, str]:
    return bearer(token(tenant=tenant, scopes=[READ]))


async def transmissions_when_sent(
    client: httpx.AsyncClient, token: Callable[..., str], claim_id: str, seconds: float = 15
) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        response = await client.get(f"/v1/claims/{claim_id}/transmissions", headers=headers(token))
        if response.status_code != 200:
            return None
        items: list[dict[str, Any]] = response.json()["items"]
        return items if items and items[0]["interchange_status"] == "SENT" else None

    return await eventually(probe, seconds)


async def submissions_when(
    client: httpx.AsyncClient,
    token: Callable[..., str],
    claim_id: str,
    status: str,
    seconds: float = 15,
) -> list[dict[str, Any]]:
    """The claim's submissions as the API lists them, once its first one is ``status``."""

    async def probe() -> list[dict[str, Any]] | None:
        response = await client.get(f"/v1/claims/{claim_id}/transmissions", headers=headers(token))
        if response.status_code != 200:
            return None
        submissions: list[dict[str, Any]] = response.json()["submissions"]
        return submissions if submissions and submissions[0]["status"] == status else None

    return await eventually(probe, seconds)


async def outbound_events(
    queue: AbstractQueue, wanted: Callable[[dict[str, Any]], bool], count: int
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    async def probe() -> list[dict[str, Any]] | None:
        message = await queue.get(fail=False, no_ack=True)
        if message is not None:
            event = json.loads(message.body)
            if wanted(event):
                found.append(event)
        return found if len(found) >= count else None

    return await eventually(probe, 15)
