"""SPEC 10's tenant isolation, attacked end to end: the five services as processes.

Tenant A (``demo-bh``) gets a group session and a stay through the normal feeds and API,
with their charges, claims and interchange files. Tenant B (``demo-bh-le``), holding a
token with every scope there is, then tries to read, list (filtering by A's ids), change,
force, finalize, fix, void, build, submit, reverse, replace, rebuild, upload an
acknowledgment naming A's interchange and claims, download A's files, and replay A's ids
through the feeds. Every attempt answers 404 or 403 (a list: nothing of A's), and A's data
read through A's token afterwards is what it was before."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from common.testing.messages import bearer
from common.testing.processes import Suite
from common.testing.scenarios import (
    GroupSessionRun,
    LeaveOfAbsence,
    retarget,
    run_group_session,
    run_stay,
    sample,
)

from .conftest import LEFT_EARLY_TENANT

pytestmark = pytest.mark.e2e

Publish = Callable[..., Coroutine[Any, Any, None]]
TENANT_A = "demo-bh"
TENANT_B = LEFT_EARLY_TENANT
EVERY_SCOPE = (
    "clinical.group-session.read",
    "clinical.attendance.write",
    "clinical.attendance.write.force",
    "clinical.encounter.read",
    "clinical.encounter.write",
    "billing.claim.read",
    "billing.claim.write",
    "billing.reference.write",
    "claims.read",
    "claims.update",
)
REFUSED = (403, 404)


@dataclass
class TenantData:
    """What tenant A owns, by id."""

    run: str
    day: date
    session: GroupSessionRun
    supervisor_id: str
    stay_id: str
    stay_member_id: str
    leave_id: str
    stay_claims: list[dict[str, Any]]
    charge_ids: list[str] = field(default_factory=list)
    interchanges: list[dict[str, Any]] = field(default_factory=list)
    claims_sent_in: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def claims(self) -> list[dict[str, Any]]:
        return [*self.session.claims, *self.stay_claims]

    @property
    def claim_ids(self) -> list[str]:
        return [c["claim_id"] for c in self.claims]

    @property
    def member_ids(self) -> list[str]:
        return [*self.session.members, self.stay_member_id]

    def ids(self) -> list[str]:
        """Every id of A's that must never show up in an answer to B."""
        return [
            self.session.session_id,
            self.stay_id,
            *self.member_ids,
            *self.claim_ids,
            *self.charge_ids,
            *(i["interchange_id"] for i in self.interchanges),
            *(i["file_id"] for i in self.interchanges if i.get("file_id")),
        ]


def headers(token: Callable[..., str], tenant: str, subject: str = "user-1") -> dict[str, str]:
    return bearer(token(tenant=tenant, scopes=list(EVERY_SCOPE), subject=subject))


async def get_json(client: httpx.AsyncClient, url: str, auth: dict[str, str], **params: Any) -> Any:
    response = await client.get(url, params=params, headers=auth)
    assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:300]}"
    return response.json()


