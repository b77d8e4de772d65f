"""Void and replacement claims end to end (issue #5): after the clearinghouse accepted a
claim, a forced attendance change on its group session and a late leave on its stay cycle
make it STALE; the operator reverses (void, frequency 8) and rebuilds, or replaces it
(frequency 7). Each correction reaches the sandbox as an 837 carrying the original's
reference (REF*F8: the payer claim control number the 277CA gave), passes pyx12, and is
acknowledged like any claim."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Sequence
from datetime import date
from typing import Any

import httpx
import pytest

from common.testing.clearinghouse import SandboxProcess
from common.testing.messages import bearer
from common.testing.processes import Suite
from common.testing.scenarios import (
    eventually,
    retarget,
    run_group_session,
    run_stay,
    sample,
)
from common.testing.x12 import parse_interchange, pyx12_errors

from .conftest import HOLD_TENANT, SFTP_TENANT

pytestmark = pytest.mark.e2e

Publish = Callable[..., Coroutine[Any, Any, None]]
TENANT = SFTP_TENANT
READ = ("billing.claim.read",)
WRITE = ("billing.claim.read", "billing.claim.write")
FORCE = ("clinical.attendance.write", "clinical.attendance.write.force")


def scoped(
    token: Callable[..., str], scopes: Sequence[str], tenant: str = TENANT
) -> dict[str, str]:
    return bearer(token(tenant=tenant, scopes=list(scopes)))


async def claims_where(
    suite: Suite, token: Callable[..., str], **filters: str
) -> dict[str, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=suite.url("claims"), timeout=10) as api:
        response = await api.get("/v1/claims", params=filters, headers=scoped(token, READ))
        response.raise_for_status()
        return {c["claim_id"]: c for c in response.json()["items"]}


async def detail(suite: Suite, token: Callable[..., str], claim_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=suite.url("claims"), timeout=10) as api:
        response = await api.get(f"/v1/claims/{claim_id}", headers=scoped(token, READ))
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


async def correct(
    suite: Suite, token: Callable[..., str], claim_id: str, action: str, reason: str | None
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=suite.url("claims"), timeout=20) as api:
        response = await api.post(
            f"/v1/claims/{claim_id}/{action}",
            json=None if reason is None else {"reason": reason},
            headers=scoped(token, WRITE),
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def until(
    suite: Suite,
    token: Callable[..., str],
    done: Callable[[dict[str, dict[str, Any]]], bool],
    seconds: float = 90,
    **filters: str,
) -> dict[str, dict[str, Any]]:
    async def probe() -> dict[str, dict[str, Any]] | None:
        claims = await claims_where(suite, token, **filters)
        return claims if claims and done(claims) else None

    return await eventually(probe, seconds)


async def payer_number(suite: Suite, token: Callable[..., str], claim_id: str) -> str:
    """The payer claim control number the sandbox's 277CA gave the first version."""
    versions = (await detail(suite, token, claim_id))["versions"]
    number = versions[0]["payer_claim_control_number"]
    assert number, versions
    return str(number)


def sent_blocks(
    sandbox: SandboxProcess, pcn: str, tenant: str = TENANT
) -> list[tuple[str, list[list[str]]]]:
    """Every claim block with CLM01 = ``pcn`` in the files the sandbox received, each with
    its file name, oldest file first (a void or replacement reuses the original's CLM01)."""
    found = []
    for path in sorted(sandbox.inbound.glob(f"{tenant}_*.x12")):
        block: list[list[str]] | None = None
        for segment in parse_interchange(path.read_text()).segments_list:
            if segment[0] == "CLM":
                block = [] if segment[1] == pcn else None
                if block is not None:
                    found.append((path.name, block))
            elif segment[0] in ("HL", "SE"):
                block = None
            if block is not None:
                block.append(segment)
    return found


async def tell_a_leave(publish: Publish, tenant: str, leave_id: str, stay_id: str) -> None:
    """The EHR's therapeutic leave of the stay, 2026-04-20 to 04-23 (three nights away)."""
    started = retarget(sample("ehr.stay.leave_started.v1"), tenant, leave_id)
    started["data"].update(
        stay_id=stay_id,
        leave_id=leave_id,
        start_date="2026-04-20",
        reason="THERAPEUTIC",
        expected_return_date=None,
        note=None,
    )
    ended = retarget(sample("ehr.stay.leave_ended.v1"), tenant, f"{leave_id}-e")
    ended["data"].update(stay_id=stay_id, leave_id=leave_id, return_date="2026-04-23")
    await publish(started)
    await publish(ended)


def ref(block: list[list[str]], qualifier: str) -> str | None:
    return next((s[2] for s in block if s[0] == "REF" and s[1] == qualifier), None)


