"""Scenarios that drive the running suite the way its users do: the EHR and scheduling
feeds publish events, a supervisor marks attendance and finalizes through the HTTP API.
Used by the end-to-end tests and by the demo, so both exercise the same path."""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import httpx

from common.testing.messages import eventually as polled

SAMPLES = Path(__file__).resolve().parents[4].parent / "contracts" / "samples"
T = TypeVar("T")

SUPERVISOR_SCOPES = ("clinical.attendance.write", "clinical.group-session.read")


def sample(event_type: str) -> dict[str, Any]:
    """A fresh copy of the golden sample of ``event_type``."""
    document: dict[str, Any] = json.loads((SAMPLES / f"{event_type}.json").read_text())
    return document


def retarget(document: dict[str, Any], tenant: str, event_id: str) -> dict[str, Any]:
    doc = copy.deepcopy(document)
    doc["id"], doc["tenantid"] = event_id, tenant
    return doc


def member_event(
    tenant: str, member_id: str, event_id: str, *, payer_id: str, diagnoses: Sequence[str]
) -> dict[str, Any]:
    """A member whose primary coverage (self) is with ``payer_id`` since 2025."""
    doc = retarget(sample("ehr.member.upserted.v1"), tenant, event_id)
    data = doc["data"]
    data["member_id"] = member_id
    data["diagnoses"] = list(diagnoses)
    data["coverages"] = [
        {
            "coverage_id": f"cov-{member_id}",
            "payer_id": payer_id,
            "subscriber_id": ("ACM" if payer_id.startswith("acme") else "MCD")
            + member_id.replace("-", "")[-9:].upper(),
            "relationship_to_subscriber": "18",
            "subscriber": None,
            "is_primary": True,
            "effective_from": "2025-01-01",
            "effective_to": None,
            "group_number": None,
        }
    ]
    return doc


async def eventually(probe: Callable[[], Awaitable[T | None]], seconds: float) -> T:
    """``messages.eventually`` at the pace of polling a service's HTTP API."""
    return await polled(probe, seconds, interval=0.25)


@dataclass
class GroupSessionRun:
    session_id: str
    members: list[str]
    preview: dict[str, Any]
    claims: list[dict[str, Any]]


async def run_group_session(
    *,
    attendance_url: str,
    claims_url: str,
    publish: Callable[..., Awaitable[None]],
    bearer: Callable[[Sequence[str]], dict[str, str]],
    tenant: str,
    run: str,
    day: date,
    marks: Sequence[str],
    payers: Sequence[str],
    within_seconds: float = 90,
    until_transmitted: bool = True,
    members: Sequence[str] | None = None,
) -> GroupSessionRun:
    """Reference data and a scheduled session in through the feeds; the supervisor marks
    the roster with ``marks`` (one per member) and finalizes; returns once every claim
    of the session is transmitted or rejected (``until_transmitted=False``: once every
    claim is submitted, for a clearinghouse that is not taking files). ``members``: the
    roster's member ids (default: members of this run's own, ``m-<run>-<n>``); the member at
    roster position i gets ``payers[i % len(payers)]`` (one payer per member: no cycling)."""
    if members is None:
        members = [f"m-{run}-{i}" for i in range(1, len(marks) + 1)]
    members = list(members)
    if len(members) != len(marks):
        raise ValueError("one mark per member")
    session_id = f"gs-{run}"
    reference = [
        retarget(sample("ehr.facility.upserted.v1"), tenant, f"{run}-fac"),
        retarget(sample("ehr.provider.upserted.v1"), tenant, f"{run}-prov"),
        *[
            member_event(
                tenant,
                m,
                f"{run}-{m}",
                payer_id=payers[i % len(payers)],
                diagnoses=["F332", "F411"],
            )
            for i, m in enumerate(members)
        ],
    ]
    scheduled = retarget(sample("scheduling.group_session.scheduled.v1"), tenant, f"{run}-gs")
    data = scheduled["data"]
    data["session_id"] = session_id
    data["session_date"] = day.isoformat()
    data["roster"] = [{"member_id": m, "initial_status": None} for m in members]
    supervisor = data["supervisors"][0]["provider_id"]
    await publish(*reference)
    await publish(scheduled, scheduled)  # the feed may repeat itself: one session still

    writer = bearer(SUPERVISOR_SCOPES)
    async with httpx.AsyncClient(base_url=attendance_url, timeout=10) as api:
        detail_path = f"/v1/group-sessions/{session_id}"

        async def scheduled_known() -> bool | None:
            return True if (await api.get(detail_path, headers=writer)).status_code == 200 else None

        await eventually(scheduled_known, 30)
        await _ok(
            api.put(
                f"{detail_path}/supervisors/{supervisor}/status",
                json={"status": "ATTENDED"},
                headers=writer,
            )
        )
        pairs = list(zip(members, marks, strict=True))
        # Those who left early first: their ATTENDED step must not be the roster's last
        # mark, or a past session could be closed by the auto-close sweep in between.
        pairs.sort(key=lambda pair: pair[1] != "LEFT_EARLY")
        for member, status in pairs:
            # A member leaves after arriving: SCHEDULED -> LEFT_EARLY is not a legal move.
            for step in ["ATTENDED", status] if status == "LEFT_EARLY" else [status]:
                await _ok(
                    api.put(
                        f"{detail_path}/participants/{member}/status",
                        json={"status": step},
                        headers=writer,
                    )
                )
        preview = (await api.get(detail_path, headers=writer)).json()["billing_preview"]
        await _ok(api.post(f"{detail_path}/finalize", json={}, headers=writer))

    reader = bearer(("billing.claim.read",))
    async with httpx.AsyncClient(base_url=claims_url, timeout=10) as api:

        async def settled() -> list[dict[str, Any]] | None:
            listed = await api.get("/v1/claims", params={"session_id": session_id}, headers=reader)
            items: list[dict[str, Any]] = listed.json().get("items", [])
            billable = preview["billable_count"]
            done = len(items) == billable and all(
                c.get("transmissions")
                or c["status"] == "REJECTED"
                or (not until_transmitted and c["status"] == "SUBMITTED")
                for c in items
            )
            return items if done else None

        claims = await eventually(settled, within_seconds)
    return GroupSessionRun(session_id, members, preview, claims)