@pytest.fixture(scope="module")
async def tenant_a(suite: Suite, publish: Publish, token: Callable[..., str]) -> TenantData:
    run = f"iso{uuid.uuid4().hex[:6]}"

    def as_a(scopes: Sequence[str]) -> dict[str, str]:
        return bearer(token(tenant=TENANT_A, scopes=list(scopes), subject="supervisor-a"))

    # Tomorrow at the tenant: only finalize closes the session, never the auto-close.
    day = datetime.now(ZoneInfo("America/Chicago")).date() + timedelta(days=1)
    session, stay_claims = await asyncio.gather(
        run_group_session(
            attendance_url=suite.url("attendance"),
            claims_url=suite.url("claims"),
            publish=publish,
            bearer=as_a,
            tenant=TENANT_A,
            run=f"{run}g",
            day=day,
            marks=["ATTENDED", "LATE", "ATTENDED", "ABSENT"],
            payers=["acme-commercial"],
        ),
        run_stay(
            claims_url=suite.url("claims"),
            publish=publish,
            bearer=as_a,
            tenant=TENANT_A,
            run=f"{run}s",
            program_id="residential",
            admitted=date(2026, 1, 10),
            admit_hour=14,
            leaves=[LeaveOfAbsence("loa-1", date(2026, 1, 12), date(2026, 1, 13))],
            discharged=date(2026, 1, 16),
            discharge_status="01",
            expected_claims=1,
        ),
    )
    scheduled = sample("scheduling.group_session.scheduled.v1")
    data = TenantData(
        run=run,
        day=day,
        session=session,
        supervisor_id=scheduled["data"]["supervisors"][0]["provider_id"],
        stay_id=f"stay-{run}s",
        stay_member_id=f"m-{run}s",
        leave_id="loa-1",
        stay_claims=stay_claims,
    )
    auth = headers(token, TENANT_A)
    async with httpx.AsyncClient(timeout=10) as client:
        for key in ("session_id", "stay_id"):
            value = data.session.session_id if key == "session_id" else data.stay_id
            listed = await get_json(
                client, f"{suite.url('charges')}/v1/charges", auth, **{key: value}
            )
            data.charge_ids += [c["charge_id"] for c in listed["items"]]
        for claim_id in data.claim_ids:
            sent = await get_json(
                client, f"{suite.url('edi-gateway')}/v1/claims/{claim_id}/transmissions", auth
            )
            for item in sent["items"]:
                claim = next(c for c in data.claims if c["claim_id"] == claim_id)
                data.claims_sent_in.setdefault(item["interchange_id"], []).append(claim)
                if item["interchange_id"] not in {i["interchange_id"] for i in data.interchanges}:
                    data.interchanges.append(
                        await get_json(
                            client,
                            f"{suite.url('edi-gateway')}/v1/interchanges/{item['interchange_id']}",
                            auth,
                        )
                    )
    assert data.charge_ids and data.interchanges and len(data.claims) == 4
    return data


async def snapshot(suite: Suite, token: Callable[..., str], a: TenantData) -> dict[str, Any]:
    """A's data as A reads it through every service's API."""
    auth = headers(token, TENANT_A)
    attendance, stays = suite.url("attendance"), suite.url("stays")
    charges, claims, gateway = suite.url("charges"), suite.url("claims"), suite.url("edi-gateway")
    sid = a.session.session_id
    reads: dict[str, tuple[str, dict[str, Any]]] = {
        "session": (f"{attendance}/v1/group-sessions/{sid}", {}),
        "session history": (f"{attendance}/v1/group-sessions/{sid}/history", {}),
        "session overrides": (f"{attendance}/v1/group-sessions/{sid}/overrides", {}),
        "stay": (f"{stays}/v1/stays/{a.stay_id}", {}),
        "enrollments": (f"{stays}/v1/members/{a.stay_member_id}/enrollments", {}),
        "session charges": (f"{charges}/v1/charges", {"session_id": sid}),
        "stay charges": (f"{charges}/v1/charges", {"stay_id": a.stay_id}),
        "session claims": (f"{claims}/v1/claims", {"session_id": sid}),
        "stay claims": (f"{claims}/v1/claims", {"stay_id": a.stay_id}),
    }
    for member in a.member_ids:
        reads[f"member {member}"] = (f"{claims}/v1/members/{member}", {})
    for claim_id in a.claim_ids:
        reads[f"claim {claim_id}"] = (f"{claims}/v1/claims/{claim_id}", {})
        reads[f"transmissions {claim_id}"] = (f"{gateway}/v1/claims/{claim_id}/transmissions", {})
        reads[f"acks {claim_id}"] = (f"{gateway}/v1/claims/{claim_id}/acknowledgments", {})
    for charge_id in a.charge_ids:
        reads[f"charge {charge_id}"] = (f"{charges}/v1/charges/{charge_id}", {})
    for interchange in a.interchanges:
        iid = interchange["interchange_id"]
        reads[f"interchange {iid}"] = (f"{gateway}/v1/interchanges/{iid}", {})
    async with httpx.AsyncClient(timeout=10) as client:
        taken = {
            label: await get_json(client, url, auth, **params)
            for label, (url, params) in reads.items()
        }
        for interchange in a.interchanges:
            if interchange.get("file_id"):
                response = await client.get(
                    f"{gateway}/v1/files/{interchange['file_id']}", headers=auth
                )
                assert response.status_code == 200
                taken[f"file {interchange['file_id']}"] = hashlib.sha256(
                    response.content
                ).hexdigest()
    return taken


