"""What every correction of a claim that left our hands shares (#5): the reference to the
original it names (REF*F8) and the audit log entry of the operator's override (SPEC 10)."""

from __future__ import annotations

from claims.adapters.db.corrections_repository import CorrectionsRepository, Override
from claims.domain.claims import ClaimRuleViolation
from claims.domain.corrections import original_reference
from common.db import UnitOfWork
from common.logging import get_logger
from contracts.tenant import TenantConfig
from contracts.tenant.effective_dating import ConfigLookupError

log = get_logger(__name__)

VOID_REASON = "VOID"
REPLACEMENT_REASON = "REPLACEMENT"


async def reference_to_original(
    uow: UnitOfWork, tenant_id: str, claim_id: str, patient_control_number: str, version: int
) -> str:
    """The payer's claim control number from a 277CA when one came, else our CLM01."""
    references = await CorrectionsRepository(uow.session).payer_references(tenant_id, claim_id)
    return original_reference(patient_control_number, version, references)


async def audit(uow: UnitOfWork, tenant_id: str, override: Override) -> None:
    """Who, when (the row's time), what, why: kept in the transaction that made it."""
    await CorrectionsRepository(uow.session).add_override(tenant_id, override)
    # The reason is the operator's free text: kept in the audit table, never logged.
    log.info(
        "claim_override",
        claim_id=override.claim_id,
        action=override.action.value,
        from_version=override.from_version,
        to_version=override.to_version,
        to_status=override.to_status.value,
    )


def clearinghouse_of(tenant: TenantConfig, claim_id: str, payer_id: str) -> str:
    try:
        return tenant.clearinghouse_for_payer(payer_id).id
    except ConfigLookupError as exc:
        raise ClaimRuleViolation(
            "UNKNOWN_PAYER", "the tenant configuration has no such payer", claim_id=claim_id
        ) from exc
