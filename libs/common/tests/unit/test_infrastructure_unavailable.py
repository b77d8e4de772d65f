"""Which failures mean "the database or the network is down, not the event wrong" (the
consumer waits for those in place instead of spending the delivery limit)."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc

from common.messaging import infrastructure_unavailable


def wrapped(orig: BaseException) -> sa_exc.DBAPIError:
    return sa_exc.DBAPIError("SELECT 1", None, orig)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "failure",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        ConnectionResetError("reset by peer"),
        TimeoutError(),
        OSError(113, "No route to host"),
        wrapped(asyncpg.TooManyConnectionsError("sorry, too many clients already")),
        wrapped(asyncpg.CannotConnectNowError("the database system is starting up")),
        wrapped(asyncpg.AdminShutdownError("terminating connection")),
        wrapped(asyncpg.SerializationError("could not serialize access")),
        wrapped(asyncpg.DeadlockDetectedError("deadlock detected")),
        sa_exc.OperationalError("SELECT 1", None, Exception("server closed the connection")),
    ],
    ids=lambda f: type(f).__name__ + ":" + type(getattr(f, "orig", f)).__name__,
)
def test_an_unreachable_restarting_or_full_database_is_infrastructure(
    failure: BaseException,
) -> None:
    assert infrastructure_unavailable(failure)


def test_the_cause_of_a_handlers_own_error_counts_too() -> None:
    try:
        try:
            raise ConnectionRefusedError(111, "refused")
        except ConnectionRefusedError as inner:
            raise RuntimeError("could not save the charge") from inner
    except RuntimeError as outer:
        assert infrastructure_unavailable(outer)


@pytest.mark.parametrize(
    "failure",
    [
        ValueError("bad date"),
        KeyError("member_id"),
        FileNotFoundError(2, "No such file"),
        wrapped(asyncpg.UniqueViolationError("duplicate key")),
        wrapped(asyncpg.NotNullViolationError("null value")),
    ],
    ids=lambda f: type(getattr(f, "orig", f)).__name__,
)
def test_a_wrong_event_or_a_bug_is_not(failure: BaseException) -> None:
    assert not infrastructure_unavailable(failure)
