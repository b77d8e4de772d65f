"""What charges keeps of a group session: the last close it priced and the last reopen it
applied, so that a stale or repeated ``closed`` / ``reopened`` (redelivered, duplicated by
the producer, or arriving out of order) changes nothing.

Attendance numbers the closings of a session (``close_sequence`` 1, 2, ...); a reopen names
the closing it undoes. A close is news when its number is above every close and reopen
seen; a reopen is news when it undoes the last close seen or a later one."""

from __future__ import annotations

from dataclasses import dataclass, replace

from common.errors import DomainError
from contracts.events.attendance import GroupSessionClosed, GroupSessionReopened


class SessionNotClosed(DomainError):
    def __init__(self, session_id: str) -> None:
        super().__init__(
            "SESSION_NOT_CLOSED",
            "this session has not closed: there is nothing to charge",
            session_id=session_id,
        )


class SessionReopened(DomainError):
    def __init__(self, session_id: str, close_sequence: int) -> None:
        super().__init__(
            "SESSION_REOPENED",
            "the session was reopened; its charges are built when it closes again",
            session_id=session_id,
            close_sequence=close_sequence,
        )


@dataclass(frozen=True)
class GroupSessionLedger:
    tenant_id: str
    session_id: str
    closed: GroupSessionClosed | None = None
    reopened_sequence: int = 0

    @property
    def closed_sequence(self) -> int:
        return self.closed.close_sequence if self.closed is not None else 0

    @property
    def is_closed(self) -> bool:
        return self.closed is not None and self.closed_sequence > self.reopened_sequence

    def takes_close(self, event: GroupSessionClosed) -> bool:
        return event.close_sequence > max(self.closed_sequence, self.reopened_sequence)

    def takes_reopen(self, event: GroupSessionReopened) -> bool:
        return (
            event.close_sequence >= self.closed_sequence
            and event.close_sequence > self.reopened_sequence
        )

    def with_close(self, event: GroupSessionClosed) -> GroupSessionLedger:
        return replace(self, closed=event)

    def with_reopen(self, event: GroupSessionReopened) -> GroupSessionLedger:
        return replace(self, reopened_sequence=event.close_sequence)

    def close_to_charge(self) -> GroupSessionClosed:
        """The close an operator's "Generate charges" builds from."""
        if self.closed is None:
            raise SessionNotClosed(self.session_id)
        if not self.is_closed:
            raise SessionReopened(self.session_id, self.reopened_sequence)
        return self.closed
