"""Taking control numbers from the durable sequence (SPEC 7)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from edi_gateway.adapters.db.repository import ControlNumberRepository
from edi_gateway.domain.model import ControlNumberKind, check_count, numbers_ending_at
from edi_gateway.service_layer.metrics import CONTROL_NUMBERS


async def allocate_control_numbers(
    session: AsyncSession,
    tenant_id: str,
    sender_id: str,
    kind: ControlNumberKind,
    count: int = 1,
) -> list[int]:
    """Take the next ``count`` numbers of ``kind`` for ``sender_id``, in order.

    Runs in the caller's transaction and holds the sequence row's lock until it ends:
    commit the numbers together with whatever records them (the interchange row) before
    anything carrying them leaves the gateway. Numbers are never handed out twice, not
    after a restart and not to two replicas; a rolled-back transaction gives its numbers
    back. After 999999999 the sequence wraps to 1 (ISA13 is 9 digits, never 0).

    When one transaction takes several kinds, take them in the order ISA, GS, ST, so two
    allocators never wait on each other's rows in opposite orders."""
    check_count(count)
    last = await ControlNumberRepository(session).take(tenant_id, sender_id, kind, count)
    CONTROL_NUMBERS.labels(kind.value).inc(count)
    return numbers_ending_at(last, count)
