"""SPEC 12 reference vector 1, end to end, with the five services as real processes:
scheduling event in, attendance marked through the HTTP API, finalize, and in the
clearinghouse folder one 837P file that pyx12 accepts, holding five claims of $50.00
with HC:90853:HQ; a tenant billing LEFT_EARLY gets six of $40.00."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from common.testing.messages import bearer
from common.testing.processes import Suite
from common.testing.scenarios import GroupSessionRun, run_group_session
from common.testing.x12 import parse_interchange, pyx12_errors

pytestmark = pytest.mark.e2e

# Vector 1's roster: 4 ATTENDED, 1 LATE, 1 LEFT_EARLY, 1 ABSENT.
MARKS = ["ATTENDED", "ATTENDED", "ATTENDED", "ATTENDED", "LATE", "LEFT_EARLY", "ABSENT"]


async def vector_1(
    suite: Suite,
    publish: Callable[..., Coroutine[Any, Any, None]],
    token: Callable[..., str],
    tenant: str,
) -> GroupSessionRun:
    def headers(scopes: Sequence[str]) -> dict[str, str]:
        return bearer(token(tenant=tenant, scopes=list(scopes), subject="supervisor-1"))

    # Tomorrow in the tenant's zone: a session not yet over, so only finalize closes it.
    day = datetime.now(ZoneInfo("America/Chicago")).date() + timedelta(days=1)
    return await run_group_session(
        attendance_url=suite.url("attendance"),
        claims_url=suite.url("claims"),
        publish=publish,
        bearer=headers,
        tenant=tenant,
        run=uuid.uuid4().hex[:8],
        day=day,
        marks=MARKS,
        payers=["acme-commercial"],  # no modifier replacement: HQ stays
    )


def new_files(folder: Path, before: set[Path]) -> list[Path]:
    return sorted(p for p in folder.glob("*.x12") if p not in before)


async def test_vector_1_five_billable_participants_make_one_valid_837p_of_five_fifty_dollar_claims(
    suite: Suite,
    publish: Callable[..., Coroutine[Any, Any, None]],
    token: Callable[..., str],
    clearinghouse_folder: Path,
) -> None:
    before = set(clearinghouse_folder.glob("*.x12"))
    run = await vector_1(suite, publish, token, "demo-bh")
    assert run.preview["billable_count"] == 5
    assert run.preview["band"]["name"] == "Small"
    assert len(run.claims) == 5
    assert {c["status"] for c in run.claims} == {"SUBMITTED"}
    files = new_files(clearinghouse_folder, before)
    assert len(files) == 1, files
    assert pyx12_errors(files[0]) == []
    interchange = parse_interchange(files[0].read_text())
    clms = interchange.segments("CLM")
    assert len(clms) == 5
    assert {clm[2] for clm in clms} <= {"50", "50.00"}
    assert [sv1[1] for sv1 in interchange.segments("SV1")] == ["HC:90853:HQ"] * 5
    subscriber_levels = [hl for hl in interchange.segments("HL") if hl[3] == "22"]
    assert len(subscriber_levels) == 5  # each claim under its own member


async def test_vector_1_with_left_early_billable_makes_six_forty_dollar_claims(
    suite: Suite,
    publish: Callable[..., Coroutine[Any, Any, None]],
    token: Callable[..., str],
    clearinghouse_folder: Path,
) -> None:
    before = set(clearinghouse_folder.glob("*.x12"))
    run = await vector_1(suite, publish, token, "demo-bh-le")
    assert run.preview["billable_count"] == 6
    assert run.preview["band"]["name"] == "Medium"
    assert len(run.claims) == 6
    files = new_files(clearinghouse_folder, before)
    assert len(files) == 1, files
    assert pyx12_errors(files[0]) == []
    clms = parse_interchange(files[0].read_text()).segments("CLM")
    assert len(clms) == 6
    assert {clm[2] for clm in clms} <= {"40", "40.00"}