async def settled_snapshot(
    suite: Suite, token: Callable[..., str], a: TenantData, seconds: float = 20
) -> dict[str, Any]:
    """A snapshot that two reads a second apart agree on (in-flight events applied)."""
    previous = await snapshot(suite, token, a)
    async with asyncio.timeout(seconds):
        while True:
            await asyncio.sleep(1)
            current = await snapshot(suite, token, a)
            if current == previous:
                return current
            previous = current


@dataclass(frozen=True)
class Attempt:
    """One request of B's. ``listing``: answered, but with nothing of A's in it (or
    refused); otherwise refused outright (403 or 404)."""

    label: str
    service: str
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    content: bytes | None = None
    content_type: str | None = None
    listing: bool = False


def reads_and_lists(a: TenantData) -> list[Attempt]:
    sid, stay = a.session.session_id, a.stay_id
    day = a.day.isoformat()
    attempts = [
        Attempt("session", "attendance", "GET", f"/v1/group-sessions/{sid}"),
        Attempt("session history", "attendance", "GET", f"/v1/group-sessions/{sid}/history"),
        Attempt("session overrides", "attendance", "GET", f"/v1/group-sessions/{sid}/overrides"),
        Attempt("stay", "stays", "GET", f"/v1/stays/{stay}"),
        Attempt("enrollments", "stays", "GET", f"/v1/members/{a.stay_member_id}/enrollments"),
        Attempt(
            "charges of the stay", "charges", "GET", "/v1/charges", {"stay_id": stay}, listing=True
        ),
        Attempt(
            "charges by stay",
            "charges",
            "GET",
            "/v1/charges",
            {"stay_id": stay, "group_by": "stay"},
            listing=True,
        ),
        Attempt(
            "charges of the session",
            "charges",
            "GET",
            "/v1/charges",
            {"session_id": sid},
            listing=True,
        ),
        Attempt(
            "claims of the session",
            "claims",
            "GET",
            "/v1/claims",
            {"session_id": sid},
            listing=True,
        ),
        Attempt(
            "claims of the stay", "claims", "GET", "/v1/claims", {"stay_id": stay}, listing=True
        ),
        Attempt("every claim", "claims", "GET", "/v1/claims", {"limit": 500}, listing=True),
        Attempt(
            "interchanges of local-dev",
            "edi-gateway",
            "GET",
            "/v1/interchanges",
            {"clearinghouse_id": "local-dev", "limit": 500},
            listing=True,
        ),
        Attempt(
            "files of local-dev",
            "edi-gateway",
            "GET",
            "/v1/files",
            {"clearinghouse_id": "local-dev", "limit": 500},
            listing=True,
        ),
        Attempt(
            "acknowledgments",
            "edi-gateway",
            "GET",
            "/v1/acknowledgments",
            {"limit": 500},
            listing=True,
        ),
        Attempt(
            "unmatched acknowledgment items",
            "edi-gateway",
            "GET",
            "/v1/acknowledgments/unmatched",
            {"limit": 500},
            listing=True,
        ),
        Attempt(
            "sessions of every facility",
            "attendance",
            "GET",
            "/v1/group-sessions",
            {"from": "2026-01-01", "to": "2027-12-31", "limit": 500},
            listing=True,
        ),
        Attempt("stays", "stays", "GET", "/v1/stays", {"limit": 500}, listing=True),
        Attempt(
            "stays of the member",
            "stays",
            "GET",
            "/v1/stays",
            {"member_id": a.stay_member_id},
            listing=True,
        ),
    ]
    attempts.append(
        Attempt(
            "sessions of the day",
            "attendance",
            "GET",
            "/v1/group-sessions",
            {"from": day},
            listing=True,
        )
    )
    for member in a.member_ids:
        attempts += [
            Attempt(
                f"charges of {member}",
                "charges",
                "GET",
                "/v1/charges",
                {"member_id": member},
                listing=True,
            ),
            Attempt(
                f"claims of {member}",
                "claims",
                "GET",
                "/v1/claims",
                {"member_id": member},
                listing=True,
            ),
            Attempt(f"member {member}", "claims", "GET", f"/v1/members/{member}"),
            Attempt(
                f"coverage of {member}",
                "charges",
                "GET",
                f"/v1/members/{member}/coverage",
                {"on": "2026-01-12"},
            ),
        ]
    for claim_id in a.claim_ids:
        attempts += [
            Attempt(f"claim {claim_id}", "claims", "GET", f"/v1/claims/{claim_id}"),
            Attempt(f"837 of {claim_id}", "claims", "GET", f"/v1/claims/{claim_id}/edi"),
            Attempt(
                f"transmissions of {claim_id}",
                "edi-gateway",
                "GET",
                f"/v1/claims/{claim_id}/transmissions",
            ),
            Attempt(
                f"acknowledgments of {claim_id}",
                "edi-gateway",
                "GET",
                f"/v1/claims/{claim_id}/acknowledgments",
                listing=True,
            ),
        ]
    for charge_id in a.charge_ids:
        attempts.append(
            Attempt(f"charge {charge_id}", "charges", "GET", f"/v1/charges/{charge_id}")
        )
    for interchange in a.interchanges:
        iid = interchange["interchange_id"]
        attempts.append(
            Attempt(f"interchange {iid}", "edi-gateway", "GET", f"/v1/interchanges/{iid}")
        )
        if interchange.get("file_id"):
            attempts.append(
                Attempt(
                    f"file {interchange['file_id']}",
                    "edi-gateway",
                    "GET",
                    f"/v1/files/{interchange['file_id']}",
                )
            )
    return attempts


