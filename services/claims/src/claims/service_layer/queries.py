"""What the claims API reads: claims with their current lines and transmissions, and one
claim with every version, issue, status change and transmission."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from claims.adapters.db.claims_repository import (
    INSTITUTIONAL,
    ClaimRepository,
    ClaimSummaryRow,
    StatusChangeRow,
    VersionRow,
)
from claims.adapters.db.corrections_repository import (
    AcknowledgmentRow,
    CorrectionsRepository,
    OverrideRow,
)
from claims.adapters.db.institutional_repository import InstitutionalRepository
from claims.domain.claims import (
    ClaimLine,
    ClaimRuleViolation,
    ClaimTransmission,
    ProfessionalClaimContent,
    ScrubIssue,
    UnknownClaim,
)
from claims.domain.institutional import (
    NO_EDITS,
    InstitutionalClaimContent,
    InstitutionalEdits,
    InstitutionalLine,
)


@dataclass(frozen=True)
class ClaimView:
    summary: ClaimSummaryRow
    lines: list[ClaimLine]
    transmissions: list[ClaimTransmission]
    institutional_lines: list[InstitutionalLine] = field(default_factory=list)


@dataclass(frozen=True)
class ClaimDetail:
    summary: ClaimSummaryRow
    content: ProfessionalClaimContent | None
    issues: list[ScrubIssue]
    versions: list[VersionRow]
    status_changes: list[StatusChangeRow]
    transmissions: list[ClaimTransmission]
    institutional: InstitutionalClaimContent | None = None
    edits: InstitutionalEdits = NO_EDITS
    acknowledgments: list[AcknowledgmentRow] = field(default_factory=list)
    overrides: list[OverrideRow] = field(default_factory=list)
    # After a void: the charges that wait for its rebuild (or their next change).
    held_charge_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ClaimFilter:
    member_id: str | None = None
    status: str | None = None
    on: date | None = None
    session_id: str | None = None
    stay_id: str | None = None
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
        stay_id=wanted.stay_id,
        limit=wanted.limit,
        offset=wanted.offset,
    )
    return await _views(session, tenant_id, summaries)


async def _views(
    session: AsyncSession, tenant_id: str, summaries: list[ClaimSummaryRow]
) -> list[ClaimView]:
    repository = ClaimRepository(session)
    lines = await repository.current_lines(
        tenant_id, [s for s in summaries if s.transaction_type != INSTITUTIONAL]
    )
    institutional = await InstitutionalRepository(session).current_lines(
        tenant_id,
        [(s.claim_id, s.version) for s in summaries if s.transaction_type == INSTITUTIONAL],
    )
    transmissions = await repository.transmissions(tenant_id, [s.claim_id for s in summaries])
    return [
        ClaimView(
            s,
            lines.get(s.claim_id, []),
            transmissions.get(s.claim_id, []),
            institutional.get(s.claim_id, []),
        )
        for s in summaries
    ]


async def claims_by_id(
    session: AsyncSession, tenant_id: str, claim_ids: list[str]
) -> list[ClaimView]:
    summaries = await ClaimRepository(session).claim_summaries(tenant_id, claim_ids)
    return await _views(session, tenant_id, summaries)


async def claim_detail(session: AsyncSession, tenant_id: str, claim_id: str) -> ClaimDetail:
    repository = ClaimRepository(session)
    summary = await repository.claim_summary(tenant_id, claim_id)
    if summary is None:
        raise UnknownClaim(claim_id)
    version = summary.version
    institutional: InstitutionalClaimContent | None = None
    content: ProfessionalClaimContent | None = None
    edits = NO_EDITS
    if summary.transaction_type == INSTITUTIONAL:
        cycles = InstitutionalRepository(session)
        if version:
            institutional = await cycles.version_content(tenant_id, claim_id, version)
        claim = await cycles.get_cycle_claim(tenant_id, claim_id)
        edits = claim.edits if claim else NO_EDITS
    elif version:
        content = await repository.version_content(tenant_id, claim_id, version)
    issues = await repository.version_issues(tenant_id, claim_id, version) if version else []
    transmissions = await repository.transmissions(tenant_id, [claim_id])
    corrections = CorrectionsRepository(session)
    return ClaimDetail(
        summary=summary,
        content=content,
        issues=issues,
        versions=await repository.versions(tenant_id, claim_id),
        status_changes=await repository.status_changes(tenant_id, claim_id),
        transmissions=transmissions.get(claim_id, []),
        institutional=institutional,
        edits=edits,
        acknowledgments=await corrections.acknowledgments(tenant_id, claim_id),
        overrides=await corrections.overrides(tenant_id, claim_id),
        held_charge_ids=await repository.held_after_reverse_of(tenant_id, claim_id),
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
