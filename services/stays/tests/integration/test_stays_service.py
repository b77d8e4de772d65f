"""The stays service against the real database and broker: EHR stay events in, the HTTP
API and the canonical stays.stay.* events out, refusals dead-lettered with their code."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aio_pika
import httpx
import pytest_asyncio
from aio_pika.abc import AbstractChannel, AbstractQueue

from common.runtime import ServiceRuntime
from common.testing.messages import (
    bearer,
    eventually,
    next_dead_letter,
    publish_event,
    running_service,
)
from contracts.envelope import CloudEvent
from contracts.events import STAY_ADMITTED_V1, STAYS_STAY_ADMITTED_V1
from contracts.topology import HEADER_ERROR_CODE, Topology
from stays.bootstrap import MIGRATIONS, build_runtime
from stays.settings import StaysSettings

TENANT = "tenant-a"
READ = "clinical.encounter.read"
WRITE = "clinical.encounter.write"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def service(
    service_settings: Callable[..., StaysSettings],
) -> AsyncIterator[tuple[ServiceRuntime, httpx.AsyncClient]]:
    settings = service_settings(StaysSettings, db_schema=f"stays_it_{uuid.uuid4().hex[:8]}")
    async with running_service(build_runtime(settings), MIGRATIONS) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def channel(rcm_amqp_url: str) -> AsyncIterator[AbstractChannel]:
    connection = await aio_pika.connect(rcm_amqp_url)
    async with connection:
        yield await connection.channel()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stays_out(
    channel: AbstractChannel, rcm_topology: Topology, service: Any
) -> AsyncIterator[AbstractQueue]:
    """A queue of our own bound to the stays service's outbound events."""
    exchange = await channel.get_exchange(rcm_topology.events_exchange, ensure=False)
    queue = await channel.declare_queue(f"{rcm_topology.prefix}stays-it-out", exclusive=True)
    await queue.bind(exchange, routing_key="stays.stay.#")
    yield queue


def admitted(
    stay_id: str,
    *,
    admit_date: str = "2026-01-10",
    hour: int = 14,
    tenant: str = TENANT,
    event_id: str | None = None,
) -> CloudEvent:
    return CloudEvent.new(
        type=STAY_ADMITTED_V1,
        source="ehr/test",
        tenantid=tenant,
        id=event_id,
        data={
            "stay_id": stay_id,
            "member_id": "m-1",
            "facility_id": "fac-1",
            "program_id": "residential",
            "admission": {
                "admit_date": admit_date,
                "admit_hour": hour,
                "admission_type": "3",
                "admission_source": "1",
                "principal_diagnosis": "F332",
            },
        },
    )


def new_stay_id() -> str:
    return f"stay-{uuid.uuid4().hex[:10]}"