def acknowledgment_999(interchange: dict[str, Any], isa13: int) -> str:
    """A 999 rejecting every set of A's functional group, addressed to A's sender id."""
    us, them = interchange["sender_id"], interchange.get("receiver_id") or "LOCALCH"
    gs06, sets = interchange["gs06"], interchange["transaction_set_control_numbers"]
    body = [f"AK1*HC*{gs06}*005010X222A1"]
    for st02 in sets:
        body += [f"AK2*837*{st02:04d}*005010X222A1", "IK5*R*5"]
    body.append(f"AK9*R*{len(sets)}*{len(sets)}*0")
    return _envelope(us, them, "999", "005010X231A1", "FA", body, isa13)


def acknowledgment_277ca(
    interchange: dict[str, Any], claims: Sequence[dict[str, Any]], isa13: int
) -> str:
    """A 277CA rejecting A's claims by their patient control numbers."""
    us, them = interchange["sender_id"], interchange.get("receiver_id") or "LOCALCH"
    body = [
        "BHT*0085*08*BATCH1*20260310*1200*TH",
        "HL*1**20*1",
        "NM1*PR*2*ACME HEALTH PLAN*****PI*ACMEH",
        "TRN*1*TRACE0",
        "DTP*050*D8*20260310",
        "DTP*009*D8*20260310",
        "HL*2*1*21*1",
        f"NM1*41*2*HARBOR BEHAVIORAL HEALTH*****46*{us}",
        "TRN*2*BATCH1",
        "STC*A1:19:PR*20260310*WQ*1",
        f"QTY*90*{len(claims)}",
        "AMT*YU*1",
        "HL*3*2*19*1",
        "NM1*85*2*HARBOR BEHAVIORAL HEALTH*****XX*1999999984",
        "TRN*1*0",
        "STC*A1:19:85**WQ*1",
        f"QTY*QA*{len(claims)}",
        "AMT*YU*1",
    ]
    for number, claim in enumerate(claims, start=4):
        body += [
            f"HL*{number}*3*PT",
            "NM1*QC*1*PATIENT*ANY****MI*X000000000",
            f"TRN*2*{claim['patient_control_number']}",
            f"STC*A7:21:PR*20260310*U*{claim['total_charge']}",
            f"DTP*472*D8*{claim['period_from'].replace('-', '')}",
        ]
    return _envelope(us, them, "277", "005010X214", "HN", body, isa13)


def _envelope(
    us: str, them: str, set_id: str, version: str, fic: str, body: list[str], isa13: int
) -> str:
    segments = [f"ST*{set_id}*0001*{version}", *body]
    segments.append(f"SE*{len(segments) + 1}*0001")
    return (
        f"ISA*00*          *00*          *ZZ*{them:<15}*ZZ*{us:<15}*260310*1200*^*00501*"
        f"{isa13:09d}*0*T*:~"
        f"GS*{fic}*{them}*{us}*20260310*1200*{isa13 % 1000000}*X*{version}~"
        + "~".join(segments)
        + f"~GE*1*{isa13 % 1000000}~IEA*1*{isa13:09d}~"
    )


