"""What the claims API reads: claims with their current lines and transmissions, and one
claim with every version, issue, status change and transmission."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from claims.adapters.db.claims_repository import (
    ClaimRepository,
    ClaimSummaryRow,
    StatusChangeRow,
    VersionRow,
)
from claims.domain.claims import (
    ClaimLine,
    ClaimRuleViolation,
    ClaimTransmission,
    ProfessionalClaimContent,
    ScrubIssue,
    UnknownClaim,
)


@dataclass(frozen=True)
class ClaimView:
    summary: ClaimSummaryRow
    lines: list[ClaimLine]
    transmissions: list[ClaimTransmission]


@dataclass(frozen=True)
class ClaimDetail:
    summary: ClaimSummaryRow
    content: ProfessionalClaimContent | None
    issues: list[ScrubIssue]
    versions: list[VersionRow]
    status_changes: list[StatusChangeRow]
    transmissions: list[ClaimTransmission]


@dataclass(frozen=True)
class ClaimFilter:
    member_id: str | None = None
    status: str | None = None
    on: date | None = None
    session_id: str | None = None
    limit: int = 100
    offset: int = 0


async def list_claims(
    session: AsyncSession, tenant_id: str, wanted: ClaimFilter
) -> list[ClaimView]:
    repository = ClaimRepository(session)
    summaries = await repository.list_claims(
        tenant_id,
        member_id=wanted.member_id,
        status=wanted.status,
        on=wanted.on,
        session_id=wanted.session_id,
        limit=wanted.limit,
        offset=wanted.offset,
    )
    lines = await repository.current_lines(tenant_id, summaries)
    transmissions = await repository.transmissions(tenant_id, [s.claim_id for s in summaries])
    return [
        ClaimView(s, lines.get(s.claim_id, []), transmissions.get(s.claim_id, []))
        for s in summaries
    ]


async def claims_by_id(
    session: AsyncSession, tenant_id: str, claim_ids: list[str]
) -> list[ClaimView]:
    views: list[ClaimView] = []
    repository = ClaimRepository(session)
    for claim_id in claim_ids:
        summary = await repository.claim_summary(tenant_id, claim_id)
        if summary is None:
            continue
        lines = await repository.current_lines(tenant_id, [summary])
        transmissions = await repository.transmissions(tenant_id, [claim_id])
        views.append(ClaimView(summary, lines.get(claim_id, []), transmissions.get(claim_id, [])))
    return views


async def claim_detail(session: AsyncSession, tenant_id: str, claim_id: str) -> ClaimDetail:
    repository = ClaimRepository(session)
    summary = await repository.claim_summary(tenant_id, claim_id)
    if summary is None:
        raise UnknownClaim(claim_id)
    version = summary.version
    content = await repository.version_content(tenant_id, claim_id, version) if version else None
    issues = await repository.version_issues(tenant_id, claim_id, version) if version else []
    transmissions = await repository.transmissions(tenant_id, [claim_id])
    return ClaimDetail(
        summary=summary,
        content=content,
        issues=issues,
        versions=await repository.versions(tenant_id, claim_id),
        status_changes=await repository.status_changes(tenant_id, claim_id),
        transmissions=transmissions.get(claim_id, []),
    )


async def claim_transmissions(
    session: AsyncSession, tenant_id: str, claim_id: str
) -> tuple[ClaimSummaryRow, list[ClaimTransmission]]:
    """Where the claim's EDI is: 409 NOT_TRANSMITTED until the gateway reports a file."""
    repository = ClaimRepository(session)
    summary = await repository.claim_summary(tenant_id, claim_id)
    if summary is None:
        raise UnknownClaim(claim_id)
    transmissions = (await repository.transmissions(tenant_id, [claim_id])).get(claim_id, [])
    if not transmissions:
        raise ClaimRuleViolation(
            "NOT_TRANSMITTED",
            "the EDI gateway has not reported a file holding this claim yet",
            claim_id=claim_id,
            claim_status=summary.status,
        )
    return summary, transmissions
