"""Keep what the billing preview needs of the EHR feed: members' coverage periods and
facilities' state and time zone. Each runs in the unit of work of its event (inbox
included); an event older than the one kept changes nothing."""

from __future__ import annotations

from collections.abc import Iterable

from attendance.adapters.db.projections import FacilityFacts, ProjectionRepository, SourceStamp
from attendance.domain.billing import CoveragePeriod
from common.db import UnitOfWork
from common.logging import get_logger

log = get_logger(__name__)


async def record_member_coverage(
    uow: UnitOfWork,
    tenant_id: str,
    member_id: str,
    coverages: Iterable[CoveragePeriod],
    stamp: SourceStamp,
) -> bool:
    written = await ProjectionRepository(uow.session).save_member_coverage(
        tenant_id, member_id, coverages, stamp
    )
    if not written:
        log.info("projection_kept_newer", projection="member", record_id=member_id)
    return written


async def record_facility(
    uow: UnitOfWork, tenant_id: str, facility: FacilityFacts, stamp: SourceStamp
) -> bool:
    written = await ProjectionRepository(uow.session).save_facility(tenant_id, facility, stamp)
    if not written:
        log.info("projection_kept_newer", projection="facility", record_id=facility.facility_id)
    return written