async def test_a_forced_attendance_change_on_a_billed_session_ends_in_voids_and_new_claims(
    suite: Suite, publish: Publish, token: Callable[..., str], sandbox: SandboxProcess
) -> None:
    run = uuid.uuid4().hex[:8]
    session = await run_group_session(
        attendance_url=suite.url("attendance"),
        claims_url=suite.url("claims"),
        publish=publish,
        bearer=lambda scopes: scoped(token, scopes),
        tenant=TENANT,
        run=run,
        day=date(2026, 3, 16),
        marks=["ATTENDED"] * 6,  # six billable: Medium, $40.00 each
        payers=["acme-commercial"],
    )
    accepted = await until(
        suite,
        token,
        lambda cs: len(cs) == 6 and all(c["status"] == "ACCEPTED" for c in cs.values()),
        session_id=session.session_id,
    )
    by_member = {c["member_id"]: c for c in accepted.values()}
    absent = session.members[5]
    numbers = {m: await payer_number(suite, token, by_member[m]["claim_id"]) for m in by_member}
    path = f"/v1/group-sessions/{session.session_id}"
    force = {"status": "ABSENT", "force": True, "reason": "left before the session began"}

    # SPEC 3: while its claims are at the payer, the force names them and changes nothing.
    async with httpx.AsyncClient(base_url=suite.url("attendance"), timeout=10) as api:
        refused = await api.put(
            f"{path}/participants/{absent}/status", json=force, headers=scoped(token, FORCE)
        )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "CLAIM_SUBMITTED"
    assert set(refused.json()["claim_ids"]) == set(accepted)

    # The operator reverses them: six voids go out, each naming the payer's claim number.
    for claim in accepted.values():
        body = await correct(suite, token, claim["claim_id"], "reverse", "attendance correction")
        assert (body["status"], body["frequency_code"]) == ("REVERSED", "8")

    async def attendance_sees_reversals() -> bool | None:
        async with httpx.AsyncClient(base_url=suite.url("attendance"), timeout=10) as api:
            response = await api.put(
                f"{path}/participants/{absent}/status", json=force, headers=scoped(token, FORCE)
            )
        return True if response.status_code == 200 else None

    await eventually(attendance_sees_reversals, 60)  # the force goes through now
    async with httpx.AsyncClient(base_url=suite.url("attendance"), timeout=10) as api:
        response = await api.post(f"{path}/finalize", json={}, headers=scoped(token, FORCE))
        assert response.status_code == 200, response.text

    # Five billable now (Small, $50.00): new claims, fresh originals, accepted.
    def rebilled(claims: dict[str, dict[str, Any]]) -> bool:
        fresh = [c for c in claims.values() if c["claim_id"] not in accepted]
        return len(fresh) == 5 and all(c["status"] == "ACCEPTED" for c in fresh)

    claims = await until(suite, token, rebilled, seconds=120, session_id=session.session_id)
    fresh = {c["member_id"]: c for c in claims.values() if c["claim_id"] not in accepted}
    assert set(fresh) == set(session.members) - {absent}
    assert all(c["total_charge"] in ("50", "50.00") for c in fresh.values())
    assert all(claims[c]["status"] == "REVERSED" for c in accepted)

    # What the clearinghouse got: for each member the original, then its void (the
    # content first sent, REF*F8 the payer's number), then a fresh original at $50.00.
    for member, claim in by_member.items():
        [(first_file, original), (void_file, void)] = sent_blocks(
            sandbox, claim["patient_control_number"]
        )
        assert first_file != void_file
        assert original[0][5].split(":") == ["11", "B", "1"] and ref(original, "F8") is None
        assert void[0][5].split(":") == ["11", "B", "8"]
        assert ref(void, "F8") == numbers[member]
        assert void[0][2] in ("40", "40.00")
        assert pyx12_errors(sandbox.inbound / void_file) == []
    for claim in fresh.values():
        [(_, block)] = sent_blocks(sandbox, claim["patient_control_number"])
        assert block[0][5].split(":")[2] == "1" and ref(block, "F8") is None
        assert block[0][2] in ("50", "50.00")

    # The operator's overrides are on record: who, what, why.
    body = await detail(suite, token, by_member[absent]["claim_id"])
    assert [(o["action"], o["reason"]) for o in body["overrides"]] == [
        ("REVERSE", "attendance correction")
    ]


