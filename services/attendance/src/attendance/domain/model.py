"""Group sessions (SPEC 3): one service event with a roster of billable participants and
the supervisors who run it.

Pure rules, no I/O and no clock: callers pass who acted and when. The aggregate is the
only writer of a session's roster; repositories persist what it decided."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum

from attendance.domain.errors import (
    INVALID_TIME_WINDOW,
    PARTICIPANT_UNKNOWN,
    SESSION_CANCELLED,
    SESSION_CLOSED,
    SUPERVISOR_UNKNOWN,
    AttendanceRuleViolation,
)
from attendance.domain.roster import AttendanceStatus, is_terminal, transition

SUPERVISING = "SUPERVISING"


class SessionStatus(StrEnum):
    SCHEDULED = "SCHEDULED"  # planned; nobody marked yet
    OPEN = "OPEN"  # attendance is being taken
    CLOSED = "CLOSED"  # finalized: the band is fixed and billing may start
    CANCELLED = "CANCELLED"


class SessionOrigin(StrEnum):
    FEED = "FEED"  # the scheduling feed
    AD_HOC = "AD_HOC"  # a supervisor through the API


class RosterRole(StrEnum):
    PARTICIPANT = "PARTICIPANT"  # a member; billable when attended
    SUPERVISOR = "SUPERVISOR"  # a provider; counts as participating, never billable


@dataclass(frozen=True)
class StaffAssignment:
    provider_id: str
    role: str


def supervising_providers(assignments: Iterable[StaffAssignment]) -> tuple[str, ...]:
    """The session's supervisors: every distinct provider assigned with role SUPERVISING,
    in the order first assigned."""
    return _distinct(a.provider_id for a in assignments if a.role.upper() == SUPERVISING)


def _distinct(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ids))


@dataclass(frozen=True)
class SessionPlan:
    """What the schedule says about a session: everything an update may replace."""

    facility_id: str
    program_id: str
    session_date: date
    start_time: time
    end_time: time
    group_type: str
    service_code: str
    participants: tuple[str, ...] = ()
    supervisors: tuple[str, ...] = ()
    facility_state: str | None = None

    @classmethod
    def of(
        cls,
        *,
        facility_id: str,
        program_id: str,
        session_date: date,
        start_time: time,
        end_time: time,
        group_type: str,
        service_code: str,
        participants: Iterable[str] = (),
        supervisors: Iterable[str] = (),
        facility_state: str | None = None,
    ) -> SessionPlan:
        """A plan with its roster and supervisors made distinct (first occurrence kept)
        and its time window checked."""
        if end_time <= start_time:
            raise AttendanceRuleViolation(
                INVALID_TIME_WINDOW,
                "a session must end after it starts",
                start_time=start_time.isoformat(),
                end_time=end_time.isoformat(),
            )
        return cls(
            facility_id=facility_id,
            program_id=program_id,
            session_date=session_date,
            start_time=start_time,
            end_time=end_time,
            group_type=group_type,
            service_code=service_code,
            participants=_distinct(participants),
            supervisors=_distinct(supervisors),
            facility_state=facility_state,
        )


@dataclass
class RosterEntry:
    role: RosterRole
    subject_id: str  # member id of a participant, provider id of a supervisor
    status: AttendanceStatus = AttendanceStatus.SCHEDULED


@dataclass(frozen=True)
class AttendanceChange:
    """One history entry: who moved whom from which status to which, and when.
    ``from_status`` is None when a member joined the roster with a status already marked
    by the scheduler (its ``initial_status``): a start, not a move."""

    role: RosterRole
    subject_id: str
    from_status: AttendanceStatus | None
    to_status: AttendanceStatus
    actor: str
    at: datetime


@dataclass
class GroupSession:
    tenant_id: str
    session_id: str
    plan: SessionPlan
    status: SessionStatus = SessionStatus.SCHEDULED
    origin: SessionOrigin = SessionOrigin.FEED
    participants: dict[str, RosterEntry] = field(default_factory=dict)
    supervisors: dict[str, RosterEntry] = field(default_factory=dict)
    cancel_reason: str | None = None
    # The scheduler's revision of the schedule last applied (None when it sends none).
    revision: int | None = None
    version: int = 0
    # Changes made since loading, for the repository to append to the history.
    new_history: list[AttendanceChange] = field(default_factory=list)
    # Names of what happened since loading (the next milestone turns them into events).
    events: list[str] = field(default_factory=list)

    @classmethod
    def schedule(
        cls,
        *,
        tenant_id: str,
        session_id: str,
        plan: SessionPlan,
        actor: str,
        at: datetime,
        origin: SessionOrigin = SessionOrigin.FEED,
        revision: int | None = None,
        initial_statuses: Mapping[str, AttendanceStatus] | None = None,
    ) -> GroupSession:
        """A new session with every participant and supervisor SCHEDULED, except members
        the scheduler marked already (``initial_statuses``)."""
        session = cls(
            tenant_id=tenant_id,
            session_id=session_id,
            plan=plan,
            origin=origin,
            revision=revision,
        )
        session.participants = session._roster_for(
            RosterRole.PARTICIPANT, plan.participants, {}, initial_statuses, actor, at
        )
        session.supervisors = session._roster_for(
            RosterRole.SUPERVISOR, plan.supervisors, {}, None, actor, at
        )
        session.events.append("scheduled")
        return session

    # -- schedule changes ------------------------------------------------------------

    def is_stale(self, revision: int | None, *, same_is_stale: bool = True) -> bool:
        """Whether a schedule message of ``revision`` is older than what was applied (only
        when both sides have a revision)."""
        if revision is None or self.revision is None:
            return False
        return revision <= self.revision if same_is_stale else revision < self.revision

    def reschedule(
        self,
        plan: SessionPlan,
        *,
        actor: str,
        at: datetime,
        revision: int | None = None,
        initial_statuses: Mapping[str, AttendanceStatus] | None = None,
    ) -> bool:
        """Replace time, roster and supervisors with ``plan``. Who remains keeps their
        marks; who is new starts SCHEDULED (or at their initial status); who is gone
        leaves the roster (their history stays). False, changing nothing, when the plan
        is older than the one applied or is what the session already has (under the same
        revision)."""
        if self.is_stale(revision):
            return False
        self._ensure_changeable()
        newer = revision is not None and revision != self.revision
        if newer:
            self.revision = revision
        if plan == self.plan:
            return newer  # the revision alone moved on: keep it, so older ones stay stale
        self.plan = plan
        self.participants = self._roster_for(
            RosterRole.PARTICIPANT,
            plan.participants,
            self.participants,
            initial_statuses,
            actor,
            at,
        )
        self.supervisors = self._roster_for(
            RosterRole.SUPERVISOR, plan.supervisors, self.supervisors, None, actor, at
        )
        self.events.append("updated")
        return True

    def cancel(self, reason: str | None = None, *, revision: int | None = None) -> bool:
        """Cancel the session; False when it was cancelled already or the cancellation is
        older than the schedule applied."""
        if self.status is SessionStatus.CANCELLED or self.is_stale(revision, same_is_stale=False):
            return False
        self._ensure_changeable()
        self.status = SessionStatus.CANCELLED
        self.cancel_reason = reason
        if revision is not None:
            self.revision = max(revision, self.revision or 0)
        self.events.append("cancelled")
        return True

    def _roster_for(
        self,
        role: RosterRole,
        ids: Iterable[str],
        current: dict[str, RosterEntry],
        initial_statuses: Mapping[str, AttendanceStatus] | None,
        actor: str,
        at: datetime,
    ) -> dict[str, RosterEntry]:
        roster: dict[str, RosterEntry] = {}
        for subject_id in ids:
            if subject_id in current:
                roster[subject_id] = current[subject_id]
                continue
            status = (initial_statuses or {}).get(subject_id, AttendanceStatus.SCHEDULED)
            roster[subject_id] = RosterEntry(role=role, subject_id=subject_id, status=status)
            if status is not AttendanceStatus.SCHEDULED:
                self.new_history.append(
                    AttendanceChange(
                        role=role,
                        subject_id=subject_id,
                        from_status=None,
                        to_status=status,
                        actor=actor,
                        at=at,
                    )
                )
                if self.status is SessionStatus.SCHEDULED:
                    self.status = SessionStatus.OPEN
        return roster

    # -- attendance ------------------------------------------------------------------

    def mark(
        self,
        role: RosterRole,
        subject_id: str,
        status: AttendanceStatus,
        *,
        actor: str,
        at: datetime,
    ) -> AttendanceChange | None:
        """Move one roster row along the state machine. Marking a row with the status it
        has already is a no-op (None): a retried request changes nothing."""
        self._ensure_changeable()
        entry = self._entry(role, subject_id)
        if entry.status is status:
            return None
        transition(entry.status, status)
        change = AttendanceChange(
            role=role,
            subject_id=subject_id,
            from_status=entry.status,
            to_status=status,
            actor=actor,
            at=at,
        )
        entry.status = status
        self.new_history.append(change)
        if self.status is SessionStatus.SCHEDULED:
            self.status = SessionStatus.OPEN
        self.events.append("attendance_changed")
        return change

    def mark_participant(
        self, member_id: str, status: AttendanceStatus, *, actor: str, at: datetime
    ) -> AttendanceChange | None:
        return self.mark(RosterRole.PARTICIPANT, member_id, status, actor=actor, at=at)

    def mark_supervisor(
        self, provider_id: str, status: AttendanceStatus, *, actor: str, at: datetime
    ) -> AttendanceChange | None:
        return self.mark(RosterRole.SUPERVISOR, provider_id, status, actor=actor, at=at)

    # -- reading ---------------------------------------------------------------------

    def attendance_counts(self) -> dict[AttendanceStatus, int]:
        """Participants per status (every status present, zero when none)."""
        counts = dict.fromkeys(AttendanceStatus, 0)
        for entry in self.participants.values():
            counts[entry.status] += 1
        return counts

    def unmarked_participants(self) -> list[str]:
        """Members still SCHEDULED: what stands between the session and finalizing."""
        return [m for m, e in self.participants.items() if not is_terminal(e.status)]

    # -- rules -----------------------------------------------------------------------

    @property
    def is_changeable(self) -> bool:
        """Whether its schedule and attendance may still change (not cancelled, not
        closed)."""
        return self.status not in (SessionStatus.CANCELLED, SessionStatus.CLOSED)

    def _ensure_changeable(self) -> None:
        if self.status is SessionStatus.CANCELLED:
            raise AttendanceRuleViolation(
                SESSION_CANCELLED,
                f"session {self.session_id} is cancelled",
                session_id=self.session_id,
            )
        if self.status is SessionStatus.CLOSED:
            raise AttendanceRuleViolation(
                SESSION_CLOSED,
                f"session {self.session_id} is closed",
                session_id=self.session_id,
            )

    def _entry(self, role: RosterRole, subject_id: str) -> RosterEntry:
        rows = self.participants if role is RosterRole.PARTICIPANT else self.supervisors
        entry = rows.get(subject_id)
        if entry is None:
            code = PARTICIPANT_UNKNOWN if role is RosterRole.PARTICIPANT else SUPERVISOR_UNKNOWN
            raise AttendanceRuleViolation(
                code,
                f"{role.value.lower()} {subject_id} is not on session {self.session_id}",
                session_id=self.session_id,
                subject_id=subject_id,
            )
        return entry