def changes(a: TenantData, snapshot_before: dict[str, Any]) -> list[Attempt]:
    sid, stay, leave = a.session.session_id, a.stay_id, a.leave_id
    member = a.session.members[0]
    stay_detail = snapshot_before["stay"]
    admission = stay_detail["admission"]
    discharge = stay_detail["discharge"]
    why = {"reason": "tenant isolation probe"}
    attempts = [
        Attempt(
            "mark a participant",
            "attendance",
            "PUT",
            f"/v1/group-sessions/{sid}/participants/{member}/status",
            body={"status": "ABSENT"},
        ),
        Attempt(
            "force a participant",
            "attendance",
            "PUT",
            f"/v1/group-sessions/{sid}/participants/{member}/status",
            body={"status": "ABSENT", "force": True, "reason": "probe"},
        ),
        Attempt(
            "force a supervisor",
            "attendance",
            "PUT",
            f"/v1/group-sessions/{sid}/supervisors/{a.supervisor_id}/status",
            body={"status": "ABSENT", "force": True, "reason": "probe"},
        ),
        Attempt("finalize", "attendance", "POST", f"/v1/group-sessions/{sid}/finalize", body={}),
        Attempt(
            "generate the session's charges", "charges", "POST", f"/v1/group-sessions/{sid}/charges"
        ),
        Attempt(
            "correct the admission",
            "stays",
            "PUT",
            f"/v1/stays/{stay}/admission",
            body={"admission": admission},
        ),
        Attempt("void the stay", "stays", "DELETE", f"/v1/stays/{stay}", body=why),
        Attempt(
            "add a leave",
            "stays",
            "POST",
            f"/v1/stays/{stay}/leaves",
            body={"leave_id": "loa-x", "start_date": "2026-01-14", "return_date": "2026-01-15"},
        ),
        Attempt(
            "correct the leave",
            "stays",
            "PUT",
            f"/v1/stays/{stay}/leaves/{leave}",
            body={"start_date": "2026-01-11", "return_date": "2026-01-14"},
        ),
        Attempt(
            "cancel the leave", "stays", "DELETE", f"/v1/stays/{stay}/leaves/{leave}", body=why
        ),
        Attempt(
            "end the leave",
            "stays",
            "POST",
            f"/v1/stays/{stay}/leaves/{leave}/return",
            body={"return_date": "2026-01-14"},
        ),
        Attempt("discharge", "stays", "POST", f"/v1/stays/{stay}/discharge", body=discharge),
        Attempt(
            "correct the discharge",
            "stays",
            "PUT",
            f"/v1/stays/{stay}/discharge",
            body={**discharge, "patient_status": "02"},
        ),
        Attempt("undo the discharge", "stays", "DELETE", f"/v1/stays/{stay}/discharge", body=why),
        Attempt(
            "build the stay's claims",
            "claims",
            "POST",
            f"/v1/stays/{stay}/claims/build",
            body={},
            listing=True,
        ),
    ]
    for member_id in a.member_ids:
        attempts.append(
            Attempt(
                f"build claims of {member_id}",
                "claims",
                "POST",
                "/v1/claims/build",
                body={"member_id": member_id},
                listing=True,
            )
        )
    for charge_id in a.charge_ids:
        attempts += [
            Attempt(
                f"fix {charge_id}",
                "charges",
                "POST",
                f"/v1/charges/{charge_id}/fix",
                body={"rate": "1.00", "reason": "probe"},
            ),
            Attempt(
                f"void {charge_id}", "charges", "POST", f"/v1/charges/{charge_id}/void", body=why
            ),
        ]
    for claim in a.claims:
        cid = claim["claim_id"]
        attempts += [
            Attempt(f"submit {cid}", "claims", "POST", f"/v1/claims/{cid}/submit"),
            Attempt(f"reverse {cid}", "claims", "POST", f"/v1/claims/{cid}/reverse", body=why),
            Attempt(f"replace {cid}", "claims", "POST", f"/v1/claims/{cid}/replace", body=why),
            Attempt(f"rebuild {cid}", "claims", "POST", f"/v1/claims/{cid}/rebuild"),
            Attempt(
                f"edit the context of {cid}",
                "claims",
                "PUT",
                f"/v1/claims/{cid}/institutional",
                body={"admission_hour": 3},
            ),
        ]
    for number, interchange in enumerate(a.interchanges):
        mine = a.claims_sent_in[interchange["interchange_id"]]
        for kind, text in (
            ("999", acknowledgment_999(interchange, 900000100 + 2 * number)),
            ("277CA", acknowledgment_277ca(interchange, mine, 900000101 + 2 * number)),
        ):
            attempts.append(
                Attempt(
                    f"upload a {kind} naming {interchange['interchange_id']}",
                    "edi-gateway",
                    "POST",
                    "/v1/acknowledgments",
                    {"clearinghouse_id": interchange["clearinghouse_id"], "reason": "probe"},
                    content=text.encode(),
                    content_type="application/edi-x12",
                    listing=True,
                )
            )
    return attempts


