"""Realistic HL7 v2.5.1 ADT messages (CR segment separators) for SPEC 12 vector 2's stay:
admitted 2026-01-10 14:30, leave 01-20 back 01-23, discharged home 2026-02-03 10:15."""

from __future__ import annotations

from collections.abc import Mapping

SENDER = "HARBOR_EHR"  # demo-bh's sending facility (MSH-4)
FACILITY = "SPRINGFIELD_RES"  # demo-bh's facility code (PV1-3.4)
STRUCTURES = {"A01": "ADT_A01", "A04": "ADT_A01", "A05": "ADT_A05", "A03": "ADT_A03"}


def segment(name: str, fields: Mapping[int, str]) -> str:
    """``name|f1|f2|...`` with the given fields at their HL7 positions."""
    last = max(fields, default=0)
    return "|".join([name, *(fields.get(n, "") for n in range(1, last + 1))])


def msh(trigger: str, control_id: str, sender: str = SENDER) -> str:
    structure = STRUCTURES.get(trigger, "ADT_A09" if trigger in ("A21", "A22") else "ADT_A01")
    return (
        f"MSH|^~\\&|EPICADT|{sender}|RCM|RCM|20260110143500||ADT^{trigger}^{structure}|"
        f"{control_id}|P|2.5.1|||AL|NE"
    )


def evn(trigger: str, occurred: str = "", reason: str = "", recorded: str = "") -> str:
    return segment("EVN", {1: trigger, 2: recorded or "20260110143500", 4: reason, 6: occurred})


PID = segment(
    "PID",
    {
        1: "1",
        3: "999-88-7777^^^SSA^SS~MRN4471^^^HARBOR^MR",
        5: "DOE^JANE^Q",
        7: "19800101",
        8: "F",
        11: "100 MAIN ST^^SPRINGFIELD^IL^62701",
    },
)


def pv1(visit: str, **fields: str) -> str:
    values = {
        1: "1",
        2: "I",
        3: f"SPR-RES^101^A^{FACILITY}",
        4: "R",
        7: "1234567890^WELBY^MARCUS",
        10: "PSY",
        14: "1",
        18: "RES",
        19: visit,
        44: "20260110143000",
    }
    for key, value in fields.items():
        values[int(key.removeprefix("f"))] = value
    return segment("PV1", values)


DG1_SEGMENTS = [
    "DG1|1||F33.2^Major depressive disorder, recurrent severe^I10||20260110|A",
    "DG1|2||F33.2^Major depressive disorder, recurrent severe^I10||20260110|W|||||||||1",
    "DG1|3||F41.1^Generalized anxiety disorder^I10||20260110|W|||||||||2",
]


def message(*segments: str) -> str:
    return "\r".join(segments) + "\r"


def a01(visit: str, control_id: str = "MSG-A01", **pv1_fields: str) -> str:
    return message(
        msh("A01", control_id),
        evn("A01", "20260110143000"),
        PID,
        pv1(visit, **pv1_fields),
        *DG1_SEGMENTS,
    )


def a21(visit: str, control_id: str = "MSG-A21", out: str = "20260120091500") -> str:
    return message(
        msh("A21", control_id),
        evn("A21", out, reason="01"),
        PID,
        pv1(visit),
        segment("PV2", {47: "20260123"}),
    )


def a22(visit: str, control_id: str = "MSG-A22", back: str = "20260123160000") -> str:
    return message(msh("A22", control_id), evn("A22", back), PID, pv1(visit))


def a03(
    visit: str,
    control_id: str = "MSG-A03",
    at: str = "20260203101500",
    disposition: str = "01",
) -> str:
    return message(
        msh("A03", control_id),
        evn("A03", at),
        PID,
        pv1(visit, f36=disposition, f45=at),
        *DG1_SEGMENTS,
    )


def cancel(trigger: str, visit: str, control_id: str, occurred: str = "") -> str:
    """A11 (admit), A13 (discharge), A52 (leave out) or A53 (leave return) cancelled."""
    return message(
        msh(trigger, control_id),
        evn(trigger, occurred, recorded="20260205152000"),
        PID,
        pv1(visit),
    )
