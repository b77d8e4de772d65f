"""Closing, locking and forced changes (SPEC 3).

- ``finalize_session``: a supervisor closes attendance; ``attendance.group_session.closed``
  goes out with the billable participants per the tenant policy on the session date.
- ``close_sessions_past_their_end``: the auto-close sweep. One replica at a time (a
  transaction-scoped advisory lock), each session closed with an optimistic version check,
  so a session closes once however many replicas and supervisors race.
- ``lock_charged_session``: charges exist (``charges.group_session.charged``): LOCKED.
- ``force_set_attendance``: a change past the lock; reopens (``reopened``, forced) unless
  a claim holding the session's charges is at the payer; the override is audited.
- ``record_claim_status``: which claims hold a session's charges, and where they stand.

Every event goes through ``uow.publish`` in the transaction that made the change. Event
ids of ``closed`` and ``reopened`` derive from (tenant, session, closing), so even a
duplicate closing could never reach consumers twice (the outbox's id is unique)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from attendance.adapters.db.projections import (
    ClaimStatusReport,
    ProjectionRepository,
    SourceStamp,
)
from attendance.adapters.db.repository import (
    AutoCloseCandidate,
    GroupSessionRepository,
    StaleSessionError,
)
from attendance.domain.billing import BillingRules
from attendance.domain.model import GroupSession, has_ended
from attendance.service_layer.billing import billing_preview
from attendance.service_layer.sessions import (
    Clock,
    SetAttendance,
    ensure_version,
    load_session,
)
from common.db import UnitOfWork, utcnow
from common.errors import DomainError
from common.leases import try_lock
from common.logging import get_logger
from common.tenants import TenantDirectory
from contracts.events import (
    GROUP_SESSION_CLOSED_V1,
    GROUP_SESSION_REOPENED_V1,
    GroupSessionClosed,
    GroupSessionReopened,
    ParticipantAttendance,
    SessionClosure,
    SupervisorAttendance,
)

log = get_logger(__name__)

AUTO_CLOSE_LOCK = "attendance:auto-close"
_EVENT_IDS = uuid.UUID("5b1f0c2e-8d4a-4c61-9e3b-a7d2f0e4c915")
_NOT_IDENTIFIER = re.compile(r"[^!-~]")


def _identifier(actor: str) -> str:
    """A user or system name as the contracts' Identifier (printable ASCII, <= 64)."""
    return _NOT_IDENTIFIER.sub("_", actor)[:64] or "unknown"


def _event_id(session: GroupSession, what: str, sequence: int) -> str:
    key = f"{session.tenant_id}/{session.session_id}/{what}/{sequence}"
    return str(uuid.uuid5(_EVENT_IDS, key))


def _publish_closed(uow: UnitOfWork, session: GroupSession, rules: BillingRules) -> None:
    closing = session.closing
    assert closing is not None
    p = session.plan
    billable = set(closing.billable_statuses)
    data = GroupSessionClosed(
        session_id=session.session_id,
        close_sequence=closing.sequence,
        facility_id=p.facility_id,
        facility_state=rules.facility_state,
        program_id=p.program_id,
        session_date=p.session_date,
        start_time=p.start_time,
        end_time=p.end_time,
        group_type=p.group_type,
        service_code=p.service_code,
        closure=SessionClosure(closing.closure.value),
        closed_at=closing.closed_at,
        closed_by=_identifier(closing.closed_by) if closing.closed_by else None,
        billable_statuses=[s.value for s in closing.billable_statuses],
        roster=[
            ParticipantAttendance(member_id=e.subject_id, status=e.status.value)
            for e in session.participants.values()
        ],
        billable_participants=[
            ParticipantAttendance(member_id=e.subject_id, status=e.status.value)
            for e in session.billable_participants(billable)
        ],
        supervisors=[
            SupervisorAttendance(provider_id=e.subject_id, status=e.status.value)
            for e in session.supervisors.values()
        ],
        supervisors_present=session.supervisors_present(),
        acknowledged_warnings=list(closing.acknowledged_warnings),
    )
    uow.publish(
        type=GROUP_SESSION_CLOSED_V1,
        tenant_id=session.tenant_id,
        subject=session.session_id,
        data=data,
        event_id=_event_id(session, "closed", closing.sequence),
    )
    log.info(
        "group_session_closed",
        session_id=session.session_id,
        close_sequence=closing.sequence,
        closure=closing.closure.value,
        billable_count=closing.billable_count,
        band=closing.band_name,
    )


