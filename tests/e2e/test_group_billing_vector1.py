"""SPEC 12 reference vector 1, end to end, with the five services as real processes:
scheduling event in, attendance marked through the HTTP API, finalize, and in the
clearinghouse folder one 837P file that pyx12 accepts, holding five claims of $50.00
with HC:90853:HQ; a tenant billing LEFT_EARLY gets six of $40.00."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from common.testing.messages import bearer
from common.testing.processes import Suite
from common.testing.x12 import parse_interchange, pyx12_errors

pytestmark = pytest.mark.e2e

WRITE = ["clinical.attendance.write", "clinical.group-session.read"]
CLAIMS = ["billing.claim.read"]
# Vector 1's roster: 4 ATTENDED, 1 LATE, 1 LEFT_EARLY, 1 ABSENT.
MARKS = ["ATTENDED", "ATTENDED", "ATTENDED", "ATTENDED", "LATE", "LEFT_EARLY", "ABSENT"]


def member_event(sample: dict[str, Any], tenant: str, member_id: str, run: str) -> dict[str, Any]:
    doc = copy.deepcopy(sample)
    doc["id"] = f"{run}-{member_id}"
    doc["tenantid"] = tenant
    data = doc["data"]
    data["member_id"] = member_id
    data["diagnoses"] = ["F332"]
    data["coverages"] = [
        {
            "coverage_id": f"cov-{member_id}",
            "payer_id": "acme-commercial",  # no modifier replacement: HQ stays
            "subscriber_id": f"ACM{member_id[-6:].upper()}",
            "relationship_to_subscriber": "18",
            "subscriber": None,
            "is_primary": True,
            "effective_from": "2025-01-01",
            "effective_to": None,
            "group_number": None,
        }
    ]
    return doc


def retarget(sample: dict[str, Any], tenant: str, event_id: str) -> dict[str, Any]:
    doc = copy.deepcopy(sample)
    doc["id"], doc["tenantid"] = event_id, tenant
    return doc


async def run_vector_1(
    suite: Suite,
    publish: Callable[..., Coroutine[Any, Any, None]],
    sample: Callable[[str], dict[str, Any]],
    token: Callable[..., str],
    tenant: str,
    outbox_folder: Path,
) -> tuple[str, list[dict[str, Any]]]:
    run = uuid.uuid4().hex[:8]
    members = [f"m-{run}-{i}" for i in range(1, 8)]
    session_id = f"gs-{run}"
    # Tomorrow in the tenant's zone: a session not yet over, so only finalize closes it.
    day = datetime.now(ZoneInfo("America/Chicago")).date() + timedelta(days=1)
    reference = [
        retarget(sample("ehr.facility.upserted.v1"), tenant, f"{run}-fac"),
        retarget(sample("ehr.provider.upserted.v1"), tenant, f"{run}-prov"),
        *[member_event(sample("ehr.member.upserted.v1"), tenant, m, run) for m in members],
    ]
    scheduled = retarget(sample("scheduling.group_session.scheduled.v1"), tenant, f"{run}-gs")
    data = scheduled["data"]
    data["session_id"] = session_id
    data["session_date"] = day.isoformat()
    data["roster"] = [{"member_id": m, "initial_status": None} for m in members]
    supervisor = data["supervisors"][0]["provider_id"]
    await publish(*reference)
    await publish(scheduled, scheduled)  # delivered twice: one session, one set of claims

    attendance = suite.url("attendance")
    writer = bearer(token(tenant=tenant, scopes=WRITE, subject="supervisor-1"))
    async with httpx.AsyncClient(base_url=attendance, timeout=10) as api:
        await until_ok(api, f"/v1/group-sessions/{session_id}", writer)
        response = await api.put(
            f"/v1/group-sessions/{session_id}/supervisors/{supervisor}/status",
            json={"status": "ATTENDED"},
            headers=writer,
        )
        assert response.status_code == 200, response.text
        for member, status in zip(members, MARKS, strict=True):
            # SCHEDULED -> LEFT_EARLY is not a legal move: a member leaves after arriving.
            steps = ["ATTENDED", status] if status == "LEFT_EARLY" else [status]
            for step in steps:
                response = await api.put(
                    f"/v1/group-sessions/{session_id}/participants/{member}/status",
                    json={"status": step},
                    headers=writer,
                )
                assert response.status_code == 200, response.text
        detail = (await api.get(f"/v1/group-sessions/{session_id}", headers=writer)).json()
        response = await api.post(
            f"/v1/group-sessions/{session_id}/finalize", headers=writer, json={}
        )
        assert response.status_code == 200, response.text

    reader = bearer(token(tenant=tenant, scopes=CLAIMS))
    async with httpx.AsyncClient(base_url=suite.url("claims"), timeout=10) as api:

        async def transmitted() -> list[dict[str, Any]] | None:
            listed = await api.get("/v1/claims", params={"session_id": session_id}, headers=reader)
            items: list[dict[str, Any]] = listed.json().get("items", [])
            done = items and all(
                c.get("transmissions") or c["status"] in ("REJECTED",) for c in items
            )
            return items if done else None

        claims = await eventually(transmitted, 60)
    return detail["billing_preview"], claims  # type: ignore[return-value]


async def until_ok(api: httpx.AsyncClient, path: str, headers: dict[str, str]) -> None:
    async def probe() -> bool | None:
        return True if (await api.get(path, headers=headers)).status_code == 200 else None

    await eventually(probe, 20)


async def eventually(probe: Callable[[], Any], seconds: float) -> Any:
    async with asyncio.timeout(seconds):
        while True:
            result = await probe()
            if result is not None:
                return result
            await asyncio.sleep(0.25)


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.x12") if p.is_file())


async def test_vector_1_five_billable_participants_make_one_valid_837p_of_five_fifty_dollar_claims(
    suite: Suite,
    publish: Callable[..., Coroutine[Any, Any, None]],
    sample: Callable[[str], dict[str, Any]],
    token: Callable[..., str],
    clearinghouse_folder: Path,
) -> None:
    before = set(files_in(clearinghouse_folder))
    preview, claims = await run_vector_1(
        suite, publish, sample, token, "demo-bh", clearinghouse_folder
    )
    assert preview["billable_count"] == 5
    assert preview["band"]["name"] == "Small"
    assert len(claims) == 5
    assert {c["status"] for c in claims} == {"SUBMITTED"}
    new_files = [p for p in files_in(clearinghouse_folder) if p not in before]
    assert len(new_files) == 1, new_files
    text = new_files[0].read_text()
    assert pyx12_errors(new_files[0]) == []
    interchange = parse_interchange(text)
    clms = interchange.segments("CLM")
    assert len(clms) == 5
    assert all(clm[2] == "50" or clm[2] == "50.00" for clm in clms)
    assert len(interchange.segments("SV1")) == 5
    assert all(sv1[1] == "HC:90853:HQ" for sv1 in interchange.segments("SV1"))
    subscriber_hls = [hl for hl in interchange.segments("HL") if hl[3] == "22"]
    assert len(subscriber_hls) == 5  # each claim under its own member


async def test_vector_1_with_left_early_billable_makes_six_forty_dollar_claims(
    suite: Suite,
    publish: Callable[..., Coroutine[Any, Any, None]],
    sample: Callable[[str], dict[str, Any]],
    token: Callable[..., str],
    clearinghouse_folder: Path,
) -> None:
    before = set(files_in(clearinghouse_folder))
    preview, claims = await run_vector_1(
        suite, publish, sample, token, "demo-bh-le", clearinghouse_folder
    )
    assert preview["billable_count"] == 6
    assert preview["band"]["name"] == "Medium"
    assert len(claims) == 6
    new_files = [p for p in files_in(clearinghouse_folder) if p not in before]
    assert len(new_files) == 1, new_files
    assert pyx12_errors(new_files[0]) == []
    clms = parse_interchange(new_files[0].read_text()).segments("CLM")
    assert len(clms) == 6
    assert {clm[2] for clm in clms} <= {"40", "40.00"}
