"""Maps projection rows to the domain's records and back. Every query names the tenant.

Writes are last-writer-wins by :class:`SourceStamp`: one ``INSERT .. ON CONFLICT DO UPDATE
.. WHERE kept stamp < new stamp`` decides and writes atomically (the conflicting row is
locked, so two deliveries for one member serialise), and reports whether it wrote."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import RowMapping, Table, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from charges.adapters.db.tables import FACILITY, MEMBER, MEMBER_COVERAGE, PROVIDER
from charges.domain.projections import (
    CoveragePeriod,
    Facility,
    MemberCoverage,
    Provider,
    SourceStamp,
)
from common.projections import upsert_if_newer


async def _upsert_if_newer(
    session: AsyncSession,
    table: Table,
    constraint: str,
    values: dict[str, Any],
    stamp: SourceStamp,
) -> bool:
    return await upsert_if_newer(
        session,
        table,
        constraint,
        values,
        source_event_time=stamp.time,
        source_event_id=stamp.event_id,
    )


def _coverage(row: RowMapping) -> CoveragePeriod:
    return CoveragePeriod(
        coverage_id=row["coverage_id"],
        payer_id=row["payer_id"],
        relationship_to_subscriber=row["relationship_to_subscriber"],
        is_primary=row["is_primary"],
        effective_from=row["effective_from"],
        effective_to=row["effective_to"],
    )


class ProjectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # ------------------------------------------------------------------ members

    async def save_member(self, tenant_id: str, member: MemberCoverage, stamp: SourceStamp) -> bool:
        """Keep ``member`` with its coverage periods if it is newer than what is kept.
        False when it is not (nothing written)."""
        written = await _upsert_if_newer(
            self._session,
            MEMBER,
            "uq_member_tenant_member",
            {"tenant_id": tenant_id, "member_id": member.member_id, "active": member.active},
            stamp,
        )
        if not written:
            return False
        # The member row is locked by the upsert until commit: replacing its periods here
        # cannot interleave with another delivery for the same member.
        await self._session.execute(
            delete(MEMBER_COVERAGE).where(
                MEMBER_COVERAGE.c.tenant_id == tenant_id,
                MEMBER_COVERAGE.c.member_id == member.member_id,
            )
        )
        if member.coverages:
            await self._session.execute(
                insert(MEMBER_COVERAGE),
                [
                    {
                        "tenant_id": tenant_id,
                        "member_id": member.member_id,
                        "coverage_id": c.coverage_id,
                        "payer_id": c.payer_id,
                        "relationship_to_subscriber": c.relationship_to_subscriber,
                        "is_primary": c.is_primary,
                        "effective_from": c.effective_from,
                        "effective_to": c.effective_to,
                    }
                    for c in member.coverages
                ],
            )
        return True

    async def get_member(self, tenant_id: str, member_id: str) -> MemberCoverage | None:
        member = (
            (
                await self._session.execute(
                    select(MEMBER).where(
                        MEMBER.c.tenant_id == tenant_id, MEMBER.c.member_id == member_id
                    )
                )
            )
            .mappings()
            .first()
        )
        if member is None:
            return None
        rows = (
            (
                await self._session.execute(
                    select(MEMBER_COVERAGE)
                    .where(
                        MEMBER_COVERAGE.c.tenant_id == tenant_id,
                        MEMBER_COVERAGE.c.member_id == member_id,
                    )
                    .order_by(MEMBER_COVERAGE.c.effective_from, MEMBER_COVERAGE.c.coverage_id)
                )
            )
            .mappings()
            .all()
        )
        return MemberCoverage(
            member_id=member["member_id"],
            active=member["active"],
            coverages=tuple(_coverage(r) for r in rows),
        )

    async def primary_coverage_on(
        self, tenant_id: str, member_id: str, on: date
    ) -> tuple[bool, CoveragePeriod | None]:
        """(whether the member is known, its primary coverage in force on ``on``; see
        ``MemberCoverage.primary_coverage_on``)."""
        member = await self.get_member(tenant_id, member_id)
        if member is None:
            return False, None
        return True, member.primary_coverage_on(on)

    # ------------------------------------------------------------------ providers, facilities

    async def save_provider(self, tenant_id: str, provider: Provider, stamp: SourceStamp) -> bool:
        return await _upsert_if_newer(
            self._session,
            PROVIDER,
            "uq_provider_tenant_provider",
            {
                "tenant_id": tenant_id,
                "provider_id": provider.provider_id,
                "npi": provider.npi,
                "active": provider.active,
            },
            stamp,
        )

    async def get_provider(self, tenant_id: str, provider_id: str) -> Provider | None:
        row = (
            (
                await self._session.execute(
                    select(PROVIDER).where(
                        PROVIDER.c.tenant_id == tenant_id, PROVIDER.c.provider_id == provider_id
                    )
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return Provider(provider_id=row["provider_id"], npi=row["npi"], active=row["active"])

    async def save_facility(self, tenant_id: str, facility: Facility, stamp: SourceStamp) -> bool:
        return await _upsert_if_newer(
            self._session,
            FACILITY,
            "uq_facility_tenant_facility",
            {
                "tenant_id": tenant_id,
                "facility_id": facility.facility_id,
                "state": facility.state,
                "time_zone": facility.time_zone,
            },
            stamp,
        )

    async def get_facility(self, tenant_id: str, facility_id: str) -> Facility | None:
        row = (
            (
                await self._session.execute(
                    select(FACILITY).where(
                        FACILITY.c.tenant_id == tenant_id, FACILITY.c.facility_id == facility_id
                    )
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return Facility(
            facility_id=row["facility_id"], state=row["state"], time_zone=row["time_zone"]
        )
