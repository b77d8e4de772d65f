"""SPEC 12 reference vectors 2 and 3 end to end, with the five services as processes: the
EHR feed tells a stay; day charges, cycle claims and 837I files follow by themselves."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from common.testing.messages import bearer
from common.testing.processes import Suite
from common.testing.scenarios import LeaveOfAbsence, run_stay
from common.testing.x12 import Interchange, parse_interchange, pyx12_errors

pytestmark = pytest.mark.e2e

TENANT = "demo-bh"


def headers_for(token: Callable[..., str]) -> Callable[[Sequence[str]], dict[str, str]]:
    def build(scopes: Sequence[str]) -> dict[str, str]:
        return bearer(token(tenant=TENANT, scopes=list(scopes)))

    return build


def claim_blocks(interchange: Interchange) -> dict[str, list[list[str]]]:
    """Each claim's segments (CLM through the segment before the next HL/CLM/SE), by PCN."""
    blocks: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for segment in interchange.segments_list:
        if segment[0] == "CLM":
            current = blocks.setdefault(segment[1], [])
        elif segment[0] in ("HL", "SE"):
            current = None
        if current is not None:
            current.append(segment)
    return blocks


def elements(block: list[list[str]], segment_id: str) -> list[str]:
    return ["*".join(s) for s in block if s[0] == segment_id]


def files_for(folder: Path, pcns: set[str]) -> list[Path]:
    found = []
    for path in sorted(folder.glob("*_837I_*.x12")):
        clms = {s[1] for s in parse_interchange(path.read_text()).segments("CLM")}
        if clms & pcns:
            found.append(path)
    return found


async def test_vector_2_monthly_stay_with_a_leave_and_a_discharge_makes_two_837i_claims(
    suite: Suite,
    publish: Callable[..., Coroutine[Any, Any, None]],
    token: Callable[..., str],
    clearinghouse_folder: Path,
) -> None:
    claims = await run_stay(
        claims_url=suite.url("claims"),
        publish=publish,
        bearer=headers_for(token),
        tenant=TENANT,
        run=uuid.uuid4().hex[:8],
        program_id="residential",
        admitted=date(2026, 1, 10),
        admit_hour=14,
        leaves=[LeaveOfAbsence("loa-1", date(2026, 1, 20), date(2026, 1, 23))],
        discharged=date(2026, 2, 3),
        discharge_status="01",
        expected_claims=2,
    )
    pcns = {c["patient_control_number"] for c in claims}
    files = files_for(clearinghouse_folder, pcns)
    assert files, "no 837I file holds the stay's claims"
    blocks: dict[str, list[list[str]]] = {}
    for path in files:
        assert pyx12_errors(path) == []
        blocks.update(claim_blocks(parse_interchange(path.read_text())))
    by_period = {}
    for pcn in pcns:
        block = blocks[pcn]
        [statement] = [s for s in block if s[0] == "DTP" and s[1] == "434"]
        by_period[statement[3]] = block
    january = by_period["20260110-20260131"]
    february = by_period["20260201-20260203"]

    assert january[0][5] == "86:A:2"
    assert january[0][2] in ("5700", "5700.00")
    assert "CL1*3*1*30" in elements(january, "CL1")
    hi = "|".join(elements(january, "HI"))
    assert "BE:80:::19" in hi and "BE:81:::3" in hi
    assert "BI:74:RD8:20260120-20260122" in hi
    sv2 = elements(january, "SV2")
    assert "SV2*1001**5700*DA*19" in sv2 or "SV2*1001**5700.00*DA*19" in sv2
    assert "SV2*0183**0*DA*3" in sv2 or "SV2*0183**0.00*DA*3" in sv2
    assert not [s for s in january if s[0] == "DTP" and s[1] == "096"]

    assert february[0][5] == "86:A:4"
    assert february[0][2] in ("600", "600.00")
    assert "CL1*3*1*01" in elements(february, "CL1")
    hi = "|".join(elements(february, "HI"))
    assert "BE:80:::2" in hi and "BE:81:::0" in hi
    assert "BI:74" not in hi and "BH:42" not in hi
    assert [s for s in february if s[0] == "DTP" and s[1] == "096"]


async def test_vector_3_weekly_program_sunday_and_monday_fall_in_two_claims(
    suite: Suite,
    publish: Callable[..., Coroutine[Any, Any, None]],
    token: Callable[..., str],
    clearinghouse_folder: Path,
) -> None:
    claims = await run_stay(
        claims_url=suite.url("claims"),
        publish=publish,
        bearer=headers_for(token),
        tenant=TENANT,
        run=uuid.uuid4().hex[:8],
        program_id="adult-day",
        admitted=date(2026, 3, 8),  # a Sunday: the week anchored on Monday 03-02
        admit_hour=9,
        leaves=[],
        discharged=date(2026, 3, 9),  # a Monday: the week anchored on 03-09
        discharge_status="01",
        expected_claims=2,
    )
    pcns = {c["patient_control_number"] for c in claims}
    blocks: dict[str, list[list[str]]] = {}
    for path in files_for(clearinghouse_folder, pcns):
        assert pyx12_errors(path) == []
        blocks.update(claim_blocks(parse_interchange(path.read_text())))
    periods = sorted(
        next(s[3] for s in blocks[pcn] if s[0] == "DTP" and s[1] == "434") for pcn in pcns
    )
    assert periods == ["20260308-20260308", "20260309-20260309"]
