"""Maps group-session rows to the domain's GroupSession and back. Every query names the
tenant. Writes are guarded by the session's version column: a writer that loaded an older
version than the one stored gets :class:`StaleSessionError` and nothing is written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from attendance.adapters.db.tables import (
    ATTENDANCE_HISTORY,
    ATTENDANCE_OVERRIDE,
    GROUP_SESSION,
    PARTICIPANT,
    SUPERVISOR,
)
from attendance.domain.model import (
    AttendanceChange,
    Closing,
    Closure,
    GroupSession,
    Override,
    RosterEntry,
    RosterRole,
    SessionOrigin,
    SessionPlan,
    SessionStatus,
)
from attendance.domain.roster import AttendanceStatus


class StaleSessionError(Exception):
    """Another writer changed the session after it was loaded. Transient: load again and
    retry (the event consumer does so by redelivery)."""

    def __init__(self, tenant_id: str, session_id: str, version: int) -> None:
        super().__init__(f"session {session_id} is no longer at version {version}")
        self.tenant_id = tenant_id
        self.session_id = session_id
        self.version = version


@dataclass(frozen=True)
class SessionSummary:
    """One row of the session list: the session and its attendance at a glance."""

    session_id: str
    facility_id: str
    program_id: str
    session_date: date
    start_time: time
    end_time: time
    group_type: str
    service_code: str
    status: SessionStatus
    supervisors: tuple[str, ...]
    counts: dict[AttendanceStatus, int]
    version: int
    locked: bool = False
    close_sequence: int = 0

    @property
    def roster_size(self) -> int:
        return sum(self.counts.values())


def _plan(row: Any, participants: Sequence[str], supervisors: Sequence[str]) -> SessionPlan:
    return SessionPlan(
        facility_id=row["facility_id"],
        program_id=row["program_id"],
        session_date=row["session_date"],
        start_time=row["start_time"],
        end_time=row["end_time"],
        group_type=row["group_type"],
        service_code=row["service_code"],
        participants=tuple(participants),
        supervisors=tuple(supervisors),
        facility_state=row["facility_state"],
    )


@dataclass(frozen=True)
class AutoCloseCandidate:
    """A session the auto-close sweep may look at: not closed, nobody SCHEDULED."""

    tenant_id: str
    session_id: str
    facility_id: str
    session_date: date
    end_time: time
    version: int


def _closing(row: Any) -> Closing | None:
    if row["closure"] is None:
        return None
    return Closing(
        sequence=row["close_sequence"],
        closure=Closure(row["closure"]),
        closed_at=row["closed_at"],
        closed_by=row["closed_by"],
        billable_statuses=tuple(AttendanceStatus(s) for s in row["closed_billable_statuses"] or ()),
        billable_count=row["closed_billable_count"] or 0,
        band_name=row["closed_band_name"],
        band_rate=row["closed_band_rate"],
        acknowledged_warnings=tuple(row["acknowledged_warnings"] or ()),
    )


def _closing_values(closing: Closing | None) -> dict[str, object]:
    if closing is None:
        return dict.fromkeys(
            (
                "closure",
                "closed_at",
                "closed_by",
                "closed_billable_statuses",
                "closed_billable_count",
                "closed_band_name",
                "closed_band_rate",
                "acknowledged_warnings",
            )
        )
    return {
        "closure": closing.closure.value,
        "closed_at": closing.closed_at,
        "closed_by": closing.closed_by,
        "closed_billable_statuses": [s.value for s in closing.billable_statuses],
        "closed_billable_count": closing.billable_count,
        "closed_band_name": closing.band_name,
        "closed_band_rate": closing.band_rate,
        "acknowledged_warnings": list(closing.acknowledged_warnings),
    }


def _session_values(session: GroupSession) -> dict[str, object]:
    p = session.plan
    return {
        "locked": session.locked,
        "close_sequence": session.close_sequence,
        **_closing_values(session.closing),
        "facility_id": p.facility_id,
        "facility_state": p.facility_state,
        "program_id": p.program_id,
        "session_date": p.session_date,
        "start_time": p.start_time,
        "end_time": p.end_time,
        "group_type": p.group_type,
        "service_code": p.service_code,
        "status": session.status.value,
        "origin": session.origin.value,
        "cancel_reason": session.cancel_reason,
        "schedule_revision": session.revision,
    }


class GroupSessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(
        self, tenant_id: str, session_id: str, *, for_update: bool = False
    ) -> GroupSession | None:
        """The session as stored; ``for_update`` locks its row until the transaction ends
        (a writer that waited reads what the other one committed)."""
        query = select(GROUP_SESSION).where(
            GROUP_SESSION.c.tenant_id == tenant_id, GROUP_SESSION.c.session_id == session_id
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).mappings().first()
        if row is None:
            return None
        participants = await self._roster(PARTICIPANT, PARTICIPANT.c.member_id, row)
        supervisors = await self._roster(SUPERVISOR, SUPERVISOR.c.provider_id, row)
        return GroupSession(
            tenant_id=row["tenant_id"],
            session_id=row["session_id"],
            plan=_plan(row, [s for s, _ in participants], [s for s, _ in supervisors]),
            status=SessionStatus(row["status"]),
            origin=SessionOrigin(row["origin"]),
            participants={
                s: RosterEntry(RosterRole.PARTICIPANT, s, status) for s, status in participants
            },
            supervisors={
                s: RosterEntry(RosterRole.SUPERVISOR, s, status) for s, status in supervisors
            },
            cancel_reason=row["cancel_reason"],
            locked=row["locked"],
            close_sequence=row["close_sequence"],
            closing=_closing(row),
            revision=row["schedule_revision"],
            version=row["version"],
        )

    async def _roster(
        self, table: Any, subject: Any, session_row: Any
    ) -> list[tuple[str, AttendanceStatus]]:
        rows = await self._session.execute(
            select(subject, table.c.status)
            .where(
                table.c.session_pk == session_row["id"],
                table.c.tenant_id == session_row["tenant_id"],
            )
            .order_by(table.c.position)
        )
        return [(str(s), AttendanceStatus(status)) for s, status in rows.all()]

    async def add(self, session: GroupSession) -> bool:
        """Insert a new session with its roster; False if the tenant already has one with
        this id (a concurrent writer won)."""
        result = await self._session.execute(
            insert(GROUP_SESSION)
            .values(
                tenant_id=session.tenant_id,
                session_id=session.session_id,
                version=1,
                **_session_values(session),
            )
            .on_conflict_do_nothing(constraint="uq_group_session_tenant_session")
            .returning(GROUP_SESSION.c.id)
        )
        pk = result.scalar_one_or_none()
        if pk is None:
            return False
        session.version = 1
        await self._write_children(pk, session)
        return True

    async def save(self, session: GroupSession) -> None:
        """Write the session back if it is still at the version it was loaded at."""
        result = await self._session.execute(
            update(GROUP_SESSION)
            .where(
                GROUP_SESSION.c.tenant_id == session.tenant_id,
                GROUP_SESSION.c.session_id == session.session_id,
                GROUP_SESSION.c.version == session.version,
            )
            .values(version=GROUP_SESSION.c.version + 1, **_session_values(session))
            .returning(GROUP_SESSION.c.id)
        )
        pk = result.scalar_one_or_none()
        if pk is None:
            raise StaleSessionError(session.tenant_id, session.session_id, session.version)
        session.version += 1
        for table in (PARTICIPANT, SUPERVISOR):
            await self._session.execute(delete(table).where(table.c.session_pk == pk))
        await self._write_children(pk, session)

    async def _write_children(self, pk: int, session: GroupSession) -> None:
        tenant = session.tenant_id
        if session.participants:
            await self._session.execute(
                insert(PARTICIPANT),
                [
                    {
                        "session_pk": pk,
                        "tenant_id": tenant,
                        "member_id": e.subject_id,
                        "position": i,
                        "status": e.status.value,
                    }
                    for i, e in enumerate(session.participants.values())
                ],
            )
        if session.supervisors:
            await self._session.execute(
                insert(SUPERVISOR),
                [
                    {
                        "session_pk": pk,
                        "tenant_id": tenant,
                        "provider_id": e.subject_id,
                        "position": i,
                        "status": e.status.value,
                    }
                    for i, e in enumerate(session.supervisors.values())
                ],
            )
        if session.new_history:
            await self._session.execute(
                insert(ATTENDANCE_HISTORY),
                [
                    {
                        "session_pk": pk,
                        "tenant_id": tenant,
                        "role": c.role.value,
                        "subject_id": c.subject_id,
                        "from_status": c.from_status.value if c.from_status else None,
                        "to_status": c.to_status.value,
                        "actor": c.actor,
                        "recorded_at": c.at,
                    }
                    for c in session.new_history
                ],
            )
            session.new_history.clear()

    async def history(self, tenant_id: str, session_id: str) -> list[AttendanceChange] | None:
        """Every attendance change of the session, oldest first; None if there is no such
        session for the tenant."""
        pk = await self._pk(tenant_id, session_id)
        if pk is None:
            return None
        rows = (
            (
                await self._session.execute(
                    select(ATTENDANCE_HISTORY)
                    .where(
                        ATTENDANCE_HISTORY.c.session_pk == pk,
                        ATTENDANCE_HISTORY.c.tenant_id == tenant_id,
                    )
                    .order_by(ATTENDANCE_HISTORY.c.id)
                )
            )
            .mappings()
            .all()
        )
        return [
            AttendanceChange(
                role=RosterRole(r["role"]),
                subject_id=r["subject_id"],
                from_status=AttendanceStatus(r["from_status"]) if r["from_status"] else None,
                to_status=AttendanceStatus(r["to_status"]),
                actor=r["actor"],
                at=r["recorded_at"],
            )
            for r in rows
        ]

    async def _pk(self, tenant_id: str, session_id: str) -> int | None:
        pk: int | None = (
            await self._session.execute(
                select(GROUP_SESSION.c.id).where(
                    GROUP_SESSION.c.tenant_id == tenant_id,
                    GROUP_SESSION.c.session_id == session_id,
                )
            )
        ).scalar_one_or_none()
        return pk

    async def list_summaries(
        self,
        tenant_id: str,
        *,
        date_from: date,
        date_to: date,
        facility_id: str | None = None,
        group_type: str | None = None,
        status: SessionStatus | None = None,
        locked: bool | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[SessionSummary]:
        query = select(GROUP_SESSION).where(
            GROUP_SESSION.c.tenant_id == tenant_id,
            GROUP_SESSION.c.session_date >= date_from,
            GROUP_SESSION.c.session_date <= date_to,
        )
        if facility_id:
            query = query.where(GROUP_SESSION.c.facility_id == facility_id)
        if group_type:
            query = query.where(GROUP_SESSION.c.group_type == group_type)
        if status:
            query = query.where(GROUP_SESSION.c.status == status.value)
        if locked is not None:
            query = query.where(GROUP_SESSION.c.locked.is_(locked))
        query = (
            query.order_by(
                GROUP_SESSION.c.session_date,
                GROUP_SESSION.c.start_time,
                GROUP_SESSION.c.session_id,
            )
            .limit(limit)
            .offset(offset)
        )
        rows = (await self._session.execute(query)).mappings().all()
        if not rows:
            return []
        pks = [r["id"] for r in rows]
        counts: dict[int, dict[AttendanceStatus, int]] = {
            pk: dict.fromkeys(AttendanceStatus, 0) for pk in pks
        }
        for pk, status_value, n in (
            await self._session.execute(
                select(PARTICIPANT.c.session_pk, PARTICIPANT.c.status, func.count())
                .where(PARTICIPANT.c.tenant_id == tenant_id, PARTICIPANT.c.session_pk.in_(pks))
                .group_by(PARTICIPANT.c.session_pk, PARTICIPANT.c.status)
            )
        ).all():
            counts[pk][AttendanceStatus(status_value)] = int(n)
        supervisors: dict[int, list[str]] = {pk: [] for pk in pks}
        for pk, provider_id in (
            await self._session.execute(
                select(SUPERVISOR.c.session_pk, SUPERVISOR.c.provider_id)
                .where(SUPERVISOR.c.tenant_id == tenant_id, SUPERVISOR.c.session_pk.in_(pks))
                .order_by(SUPERVISOR.c.session_pk, SUPERVISOR.c.position)
            )
        ).all():
            supervisors[pk].append(provider_id)
        return [
            SessionSummary(
                session_id=r["session_id"],
                facility_id=r["facility_id"],
                program_id=r["program_id"],
                session_date=r["session_date"],
                start_time=r["start_time"],
                end_time=r["end_time"],
                group_type=r["group_type"],
                service_code=r["service_code"],
                status=SessionStatus(r["status"]),
                supervisors=tuple(supervisors[r["id"]]),
                counts=counts[r["id"]],
                version=r["version"],
                locked=r["locked"],
                close_sequence=r["close_sequence"],
            )
            for r in rows
        ]

    # -- auto-close ------------------------------------------------------------------

    async def auto_close_candidates(
        self, *, tenant_ids: Sequence[str], dated_on_or_before: date, limit: int
    ) -> list[AutoCloseCandidate]:
        """Sessions of the given tenants, not closed or cancelled, dated up to the given
        date, with no participant SCHEDULED, and changed since the sweep last found them
        blocked; oldest first."""
        g = GROUP_SESSION
        unmarked = exists().where(
            PARTICIPANT.c.session_pk == g.c.id,
            PARTICIPANT.c.status == AttendanceStatus.SCHEDULED.value,
        )
        rows = (
            await self._session.execute(
                select(
                    g.c.tenant_id,
                    g.c.session_id,
                    g.c.facility_id,
                    g.c.session_date,
                    g.c.end_time,
                    g.c.version,
                )
                .where(
                    g.c.tenant_id.in_(list(tenant_ids)),
                    g.c.status.in_([SessionStatus.SCHEDULED.value, SessionStatus.OPEN.value]),
                    g.c.session_date <= dated_on_or_before,
                    g.c.auto_close_checked_version.is_distinct_from(g.c.version),
                    ~unmarked,
                )
                .order_by(g.c.session_date, g.c.end_time, g.c.id)
                .limit(limit)
            )
        ).all()
        return [AutoCloseCandidate(*row) for row in rows]

    async def remember_auto_close_blocked(self, session: GroupSession) -> None:
        """The sweep found the session past its end but not closable at this version."""
        await self._session.execute(
            update(GROUP_SESSION)
            .where(
                GROUP_SESSION.c.tenant_id == session.tenant_id,
                GROUP_SESSION.c.session_id == session.session_id,
                GROUP_SESSION.c.version == session.version,
            )
            .values(auto_close_checked_version=session.version)
        )

    # -- overrides (append-only) -----------------------------------------------------

    async def append_override(self, tenant_id: str, override: Override) -> None:
        await self._session.execute(
            insert(ATTENDANCE_OVERRIDE).values(
                tenant_id=tenant_id,
                session_id=override.session_id,
                role=override.role.value,
                subject_id=override.subject_id,
                from_status=override.from_status.value,
                to_status=override.to_status.value,
                actor=override.actor,
                recorded_at=override.at,
                reason=override.reason,
                reopened=override.reopened,
                close_sequence=override.close_sequence,
            )
        )

    async def overrides(self, tenant_id: str, session_id: str) -> list[Override]:
        rows = (
            (
                await self._session.execute(
                    select(ATTENDANCE_OVERRIDE)
                    .where(
                        ATTENDANCE_OVERRIDE.c.tenant_id == tenant_id,
                        ATTENDANCE_OVERRIDE.c.session_id == session_id,
                    )
                    .order_by(ATTENDANCE_OVERRIDE.c.id)
                )
            )
            .mappings()
            .all()
        )
        return [
            Override(
                session_id=r["session_id"],
                role=RosterRole(r["role"]),
                subject_id=r["subject_id"],
                from_status=AttendanceStatus(r["from_status"]),
                to_status=AttendanceStatus(r["to_status"]),
                actor=r["actor"],
                at=r["recorded_at"],
                reason=r["reason"],
                reopened=r["reopened"],
                close_sequence=r["close_sequence"],
            )
            for r in rows
        ]