async def attempt_all(
    suite: Suite, auth: dict[str, str], attempts: Sequence[Attempt], a: TenantData
) -> tuple[list[str], dict[int, int]]:
    """Every attempt of B's; returns what was not refused, and a count per status."""
    leaks: list[str] = []
    statuses: dict[int, int] = {}
    own_ids = a.ids()
    async with httpx.AsyncClient(timeout=15) as client:
        for attempt in attempts:
            request_headers = dict(auth)
            if attempt.content_type:
                request_headers["Content-Type"] = attempt.content_type
            response = await client.request(
                attempt.method,
                f"{suite.url(attempt.service)}{attempt.path}",
                params=attempt.params,
                json=attempt.body if attempt.content is None and attempt.body is not None else None,
                content=attempt.content,
                headers=request_headers,
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code in REFUSED:
                continue
            if attempt.listing and response.status_code < 300:
                # An id B named in the path, echoed back, is no leak.
                shown = [i for i in own_ids if i in response.text and i not in attempt.path]
                if not shown:
                    continue
                leaks.append(f"{attempt.label}: {response.status_code} shows {shown[:5]}")
            else:
                leaks.append(f"{attempt.label}: {response.status_code} {response.text[:200]}")
    return leaks, statuses


async def test_tenant_b_can_neither_read_nor_list_tenant_a_data(
    suite: Suite, token: Callable[..., str], tenant_a: TenantData
) -> None:
    attempts = reads_and_lists(tenant_a)
    leaks, statuses = await attempt_all(
        suite, headers(token, TENANT_B, "attacker"), attempts, tenant_a
    )
    print(f"\ntenant isolation, reads and lists: {len(attempts)} attempts, statuses {statuses}")
    assert leaks == []


async def test_tenant_b_changes_nothing_of_tenant_a(
    suite: Suite, publish: Publish, token: Callable[..., str], tenant_a: TenantData
) -> None:
    before = await settled_snapshot(suite, token, tenant_a)
    attempts = changes(tenant_a, before)
    leaks, statuses = await attempt_all(
        suite, headers(token, TENANT_B, "attacker"), attempts, tenant_a
    )
    await replay_through_the_feeds_as_b(publish, tenant_a)
    # Give anything the attempts set off (events, the acknowledgment poller) time to land.
    await asyncio.sleep(3)
    after = await settled_snapshot(suite, token, tenant_a)
    print(f"\ntenant isolation, changes: {len(attempts)} attempts, statuses {statuses}")
    assert leaks == []
    changed = sorted(k for k in before if before[k] != after.get(k))
    assert changed == [], json.dumps({k: [before[k], after.get(k)] for k in changed})[:3000]


async def replay_through_the_feeds_as_b(publish: Publish, a: TenantData) -> None:
    """A's ids told by the feeds under tenant B's name: B's own (unknown) records, never A's."""
    run = f"{a.run}-b"
    cancelled = retarget(sample("scheduling.group_session.cancelled.v1"), TENANT_B, f"{run}-cx")
    cancelled["data"]["session_id"] = a.session.session_id
    marked = retarget(
        sample("scheduling.group_session.attendance_marked.v1"), TENANT_B, f"{run}-mk"
    )
    marked["data"].update(session_id=a.session.session_id, member_id=a.session.members[0])
    marked["data"]["status"] = "ABSENT"
    leave = retarget(sample("ehr.stay.leave_started.v1"), TENANT_B, f"{run}-lv")
    leave["data"].update(stay_id=a.stay_id, leave_id="loa-b", start_date="2026-01-14")
    await publish(cancelled, marked, leave)
