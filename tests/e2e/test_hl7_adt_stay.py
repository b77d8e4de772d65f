"""Issue #7 end to end: an EHR tells a stay as HL7 v2 ADT over MLLP (A01, A21, A22, A03)
to the stays service running as a process; the day charges, the cycle claims and the 837I
files that follow are the same as for the same stay told as JSON events (SPEC 12 vector 2).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import hl7
import httpx
import pytest
from hl7.mllp import open_hl7_connection

from common.testing.messages import bearer
from common.testing.processes import Suite
from common.testing.scenarios import LeaveOfAbsence, eventually, member_event, run_stay
from common.testing.x12 import parse_interchange, pyx12_errors

pytestmark = pytest.mark.e2e

Publish = Callable[..., Coroutine[Any, Any, None]]
TENANT = "demo-bh"
SENDER = "HARBOR_EHR"  # demo-bh's hl7.sending_facilities
FACILITY_CODE = "SPRINGFIELD_RES"  # demo-bh's hl7.facilities -> fac-springfield-res


def segment(name: str, fields: dict[int, str]) -> str:
    return "|".join([name, *(fields.get(n, "") for n in range(1, max(fields) + 1))])


def adt(trigger: str, control_id: str, member: str, visit: str, *extra: str) -> str:
    structure = {"A01": "ADT_A01", "A03": "ADT_A03"}.get(trigger, "ADT_A09")
    segments = [
        f"MSH|^~\\&|EHR|{SENDER}|RCM|RCM|20260110143500||ADT^{trigger}^{structure}|"
        f"{control_id}|P|2.5.1|||AL|NE",
        *extra,
    ]
    pid = segment("PID", {1: "1", 3: f"{member}^^^HARBOR^MR", 5: "DOE^JANE", 7: "19800101"})
    pv1 = {
        1: "1",
        2: "I",
        3: f"SPR-RES^101^A^{FACILITY_CODE}",
        4: "R",
        14: "1",
        19: visit,
        44: "20260110140000",
    }
    if trigger == "A03":
        pv1.update({36: "HOME", 45: "20260203101500"})
    segments[1:1] = [pid, segment("PV1", pv1)]
    return "\r".join(segments) + "\r"


def evn(trigger: str, occurred: str) -> str:
    return segment("EVN", {1: trigger, 2: "20260110143500", 6: occurred})


async def send(suite: Suite, messages: Sequence[str]) -> list[str]:
    """Each message over one MLLP connection to the stays process; answers MSA-1 of each
    ACK."""
    answers = []
    port = int(suite.processes["stays"].env["HL7_MLLP_PORT"])
    reader, writer = await open_hl7_connection("127.0.0.1", port)
    try:
        for text in messages:
            writer.writemessage(hl7.parse(text))
            await writer.drain()
            ack = await reader.readmessage()
            answers.append(str(ack.segment("MSA")[1]))
    finally:
        writer.close()
        await writer.wait_closed()
    return answers


def claim_summary(folder: Path, pcn: str) -> dict[str, Any]:
    """What an 837I says about one claim, without the member's own identifiers."""
    for path in sorted(folder.glob("*_837I_*.x12")):
        segments = parse_interchange(path.read_text()).segments_list
        for index, seg in enumerate(segments):
            if seg[0] == "CLM" and seg[1] == pcn:
                assert pyx12_errors(path) == []
                block = []
                for following in segments[index:]:
                    if following[0] in ("HL", "SE") and block:
                        break
                    block.append(following)
                return {
                    "clm": seg[2:],
                    "dtp": sorted("*".join(s) for s in block if s[0] == "DTP"),
                    "cl1": ["*".join(s) for s in block if s[0] == "CL1"],
                    "hi": sorted("*".join(s) for s in block if s[0] == "HI"),
                    "sv2": sorted("*".join(s) for s in block if s[0] == "SV2"),
                }
    raise AssertionError(f"{pcn} is in no 837I file")