async def stay_when_present(
    api: httpx.AsyncClient, headers: dict[str, str], stay_id: str
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        response = await api.get(f"/v1/stays/{stay_id}", headers=headers)
        return response.json() if response.status_code == 200 else None

    return await eventually(probe)


async def test_admission_event_shows_in_the_api_and_goes_out_as_canonical_event(
    service: tuple[ServiceRuntime, httpx.AsyncClient],
    channel: AbstractChannel,
    rcm_topology: Topology,
    stays_out: AbstractQueue,
    token: Callable[..., str],
) -> None:
    _, api = service
    stay_id = new_stay_id()
    await publish_event(channel, rcm_topology, admitted(stay_id))
    stay = await stay_when_present(api, bearer(token(tenant=TENANT, scopes=[READ])), stay_id)
    assert stay["status"] == "ADMITTED"
    assert stay["admission"]["admit_date"] == "2026-01-10"

    async def outbound() -> dict[str, Any] | None:
        message = await stays_out.get(fail=False, no_ack=True)
        if message is None:
            return None
        document: dict[str, Any] = json.loads(message.body)
        return document if document["data"]["stay_id"] == stay_id else None

    document = await eventually(outbound)
    assert document["type"] == STAYS_STAY_ADMITTED_V1
    assert document["data"]["stay_version"] == 1
    assert document["tenantid"] == TENANT


async def test_the_same_admission_delivered_twice_is_recorded_once(
    service: tuple[ServiceRuntime, httpx.AsyncClient],
    channel: AbstractChannel,
    rcm_topology: Topology,
    token: Callable[..., str],
) -> None:
    runtime, api = service
    stay_id = new_stay_id()
    event = admitted(stay_id)
    await publish_event(channel, rcm_topology, event)
    await publish_event(channel, rcm_topology, event)
    # A replay of the same admission under a new event id is recorded once too.
    await publish_event(channel, rcm_topology, admitted(stay_id))
    await stay_when_present(api, bearer(token(tenant=TENANT, scopes=[READ])), stay_id)

    async def outbox_rows() -> int | None:
        from sqlalchemy import func, select

        from common.outbox import OUTBOX

        async with runtime.sessionmaker() as session:
            n = (
                await session.execute(
                    select(func.count())
                    .select_from(OUTBOX)
                    .where(OUTBOX.c.payload["data"]["stay_id"].astext == stay_id)
                )
            ).scalar_one()
            waiting = await runtime.relay.pending()
        return int(n) if waiting == 0 else None

    assert await eventually(outbox_rows) == 1


async def test_a_different_admission_under_a_known_stay_id_is_dead_lettered(
    service: tuple[ServiceRuntime, httpx.AsyncClient],
    channel: AbstractChannel,
    rcm_topology: Topology,
    token: Callable[..., str],
) -> None:
    _, api = service
    stay_id = new_stay_id()
    await publish_event(channel, rcm_topology, admitted(stay_id))
    await stay_when_present(api, bearer(token(tenant=TENANT, scopes=[READ])), stay_id)
    conflicting = admitted(stay_id, admit_date="2026-01-11")
    await publish_event(channel, rcm_topology, conflicting)
    dead = await next_dead_letter(channel, rcm_topology, "stays")
    assert dead.message_id == conflicting.id
    assert dead.headers[HEADER_ERROR_CODE] == "STAY_ALREADY_ADMITTED"
    stay = await stay_when_present(api, bearer(token(tenant=TENANT, scopes=[READ])), stay_id)
    assert stay["admission"]["admit_date"] == "2026-01-10"


async def test_create_stay_through_the_api_then_read_it(
    service: tuple[ServiceRuntime, httpx.AsyncClient], token: Callable[..., str]
) -> None:
    _, api = service
    stay_id = new_stay_id()
    body = admitted(stay_id).data
    response = await api.post(
        "/v1/stays", json=body, headers=bearer(token(tenant=TENANT, scopes=[WRITE]))
    )
    assert response.status_code == 201, response.text
    assert response.json()["length_of_stay_days"] >= 1
    again = await api.post(
        "/v1/stays",
        json={**body, "admission": {**body["admission"], "admit_hour": 3}},
        headers=bearer(token(tenant=TENANT, scopes=[WRITE])),
    )
    assert again.status_code == 409
    assert again.json()["code"] == "STAY_ALREADY_ADMITTED"
    assert again.headers["content-type"].startswith("application/problem+json")


async def test_stays_api_needs_a_token_the_right_scope_and_the_right_tenant(
    service: tuple[ServiceRuntime, httpx.AsyncClient], token: Callable[..., str]
) -> None:
    _, api = service
    stay_id = new_stay_id()
    created = await api.post(
        "/v1/stays",
        json=admitted(stay_id).data,
        headers=bearer(token(tenant=TENANT, scopes=[WRITE])),
    )
    assert created.status_code == 201
    assert (await api.get(f"/v1/stays/{stay_id}")).status_code == 401
    wrong_scope = bearer(token(tenant=TENANT, scopes=["billing.claim.read"]))
    assert (await api.get(f"/v1/stays/{stay_id}", headers=wrong_scope)).status_code == 403
    other_tenant = bearer(token(tenant="tenant-b", scopes=[READ]))
    assert (await api.get(f"/v1/stays/{stay_id}", headers=other_tenant)).status_code == 404
    listed = await api.get("/v1/stays", headers=other_tenant)
    assert stay_id not in [s["stay_id"] for s in listed.json()["items"]]


async def test_invalid_admission_body_answers_422_with_the_field_path(
    service: tuple[ServiceRuntime, httpx.AsyncClient], token: Callable[..., str]
) -> None:
    _, api = service
    body = admitted(new_stay_id()).data
    body["admission"]["admit_hour"] = 25
    response = await api.post(
        "/v1/stays", json=body, headers=bearer(token(tenant=TENANT, scopes=[WRITE]))
    )
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert any("admit_hour" in e["loc"] for e in response.json()["errors"])
