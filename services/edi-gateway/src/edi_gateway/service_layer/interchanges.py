"""Interchanges: open one with its ISA13 and GS06, list them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from edi_gateway.adapters.db.repository import InterchangeRepository
from edi_gateway.domain.model import (
    ControlNumberKind,
    Interchange,
    TransactionType,
    UsageIndicator,
)
from edi_gateway.service_layer.control_numbers import allocate_control_numbers


@dataclass(frozen=True)
class OpenInterchange:
    tenant_id: str
    clearinghouse_id: str
    sender_id: str
    transaction_type: TransactionType
    usage_indicator: UsageIndicator


async def open_interchange(session: AsyncSession, command: OpenInterchange) -> Interchange:
    """Allocate an interchange's ISA13 and its group's GS06 and record them, in the
    caller's transaction (numbers and record commit together or not at all)."""
    (isa13,) = await allocate_control_numbers(
        session, command.tenant_id, command.sender_id, ControlNumberKind.INTERCHANGE
    )
    (gs06,) = await allocate_control_numbers(
        session, command.tenant_id, command.sender_id, ControlNumberKind.GROUP
    )
    return await InterchangeRepository(session).add(
        tenant_id=command.tenant_id,
        interchange_id=str(uuid.uuid4()),
        clearinghouse_id=command.clearinghouse_id,
        sender_id=command.sender_id,
        transaction_type=command.transaction_type,
        usage_indicator=command.usage_indicator,
        isa13=isa13,
        gs06=gs06,
    )


async def list_interchanges(
    session: AsyncSession,
    tenant_id: str,
    *,
    clearinghouse_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Interchange]:
    return await InterchangeRepository(session).list(
        tenant_id, clearinghouse_id=clearinghouse_id, limit=limit, offset=offset
    )
