"""The billing preview of a session: its facts loaded (tenant configuration, coverage and
facility projections), the group rules run on them. Recomputed on every read."""

from __future__ import annotations

from dataclasses import dataclass

from group_billing import GroupBillingEvaluation
from sqlalchemy.ext.asyncio import AsyncSession

from attendance.adapters.db.projections import FacilityFacts, ProjectionRepository
from attendance.adapters.db.repository import GroupSessionRepository
from attendance.domain.billing import BillingRules, billing_rules_for, evaluate_session
from attendance.domain.model import ClaimHold, GroupSession
from common.errors import DomainError
from common.tenants import TenantDirectory
from contracts.tenant import TenantConfig


@dataclass(frozen=True)
class BillingPreview:
    rules: BillingRules
    evaluation: GroupBillingEvaluation


async def facility_of(db: AsyncSession, session: GroupSession) -> FacilityFacts | None:
    found = await ProjectionRepository(db).facilities(session.tenant_id, [session.plan.facility_id])
    return found.get(session.plan.facility_id)


def facility_state(session: GroupSession, facility: FacilityFacts | None) -> str | None:
    """The session's own state (an ad-hoc session may name it), else the facility's."""
    if session.plan.facility_state is not None:
        return session.plan.facility_state
    return facility.state if facility is not None else None


async def billing_preview(
    db: AsyncSession, tenant: TenantConfig, session: GroupSession
) -> BillingPreview:
    """Raises the domain's BILLING_POLICY_UNAVAILABLE when the tenant names no billable
    statuses on the session date."""
    projections = ProjectionRepository(db)
    coverages = await projections.coverages(session.tenant_id, list(session.participants))
    facility = await facility_of(db, session)
    rules = billing_rules_for(
        tenant, session, coverages=coverages, facility_state=facility_state(session, facility)
    )
    return BillingPreview(rules=rules, evaluation=evaluate_session(session, rules))


@dataclass(frozen=True)
class PreviewUnavailable:
    """Why no preview can be computed (the tenant has no configuration, or names no
    billable statuses on the session date)."""

    code: str
    message: str


@dataclass(frozen=True)
class SessionView:
    """A session as the detail shows it: the aggregate, its billing preview (or why there
    is none) and the claims holding its charges."""

    session: GroupSession
    preview: BillingPreview | None
    preview_unavailable: PreviewUnavailable | None
    claims: list[ClaimHold]


async def view_session(
    db: AsyncSession, tenants: TenantDirectory, tenant_id: str, session_id: str
) -> SessionView | None:
    """The session of the tenant with a freshly computed preview; None if unknown."""
    session = await GroupSessionRepository(db).get(tenant_id, session_id)
    if session is None:
        return None
    preview: BillingPreview | None = None
    unavailable: PreviewUnavailable | None = None
    try:
        preview = await billing_preview(db, tenants.get(tenant_id), session)
    except DomainError as refusal:
        unavailable = PreviewUnavailable(refusal.code, refusal.message)
    claims = await ProjectionRepository(db).claims_of_session(tenant_id, session_id)
    return SessionView(session, preview, unavailable, claims)