# -- finalize ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FinalizeSession:
    tenant_id: str
    session_id: str
    actor: str
    acknowledged_warnings: tuple[str, ...] = ()
    at: datetime | None = None
    expected_version: int | None = None


async def finalize_session(
    uow: UnitOfWork, command: FinalizeSession, tenants: TenantDirectory, *, now: Clock = utcnow
) -> GroupSession:
    """Close the session's attendance (a retried finalize of a closed session answers it
    unchanged). Refusals: UNMARKED_PARTICIPANTS, BLOCKING_ISSUES,
    WARNINGS_NOT_ACKNOWLEDGED, NOT_ACKNOWLEDGEABLE (see ``GroupSession.finalize``)."""
    repository = GroupSessionRepository(uow.session)
    # Locked: an auto-close (or another finalize) of the same session either commits
    # before this reads, and the closed session is answered, or waits for this one and
    # then finds it closed. Unlocked, the loser got 409 CONCURRENT_UPDATE for a session
    # that was closed as asked.
    session = await load_session(repository, command.tenant_id, command.session_id, for_update=True)
    if session.is_closed:
        return session
    ensure_version(session, command.expected_version)
    preview = await billing_preview(uow.session, tenants.get(command.tenant_id), session)
    finalized = session.finalize(
        preview.evaluation,
        preview.rules.billable_statuses,
        actor=command.actor,
        at=command.at or now(),
        acknowledged_warnings=command.acknowledged_warnings,
    )
    if finalized:
        await repository.save(session)
        _publish_closed(uow, session, preview.rules)
    return session


# -- auto-close -------------------------------------------------------------------------


async def close_sessions_past_their_end(
    uow: UnitOfWork, tenants: TenantDirectory, *, now: datetime, batch_size: int = 200
) -> list[str]:
    """One sweep: close every session past its end (facility-local: the facility's time
    zone, else the tenant's) whose rows are all terminal and whose preview blocks
    nothing. Runs only if no other replica is sweeping (the lock is released at commit);
    commits. Answers the ids of the sessions it closed."""
    if not await try_lock(uow.session, AUTO_CLOSE_LOCK):
        await uow.rollback()
        return []
    repository = GroupSessionRepository(uow.session)
    projections = ProjectionRepository(uow.session)
    # A calendar date somewhere is at most a day ahead of UTC's.
    # Only configured tenants: without a policy nothing can close (nor crowd the batch).
    candidates = await repository.auto_close_candidates(
        tenant_ids=tenants.tenant_ids,
        dated_on_or_before=(now + timedelta(days=1)).date(),
        limit=batch_size,
    )
    closed: list[str] = []
    for candidate in candidates:
        tenant = tenants.get(candidate.tenant_id)
        facilities = await projections.facilities(candidate.tenant_id, [candidate.facility_id])
        facility = facilities.get(candidate.facility_id)
        zone = ZoneInfo(facility.time_zone if facility is not None else tenant.time_zone)
        if not has_ended(candidate.session_date, candidate.end_time, now=now, zone=zone):
            continue
        try:
            async with uow.session.begin_nested():
                if await _close_if_closable(uow, repository, candidate, tenants, now):
                    closed.append(candidate.session_id)
        except StaleSessionError:
            continue  # a supervisor changed it meanwhile: the next sweep looks again
        except DomainError as refusal:
            log.warning("auto_close_skipped", session_id=candidate.session_id, code=refusal.code)
    await uow.commit()
    return closed


