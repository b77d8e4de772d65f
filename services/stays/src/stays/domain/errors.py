"""The stable codes of every stay rule, defined once (STYLE 7).

The HTTP layer maps each code to a status in one table (409 when the request conflicts
with what the stay already holds, 422 when it cannot describe a real stay, 404 when it
names something not recorded); the event consumer retries a ``NotYetKnown`` refusal (the
event it waits for may be on its way) and dead-letters the others with their code."""

from __future__ import annotations

from typing import Any

from common.errors import DomainError, NotYetKnown

# Impossible input (422): no real stay looks like this.
LEAVE_OUTSIDE_STAY = "LEAVE_OUTSIDE_STAY"  # before the admission, or past the discharge
LEAVE_OVERLAPS = "LEAVE_OVERLAPS"  # nights away shared with another leave
DISCHARGE_BEFORE_ADMISSION = "DISCHARGE_BEFORE_ADMISSION"
OUT_OF_ORDER = "OUT_OF_ORDER"  # dates out of order: a return not after its leave's start
# Conflicts with the stay's state (409).
LEAVE_ALREADY_OPEN = "LEAVE_ALREADY_OPEN"  # the member is away on a leave not ended yet
LEAVE_NOT_OPEN = "LEAVE_NOT_OPEN"  # ending a leave that already ended on another date
LEAVE_ID_IN_USE = "LEAVE_ID_IN_USE"  # a different leave told under a known leave id
LEAVE_CANCELLED = "LEAVE_CANCELLED"  # correcting a leave that was cancelled
STAY_DISCHARGED = "STAY_DISCHARGED"  # a leave from the discharge day on, a second discharge
STAY_ENTERED_IN_ERROR = "STAY_ENTERED_IN_ERROR"  # the admission was void: no more changes
STAY_ALREADY_ADMITTED = "STAY_ALREADY_ADMITTED"  # another admission under a known stay id
# Not recorded (yet): retried by the consumer, 404 (or 409) over HTTP.
STAY_UNKNOWN = "STAY_UNKNOWN"
LEAVE_UNKNOWN = "LEAVE_UNKNOWN"
STAY_NOT_DISCHARGED = "STAY_NOT_DISCHARGED"  # a discharge change or undo before the discharge


class StayRuleViolation(DomainError):
    """Input that cannot describe a real stay, or conflicts with it; ``code`` is stable."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(code, message, **details)


class StayUnknown(StayRuleViolation, NotYetKnown):
    """The stay is not recorded (yet): its admission may arrive after this event."""

    def __init__(self, stay_id: str) -> None:
        super().__init__(STAY_UNKNOWN, f"no stay {stay_id}", stay_id=stay_id)


class LeaveUnknown(StayRuleViolation, NotYetKnown):
    """The leave is not recorded (yet): its start may arrive after its end or cancel."""

    def __init__(self, stay_id: str, leave_id: str) -> None:
        super().__init__(
            LEAVE_UNKNOWN, f"stay {stay_id} has no leave {leave_id}", leave_id=leave_id
        )


class StayNotDischarged(StayRuleViolation, NotYetKnown):
    """A discharge correction for a stay without a discharge: the discharge may be on its
    way (events out of order) or was already undone."""

    def __init__(self, stay_id: str) -> None:
        super().__init__(STAY_NOT_DISCHARGED, f"stay {stay_id} has no discharge")
