"""Members' program enrollment windows from the EHR's member upserts (state transfer: a
newer upsert replaces them whole, an older or replayed one changes nothing)."""

from __future__ import annotations

from collections.abc import Iterable

from common.db import UnitOfWork
from common.logging import get_logger
from stays.adapters.db.repository import EnrollmentRepository, SourceStamp
from stays.domain.enrollment import EnrollmentWindow

log = get_logger(__name__)


async def record_enrollments(
    uow: UnitOfWork,
    tenant_id: str,
    member_id: str,
    windows: Iterable[EnrollmentWindow],
    stamp: SourceStamp,
) -> bool:
    written = await EnrollmentRepository(uow.session).replace(tenant_id, member_id, windows, stamp)
    if not written:
        log.info("projection_kept_newer", projection="member", record_id=member_id)
    return written
