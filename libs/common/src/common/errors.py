"""The base of every domain rule violation. Pure: domain packages may import it.

A ``DomainError`` carries a stable ``code`` (``ILLEGAL_TRANSITION``, ``LOCKED``,
``STAY_DAY_MISMATCH``). The HTTP layer answers it as problem details with the status the
service maps the code to (one table per service); the event consumer dead-letters the
event that caused it, with the code, because retrying cannot help."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    #: True for "refers to something not recorded yet": consumers retry such an event with
    #: back-off (it may only be out of order) before dead-lettering it with its code.
    retryable: bool = False

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details


class NotYetKnown(DomainError):
    """The event names an aggregate this service has not recorded (yet)."""

    retryable = True
