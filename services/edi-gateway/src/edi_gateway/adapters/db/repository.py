"""Control number sequences and interchanges. Every query names the tenant."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from edi_gateway.adapters.db.tables import CONTROL_NUMBER_SEQUENCE, INTERCHANGE
from edi_gateway.domain.model import (
    CONTROL_NUMBER_MAX,
    ControlNumberKind,
    Interchange,
    InterchangeStatus,
    TransactionType,
    UsageIndicator,
)


class ControlNumberRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def take(
        self, tenant_id: str, sender_id: str, kind: ControlNumberKind, count: int
    ) -> int:
        """Move the sequence on by ``count`` and return its new last number.

        One statement: the first allocation creates the row, every later one updates it
        (``domain.model.advance``, in SQL) under the row lock the update takes. The lock is
        held until the caller's transaction ends, so concurrent allocators (other sessions,
        other replicas) queue behind it and see its committed number; if it rolls back,
        its numbers go back to the sequence unused."""
        seq = CONTROL_NUMBER_SEQUENCE
        statement = (
            insert(seq)
            .values(tenant_id=tenant_id, sender_id=sender_id, kind=kind.value, last_value=count)
            .on_conflict_do_update(
                constraint="pk_control_number_sequence",
                set_={
                    "last_value": (seq.c.last_value + count - 1) % CONTROL_NUMBER_MAX + 1,
                    "updated_at": func.now(),
                },
            )
            .returning(seq.c.last_value)
        )
        return int((await self._session.execute(statement)).scalar_one())

    async def last(self, tenant_id: str, sender_id: str, kind: ControlNumberKind) -> int:
        """The last number taken (0 before the first), without taking one."""
        seq = CONTROL_NUMBER_SEQUENCE
        value = (
            await self._session.execute(
                select(seq.c.last_value).where(
                    seq.c.tenant_id == tenant_id,
                    seq.c.sender_id == sender_id,
                    seq.c.kind == kind.value,
                )
            )
        ).scalar_one_or_none()
        return 0 if value is None else int(value)


def _interchange(row: Any) -> Interchange:
    return Interchange(
        tenant_id=row["tenant_id"],
        interchange_id=row["interchange_id"],
        clearinghouse_id=row["clearinghouse_id"],
        sender_id=row["sender_id"],
        transaction_type=TransactionType(row["transaction_type"]),
        usage_indicator=UsageIndicator(row["usage_indicator"]),
        isa13=row["isa13"],
        gs06=row["gs06"],
        status=InterchangeStatus(row["status"]),
        created_at=row["created_at"],
    )


class InterchangeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        *,
        tenant_id: str,
        interchange_id: str,
        clearinghouse_id: str,
        sender_id: str,
        transaction_type: TransactionType,
        usage_indicator: UsageIndicator,
        isa13: int,
        gs06: int,
    ) -> Interchange:
        row = (
            (
                await self._session.execute(
                    insert(INTERCHANGE)
                    .values(
                        tenant_id=tenant_id,
                        interchange_id=interchange_id,
                        clearinghouse_id=clearinghouse_id,
                        sender_id=sender_id,
                        transaction_type=transaction_type.value,
                        usage_indicator=usage_indicator.value,
                        isa13=isa13,
                        gs06=gs06,
                        status=InterchangeStatus.ALLOCATED.value,
                    )
                    .returning(*INTERCHANGE.c)
                )
            )
            .mappings()
            .one()
        )
        return _interchange(row)

    async def get(self, tenant_id: str, interchange_id: str) -> Interchange | None:
        row = (
            (
                await self._session.execute(
                    select(INTERCHANGE).where(
                        INTERCHANGE.c.tenant_id == tenant_id,
                        INTERCHANGE.c.interchange_id == interchange_id,
                    )
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else _interchange(row)

    async def list(
        self,
        tenant_id: str,
        *,
        clearinghouse_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Interchange]:
        query = select(INTERCHANGE).where(INTERCHANGE.c.tenant_id == tenant_id)
        if clearinghouse_id:
            query = query.where(INTERCHANGE.c.clearinghouse_id == clearinghouse_id)
        query = (
            query.order_by(INTERCHANGE.c.created_at.desc(), INTERCHANGE.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [_interchange(row) for row in rows]
