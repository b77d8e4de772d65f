"""Use cases that keep the claims projections current from the EHR feed (members,
providers, facilities) and the stays service (stay context). Each runs in the unit of work
of the event that carries it, inbox included."""

from __future__ import annotations

from claims.adapters.db.repository import ProjectionRepository
from claims.domain.projections import (
    ClaimMember,
    Facility,
    ProjectionOutcome,
    Provider,
    SourceStamp,
    StayContext,
    StayStamp,
)
from common.db import UnitOfWork
from common.logging import get_logger

log = get_logger(__name__)


def _outcome(written: bool, kind: str, record_id: str) -> ProjectionOutcome:
    if written:
        return ProjectionOutcome.APPLIED
    # Normal when a feed replays or reorders; ids only, never the record (PHI).
    log.info("projection_kept_newer", projection=kind, record_id=record_id)
    return ProjectionOutcome.STALE


async def record_member(
    uow: UnitOfWork, tenant_id: str, member: ClaimMember, stamp: SourceStamp
) -> ProjectionOutcome:
    written = await ProjectionRepository(uow.session).save_member(tenant_id, member, stamp)
    return _outcome(written, "member", member.member_id)


async def record_provider(
    uow: UnitOfWork, tenant_id: str, provider: Provider, stamp: SourceStamp
) -> ProjectionOutcome:
    written = await ProjectionRepository(uow.session).save_provider(tenant_id, provider, stamp)
    return _outcome(written, "provider", provider.provider_id)


async def record_facility(
    uow: UnitOfWork, tenant_id: str, facility: Facility, stamp: SourceStamp
) -> ProjectionOutcome:
    written = await ProjectionRepository(uow.session).save_facility(tenant_id, facility, stamp)
    return _outcome(written, "facility", facility.facility_id)


async def record_stay(
    uow: UnitOfWork, tenant_id: str, stay: StayContext, stamp: StayStamp
) -> ProjectionOutcome:
    """Keep the newest stay state by ``stay_version``. Rebuilding or marking built cycle
    claims STALE on a changed stay comes with institutional claim building."""
    written = await ProjectionRepository(uow.session).save_stay(tenant_id, stay, stamp)
    return _outcome(written, "stay", stay.stay_id)
