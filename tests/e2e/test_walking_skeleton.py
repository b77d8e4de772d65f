"""The walking skeleton: the five services as real processes on the real broker and
database. A scheduling event and an EHR admission published to the exchange show up
through attendance's and stays' HTTP APIs, behind tokens, scopes and tenants."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest

from common.testing.messages import bearer
from common.testing.processes import Suite

pytestmark = pytest.mark.e2e


async def poll(url: str, headers: dict[str, str], seconds: float = 20) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=5) as client, asyncio.timeout(seconds):
        while True:
            response = await client.get(url, headers=headers)
            if response.status_code == 200:
                body: dict[str, Any] = response.json()
                return body
            await asyncio.sleep(0.1)


async def test_scheduled_session_and_admitted_stay_show_up_through_the_apis(
    suite: Suite,
    publish: Callable[..., Coroutine[Any, Any, None]],
    sample: Callable[[str], dict[str, Any]],
    token: Callable[..., str],
) -> None:
    session = sample("scheduling.group_session.scheduled.v1")
    stay = sample("ehr.stay.admitted.v1")
    run = uuid.uuid4().hex[:8]
    session["id"], stay["id"] = f"e2e-{run}-1", f"e2e-{run}-2"
    session_id = session["data"]["session_id"] = f"gs-{run}"
    stay_id = stay["data"]["stay_id"] = f"stay-{run}"
    tenant = session["tenantid"]
    await publish(session, stay)

    attendance = f"{suite.url('attendance')}/v1/group-sessions/{session_id}"
    stays = f"{suite.url('stays')}/v1/stays/{stay_id}"
    reader = bearer(token(tenant=tenant, scopes=["clinical.group-session.read"]))
    shown = await poll(attendance, reader)
    assert shown["session_id"] == session_id
    assert shown["roster_size"] == len(session["data"]["roster"])
    assert len(shown["participants"]) == len(session["data"]["roster"])
    stay_reader = bearer(token(tenant=tenant, scopes=["clinical.encounter.read"]))
    admitted = await poll(stays, stay_reader)
    assert admitted["admission"]["admit_date"] == stay["data"]["admission"]["admit_date"]

    async with httpx.AsyncClient(timeout=5) as client:
        assert (await client.get(attendance)).status_code == 401
        assert (await client.get(stays)).status_code == 401
        wrong_scope = bearer(token(tenant=tenant, scopes=["billing.claim.read"]))
        assert (await client.get(attendance, headers=wrong_scope)).status_code == 403
        assert (await client.get(stays, headers=wrong_scope)).status_code == 403
        other = bearer(
            token(
                tenant="another-tenant",
                scopes=["clinical.group-session.read", "clinical.encounter.read"],
            )
        )
        assert (await client.get(attendance, headers=other)).status_code == 404
        assert (await client.get(stays, headers=other)).status_code == 404


async def test_every_service_is_ready_and_exposes_metrics(suite: Suite) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        for name in suite.processes:
            ready = await client.get(f"{suite.url(name)}/readyz")
            # stays also reports its HL7 listener (the e2e suite turns it on).
            extra = {"hl7_mllp": True} if name == "stays" else {}
            assert ready.json() == {
                "status": "ready",
                "checks": {"database": True, "broker": True, **extra},
            }, name
            metrics = await client.get(f"{suite.url(name)}/metrics")
            assert "# HELP rcm_outbox_pending" in metrics.text, name
