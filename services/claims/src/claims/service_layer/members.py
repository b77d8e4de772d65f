"""The member as a claim prints one (demographics and coverages)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from claims.adapters.db.repository import ProjectionRepository
from claims.domain.projections import ClaimMember, UnknownMember


async def claim_member(session: AsyncSession, tenant_id: str, member_id: str) -> ClaimMember:
    """Raises :class:`UnknownMember` when the tenant has no such member."""
    member = await ProjectionRepository(session).get_member(tenant_id, member_id)
    if member is None:
        raise UnknownMember(member_id)
    return member
