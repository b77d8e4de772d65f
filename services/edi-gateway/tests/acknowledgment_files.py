"""Acknowledgment files as a clearinghouse writes them back (TA1, 999 005010X231A1,
277CA 005010X214), built around our own control numbers and patient control numbers.
Every one passes pyx12 (``test_acknowledgment_parsing`` checks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

CLEARINGHOUSE_ID = "LOCALCH"
OUR_ID = "HARBORBH"


def isa(isa13: int, *, element: str = "*", component: str = ":", segment: str = "~") -> str:
    e = element
    return (
        f"ISA{e}00{e}          {e}00{e}          {e}ZZ{e}{CLEARINGHOUSE_ID:<15}{e}ZZ{e}"
        f"{OUR_ID:<15}{e}260310{e}1200{e}^{e}00501{e}{isa13:09d}{e}0{e}T{e}{component}{segment}"
    )


def ta1(our_isa13: int, code: str = "R", note: str = "025", *, isa13: int = 800000001) -> str:
    return isa(isa13) + f"TA1*{our_isa13:09d}*260310*1200*{code}*{note}~IEA*0*{isa13:09d}~"


def _envelope(
    set_id: str, version: str, fic: str, body: Sequence[str], isa13: int, gs06: int = 1
) -> str:
    segments = [f"ST*{set_id}*0001*{version}", *body]
    segments.append(f"SE*{len(segments) + 1}*0001")
    return (
        isa(isa13)
        + f"GS*{fic}*{CLEARINGHOUSE_ID}*{OUR_ID}*20260310*1200*{gs06}*X*{version}~"
        + "~".join(segments)
        + f"~GE*1*{gs06}~IEA*1*{isa13:09d}~"
    )


@dataclass(frozen=True)
class SetResult:
    st02: int
    code: str = "A"  # IK501
    errors: Sequence[str] = ()  # IK3/IK4 segments


def ack_999(gs06: int, sets: Sequence[SetResult], *, isa13: int = 800000002) -> str:
    body = ["AK1*HC*" + str(gs06) + "*005010X222A1"]
    for result in sets:
        body.append(f"AK2*837*{result.st02:04d}*005010X222A1")
        body.extend(result.errors)
        body.append(f"IK5*{result.code}" + ("*5" if result.code == "R" else ""))
    accepted = sum(1 for s in sets if s.code in ("A", "E"))
    code = "A" if accepted == len(sets) else ("R" if accepted == 0 else "P")
    body.append(f"AK9*{code}*{len(sets)}*{len(sets)}*{accepted}")
    return _envelope("999", "005010X231A1", "FA", body, isa13)


@dataclass(frozen=True)
class ClaimResult:
    pcn: str
    status: str = "A2:20:PR"  # STC01
    amount: str = "50"
    service_date: str = "20260309"
    payer_claim_number: str | None = "PAYERCLM1"
    message: str | None = None
    lines: Sequence[tuple[str, str]] = field(default_factory=tuple)  # (6R, STC01)


def ack_277ca(claims: Sequence[ClaimResult], *, party: str = "PR", isa13: int = 800000003) -> str:
    total = sum(float(c.amount) for c in claims)
    body = [
        "BHT*0085*08*BATCH1*20260310*1200*TH",
        "HL*1**20*1",
        f"NM1*{party}*2*{'ACME HEALTH PLAN' if party == 'PR' else 'LOCAL CLEARINGHOUSE'}"
        + "*****PI*ACMEH",
        "TRN*1*TRACE0",
        "DTP*050*D8*20260310",
        "DTP*009*D8*20260310",
        "HL*2*1*21*1",
        "NM1*41*2*HARBOR BEHAVIORAL HEALTH*****46*HARBORBH",
        "TRN*2*BATCH1",
        f"STC*A1:19:PR*20260310*WQ*{total:g}",
        f"QTY*90*{len(claims)}",
        f"AMT*YU*{total:g}",
        "HL*3*2*19*1",
        "NM1*85*2*HARBOR BEHAVIORAL HEALTH*****XX*1999999984",
        "TRN*1*0",
        f"STC*A1:19:85**WQ*{total:g}",
        f"QTY*QA*{len(claims)}",
        f"AMT*YU*{total:g}",
    ]
    for number, claim in enumerate(claims, start=4):
        text = f"********{claim.message}" if claim.message else ""
        action = "WQ" if claim.status.startswith(("A1", "A2")) else "U"
        body += [
            f"HL*{number}*3*PT",
            "NM1*QC*1*DOE*JANE****MI*ABC123",
            f"TRN*2*{claim.pcn}",
            f"STC*{claim.status}*20260310*{action}*{claim.amount}{text}",
        ]
        if claim.payer_claim_number:
            body.append(f"REF*1K*{claim.payer_claim_number}")
        body.append(f"DTP*472*D8*{claim.service_date}")
        for control_number, status in claim.lines:
            body += [
                f"SVC*HC:90853:HQ*{claim.amount}*****1",
                f"STC*{status}*20260310*U",
                f"REF*FJ*{control_number}",
                f"DTP*472*D8*{claim.service_date}",
            ]
    return _envelope("277", "005010X214", "HN", body, isa13)
