"""Maps the ``stay`` rows (the newest stay version seen, and how far its day charges are
written) to the domain and back. Every query names the tenant, but for the sweep's, which
reads across the configured tenants.

Keeping a stay is one ``INSERT .. ON CONFLICT DO UPDATE .. WHERE kept version < new``: it
decides and writes atomically and leaves the row locked until commit, so the events of one
stay and the sweep over it serialise on that row."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from sqlalchemy import RowMapping, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from charges.adapters.db.tables import STAY
from charges.domain.per_diem import Stay, StayLeave, StayLedger
from contracts.codes import LeaveReason
from contracts.events.stays import StayStatus


def _leaves(stay: Stay) -> list[dict[str, Any]]:
    return [
        {
            "leave_id": leave.leave_id,
            "start_date": leave.start_date.isoformat(),
            "return_date": leave.return_date.isoformat() if leave.return_date else None,
            "reason": leave.reason.value,
        }
        for leave in stay.leaves
    ]


def _ledger(row: RowMapping) -> StayLedger:
    stay = Stay(
        stay_id=row["stay_id"],
        stay_version=row["stay_version"],
        member_id=row["member_id"],
        facility_id=row["facility_id"],
        program_id=row["program_id"],
        status=StayStatus(row["status"]),
        admit_date=row["admit_date"],
        discharge_date=row["discharge_date"],
        leaves=tuple(
            StayLeave(
                leave_id=leave["leave_id"],
                start_date=date.fromisoformat(leave["start_date"]),
                return_date=(
                    date.fromisoformat(leave["return_date"]) if leave["return_date"] else None
                ),
                reason=LeaveReason(leave["reason"]),
            )
            for leave in row["leaves"]
        ),
    )
    return StayLedger(row["tenant_id"], stay, row["written_through"])


class StayRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def keep_if_newer(self, tenant_id: str, stay: Stay, event_id: str) -> StayLedger | None:
        """Keep ``stay`` when it is newer (by ``stay_version``) than the kept version, and
        answer the ledger, locked until commit. None when an equal or newer one is kept."""
        values: dict[str, Any] = {
            "stay_version": stay.stay_version,
            "member_id": stay.member_id,
            "facility_id": stay.facility_id,
            "program_id": stay.program_id,
            "status": stay.status.value,
            "admit_date": stay.admit_date,
            "discharge_date": stay.discharge_date,
            "leaves": _leaves(stay),
            "source_event_id": event_id,
        }
        statement = insert(STAY).values(tenant_id=tenant_id, stay_id=stay.stay_id, **values)
        statement = statement.on_conflict_do_update(
            constraint="uq_stay_tenant_stay",
            set_={**{name: statement.excluded[name] for name in values}, "updated_at": func.now()},
            where=STAY.c.stay_version < statement.excluded.stay_version,
        )
        row = (await self._session.execute(statement.returning(STAY))).mappings().first()
        return _ledger(row) if row is not None else None

    async def get(
        self, tenant_id: str, stay_id: str, *, for_update: bool = False
    ) -> StayLedger | None:
        query = select(STAY).where(STAY.c.tenant_id == tenant_id, STAY.c.stay_id == stay_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).mappings().first()
        return _ledger(row) if row is not None else None

    async def get_many(self, tenant_id: str, stay_ids: Collection[str]) -> dict[str, StayLedger]:
        query = select(STAY).where(
            STAY.c.tenant_id == tenant_id, STAY.c.stay_id.in_(sorted(set(stay_ids)))
        )
        rows = (await self._session.execute(query)).mappings()
        return {row["stay_id"]: _ledger(row) for row in rows}

    async def due(
        self, *, tenant_ids: Collection[str], now: datetime, limit: int
    ) -> list[StayLedger]:
        """Stays whose next day has completed by ``now``, soonest first, locked; a stay
        another transaction holds (its event being applied) is skipped: that event writes
        its complete days itself."""
        query = (
            select(STAY)
            .where(STAY.c.tenant_id.in_(sorted(tenant_ids)), STAY.c.next_due_at <= now)
            .order_by(STAY.c.next_due_at, STAY.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_ledger(row) for row in (await self._session.execute(query)).mappings()]

    async def mark_written(
        self,
        tenant_id: str,
        stay_id: str,
        *,
        written_through: date | None,
        next_due_at: datetime | None,
    ) -> None:
        await self._session.execute(
            update(STAY)
            .where(STAY.c.tenant_id == tenant_id, STAY.c.stay_id == stay_id)
            .values(written_through=written_through, next_due_at=next_due_at, updated_at=func.now())
        )

    async def postpone(self, tenant_id: str, stay_id: str, until: datetime) -> None:
        await self._session.execute(
            update(STAY)
            .where(STAY.c.tenant_id == tenant_id, STAY.c.stay_id == stay_id)
            .values(next_due_at=until)
        )

    async def due_again_at_facility(self, tenant_id: str, facility_id: str, at: datetime) -> int:
        """The open stays of a facility looked at again by the next sweep (its time zone,
        hence when their days complete, may have changed). Answers how many."""
        result = await self._session.execute(
            update(STAY)
            .where(
                STAY.c.tenant_id == tenant_id,
                STAY.c.facility_id == facility_id,
                STAY.c.next_due_at.is_not(None),
            )
            .values(next_due_at=at)
        )
        return int(getattr(result, "rowcount", 0) or 0)
