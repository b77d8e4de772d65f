"""Maps stay rows (the stay, its leaves, its history) to the domain's Stay and back, and
keeps members' enrollment windows. Every query names the tenant."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.codes import LeaveReason
from contracts.events.stay_components import Discharge, StayCorrectionKind
from stays.adapters.db.tables import (
    ENROLLMENT_WINDOW,
    MEMBER_SOURCE,
    STAY,
    STAY_CHANGE,
    STAY_LEAVE,
)
from stays.domain.enrollment import EnrollmentWindow
from stays.domain.model import (
    Admission,
    Leave,
    Recorded,
    Stay,
    StayChange,
    StayChangeKind,
    StayStatus,
)


class StaleStayError(Exception):
    """Another writer changed the stay after it was loaded. Transient: load again and
    retry (the event consumer does so by redelivery)."""

    def __init__(self, tenant_id: str, stay_id: str, version: int) -> None:
        super().__init__(f"stay {stay_id} is no longer at version {version}")
        self.tenant_id = tenant_id
        self.stay_id = stay_id
        self.version = version


@dataclass(frozen=True, order=True)
class SourceStamp:
    """When the source said it (the CloudEvent ``time``), then its id: one fixed order for
    the events of one record, so a late or replayed upsert never wins."""

    time: datetime
    event_id: str


def _discharge(row: Any) -> Discharge | None:
    if row["discharge_date"] is None:
        return None
    return Discharge(
        discharge_date=row["discharge_date"],
        discharge_hour=row["discharge_hour"],
        patient_status=row["discharge_status"],
    )


def _leave(row: Any) -> Leave:
    return Leave(
        leave_id=row["leave_id"],
        start_date=row["start_date"],
        return_date=row["return_date"],
        reason=LeaveReason(row["reason"]),
        closed_by_discharge=row["closed_by_discharge"],
    )


def _stay(row: Any, leaves: Sequence[Any] = ()) -> Stay:
    return Stay(
        tenant_id=row["tenant_id"],
        stay_id=row["stay_id"],
        member_id=row["member_id"],
        facility_id=row["facility_id"],
        program_id=row["program_id"],
        admission=Admission.model_validate(row["admission"]),
        status=StayStatus(row["status"]),
        discharge=_discharge(row),
        leaves=sorted(
            (_leave(r) for r in leaves if not r["cancelled"]), key=lambda lv: lv.start_date
        ),
        cancelled_leaves=[_leave(r) for r in leaves if r["cancelled"]],
        version=row["version"],
    )


def _stay_values(stay: Stay) -> dict[str, Any]:
    discharge = stay.discharge
    return {
        "member_id": stay.member_id,
        "facility_id": stay.facility_id,
        "program_id": stay.program_id,
        "status": stay.status.value,
        "admit_date": stay.admission.admit_date,
        "admit_hour": stay.admission.admit_hour,
        "admission": stay.admission.model_dump(mode="json"),
        "discharge_date": discharge.discharge_date if discharge else None,
        "discharge_hour": discharge.discharge_hour if discharge else None,
        "discharge_status": discharge.patient_status if discharge else None,
        "version": stay.version,
    }


def _change(row: Any) -> StayChange:
    return StayChange(
        stay_version=row["stay_version"],
        kind=StayChangeKind(row["change"]),
        recorded=Recorded(
            at=row["recorded_at"],
            by=row["recorded_by"],
            event_id=row["event_id"],
            note=row["note"],
        ),
        correction_kind=(
            StayCorrectionKind(row["correction_kind"]) if row["correction_kind"] else None
        ),
        leave_id=row["leave_id"],
        affected_from=row["affected_from"],
        affected_through=row["affected_through"],
        detail=row["detail"],
    )


class StayRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock(self, tenant_id: str, stay_id: str) -> None:
        """Holds the stay's id until the transaction ends, whether the stay exists yet or
        not: the events of one stay, handled concurrently (prefetch), then apply in the
        order they took the lock, which is the order they were delivered in but for a
        hair; above all a leave or discharge handled while the admission's transaction is
        still open waits for it instead of failing with STAY_UNKNOWN, to be retried after
        a later event (a discharge) has overtaken it."""
        await self._session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"stay:{tenant_id}:{stay_id}"},
        )

    async def get(self, tenant_id: str, stay_id: str, *, for_update: bool = False) -> Stay | None:
        """The stay with its leaves; ``for_update`` locks it until the transaction ends,
        so that two events of one stay apply one after the other."""
        query = select(STAY).where(STAY.c.tenant_id == tenant_id, STAY.c.stay_id == stay_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).mappings().first()
        if row is None:
            return None
        leaves = (
            (
                await self._session.execute(
                    select(STAY_LEAVE).where(
                        STAY_LEAVE.c.tenant_id == tenant_id, STAY_LEAVE.c.stay_id == stay_id
                    )
                )
            )
            .mappings()
            .all()
        )
        return _stay(row, leaves)

    async def add(self, stay: Stay) -> bool:
        """Insert a new stay with its history; False if the tenant already has one with
        this id (nothing written then)."""
        result = await self._session.execute(
            insert(STAY)
            .values(tenant_id=stay.tenant_id, stay_id=stay.stay_id, **_stay_values(stay))
            .on_conflict_do_nothing(constraint="uq_stay_tenant_stay")
            .returning(STAY.c.id)
        )
        if result.first() is None:
            return False
        await self._write_leaves(stay)
        await self._append_changes(stay)
        return True

    async def save(self, stay: Stay) -> None:
        """Write the stay back if it is still at the version it was loaded at, with its
        leaves and the changes made since (appended to the history)."""
        if not stay.changes:
            return
        result = await self._session.execute(
            update(STAY)
            .where(
                STAY.c.tenant_id == stay.tenant_id,
                STAY.c.stay_id == stay.stay_id,
                STAY.c.version == stay.persisted_version,
            )
            .values(**_stay_values(stay))
            .returning(STAY.c.id)
        )
        if result.first() is None:
            raise StaleStayError(stay.tenant_id, stay.stay_id, stay.persisted_version)
        await self._write_leaves(stay)
        await self._append_changes(stay)

    async def _write_leaves(self, stay: Stay) -> None:
        rows = [
            {
                "tenant_id": stay.tenant_id,
                "stay_id": stay.stay_id,
                "leave_id": leave.leave_id,
                "start_date": leave.start_date,
                "return_date": leave.return_date,
                "reason": leave.reason.value,
                "closed_by_discharge": leave.closed_by_discharge,
                "cancelled": cancelled,
            }
            for cancelled, leaves in ((False, stay.leaves), (True, stay.cancelled_leaves))
            for leave in leaves
        ]
        if not rows:
            return
        statement = insert(STAY_LEAVE)
        await self._session.execute(
            statement.on_conflict_do_update(
                constraint="uq_stay_leave",
                set_={
                    name: statement.excluded[name]
                    for name in (
                        "start_date",
                        "return_date",
                        "reason",
                        "closed_by_discharge",
                        "cancelled",
                    )
                },
            ),
            rows,
        )

    async def _append_changes(self, stay: Stay) -> None:
        rows = [
            {
                "tenant_id": stay.tenant_id,
                "stay_id": stay.stay_id,
                "stay_version": change.stay_version,
                "change": change.kind.value,
                "correction_kind": change.correction_kind.value if change.correction_kind else None,
                "leave_id": change.leave_id,
                "affected_from": change.affected_from,
                "affected_through": change.affected_through,
                "recorded_at": change.recorded.at,
                "recorded_by": change.recorded.by[:200],
                "event_id": change.recorded.event_id,
                "note": change.recorded.note,
                "detail": change.detail,
            }
            for change in stay.changes
        ]
        await self._session.execute(insert(STAY_CHANGE), rows)
        stay.changes.clear()

    async def history(self, tenant_id: str, stay_id: str) -> list[StayChange]:
        rows = (
            (
                await self._session.execute(
                    select(STAY_CHANGE)
                    .where(STAY_CHANGE.c.tenant_id == tenant_id, STAY_CHANGE.c.stay_id == stay_id)
                    .order_by(STAY_CHANGE.c.stay_version)
                )
            )
            .mappings()
            .all()
        )
        return [_change(row) for row in rows]

    async def list(
        self,
        tenant_id: str,
        *,
        member_id: str | None = None,
        facility_id: str | None = None,
        status: StayStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Stay]:
        query = select(STAY).where(STAY.c.tenant_id == tenant_id)
        if member_id:
            query = query.where(STAY.c.member_id == member_id)
        if facility_id:
            query = query.where(STAY.c.facility_id == facility_id)
        if status:
            query = query.where(STAY.c.status == status.value)
        query = query.order_by(STAY.c.admit_date.desc(), STAY.c.stay_id).limit(limit).offset(offset)
        rows = (await self._session.execute(query)).mappings().all()
        if not rows:
            return []
        leaves = (
            (
                await self._session.execute(
                    select(STAY_LEAVE).where(
                        STAY_LEAVE.c.tenant_id == tenant_id,
                        tuple_(STAY_LEAVE.c.tenant_id, STAY_LEAVE.c.stay_id).in_(
                            [(tenant_id, row["stay_id"]) for row in rows]
                        ),
                    )
                )
            )
            .mappings()
            .all()
        )
        by_stay: dict[str, list[Any]] = {}
        for leave in leaves:
            by_stay.setdefault(leave["stay_id"], []).append(leave)
        return [_stay(row, by_stay.get(row["stay_id"], ())) for row in rows]


class EnrollmentRepository:
    """Members' program enrollment windows, replaced whole by a newer member upsert."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def replace(
        self,
        tenant_id: str,
        member_id: str,
        windows: Iterable[EnrollmentWindow],
        stamp: SourceStamp,
    ) -> bool:
        """Replace the member's windows unless the kept ones came from an event as new or
        newer (decided in one statement, the member's row locked); True when written."""
        statement = insert(MEMBER_SOURCE).values(
            tenant_id=tenant_id,
            member_id=member_id,
            source_event_time=stamp.time,
            source_event_id=stamp.event_id,
        )
        kept = tuple_(MEMBER_SOURCE.c.source_event_time, MEMBER_SOURCE.c.source_event_id)
        new = tuple_(statement.excluded.source_event_time, statement.excluded.source_event_id)
        statement = statement.on_conflict_do_update(
            constraint="uq_member_source_tenant_member",
            set_={
                "source_event_time": statement.excluded.source_event_time,
                "source_event_id": statement.excluded.source_event_id,
            },
            where=kept < new,
        )
        if (await self._session.execute(statement.returning(MEMBER_SOURCE.c.id))).first() is None:
            return False
        await self._session.execute(
            delete(ENROLLMENT_WINDOW).where(
                ENROLLMENT_WINDOW.c.tenant_id == tenant_id,
                ENROLLMENT_WINDOW.c.member_id == member_id,
            )
        )
        rows = [
            {
                "tenant_id": tenant_id,
                "member_id": member_id,
                "program_id": w.program_id,
                "enrolled_from": w.enrolled_from,
                "enrolled_to": w.enrolled_to,
            }
            for w in windows
        ]
        if rows:
            await self._session.execute(insert(ENROLLMENT_WINDOW), rows)
        return True

    async def known(self, tenant_id: str, member_id: str) -> bool:
        row = (
            await self._session.execute(
                select(MEMBER_SOURCE.c.id).where(
                    MEMBER_SOURCE.c.tenant_id == tenant_id, MEMBER_SOURCE.c.member_id == member_id
                )
            )
        ).first()
        return row is not None

    async def windows(
        self, tenant_id: str, member_id: str, program_id: str | None = None
    ) -> list[EnrollmentWindow]:
        query = select(ENROLLMENT_WINDOW).where(
            ENROLLMENT_WINDOW.c.tenant_id == tenant_id,
            ENROLLMENT_WINDOW.c.member_id == member_id,
        )
        if program_id:
            query = query.where(ENROLLMENT_WINDOW.c.program_id == program_id)
        rows = (
            (
                await self._session.execute(
                    query.order_by(
                        ENROLLMENT_WINDOW.c.program_id, ENROLLMENT_WINDOW.c.enrolled_from
                    )
                )
            )
            .mappings()
            .all()
        )
        return [
            EnrollmentWindow(
                program_id=row["program_id"],
                enrolled_from=row["enrolled_from"],
                enrolled_to=row["enrolled_to"],
            )
            for row in rows
        ]
