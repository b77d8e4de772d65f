"""The stays service against the real database and broker: admissions from the EHR feed
and the HTTP API, the canonical stays.stay.admitted event out, refusals dead-lettered with
their code, and the API behind tokens, scopes and tenants."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from aio_pika.abc import AbstractChannel
from sqlalchemy import func, select

from common.outbox import OUTBOX
from common.runtime import ServiceRuntime
from common.testing.messages import eventually, publish_event
from contracts.events import STAY_ADMITTED_V1, STAYS_STAY_ADMITTED_V1
from contracts.topology import HEADER_ERROR_CODE, Topology

from .stay_feed import (
    OTHER_TENANT,
    READ,
    TENANT,
    WRITE,
    Announced,
    dead_letter,
    ehr_event,
    headers,
    new_id,
    stay_at_version,
    stay_data,
)


async def test_admission_event_shows_in_the_api_and_goes_out_as_canonical_event(
    api: httpx.AsyncClient,
    channel: AbstractChannel,
    rcm_topology: Topology,
    announced: Announced,
    token: Callable[..., str],
) -> None:
    stay_id = new_id()
    await publish_event(channel, rcm_topology, ehr_event(STAY_ADMITTED_V1, stay_data(stay_id)))
    stay = await stay_at_version(api, headers(token, READ), stay_id)
    assert stay["status"] == "ADMITTED"
    assert stay["admission"]["admit_date"] == "2026-01-10"
    assert [h["change"] for h in stay["history"]] == ["ADMITTED"]

    [document] = await announced.of(stay_id, 1)
    assert document["type"] == STAYS_STAY_ADMITTED_V1
    assert document["data"]["stay_version"] == 1
    assert document["data"]["leaves"] == [] and document["data"]["discharge"] is None
    assert document["tenantid"] == TENANT


async def test_the_same_admission_delivered_twice_is_recorded_once(
    service: tuple[ServiceRuntime, httpx.AsyncClient],
    channel: AbstractChannel,
    rcm_topology: Topology,
    token: Callable[..., str],
) -> None:
    runtime, api = service
    stay_id = new_id()
    event = ehr_event(STAY_ADMITTED_V1, stay_data(stay_id))
    await publish_event(channel, rcm_topology, event)
    await publish_event(channel, rcm_topology, event)
    # A replay of the same admission under a new event id is recorded once too.
    await publish_event(channel, rcm_topology, ehr_event(STAY_ADMITTED_V1, stay_data(stay_id)))
    await stay_at_version(api, headers(token, READ), stay_id)

    async def outbox_rows() -> int | None:
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
    api: httpx.AsyncClient,
    channel: AbstractChannel,
    rcm_topology: Topology,
    token: Callable[..., str],
) -> None:
    stay_id = new_id()
    await publish_event(channel, rcm_topology, ehr_event(STAY_ADMITTED_V1, stay_data(stay_id)))
    await stay_at_version(api, headers(token, READ), stay_id)
    conflicting = ehr_event(STAY_ADMITTED_V1, stay_data(stay_id, admit_date="2026-01-11"))
    await publish_event(channel, rcm_topology, conflicting)
    dead = await dead_letter(channel, rcm_topology, conflicting.id)
    assert dead.headers[HEADER_ERROR_CODE] == "STAY_ALREADY_ADMITTED"
    stay = await stay_at_version(api, headers(token, READ), stay_id)
    assert (stay["admission"]["admit_date"], stay["stay_version"]) == ("2026-01-10", 1)


async def test_create_stay_through_the_api_then_read_it(
    api: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    stay_id = new_id()
    body = stay_data(stay_id)
    response = await api.post("/v1/stays", json=body, headers=headers(token, WRITE, READ))
    assert response.status_code == 201, response.text
    assert response.json()["length_of_stay_days"] >= 1
    assert response.json()["history"][0]["via"] == "api"
    again = await api.post(
        "/v1/stays",
        json={**body, "admission": {**body["admission"], "admit_hour": 3}},
        headers=headers(token, WRITE),
    )
    assert again.status_code == 409
    assert again.json()["code"] == "STAY_ALREADY_ADMITTED"
    assert again.headers["content-type"].startswith("application/problem+json")


async def test_stays_api_needs_a_token_the_right_scope_and_the_right_tenant(
    api: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    stay_id = new_id()
    created = await api.post("/v1/stays", json=stay_data(stay_id), headers=headers(token))
    assert created.status_code == 201
    assert (await api.get(f"/v1/stays/{stay_id}")).status_code == 401
    wrong_scope = headers(token, "billing.claim.read")
    assert (await api.get(f"/v1/stays/{stay_id}", headers=wrong_scope)).status_code == 403
    other_tenant = headers(token, READ, WRITE, tenant=OTHER_TENANT)
    assert (await api.get(f"/v1/stays/{stay_id}", headers=other_tenant)).status_code == 404
    listed = await api.get("/v1/stays", headers=other_tenant)
    assert stay_id not in [s["stay_id"] for s in listed.json()["items"]]
    mine = await api.get("/v1/stays", headers=headers(token, READ))
    assert stay_id in [s["stay_id"] for s in mine.json()["items"]]


async def test_invalid_admission_body_answers_422_with_the_field_path(
    api: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    body = stay_data(new_id())
    body["admission"]["admit_hour"] = 25
    response = await api.post("/v1/stays", json=body, headers=headers(token, WRITE))
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert any("admit_hour" in e["loc"] for e in response.json()["errors"])
