"""Stays as the stays service tells them (``stays.stay.*``: the whole stay, with its
version), SPEC 12 vector 2 and 3, and a clock the tests move by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from charges.domain.per_diem import Stay, StayLeave
from contracts.codes import LeaveReason
from contracts.events.stays import StayStatus

Leave = tuple[str, str, str | None, str]  # (leave_id, start_date, return_date, reason)

# SPEC 12 vector 2: admitted 2026-01-10, away 01-20 back 01-23 (therapeutic), discharged
# home (01) on 2026-02-03.
V2_ADMIT = "2026-01-10"
V2_LEAVE: Leave = ("loa-1", "2026-01-20", "2026-01-23", "THERAPEUTIC")
V2_DISCHARGE = ("2026-02-03", "01")


@dataclass
class Clock:
    """``clock()`` is now; tests set ``clock.now``."""

    now: datetime

    @classmethod
    def fixed(cls, iso: str) -> Clock:
        return cls(datetime.fromisoformat(iso).astimezone(UTC))

    def __call__(self) -> datetime:
        return self.now

    def at(self, iso: str) -> None:
        self.now = datetime.fromisoformat(iso).astimezone(UTC)


def stay_data(
    stay_id: str,
    version: int,
    *,
    member_id: str,
    admit: str = V2_ADMIT,
    leaves: list[Leave] | None = None,
    discharge: tuple[str, str] | None = None,
    program_id: str = "residential",
    facility_id: str = "fac-springfield-res",
    status: str | None = None,
) -> dict[str, Any]:
    """The data of a ``stays.stay.*`` event."""
    return {
        "stay_id": stay_id,
        "stay_version": version,
        "member_id": member_id,
        "facility_id": facility_id,
        "program_id": program_id,
        "status": status or ("DISCHARGED" if discharge else "ADMITTED"),
        "admission": {
            "admit_date": admit,
            "admit_hour": 14,
            "admission_type": "3",
            "admission_source": "1",
            "principal_diagnosis": "F332",
        },
        "leaves": [
            {"leave_id": lid, "start_date": start, "return_date": back, "reason": reason}
            for lid, start, back, reason in leaves or []
        ],
        "discharge": (
            None
            if discharge is None
            else {
                "discharge_date": discharge[0],
                "discharge_hour": 10,
                "patient_status": discharge[1],
            }
        ),
    }


def corrected(data: dict[str, Any], kind: str, affected_from: str, **extra: Any) -> dict[str, Any]:
    return {**data, "correction_kind": kind, "affected_from": affected_from, **extra}


def stay(
    *,
    admit: str = V2_ADMIT,
    leaves: list[Leave] | None = None,
    discharge: str | None = None,
    program_id: str = "residential",
    status: StayStatus | None = None,
    version: int = 1,
) -> Stay:
    """The domain's view of a stay, for the pure tests."""
    return Stay(
        stay_id="stay-1",
        stay_version=version,
        member_id="m-1",
        facility_id="fac-1",
        program_id=program_id,
        status=status or (StayStatus.DISCHARGED if discharge else StayStatus.ADMITTED),
        admit_date=date.fromisoformat(admit),
        discharge_date=date.fromisoformat(discharge) if discharge else None,
        leaves=tuple(
            StayLeave(
                lid,
                date.fromisoformat(start),
                date.fromisoformat(back) if back else None,
                LeaveReason(reason),
            )
            for lid, start, back, reason in leaves or []
        ),
    )
