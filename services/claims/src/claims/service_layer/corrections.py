"""An operator's corrections of a claim that left our hands (#5): reverse (void, frequency
8) and replace (frequency 7), for either kind of claim; each says why (a required reason,
kept in the audit log with who asked)."""

from __future__ import annotations

from claims.adapters.db.claims_repository import INSTITUTIONAL
from claims.adapters.db.institutional_repository import InstitutionalRepository
from claims.domain.claims import UnknownClaim
from claims.domain.corrections import checked_reason
from claims.service_layer import institutional_claims as institutional
from claims.service_layer import professional_claims as professional
from claims.service_layer.dependencies import ClaimsDependencies
from common.db import UnitOfWork


async def _kind(uow: UnitOfWork, tenant_id: str, claim_id: str) -> str:
    kind = await InstitutionalRepository(uow.session).transaction_type(tenant_id, claim_id)
    if kind is None:
        raise UnknownClaim(claim_id)
    return kind


async def reverse_claim(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant_id: str,
    claim_id: str,
    reason: str | None,
    actor: str,
) -> None:
    """Void the claim (404 unknown, 422 REASON_REQUIRED, 409 CLAIM_NOT_REVERSIBLE)."""
    kind = await _kind(uow, tenant_id, claim_id)
    why = checked_reason(claim_id, reason)
    if kind == INSTITUTIONAL:
        await institutional.reverse_cycle_claim(uow, deps, tenant_id, claim_id, why, actor)
    else:
        await professional.reverse_professional_claim(uow, deps, tenant_id, claim_id, why, actor)


async def replace_claim(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant_id: str,
    claim_id: str,
    reason: str | None,
    actor: str,
) -> None:
    """Replace the claim (404 unknown, 422 REASON_REQUIRED or REPLACEMENT_NOT_CLEAN, 409
    CLAIM_NOT_REPLACEABLE, NOTHING_CHANGED, NOTHING_TO_REPLACE, CYCLE_NOT_READY)."""
    kind = await _kind(uow, tenant_id, claim_id)
    why = checked_reason(claim_id, reason)
    if kind == INSTITUTIONAL:
        await institutional.replace_cycle_claim(uow, deps, tenant_id, claim_id, why, actor)
    else:
        await professional.replace_professional_claim(uow, deps, tenant_id, claim_id, why, actor)
