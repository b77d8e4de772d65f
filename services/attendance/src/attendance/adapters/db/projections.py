"""What attendance keeps of other systems' records, tenant-scoped:

- members' coverage periods (payer, primary flag, dates; no subscriber data) and
  facilities' state and time zone, from the EHR feed, replaced whole by a newer upsert
  (ordered by the event's time, then id, so a late or replayed event never wins);
- the claims holding a session's charges at their newest reported status, and the
  charges built for a session, from the charges and claims services."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from attendance.adapters.db.tables import (
    FACILITY,
    MEMBER_COVERAGE,
    MEMBER_SOURCE,
    SESSION_CHARGE,
    SESSION_CLAIM,
)
from attendance.domain.billing import CoveragePeriod
from attendance.domain.model import ClaimHold


@dataclass(frozen=True, order=True)
class SourceStamp:
    """When the source said it (the CloudEvent ``time``), then its id: a fixed order for
    events of one record, so every replica and replay keeps the same one."""

    time: datetime
    event_id: str


@dataclass(frozen=True)
class FacilityFacts:
    facility_id: str
    state: str | None
    time_zone: str


@dataclass(frozen=True)
class ClaimStatusReport:
    """One ``claims.claim.status_changed`` as attendance keeps it."""

    claim_id: str
    claim_version: int
    status: str
    previous_status: str | None


async def _upsert_if_newer(
    session: AsyncSession,
    table: Table,
    constraint: str,
    values: dict[str, Any],
    stamp: SourceStamp,
    *,
    order: tuple[str, ...] = ("source_event_time", "source_event_id"),
) -> bool:
    """Insert or replace one row unless the kept one is as new or newer (decided and
    written in one statement, the conflicting row locked). True when written."""
    statement = insert(table).values(
        **values, source_event_time=stamp.time, source_event_id=stamp.event_id
    )
    replaced = {
        name: statement.excluded[name]
        for name in (*values, "source_event_time", "source_event_id")
        if name != "tenant_id"
    }
    kept = tuple_(*(table.c[name] for name in order))
    new = tuple_(*(statement.excluded[name] for name in order))
    statement = statement.on_conflict_do_update(
        constraint=constraint, set_=replaced, where=kept < new
    )
    result = await session.execute(statement.returning(table.c.id))
    return result.first() is not None


class ProjectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # -- members ---------------------------------------------------------------------

    async def save_member_coverage(
        self,
        tenant_id: str,
        member_id: str,
        coverages: Iterable[CoveragePeriod],
        stamp: SourceStamp,
    ) -> bool:
        """Replace the member's coverage periods if ``stamp`` is newer than the kept
        one; False (nothing written) otherwise."""
        written = await _upsert_if_newer(
            self._session,
            MEMBER_SOURCE,
            "uq_member_source_tenant_member",
            {"tenant_id": tenant_id, "member_id": member_id},
            stamp,
        )
        if not written:
            return False
        await self._session.execute(
            delete(MEMBER_COVERAGE).where(
                MEMBER_COVERAGE.c.tenant_id == tenant_id,
                MEMBER_COVERAGE.c.member_id == member_id,
            )
        )
        rows = [
            {
                "tenant_id": tenant_id,
                "member_id": member_id,
                "coverage_id": c.coverage_id,
                "payer_id": c.payer_id,
                "is_primary": c.is_primary,
                "effective_from": c.effective_from,
                "effective_to": c.effective_to,
            }
            for c in coverages
        ]
        if rows:
            await self._session.execute(insert(MEMBER_COVERAGE), rows)
        return True

    async def coverages(
        self, tenant_id: str, member_ids: Collection[str]
    ) -> dict[str, list[CoveragePeriod]]:
        """Every known coverage period of the members, by member."""
        found: dict[str, list[CoveragePeriod]] = {}
        if not member_ids:
            return found
        rows = (
            (
                await self._session.execute(
                    select(MEMBER_COVERAGE)
                    .where(
                        MEMBER_COVERAGE.c.tenant_id == tenant_id,
                        MEMBER_COVERAGE.c.member_id.in_(list(member_ids)),
                    )
                    .order_by(MEMBER_COVERAGE.c.member_id, MEMBER_COVERAGE.c.effective_from)
                )
            )
            .mappings()
            .all()
        )
        for r in rows:
            found.setdefault(r["member_id"], []).append(
                CoveragePeriod(
                    coverage_id=r["coverage_id"],
                    payer_id=r["payer_id"],
                    is_primary=r["is_primary"],
                    effective_from=r["effective_from"],
                    effective_to=r["effective_to"],
                )
            )
        return found

    # -- facilities ------------------------------------------------------------------

    async def save_facility(
        self, tenant_id: str, facility: FacilityFacts, stamp: SourceStamp
    ) -> bool:
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

    async def facilities(
        self, tenant_id: str, facility_ids: Collection[str]
    ) -> dict[str, FacilityFacts]:
        if not facility_ids:
            return {}
        rows = (
            await self._session.execute(
                select(FACILITY.c.facility_id, FACILITY.c.state, FACILITY.c.time_zone).where(
                    FACILITY.c.tenant_id == tenant_id,
                    FACILITY.c.facility_id.in_(list(facility_ids)),
                )
            )
        ).all()
        return {r[0]: FacilityFacts(*r) for r in rows}

    # -- charges and claims ------------------------------------------------------------

    async def remember_charges(
        self, tenant_id: str, session_id: str, charge_ids: Iterable[str]
    ) -> None:
        rows = [
            {"tenant_id": tenant_id, "session_id": session_id, "charge_id": charge_id}
            for charge_id in dict.fromkeys(charge_ids)
        ]
        if rows:
            # Rows as parameters (executemany): one compiled statement for any count.
            await self._session.execute(
                insert(SESSION_CHARGE).on_conflict_do_nothing(
                    constraint="uq_session_charge_tenant_charge"
                ),
                rows,
            )

    async def sessions_of_charges(self, tenant_id: str, charge_ids: Collection[str]) -> set[str]:
        if not charge_ids:
            return set()
        rows = await self._session.execute(
            select(SESSION_CHARGE.c.session_id)
            .where(
                SESSION_CHARGE.c.tenant_id == tenant_id,
                SESSION_CHARGE.c.charge_id.in_(list(charge_ids)),
            )
            .distinct()
        )
        return {r[0] for r in rows.all()}

    async def save_claim_status(
        self,
        tenant_id: str,
        session_id: str,
        report: ClaimStatusReport,
        stamp: SourceStamp,
    ) -> bool:
        """Keep the claim's status for the session if the report is newer (by claim
        version, then the event's time and id) than the one kept."""
        return await _upsert_if_newer(
            self._session,
            SESSION_CLAIM,
            "uq_session_claim",
            {
                "tenant_id": tenant_id,
                "session_id": session_id,
                "claim_id": report.claim_id,
                "claim_version": report.claim_version,
                "status": report.status,
                "previous_status": report.previous_status,
            },
            stamp,
            order=("claim_version", "source_event_time", "source_event_id"),
        )

    async def claims_of_session(self, tenant_id: str, session_id: str) -> list[ClaimHold]:
        rows = await self._session.execute(
            select(
                SESSION_CLAIM.c.claim_id,
                SESSION_CLAIM.c.status,
                SESSION_CLAIM.c.previous_status,
            )
            .where(
                SESSION_CLAIM.c.tenant_id == tenant_id,
                SESSION_CLAIM.c.session_id == session_id,
            )
            .order_by(SESSION_CLAIM.c.claim_id)
        )
        return [ClaimHold(*r) for r in rows.all()]
