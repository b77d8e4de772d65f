"""Group sessions (SPEC 3): one service event with a roster of billable participants and
the supervisors who run it.

Pure rules, no I/O and no clock: callers pass who acted and when. The aggregate is the
only writer of a session's roster; repositories persist what it decided.

Life of a session: SCHEDULED -> OPEN (someone marked) -> CLOSED (finalized by a
supervisor, or by itself once past its end with every row terminal; the band is fixed
and charges are built from the ``closed`` event) -> LOCKED (charges exist: only a forced
change with a reason may reopen it, and not while a claim holding its charges is at the
payer) -> reopened OPEN -> CLOSED again with the next ``close_sequence``."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from decimal import Decimal
from enum import StrEnum

from group_billing import (
    PRESENT,  # the statuses a supervisor counts as present in
    GroupBillingEvaluation,
    GroupIssue,
    IssueCode,
)

from attendance.domain.errors import (
    BLOCKING_ISSUES,
    CLAIM_SUBMITTED,
    CLOSE_SEQUENCE_UNKNOWN,
    FORCE_REASON_REQUIRED,
    INVALID_TIME_WINDOW,
    LOCKED,
    NOT_ACKNOWLEDGEABLE,
    PARTICIPANT_UNKNOWN,
    SESSION_CANCELLED,
    SESSION_CLOSED,
    SUPERVISOR_UNKNOWN,
    UNMARKED_PARTICIPANTS,
    WARNINGS_NOT_ACKNOWLEDGED,
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


class Closure(StrEnum):
    FINALIZED = "FINALIZED"  # a supervisor finalized it
    AUTO_CLOSED = "AUTO_CLOSED"  # it passed its end time with every row terminal


# The warnings a supervisor must knowingly accept to finalize (SPEC 3: "can be knowingly
# accepted, recorded"). A band mismatch is priced by rule (the next band down) and needs
# no consent.
MUST_ACKNOWLEDGE = frozenset({IssueCode.SUPERVISION_RATIO_BREACH.value})

# Claim statuses meaning the claim is at the payer (SPEC 3: submitted or billed). A STALE
# claim is at the payer when it went stale from one of these.
_AT_PAYER = frozenset({"SUBMITTED", "ACCEPTED"})


def is_warning(code: str) -> bool:
    """Whether ``code`` is a group issue that does not block billing (only those can be
    acknowledged; an error can only be fixed)."""
    try:
        issue = GroupIssue(IssueCode(code), "")
    except ValueError:
        return False
    return not issue.blocks_billing


def issue_details(issues: Iterable[GroupIssue]) -> list[dict[str, object]]:
    return [
        {
            "code": i.code.value,
            "severity": i.severity.value,
            "blocks_billing": i.blocks_billing,
            "message": i.message,
        }
        for i in issues
    ]


@dataclass(frozen=True)
class ClaimHold:
    """A claim (as the claims service last reported it) holding charges of the session."""

    claim_id: str
    status: str
    previous_status: str | None = None

    @property
    def at_payer(self) -> bool:
        return self.status in _AT_PAYER or (
            self.status == "STALE" and self.previous_status in _AT_PAYER
        )


@dataclass(frozen=True)
class Closing:
    """How the current closing was made; the band is fixed here (SPEC 3)."""

    sequence: int
    closure: Closure
    closed_at: datetime
    closed_by: str | None
    billable_statuses: tuple[AttendanceStatus, ...]
    billable_count: int
    band_name: str | None
    band_rate: Decimal | None
    acknowledged_warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Override:
    """A forced change (append-only audit): who, when, what, why."""

    session_id: str
    role: RosterRole
    subject_id: str
    from_status: AttendanceStatus
    to_status: AttendanceStatus
    actor: str
    at: datetime
    reason: str
    reopened: bool
    close_sequence: int


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


def has_ended(session_date: date, end_time: time, *, now: datetime, zone: tzinfo) -> bool:
    """Whether a session's end, a wall-clock time at the facility, has passed."""
    return datetime.combine(session_date, end_time, tzinfo=zone) <= now


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
    # Charges are built for the current closing: edits need force.
    locked: bool = False
    # How many times it closed (0 = never); the ``closed`` event of closing n carries n.
    close_sequence: int = 0
    closing: Closing | None = None
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

    def supervisors_present(self) -> list[str]:
        return [p for p, e in self.supervisors.items() if e.status.value in PRESENT]

    def billable_participants(
        self, billable_statuses: Collection[AttendanceStatus]
    ) -> list[RosterEntry]:
        return [e for e in self.participants.values() if e.status in billable_statuses]

    def has_ended(self, now: datetime, zone: tzinfo) -> bool:
        return has_ended(self.plan.session_date, self.plan.end_time, now=now, zone=zone)

    # -- closing -----------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        return self.status is SessionStatus.CLOSED

    def finalize(
        self,
        evaluation: GroupBillingEvaluation,
        billable_statuses: Collection[AttendanceStatus],
        *,
        actor: str,
        at: datetime,
        acknowledged_warnings: Collection[str] = (),
    ) -> bool:
        """A supervisor closes attendance. Refused while a participant is SCHEDULED
        (listing them), while the preview has an issue that blocks billing, or while a
        warning that needs consent (a supervision-ratio breach) is not acknowledged; only
        warnings can be acknowledged. False, changing nothing, when it is closed already
        (a retried request)."""
        if self.is_closed:
            return False
        self._ensure_changeable()
        unknown = sorted(code for code in set(acknowledged_warnings) if not is_warning(code))
        if unknown:
            raise AttendanceRuleViolation(
                NOT_ACKNOWLEDGEABLE,
                "only warnings can be acknowledged; an error must be resolved",
                codes=unknown,
            )
        unmarked = self.unmarked_participants()
        if unmarked:
            raise AttendanceRuleViolation(
                UNMARKED_PARTICIPANTS,
                f"{len(unmarked)} participant(s) still SCHEDULED; mark them before finalizing",
                session_id=self.session_id,
                scheduled_participants=unmarked,
            )
        blocking = [i for i in evaluation.issues if i.blocks_billing]
        if blocking:
            raise AttendanceRuleViolation(
                BLOCKING_ISSUES,
                "the billing preview has issues that block billing",
                session_id=self.session_id,
                issues=issue_details(blocking),
            )
        needing = [
            i
            for i in evaluation.issues
            if i.code.value in MUST_ACKNOWLEDGE and i.code.value not in acknowledged_warnings
        ]
        if needing:
            raise AttendanceRuleViolation(
                WARNINGS_NOT_ACKNOWLEDGED,
                "acknowledge these warnings to finalize (acknowledged_warnings)",
                session_id=self.session_id,
                issues=issue_details(needing),
            )
        accepted = tuple(
            i.code.value for i in evaluation.issues if i.code.value in set(acknowledged_warnings)
        )
        self._close(evaluation, billable_statuses, Closure.FINALIZED, actor, at, accepted)
        return True

    def close_by_itself(
        self,
        evaluation: GroupBillingEvaluation,
        billable_statuses: Collection[AttendanceStatus],
        *,
        at: datetime,
    ) -> bool:
        """Close a session past its end (the caller knows it is) when every row is
        terminal and nothing blocks billing; False, changing nothing, otherwise. A warning
        does not keep it open: nobody is there to acknowledge it, and the claim scrubber
        reports it again."""
        if not self.is_changeable or self.unmarked_participants() or evaluation.blocks_billing:
            return False
        self._close(evaluation, billable_statuses, Closure.AUTO_CLOSED, None, at, ())
        return True

    def _close(
        self,
        evaluation: GroupBillingEvaluation,
        billable_statuses: Collection[AttendanceStatus],
        closure: Closure,
        actor: str | None,
        at: datetime,
        acknowledged: tuple[str, ...],
    ) -> None:
        self.close_sequence += 1
        self.status = SessionStatus.CLOSED
        self.locked = False
        band = evaluation.band
        self.closing = Closing(
            sequence=self.close_sequence,
            closure=closure,
            closed_at=at,
            closed_by=actor,
            billable_statuses=tuple(s for s in AttendanceStatus if s in billable_statuses),
            billable_count=evaluation.billable_count,
            band_name=band.name if band else None,
            band_rate=band.rate_per_participant if band else None,
            acknowledged_warnings=acknowledged,
        )
        self.events.append("closed")

    def lock(self, close_sequence: int) -> bool:
        """Charges of closing ``close_sequence`` exist: lock the session. False, changing
        nothing, when it is locked already or that closing was since undone (a late or
        repeated message)."""
        if close_sequence > self.close_sequence:
            raise AttendanceRuleViolation(
                CLOSE_SEQUENCE_UNKNOWN,
                f"session {self.session_id} has closed {self.close_sequence} time(s)",
                session_id=self.session_id,
                close_sequence=close_sequence,
            )
        if not self.is_closed or close_sequence < self.close_sequence or self.locked:
            return False
        self.locked = True
        self.events.append("locked")
        return True

    def force_mark(
        self,
        role: RosterRole,
        subject_id: str,
        status: AttendanceStatus,
        *,
        actor: str,
        at: datetime,
        reason: str | None,
        claims: Sequence[ClaimHold] = (),
    ) -> Override | None:
        """A change past the lock (scope ``clinical.attendance.write.force``, checked by
        the caller): a closed session reopens (its charges are voided downstream) and the
        change applies; the override is returned for the audit log. Refused without a
        reason, and while a claim holding the session's charges is at the payer (reverse
        it first). The state machine still applies. None when the row has that status
        already (a retried request)."""
        if reason is None or not reason.strip():
            raise AttendanceRuleViolation(
                FORCE_REASON_REQUIRED, "a forced change states its reason"
            )
        if not self.is_closed:
            self._ensure_changeable()  # a cancelled session stays cancelled, forced or not
        entry = self._entry(role, subject_id)
        if entry.status is status:
            return None
        transition(entry.status, status)
        reopened = self.is_closed
        closed_sequence = self.close_sequence
        if reopened:
            at_payer = [c for c in claims if c.at_payer]
            if at_payer:
                raise AttendanceRuleViolation(
                    CLAIM_SUBMITTED,
                    "claims holding this session's charges are submitted; reverse or "
                    "replace them first",
                    session_id=self.session_id,
                    claim_ids=[c.claim_id for c in at_payer],
                    claims=[{"claim_id": c.claim_id, "status": c.status} for c in at_payer],
                )
            self.status = SessionStatus.OPEN
            self.locked = False
            self.closing = None
            self.events.append("reopened")
        from_status = entry.status
        self.mark(role, subject_id, status, actor=actor, at=at)
        return Override(
            session_id=self.session_id,
            role=role,
            subject_id=subject_id,
            from_status=from_status,
            to_status=status,
            actor=actor,
            at=at,
            reason=reason.strip(),
            reopened=reopened,
            close_sequence=closed_sequence,
        )

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
        if self.locked:
            raise AttendanceRuleViolation(
                LOCKED,
                f"session {self.session_id} is locked: its charges are built",
                session_id=self.session_id,
                close_sequence=self.close_sequence,
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
