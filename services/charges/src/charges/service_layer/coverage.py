"""Which payer a charge bills: the member's primary coverage in force on the date of
service (SPEC 5)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from charges.adapters.db.repository import ProjectionRepository
from charges.domain.projections import CoveragePeriod, UnknownMember


async def primary_coverage_on(
    session: AsyncSession, tenant_id: str, member_id: str, on: date
) -> CoveragePeriod | None:
    """The member's primary coverage in force on ``on`` (both ends inclusive), or None
    when no primary coverage is (a charge then needs a fix: no active coverage).

    A coverage is in force on a date whatever the member's current ``active`` flag says:
    a member made inactive today was still covered for last month's sessions.

    Raises :class:`UnknownMember` when the tenant has no such member."""
    known, coverage = await ProjectionRepository(session).primary_coverage_on(
        tenant_id, member_id, on
    )
    if not known:
        raise UnknownMember(member_id)
    return coverage