async def claims_of_stay(
    suite: Suite, headers: dict[str, str], stay_id: str, count: int
) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=suite.url("claims"), timeout=10) as api:

        async def transmitted() -> list[dict[str, Any]] | None:
            response = await api.get("/v1/claims", params={"stay_id": stay_id}, headers=headers)
            items: list[dict[str, Any]] = response.json()["items"]
            done = len(items) == count and all(c["transmissions"] for c in items)
            return items if done else None

        return await eventually(transmitted, 120)


async def test_a_stay_told_as_hl7_adt_bills_like_the_same_stay_told_as_json(
    suite: Suite,
    publish: Publish,
    token: Callable[..., str],
    clearinghouse_folder: Path,
) -> None:
    run = uuid.uuid4().hex[:8]
    reader = bearer(token(tenant=TENANT, scopes=["billing.claim.read", "clinical.encounter.read"]))

    # The JSON twin: SPEC 12 vector 2 through the EHR's JSON events.
    twin = await run_stay(
        claims_url=suite.url("claims"),
        publish=publish,
        bearer=lambda scopes: bearer(token(tenant=TENANT, scopes=list(scopes))),
        tenant=TENANT,
        run=f"{run}j",
        program_id="residential",
        admitted=date(2026, 1, 10),
        admit_hour=14,
        leaves=[LeaveOfAbsence("loa-1", date(2026, 1, 20), date(2026, 1, 23))],
        discharged=date(2026, 2, 3),
        discharge_status="01",
        expected_claims=2,
    )

    # The same stay over MLLP. Members still come from the EHR's member feed.
    member, visit = f"m-{run}h", f"V{run}"
    enrolled = member_event(
        TENANT, member, f"{run}-hm", payer_id="acme-commercial", diagnoses=["F332"]
    )
    enrolled["data"]["program_enrollments"] = [
        {"program_id": "residential", "enrolled_from": "2026-01-10", "enrolled_to": None}
    ]
    await publish(enrolled)

    async def member_known() -> bool | None:
        async with httpx.AsyncClient(base_url=suite.url("stays"), timeout=10) as api:
            response = await api.get(f"/v1/members/{member}/enrollments", headers=reader)
            return True if response.status_code == 200 and response.json() else None

    await eventually(member_known, 30)
    diagnosis = "DG1|1||F33.2^Major depressive disorder^I10||20260110|W|||||||||1"
    messages = [
        adt("A01", f"{run}-1", member, visit, evn("A01", "20260110140000"), diagnosis),
        adt("A21", f"{run}-2", member, visit, evn("A21", "20260120")),
        adt("A22", f"{run}-3", member, visit, evn("A22", "20260123")),
        adt("A03", f"{run}-4", member, visit, evn("A03", "20260203101500")),
    ]
    assert await send(suite, messages) == ["AA", "AA", "AA", "AA"]
    assert await send(suite, messages[1:2]) == ["AA"]  # a duplicate: applied once, answered again

    async with httpx.AsyncClient(base_url=suite.url("stays"), timeout=10) as api:
        stay = (await api.get(f"/v1/stays/{visit}", headers=reader)).json()
    assert len(stay["leaves"]) == 1 and stay["status"] == "DISCHARGED", stay

    told_as_hl7 = await claims_of_stay(suite, reader, visit, 2)
    by_period = {c["period_from"]: c for c in told_as_hl7}
    twin_by_period = {c["period_from"]: c for c in twin}
    assert set(by_period) == set(twin_by_period) == {"2026-01-10", "2026-02-01"}
    for start, claim in by_period.items():
        other = twin_by_period[start]
        assert (claim["total_charge"], claim["period_to"]) == (
            other["total_charge"],
            other["period_to"],
        )
        assert claim_summary(clearinghouse_folder, claim["patient_control_number"]) == (
            claim_summary(clearinghouse_folder, other["patient_control_number"])
        )
