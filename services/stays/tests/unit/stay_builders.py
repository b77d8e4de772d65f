"""Small builders for the stay unit tests (SPEC 12 vector 2's stay by default)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from contracts.codes import LeaveReason
from stays.domain.model import Admission, Discharge, Recorded, Stay

D = date.fromisoformat
ADMIT = D("2026-01-10")
WHEN = Recorded(at=datetime(2026, 2, 5, 15, 20, tzinfo=UTC), by="ehr/test", event_id="e-1")


def admission(**overrides: object) -> Admission:
    values: dict[str, object] = {
        "admit_date": ADMIT,
        "admit_hour": 14,
        "admission_type": "3",
        "admission_source": "1",
        "principal_diagnosis": "F200",
    }
    values.update(overrides)
    return Admission.model_validate(values)


def stay(**overrides: object) -> Stay:
    return Stay.admit(
        tenant_id="t1",
        stay_id="S1",
        member_id="M1",
        facility_id="F1",
        program_id="RES",
        admission=admission(**overrides),
        recorded=WHEN,
    )


def discharge(on: str = "2026-02-03", hour: int = 10, status: str = "01") -> Discharge:
    return Discharge(discharge_date=D(on), discharge_hour=hour, patient_status=status)


def start(
    s: Stay,
    leave_id: str,
    on: str,
    back: str | None = None,
    reason: LeaveReason = LeaveReason.THERAPEUTIC,
) -> object:
    return s.start_leave(
        leave_id=leave_id,
        start_date=D(on),
        return_date=D(back) if back else None,
        reason=reason,
        recorded=WHEN,
    )


def end(s: Stay, leave_id: str, back: str) -> object:
    return s.end_leave(leave_id=leave_id, return_date=D(back), recorded=WHEN)
