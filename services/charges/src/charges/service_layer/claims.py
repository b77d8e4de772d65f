"""Where claims stand, applied to the charges they hold (``claims.claim.status_changed``):
ON_CLAIM while a claim holds them, BILLED once accepted, READY again when the claim that
held them is reversed or replaced or no longer lists them (see ``domain.charges``)."""

from __future__ import annotations

from charges.adapters.db.charges_repository import ChargeRepository
from charges.domain.charges import Charge
from charges.service_layer.recording import ChargeUpdate, Provenance, record_changes
from common.db import UnitOfWork
from common.logging import get_logger
from contracts.events.charges import ChargeChange
from contracts.events.claims import ClaimStatusChanged

log = get_logger(__name__)


async def apply_claim_status(
    uow: UnitOfWork, tenant_id: str, claim: ClaimStatusChanged, event_id: str
) -> list[Charge]:
    repository = ChargeRepository(uow.session)
    named = set(claim.charge_ids)
    charges = {c.charge_id: c for c in await repository.get_many(tenant_id, named, for_update=True)}
    for held in await repository.held_by_claim(tenant_id, claim.claim_id, for_update=True):
        charges.setdefault(held.charge_id, held)
    unknown = named - set(charges)
    if unknown:
        # Every charge a claim holds was built here first; an id we never built is the
        # claims service's mistake or another tenant's charge: nothing of ours to change.
        log.warning("claim_names_unknown_charges", claim_id=claim.claim_id, count=len(unknown))
    updates: list[ChargeUpdate] = []
    for charge in charges.values():
        after = charge.with_claim_status(
            claim.claim_id, claim.claim_version, claim.status, named=charge.charge_id in named
        )
        if after is not None and after != charge:
            updates.append(ChargeUpdate(charge, after))
    return await record_changes(
        uow,
        tenant_id,
        updates,
        ChargeChange.CLAIMED,
        Provenance(reason=f"claim {claim.claim_id} {claim.status.value}", event_id=event_id),
        subject=claim.claim_id,
    )
