"""Stays: a span of facility days for one member in one program (SPEC 4).

Pure rules, no I/O. The stays service records what the EHR says happened and refuses
what cannot have happened, with a stable code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from common.errors import DomainError
from contracts.events.stay_components import Admission

__all__ = ["Admission", "Stay", "StayRuleViolation", "StayStatus"]


class StayStatus(StrEnum):
    ADMITTED = "ADMITTED"
    DISCHARGED = "DISCHARGED"
    ENTERED_IN_ERROR = "ENTERED_IN_ERROR"


class StayRuleViolation(DomainError):
    """Input that cannot describe a real stay; ``code`` is stable across versions."""


@dataclass
class Stay:
    tenant_id: str
    stay_id: str
    member_id: str
    facility_id: str
    program_id: str
    admission: Admission
    status: StayStatus = StayStatus.ADMITTED
    discharge_date: date | None = None
    discharge_hour: int | None = None
    discharge_status: str | None = None
    version: int = 0
    events: list[str] = field(default_factory=list)

    @classmethod
    def admit(
        cls,
        *,
        tenant_id: str,
        stay_id: str,
        member_id: str,
        facility_id: str,
        program_id: str,
        admission: Admission,
    ) -> Stay:
        stay = cls(
            tenant_id=tenant_id,
            stay_id=stay_id,
            member_id=member_id,
            facility_id=facility_id,
            program_id=program_id,
            admission=admission,
        )
        stay.events.append("admitted")
        return stay

    def same_admission(self, member_id: str, program_id: str, admission: Admission) -> bool:
        return (
            self.member_id == member_id
            and self.program_id == program_id
            and self.admission == admission
        )

    def length_of_stay(self, as_of: date) -> int:
        """Days by the midnight rule: admission day counts, discharge day does not, a
        same-day stay is one day. An open stay counts through ``as_of``."""
        start = self.admission.admit_date
        if self.discharge_date is not None:
            return max(1, (self.discharge_date - start).days)
        return max(0, (as_of - start).days + 1)
