"""The durable per-interchange delivery record (``interchange_delivery``); see
``edi_gateway.domain.delivery`` for what its states mean."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from edi_gateway.adapters.db.tables import INTERCHANGE_DELIVERY
from edi_gateway.domain.delivery import DeliveryState


@dataclass(frozen=True)
class DeliveryRecord:
    tenant_id: str
    interchange_id: str
    state: DeliveryState
    file_name: str
    temporary_name: str
    size_bytes: int
    sha256: str
    uploads: int
    updated_at: datetime


class DeliveryRecordRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, tenant_id: str, interchange_id: str) -> DeliveryRecord | None:
        t = INTERCHANGE_DELIVERY
        row = (
            (
                await self._session.execute(
                    select(t).where(
                        t.c.tenant_id == tenant_id, t.c.interchange_id == interchange_id
                    )
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return DeliveryRecord(
            tenant_id=row["tenant_id"],
            interchange_id=row["interchange_id"],
            state=DeliveryState(row["state"]),
            file_name=row["file_name"],
            temporary_name=row["temporary_name"],
            size_bytes=row["size_bytes"],
            sha256=row["sha256"],
            uploads=row["uploads"],
            updated_at=row["updated_at"],
        )

    async def record(
        self,
        *,
        tenant_id: str,
        interchange_id: str,
        state: DeliveryState,
        file_name: str,
        temporary_name: str,
        size_bytes: int,
        sha256: str,
    ) -> None:
        """Create or move the record to ``state`` (an upload that starts counts one)."""
        t = INTERCHANGE_DELIVERY
        starts = 1 if state is DeliveryState.UPLOADING else 0
        await self._session.execute(
            insert(t)
            .values(
                tenant_id=tenant_id,
                interchange_id=interchange_id,
                state=state.value,
                file_name=file_name,
                temporary_name=temporary_name,
                size_bytes=size_bytes,
                sha256=sha256,
                uploads=starts,
            )
            .on_conflict_do_update(
                constraint="uq_interchange_delivery",
                set_={
                    "state": state.value,
                    "file_name": file_name,
                    "temporary_name": temporary_name,
                    "size_bytes": size_bytes,
                    "sha256": sha256,
                    "uploads": t.c.uploads + starts,
                    "updated_at": func.now(),
                },
            )
        )