async def _ok(request: Awaitable[httpx.Response]) -> httpx.Response:
    response = await request
    if response.status_code >= 300:
        raise AssertionError(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text}"
        )
    return response


@dataclass(frozen=True)
class LeaveOfAbsence:
    leave_id: str
    start: date
    back: date
    reason: str = "THERAPEUTIC"


async def run_stay(
    *,
    claims_url: str,
    publish: Callable[..., Awaitable[None]],
    bearer: Callable[[Sequence[str]], dict[str, str]],
    tenant: str,
    run: str,
    program_id: str,
    admitted: date,
    admit_hour: int,
    leaves: Sequence[LeaveOfAbsence],
    discharged: date | None,
    discharge_status: str,
    expected_claims: int,
    payer_id: str = "acme-commercial",
    within_seconds: float = 120,
    until_sent: bool = True,
) -> list[dict[str, Any]]:
    """A stay told by the EHR feed (member, facility, admission, leaves, discharge unless
    ``discharged`` is None: still in house) and returns once its ``expected_claims`` cycle
    claims are transmitted or rejected (``until_sent``), or as soon as they are submitted.
    Claims cancelled on the way (never sent) are not counted nor returned."""
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    member = member_event(tenant, member_id, f"{run}-m", payer_id=payer_id, diagnoses=["F332"])
    member["data"]["program_enrollments"] = [
        {"program_id": program_id, "enrolled_from": admitted.isoformat(), "enrolled_to": None}
    ]
    facility = retarget(sample("ehr.facility.upserted.v1"), tenant, f"{run}-fac")
    admission = retarget(sample("ehr.stay.admitted.v1"), tenant, f"{run}-adm")
    admission["data"].update(
        stay_id=stay_id,
        member_id=member_id,
        program_id=program_id,
        facility_id=facility["data"]["facility_id"],
    )
    admission["data"]["admission"].update(
        admit_date=admitted.isoformat(),
        admit_hour=admit_hour,
        drg=None,
        procedures=[],
        admitting_diagnosis=None,
        other_diagnoses=[],
    )
    events: list[dict[str, Any]] = [facility, member, admission]
    for leave in leaves:
        started = retarget(sample("ehr.stay.leave_started.v1"), tenant, f"{run}-{leave.leave_id}")
        started["data"].update(
            stay_id=stay_id,
            leave_id=leave.leave_id,
            start_date=leave.start.isoformat(),
            reason=leave.reason,
            expected_return_date=None,
            note=None,
        )
        ended = retarget(sample("ehr.stay.leave_ended.v1"), tenant, f"{run}-{leave.leave_id}-e")
        ended["data"].update(
            stay_id=stay_id, leave_id=leave.leave_id, return_date=leave.back.isoformat()
        )
        events += [started, ended]
    if discharged is not None:
        discharge = retarget(sample("ehr.stay.discharged.v1"), tenant, f"{run}-dis")
        discharge["data"].update(
            stay_id=stay_id, discharge_date=discharged.isoformat(), patient_status=discharge_status
        )
        events.append(discharge)
    for event in events:  # in the order they happened
        await publish(event)

    reader = bearer(("billing.claim.read",))
    async with httpx.AsyncClient(base_url=claims_url, timeout=10) as api:

        async def settled() -> list[dict[str, Any]] | None:
            listed = await api.get("/v1/claims", params={"stay_id": stay_id}, headers=reader)
            # A claim cancelled (its days gone, e.g. withdrawn after a discharge that came
            # late) is never sent: not one of the stay's claims.
            items: list[dict[str, Any]] = [
                c for c in listed.json().get("items", []) if c["status"] != "CANCELLED"
            ]
            done = len(items) == expected_claims and all(
                c.get("transmissions") or c["status"] == "REJECTED"
                if until_sent
                else c["status"] == "SUBMITTED"
                for c in items
            )
            return items if done else None

        return await eventually(settled, within_seconds)
