"""Which leave a feed message means when it names none (HL7 A22, A52, A53)."""

from __future__ import annotations

from common.db import UnitOfWork
from stays.adapters.db.repository import StayRepository
from stays.domain.errors import StayUnknown
from stays.domain.leave_reference import LeaveReference, referred_leave
from stays.domain.model import Leave


async def leave_referred_to(
    uow: UnitOfWork, tenant_id: str, stay_id: str, reference: LeaveReference
) -> Leave:
    """The leave ``reference`` means, read on the stay locked for this transaction: the
    change that follows in the same unit of work sees the stay this answer was read from."""
    stay = await StayRepository(uow.session).get(tenant_id, stay_id, for_update=True)
    if stay is None:
        raise StayUnknown(stay_id)
    return referred_leave(stay, reference)
