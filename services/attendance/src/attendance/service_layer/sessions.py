"""Use cases of the schedule and of attendance marks: load, call one domain operation,
save. The caller commits (the event consumer in the inbox transaction, a route in its unit
of work). Closing, locking and forced changes are in :mod:`attendance.service_layer.closing`.

The one event published here is the answer to a refused feed mark
(``attendance.mark.rejected.v1``), through ``uow.publish`` in the same transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from attendance.adapters.db.repository import GroupSessionRepository, StaleSessionError
from attendance.domain import errors
from attendance.domain.errors import AttendanceRuleViolation
from attendance.domain.model import GroupSession, RosterRole, SessionOrigin, SessionPlan
from attendance.domain.roster import AttendanceStatus
from common.db import UnitOfWork, utcnow
from contracts.events import (
    ATTENDANCE_MARK_REJECTED_V1,
    AttendanceMarkRejected,
    MarkRejectionCode,
)

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class ScheduleSession:
    tenant_id: str
    session_id: str
    plan: SessionPlan
    actor: str
    at: datetime | None = None
    origin: SessionOrigin = SessionOrigin.FEED
    revision: int | None = None
    initial_statuses: Mapping[str, AttendanceStatus] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateSession:
    tenant_id: str
    session_id: str
    plan: SessionPlan
    actor: str
    at: datetime | None = None
    revision: int | None = None
    initial_statuses: Mapping[str, AttendanceStatus] = field(default_factory=dict)


@dataclass(frozen=True)
class CancelSession:
    tenant_id: str
    session_id: str
    reason: str | None = None
    revision: int | None = None


@dataclass(frozen=True)
class SetAttendance:
    tenant_id: str
    session_id: str
    role: RosterRole
    subject_id: str
    status: AttendanceStatus
    actor: str
    at: datetime | None = None
    expected_version: int | None = None


async def schedule_session(
    uow: UnitOfWork, command: ScheduleSession, *, now: Clock = utcnow
) -> GroupSession:
    """Record a session from the scheduling feed. The same schedule told twice (a replayed
    feed under a new event id) is recorded once, even after the session was cancelled; a
    ``scheduled`` for a known session with a different plan is applied as an update,
    because scheduling systems re-send the whole schedule after an edit."""
    repository = GroupSessionRepository(uow.session)
    at = command.at or now()
    existing = await repository.get(command.tenant_id, command.session_id)
    if existing is None:
        session = GroupSession.schedule(
            tenant_id=command.tenant_id,
            session_id=command.session_id,
            plan=command.plan,
            actor=command.actor,
            at=at,
            origin=command.origin,
            revision=command.revision,
            initial_statuses=command.initial_statuses,
        )
        if await repository.add(session):
            return session
        # A concurrent writer committed this session id first; read committed sees it now.
        existing = await repository.get(command.tenant_id, command.session_id)
        assert existing is not None
    if existing.plan == command.plan and not existing.is_changeable:
        return existing
    changed = existing.reschedule(
        command.plan,
        actor=command.actor,
        at=at,
        revision=command.revision,
        initial_statuses=command.initial_statuses,
    )
    if changed:
        await repository.save(existing)
    return existing


async def create_ad_hoc_session(
    uow: UnitOfWork, command: ScheduleSession, *, now: Clock = utcnow
) -> GroupSession:
    """A supervisor's ad-hoc session. Repeating the same request answers the session it
    created; a different plan under an existing id is refused (SESSION_ALREADY_EXISTS)."""
    repository = GroupSessionRepository(uow.session)
    session = GroupSession.schedule(
        tenant_id=command.tenant_id,
        session_id=command.session_id,
        plan=command.plan,
        actor=command.actor,
        at=command.at or now(),
        origin=SessionOrigin.AD_HOC,
    )
    if await repository.add(session):
        return session
    existing = await repository.get(command.tenant_id, command.session_id)
    assert existing is not None
    if existing.plan != command.plan:
        raise AttendanceRuleViolation(
            errors.SESSION_ALREADY_EXISTS,
            f"session {command.session_id} exists with a different schedule",
            session_id=command.session_id,
        )
    return existing


async def update_session(
    uow: UnitOfWork, command: UpdateSession, *, now: Clock = utcnow
) -> GroupSession:
    """Replace the schedule of a known session (marks of who remains are kept)."""
    repository = GroupSessionRepository(uow.session)
    session = await load_session(repository, command.tenant_id, command.session_id)
    changed = session.reschedule(
        command.plan,
        actor=command.actor,
        at=command.at or now(),
        revision=command.revision,
        initial_statuses=command.initial_statuses,
    )
    if changed:
        await repository.save(session)
    return session


async def cancel_session(uow: UnitOfWork, command: CancelSession) -> GroupSession:
    repository = GroupSessionRepository(uow.session)
    session = await load_session(repository, command.tenant_id, command.session_id)
    if session.cancel(command.reason, revision=command.revision):
        await repository.save(session)
    return session


async def set_attendance(
    uow: UnitOfWork, command: SetAttendance, *, now: Clock = utcnow
) -> GroupSession:
    """Move one participant or supervisor along the roster state machine; the change is
    kept as history. ``expected_version``, when given, must be the session's current one
    (the caller saw the roster it is changing)."""
    repository = GroupSessionRepository(uow.session)
    session = await load_session(repository, command.tenant_id, command.session_id)
    ensure_version(session, command.expected_version)
    change = session.mark(
        command.role,
        command.subject_id,
        command.status,
        actor=command.actor,
        at=command.at or now(),
    )
    if change is not None:
        await repository.save(session)
    return session


# A refused feed mark is answered, not dead-lettered (SPEC 8): the rule's code as the
# rejection event names it.
REJECTION_CODES: dict[str, MarkRejectionCode] = {
    errors.ILLEGAL_TRANSITION: MarkRejectionCode.ILLEGAL_TRANSITION,
    errors.SESSION_UNKNOWN: MarkRejectionCode.SESSION_NOT_FOUND,
    errors.SESSION_CANCELLED: MarkRejectionCode.SESSION_CANCELLED,
    errors.LOCKED: MarkRejectionCode.LOCKED,
    # Closed and not yet charged: as final to the feed as locked (only a forced API
    # change reopens a closed session).
    errors.SESSION_CLOSED: MarkRejectionCode.LOCKED,
    errors.PARTICIPANT_UNKNOWN: MarkRejectionCode.NOT_ON_SESSION,
    errors.SUPERVISOR_UNKNOWN: MarkRejectionCode.NOT_ON_SESSION,
}


#: A feed mark that loses the race for the session's version (another mark of the same
#: roster committed first: the consumer applies several deliveries at once; or the
#: auto-close sweep) is applied again to the session as it now is, in the same
#: transaction, instead of failing the delivery. A failed delivery goes back to the quorum
#: queue and counts against its delivery limit; a mark that reaches the limit is
#: dead-lettered by the broker, and the session it belonged to never closes (found by the
#: chaos suite, issue #9).
FEED_MARK_ATTEMPTS = 5


async def record_feed_mark(
    uow: UnitOfWork,
    command: SetAttendance,
    *,
    event_id: str,
    now: Clock = utcnow,
    final_attempt: bool = True,
) -> GroupSession | None:
    """Apply a mark from a check-in system or the scheduler. A mark the rules refuse is
    answered with ``attendance.mark.rejected.v1`` (None is returned); nothing else
    changes. A mark for a session not recorded yet is retried first (``final_attempt``
    False re-raises it): the scheduling event may only be arriving out of order. A
    concurrent change of the session is not a refusal: the mark is applied again on top
    of it (up to ``FEED_MARK_ATTEMPTS`` times)."""
    for attempt in range(1, FEED_MARK_ATTEMPTS + 1):
        try:
            return await _record_feed_mark_once(
                uow, command, event_id=event_id, now=now, final_attempt=final_attempt
            )
        except StaleSessionError:
            # Read committed: the next load sees the change that won.
            if attempt == FEED_MARK_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


async def _record_feed_mark_once(
    uow: UnitOfWork,
    command: SetAttendance,
    *,
    event_id: str,
    now: Clock,
    final_attempt: bool,
) -> GroupSession | None:
    try:
        return await set_attendance(uow, command, now=now)
    except AttendanceRuleViolation as refusal:
        code = REJECTION_CODES.get(refusal.code)
        if code is None or (refusal.retryable and not final_attempt):
            raise
        is_member = command.role is RosterRole.PARTICIPANT
        current = refusal.details.get("from_status")
        uow.publish(
            type=ATTENDANCE_MARK_REJECTED_V1,
            tenant_id=command.tenant_id,
            subject=command.session_id,
            data=AttendanceMarkRejected(
                rejected_event_id=event_id,
                session_id=command.session_id,
                member_id=command.subject_id if is_member else None,
                provider_id=None if is_member else command.subject_id,
                requested_status=command.status.value,
                current_status=current,
                code=code,
                legal_next_statuses=list(refusal.details.get("legal_next_states", [])),
                message=refusal.message[:500],
            ),
        )
        return None


async def load_session(
    repository: GroupSessionRepository, tenant_id: str, session_id: str, *, for_update: bool = False
) -> GroupSession:
    session = await repository.get(tenant_id, session_id, for_update=for_update)
    if session is None:
        raise errors.SessionUnknown(session_id)
    return session


def ensure_version(session: GroupSession, expected_version: int | None) -> None:
    """The caller saw the session at ``expected_version`` (when it says): refuse with
    VERSION_CONFLICT if it has changed since."""
    if expected_version is not None and expected_version != session.version:
        raise AttendanceRuleViolation(
            errors.VERSION_CONFLICT,
            f"session {session.session_id} is at version {session.version}",
            session_id=session.session_id,
            expected_version=expected_version,
            current_version=session.version,
        )
