"""Issue #8's dry run, end to end: the five services as processes, a group session and a
residential stay through the feeds until their claims are transmitted, then the dry run of
each build (claims API -> edi-gateway -> pyx12) answers with the 837 the pipeline sent:
the same claim segments (CLM) as the file the gateway archived, pyx12-clean, and no
interchange numbered or claim stored for it.

The sample tenant auto-submits, so by the time the operator asks, the claims have left:
the dry run reports them as last sent (``sent_before``), which is exactly what a build of
the same charges sends. The dry run needs the claims service to know the gateway's URL
(``EDI_GATEWAY_URL``, which the suite gives it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Sequence
from datetime import date
from typing import Any

import httpx
import pytest

from common.testing.messages import bearer
from common.testing.processes import Suite
from common.testing.scenarios import LeaveOfAbsence, eventually, run_group_session, run_stay
from common.testing.x12 import parse_interchange

pytestmark = pytest.mark.e2e

Publish = Callable[..., Coroutine[Any, Any, None]]
TENANT = "demo-bh"
READ = ("billing.claim.read",)
BUILD = ("billing.claim.read", "billing.claim.write")


def headers(token: Callable[..., str]) -> Callable[[Sequence[str]], dict[str, str]]:
    return lambda scopes: bearer(token(tenant=TENANT, scopes=list(scopes)))


async def sent_clm_segments(
    suite: Suite, token: Callable[..., str], claim_ids: Sequence[str]
) -> dict[str, list[str]]:
    """PCN -> the CLM segment of the file each claim was last transmitted in, as the
    gateway archived it."""
    found: dict[str, list[str]] = {}
    reader = headers(token)(READ)
    async with httpx.AsyncClient(base_url=suite.url("edi-gateway"), timeout=10) as gateway:
        for claim_id in claim_ids:

            async def transmitted(claim_id: str = claim_id) -> dict[str, Any] | None:
                response = await gateway.get(f"/v1/claims/{claim_id}/transmissions", headers=reader)
                items = response.json().get("items", []) if response.status_code == 200 else []
                with_file = [t for t in items if t.get("file_id")]
                return with_file[-1] if with_file else None

            newest = await eventually(transmitted, 60)
            file = await gateway.get(f"/v1/files/{newest['file_id']}", headers=reader)
            assert file.status_code == 200, file.text
            x12 = parse_interchange(file.content.decode("ascii"))
            found.update({s[1]: s for s in x12.segments("CLM")})
    return found


async def interchange_count(suite: Suite, token: Callable[..., str]) -> int:
    async with httpx.AsyncClient(base_url=suite.url("edi-gateway"), timeout=10) as gateway:
        response = await gateway.get(
            "/v1/interchanges", params={"limit": 500}, headers=headers(token)(READ)
        )
        assert response.status_code == 200, response.text
        return len(response.json()["items"])


def preview_clm_segments(edi: dict[str, Any]) -> dict[str, list[str]]:
    assert edi["note"] is None and edi["refused"] == [], edi
    found: dict[str, list[str]] = {}
    for file in edi["files"]:
        assert file["valid"] is True and file["errors"] == [], file["errors"]
        x12 = parse_interchange(file["text"])
        assert x12.segments("ISA")[0][13] == "999999999"  # a preview's, no number taken
        found.update({s[1]: s for s in x12.segments("CLM")})
    return found


async def test_a_session_dry_run_shows_the_837_the_pipeline_sent(
    suite: Suite, publish: Publish, token: Callable[..., str]
) -> None:
    run = await run_group_session(
        attendance_url=suite.url("attendance"),
        claims_url=suite.url("claims"),
        publish=publish,
        bearer=headers(token),
        tenant=TENANT,
        run=uuid.uuid4().hex[:8],
        day=date(2026, 3, 9),
        marks=["ATTENDED", "ATTENDED", "LATE", "ABSENT"],  # three billable members
        payers=["acme-commercial", "il-medicaid"],
    )
    claim_ids = [c["claim_id"] for c in run.claims]
    sent = await sent_clm_segments(suite, token, claim_ids)
    numbered = await interchange_count(suite, token)

    async with httpx.AsyncClient(base_url=suite.url("claims"), timeout=60) as api:
        response = await api.post(
            "/v1/claims/build/preview",
            json={"session_id": run.session_id},
            headers=headers(token)(BUILD),
        )

    assert response.status_code == 200, response.text
    dry = response.json()
    assert sorted(c["claim_id"] for c in dry["claims"]) == sorted(claim_ids)
    assert all(c["sent_before"] and c["issues"] == [] for c in dry["claims"])
    previewed = preview_clm_segments(dry["edi"])
    pcns = {c["patient_control_number"] for c in run.claims}
    assert set(previewed) == pcns
    assert {pcn: previewed[pcn] for pcn in pcns} == {pcn: sent[pcn] for pcn in pcns}
    assert await interchange_count(suite, token) == numbered


async def test_a_stay_dry_run_shows_the_837i_the_pipeline_sent(
    suite: Suite, publish: Publish, token: Callable[..., str]
) -> None:
    run = uuid.uuid4().hex[:8]
    claims = await run_stay(
        claims_url=suite.url("claims"),
        publish=publish,
        bearer=headers(token),
        tenant=TENANT,
        run=run,
        program_id="residential",
        admitted=date(2026, 1, 10),
        admit_hour=14,
        leaves=[LeaveOfAbsence("loa-1", date(2026, 1, 20), date(2026, 1, 23))],
        discharged=date(2026, 2, 3),
        discharge_status="01",
        expected_claims=2,
    )
    claim_ids = [c["claim_id"] for c in claims]
    sent = await sent_clm_segments(suite, token, claim_ids)
    numbered = await interchange_count(suite, token)

    async with httpx.AsyncClient(base_url=suite.url("claims"), timeout=60) as api:
        response = await api.post(
            f"/v1/stays/stay-{run}/claims/build/preview", headers=headers(token)(BUILD)
        )

    assert response.status_code == 200, response.text
    dry = response.json()
    assert sorted(c["claim_id"] for c in dry["claims"]) == sorted(claim_ids)
    assert all(c["transaction_type"] == "837I" and c["sent_before"] for c in dry["claims"])
    previewed = preview_clm_segments(dry["edi"])
    pcns = {c["patient_control_number"] for c in claims}
    assert {pcn: previewed[pcn] for pcn in pcns} == {pcn: sent[pcn] for pcn in pcns}
    assert await interchange_count(suite, token) == numbered