async def _close_if_closable(
    uow: UnitOfWork,
    repository: GroupSessionRepository,
    candidate: AutoCloseCandidate,
    tenants: TenantDirectory,
    now: datetime,
) -> bool:
    session = await repository.get(candidate.tenant_id, candidate.session_id)
    if session is None or session.version != candidate.version:
        return False
    preview = await billing_preview(uow.session, tenants.get(candidate.tenant_id), session)
    if session.close_by_itself(preview.evaluation, preview.rules.billable_statuses, at=now):
        await repository.save(session)
        _publish_closed(uow, session, preview.rules)
        return True
    await repository.remember_auto_close_blocked(session)
    return False


# -- lock -------------------------------------------------------------------------------


async def lock_charged_session(
    uow: UnitOfWork,
    tenant_id: str,
    session_id: str,
    *,
    close_sequence: int,
    charge_ids: Iterable[str],
) -> GroupSession:
    """Charges of closing ``close_sequence`` exist: the session is LOCKED (a late
    message about an undone closing changes nothing)."""
    repository = GroupSessionRepository(uow.session)
    session = await load_session(repository, tenant_id, session_id)
    await ProjectionRepository(uow.session).remember_charges(tenant_id, session_id, charge_ids)
    if session.lock(close_sequence):
        await repository.save(session)
        log.info("group_session_locked", session_id=session_id, close_sequence=close_sequence)
    return session


# -- force ------------------------------------------------------------------------------


async def force_set_attendance(
    uow: UnitOfWork, command: SetAttendance, *, reason: str | None, now: Clock = utcnow
) -> GroupSession:
    """A forced change (the caller checked the force scope): reopens a closed session
    (emits ``reopened`` forced, with the reason) and applies the mark; the override is
    written to the append-only audit. Refused with CLAIM_SUBMITTED while a claim holding
    the session's charges is at the payer, FORCE_REASON_REQUIRED without a reason."""
    repository = GroupSessionRepository(uow.session)
    session = await load_session(repository, command.tenant_id, command.session_id)
    ensure_version(session, command.expected_version)
    claims = await ProjectionRepository(uow.session).claims_of_session(
        command.tenant_id, command.session_id
    )
    override = session.force_mark(
        command.role,
        command.subject_id,
        command.status,
        actor=command.actor,
        at=command.at or now(),
        reason=reason,
        claims=claims,
    )
    if override is None:
        return session
    await repository.save(session)
    await repository.append_override(command.tenant_id, override)
    if override.reopened:
        uow.publish(
            type=GROUP_SESSION_REOPENED_V1,
            tenant_id=session.tenant_id,
            subject=session.session_id,
            data=GroupSessionReopened(
                session_id=session.session_id,
                close_sequence=override.close_sequence,
                reopened_at=override.at,
                reopened_by=_identifier(override.actor),
                forced=True,
                override_reason=override.reason[:500],
            ),
            event_id=_event_id(session, "reopened", override.close_sequence),
        )
    log.info(
        "attendance_forced",
        session_id=session.session_id,
        reopened=override.reopened,
        close_sequence=override.close_sequence,
    )
    return session


# -- claims -----------------------------------------------------------------------------


async def record_claim_status(
    uow: UnitOfWork,
    tenant_id: str,
    report: ClaimStatusReport,
    *,
    session_ids: Iterable[str],
    charge_ids: Iterable[str],
    stamp: SourceStamp,
) -> set[str]:
    """Remember where the claim stands for every session whose charges it holds (named
    by the claim, or found by its charges). Answers those sessions' ids."""
    projections = ProjectionRepository(uow.session)
    sessions = set(session_ids) | await projections.sessions_of_charges(tenant_id, list(charge_ids))
    for session_id in sorted(sessions):
        await projections.save_claim_status(tenant_id, session_id, report, stamp)
    return sessions
