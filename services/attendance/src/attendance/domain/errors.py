"""The stable codes of every attendance rule, defined once (STYLE 7).

The HTTP layer maps each code to a status in one table; the event consumer dead-letters
the event that caused one, with the code in its headers."""

from __future__ import annotations

from typing import Any

from common.errors import DomainError, NotYetKnown

ILLEGAL_TRANSITION = "ILLEGAL_TRANSITION"
SESSION_UNKNOWN = "SESSION_UNKNOWN"
SESSION_CANCELLED = "SESSION_CANCELLED"
SESSION_CLOSED = "SESSION_CLOSED"
SESSION_ALREADY_EXISTS = "SESSION_ALREADY_EXISTS"
PARTICIPANT_UNKNOWN = "PARTICIPANT_UNKNOWN"
SUPERVISOR_UNKNOWN = "SUPERVISOR_UNKNOWN"
INVALID_TIME_WINDOW = "INVALID_TIME_WINDOW"
VERSION_CONFLICT = "VERSION_CONFLICT"
# Closing, locking and overrides (SPEC 3).
LOCKED = "LOCKED"  # charges are built; only a forced change may touch it
UNMARKED_PARTICIPANTS = "UNMARKED_PARTICIPANTS"  # finalize with SCHEDULED rows
BLOCKING_ISSUES = "BLOCKING_ISSUES"  # finalize while the preview has an error
WARNINGS_NOT_ACKNOWLEDGED = "WARNINGS_NOT_ACKNOWLEDGED"  # a warning that needs knowing consent
NOT_ACKNOWLEDGEABLE = "NOT_ACKNOWLEDGEABLE"  # only warnings may be acknowledged
FORCE_REASON_REQUIRED = "FORCE_REASON_REQUIRED"
CLAIM_SUBMITTED = "CLAIM_SUBMITTED"  # a claim holding the session's charges is at the payer
CLOSE_SEQUENCE_UNKNOWN = "CLOSE_SEQUENCE_UNKNOWN"  # charges name a closing never made
BILLING_POLICY_UNAVAILABLE = "BILLING_POLICY_UNAVAILABLE"  # no billable statuses in force


class AttendanceRuleViolation(DomainError):
    """A request or event the attendance rules refuse; ``code`` is stable across versions."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(code, message, **details)


class SessionUnknown(AttendanceRuleViolation, NotYetKnown):
    """An event or request names a session not recorded (yet): the scheduling event may be
    on its way, so consumers retry before refusing."""

    def __init__(self, session_id: str) -> None:
        super().__init__(SESSION_UNKNOWN, f"no session {session_id}", session_id=session_id)