async def test_a_late_leave_on_a_submitted_stay_cycle_ends_in_a_replacement_file(
    suite: Suite, publish: Publish, token: Callable[..., str], sandbox: SandboxProcess
) -> None:
    run = uuid.uuid4().hex[:8]
    stay_id = f"stay-{run}"
    await run_stay(
        claims_url=suite.url("claims"),
        publish=publish,
        bearer=lambda scopes: scoped(token, scopes),
        tenant=TENANT,
        run=run,
        program_id="residential",
        admitted=date(2026, 4, 6),
        admit_hour=10,
        leaves=[],
        discharged=date(2026, 5, 4),
        discharge_status="01",
        expected_claims=2,
    )
    accepted = await until(
        suite,
        token,
        # A claim cancelled on the way (withdrawn, its days gone) never leaves.
        lambda cs: (
            [c["status"] for c in cs.values() if c["status"] != "CANCELLED"]
            == ["ACCEPTED", "ACCEPTED"]
        ),
        stay_id=stay_id,
    )
    [april] = [c for c in accepted.values() if c["period_from"] == "2026-04-06"]
    number = await payer_number(suite, token, april["claim_id"])

    # The EHR tells of a therapeutic leave in April only now: 20th to the 23rd.
    await tell_a_leave(publish, TENANT, f"{run}-late-loa", stay_id)

    def april_stale(cs: dict[str, dict[str, Any]]) -> bool:
        claim = cs.get(april["claim_id"])
        return claim is not None and claim["status"] == "STALE" and claim["reversal_needed"]

    await until(suite, token, april_stale, stay_id=stay_id)

    # The claim hears of the leave as soon as the stay changes; the day charges are
    # rewritten as LOA days a moment later. Until then the replacement does not scrub
    # (STAY_DAY_MISMATCH) and nothing changes: the operator tries again.
    async def replaced() -> dict[str, Any] | None:
        async with httpx.AsyncClient(base_url=suite.url("claims"), timeout=20) as api:
            response = await api.post(
                f"/v1/claims/{april['claim_id']}/replace",
                json={"reason": "leave reported late by the EHR"},
                headers=scoped(token, WRITE),
            )
        if response.status_code == 422 and response.json()["code"] == "REPLACEMENT_NOT_CLEAN":
            assert [i["code"] for i in response.json()["issues"]] == ["STAY_DAY_MISMATCH"]
            return None
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    replacement = await eventually(replaced, 60)
    assert (replacement["status"], replacement["frequency_code"]) == ("SUBMITTED", "7")

    def replaced_accepted(cs: dict[str, dict[str, Any]]) -> bool:
        claim = cs[april["claim_id"]]
        return claim["status"] == "ACCEPTED" and claim["claim_version"] >= 2

    await until(suite, token, replaced_accepted, stay_id=stay_id)

    blocks = sent_blocks(sandbox, april["patient_control_number"])
    [(_, original), (file_name, corrected)] = blocks
    assert original[0][5] == "86:A:2"
    assert corrected[0][5] == "86:A:7"
    assert ref(corrected, "F8") == number
    hi = "|".join("*".join(s) for s in corrected if s[0] == "HI")
    assert "BI:74:RD8:20260420-20260422" in hi  # the leave, as an occurrence span
    assert "BE:81:::3" in hi  # three nights away: non-covered days
    assert pyx12_errors(sandbox.inbound / file_name) == []


async def test_a_late_leave_before_the_claim_left_withdraws_it_and_one_original_goes_out(
    suite: Suite, publish: Publish, token: Callable[..., str], sandbox: SandboxProcess
) -> None:
    """#10's race, end to end: the EHR tells of a leave a moment after the stay's claim
    was submitted, while it waits out its batch window (30 s for this tenant). The gateway
    withdraws it; the claims service rebuilds it as an original with the leave; the payer
    gets that one claim, never the first version nor a void or replacement."""
    run = uuid.uuid4().hex[:8]
    stay_id = f"stay-{run}"
    [submitted] = await run_stay(
        claims_url=suite.url("claims"),
        publish=publish,
        bearer=lambda scopes: scoped(token, scopes, HOLD_TENANT),
        tenant=HOLD_TENANT,
        run=run,
        program_id="residential",
        admitted=date(2026, 4, 6),
        admit_hour=10,
        leaves=[],
        discharged=date(2026, 4, 28),
        discharge_status="01",
        expected_claims=1,
        until_sent=False,
    )
    # Not sent yet. (Its version may already be 2: when the discharge reaches the claims
    # service after the in-house months were built from the stay's days, those are
    # withdrawn the same way, and this one rebuilt as the stay's only claim.)
    assert submitted["transmissions"] == []
    await tell_a_leave(publish, HOLD_TENANT, f"{run}-loa", stay_id)

    async def accepted() -> dict[str, Any] | None:
        async with httpx.AsyncClient(base_url=suite.url("claims"), timeout=10) as api:
            response = await api.get(
                f"/v1/claims/{submitted['claim_id']}",
                headers=scoped(token, READ, HOLD_TENANT),
            )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body if body["status"] == "ACCEPTED" else None

    claim = await eventually(accepted, 120)
    history = [(c["to_status"], c["reason_codes"]) for c in claim["status_history"]]
    assert ("STALE", ["WITHDRAWN_BEFORE_SENDING"]) in history, history
    assert claim["claim_version"] >= 2 and not claim["reversal_needed"]
    assert [t["claim_version"] for t in claim["transmissions"]] == [claim["claim_version"]]

    [(file_name, sent)] = sent_blocks(sandbox, submitted["patient_control_number"], HOLD_TENANT)
    assert sent[0][5] == "86:A:1"  # admit through discharge: an original
    assert ref(sent, "F8") is None
    hi = "|".join("*".join(s) for s in sent if s[0] == "HI")
    assert "BI:74:RD8:20260420-20260422" in hi  # the leave, as an occurrence span
    assert pyx12_errors(sandbox.inbound / file_name) == []
