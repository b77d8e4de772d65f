"""Maps stay rows to the domain's Stay and back. Every query names the tenant."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from stays.adapters.db.tables import STAY
from stays.domain.model import Admission, Stay, StayStatus


def _stay(row: Any) -> Stay:
    return Stay(
        tenant_id=row["tenant_id"],
        stay_id=row["stay_id"],
        member_id=row["member_id"],
        facility_id=row["facility_id"],
        program_id=row["program_id"],
        admission=Admission.model_validate(row["admission"]),
        status=StayStatus(row["status"]),
        discharge_date=row["discharge_date"],
        discharge_hour=row["discharge_hour"],
        discharge_status=row["discharge_status"],
        version=row["version"],
    )


class StayRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, tenant_id: str, stay_id: str) -> Stay | None:
        row = (
            (
                await self._session.execute(
                    select(STAY).where(STAY.c.tenant_id == tenant_id, STAY.c.stay_id == stay_id)
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else _stay(row)

    async def add(self, stay: Stay) -> bool:
        """Insert a new stay; False if the tenant already has one with this id."""
        result = await self._session.execute(
            insert(STAY)
            .values(
                tenant_id=stay.tenant_id,
                stay_id=stay.stay_id,
                member_id=stay.member_id,
                facility_id=stay.facility_id,
                program_id=stay.program_id,
                status=stay.status.value,
                admit_date=stay.admission.admit_date,
                admit_hour=stay.admission.admit_hour,
                admission=stay.admission.model_dump(mode="json"),
                version=1,
            )
            .on_conflict_do_nothing(constraint="uq_stay_tenant_stay")
            .returning(STAY.c.id)
        )
        return result.first() is not None

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
        return [_stay(row) for row in rows]
