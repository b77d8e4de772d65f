"""Program enrollment windows (SPEC 4): when the member was enrolled in a program, from
the EHR's member record. They resolve an admit date the claim does not carry: the start of
the window that brackets the claim's first date (SPEC 6, MISSING_ADMIT_DATE)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class EnrollmentWindow:
    program_id: str
    enrolled_from: date
    enrolled_to: date | None = None  # inclusive; None while enrolled

    def brackets(self, day: date) -> bool:
        return self.enrolled_from <= day and (self.enrolled_to is None or day <= self.enrolled_to)


def resolve_admit_date(
    windows: Iterable[EnrollmentWindow], program_id: str, first_date: date
) -> date | None:
    """The start of the member's enrollment in ``program_id`` bracketing ``first_date``;
    None when no window does (the claim then reports MISSING_ADMIT_DATE)."""
    for window in windows:
        if window.program_id == program_id and window.brackets(first_date):
            return window.enrolled_from
    return None
