"""What the stays integration tests share: EHR events, the canonical events announced
(gathered per stay), dead letters by id, tokens and waiting for a stay's version."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from common.testing.messages import bearer, eventually
from contracts.envelope import CloudEvent
from contracts.topology import Topology

TENANT = "demo-bh"
OTHER_TENANT = "tenant-b"
READ = "clinical.encounter.read"
WRITE = "clinical.encounter.write"


class Announced:
    """The canonical stays.stay.* events, gathered per stay as they come off our queue."""

    def __init__(self, queue: AbstractQueue) -> None:
        self._queue = queue
        self._by_stay: dict[str, list[dict[str, Any]]] = {}

    async def _drain(self) -> None:
        while (message := await self._queue.get(fail=False, no_ack=True)) is not None:
            document: dict[str, Any] = json.loads(message.body)
            self._by_stay.setdefault(document["data"]["stay_id"], []).append(document)

    async def of(self, stay_id: str, count: int, seconds: float = 10.0) -> list[dict[str, Any]]:
        """The first ``count`` events of the stay, ordered by stay_version."""

        async def probe() -> list[dict[str, Any]] | None:
            await self._drain()
            found = self._by_stay.get(stay_id, [])
            return found if len(found) >= count else None

        found = await eventually(probe, seconds)
        return sorted(found, key=lambda d: d["data"]["stay_version"])[:count]

    async def all_of(self, stay_id: str) -> list[dict[str, Any]]:
        await self._drain()
        return sorted(self._by_stay.get(stay_id, []), key=lambda d: d["data"]["stay_version"])


async def dead_letter(
    channel: AbstractChannel, topology: Topology, event_id: str, seconds: float = 10.0
) -> AbstractIncomingMessage:
    """The dead letter of ``event_id`` (others on the queue are set aside)."""
    queue = await channel.get_queue(topology.dead_letter_queue("stays"), ensure=False)

    async def probe() -> AbstractIncomingMessage | None:
        message = await queue.get(fail=False, no_ack=True)
        return message if message is not None and message.message_id == event_id else None

    return await eventually(probe, seconds)


def ehr_event(event_type: str, data: dict[str, Any], *, tenant: str = TENANT) -> CloudEvent:
    return CloudEvent.new(
        type=event_type, source="https://ehr.example.com/feed", tenantid=tenant, data=data
    )


def new_id(prefix: str = "stay") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def admission(admit_date: str = "2026-01-10", hour: int = 14) -> dict[str, Any]:
    return {
        "admit_date": admit_date,
        "admit_hour": hour,
        "admission_type": "3",
        "admission_source": "1",
        "principal_diagnosis": "F332",
    }


def stay_data(stay_id: str, member_id: str = "m-1", **admitted: Any) -> dict[str, Any]:
    return {
        "stay_id": stay_id,
        "member_id": member_id,
        "facility_id": "fac-springfield-res",
        "program_id": "residential",
        "admission": admission(**admitted),
    }


def headers(token: Callable[..., str], *scopes: str, tenant: str = TENANT) -> dict[str, str]:
    return bearer(token(tenant=tenant, scopes=list(scopes or (READ, WRITE))))


async def stay_at_version(
    api: httpx.AsyncClient, auth: dict[str, str], stay_id: str, version: int = 1
) -> dict[str, Any]:
    """The stay's detail once it has reached ``version``."""

    async def probe() -> dict[str, Any] | None:
        response = await api.get(f"/v1/stays/{stay_id}", headers=auth)
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return body if body["stay_version"] >= version else None

    return await eventually(probe)


async def applied(runtime: Any, *event_ids: str) -> None:
    """Wait until the service has applied (or found duplicate) each event: its inbox row,
    and nothing left in the outbox."""
    from sqlalchemy import func, select

    from common.inbox import INBOX

    async def probe() -> bool | None:
        async with runtime.sessionmaker() as session:
            n = (
                await session.execute(
                    select(func.count())
                    .select_from(INBOX)
                    .where(INBOX.c.event_id.in_(list(event_ids)))
                )
            ).scalar_one()
        return True if n == len(event_ids) and await runtime.relay.pending() == 0 else None

    await eventually(probe)
