"""Use cases of a group session's charges: build them when attendance closes the session,
void them when it reopens, and build them on an operator's demand ("Generate charges")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from charges.adapters.db.charges_repository import ChargeRepository
from charges.adapters.db.code_groups_repository import CodeGroupRepository
from charges.adapters.db.repository import ProjectionRepository
from charges.domain.charges import (
    Charge,
    ChargeRuleViolation,
    ChargeTerms,
    PricingOverride,
    charge_id_for,
    refuse_reopen_over_sent_claims,
)
from charges.domain.code_groups import CodeAssignmentFacts
from charges.domain.pricing import CoverageOnDate, SessionPricing, price_session
from charges.domain.sessions import SessionNotClosed
from charges.service_layer.recording import ChargeUpdate, Provenance, record_changes
from common.db import UnitOfWork
from common.logging import get_logger
from contracts.events import GROUP_SESSION_CHARGED_V1
from contracts.events.attendance import GroupSessionClosed, GroupSessionReopened
from contracts.events.charges import ChargeChange, ChargeStatus, GroupSessionCharged
from contracts.tenant import TenantConfig

log = get_logger(__name__)

TenantLookup = Callable[[str], TenantConfig]


@dataclass(frozen=True)
class SessionCharges:
    """A session's charges after a build (every one, voided leftovers included)."""

    session_id: str
    close_sequence: int
    charges: list[Charge]
    built: int = 0
    rechecked: int = 0


async def terms_for_member(
    uow: UnitOfWork, pricing: SessionPricing, member_id: str, override: PricingOverride
) -> ChargeTerms:
    """One participant priced, with the primary coverage the projection knows on the date
    and, when the tenant enforces code assignment, whether the session's code is assigned
    to the member and to the rendering staff on the date."""
    tenant_id = pricing.tenant.tenant_id
    day = pricing.closed.session_date
    known, coverage = await ProjectionRepository(uow.session).primary_coverage_on(
        tenant_id, member_id, day
    )
    assignment: CodeAssignmentFacts | None = None
    if pricing.tenant.enforce_code_assignment:
        assignment = await CodeGroupRepository(uow.session).facts(
            tenant_id, pricing.closed.service_code, member_id, pricing.rendering_provider_id, day
        )
    return pricing.terms_for(member_id, CoverageOnDate(known, coverage), override, assignment)


def _publish_charged(uow: UnitOfWork, pricing: SessionPricing, charges: list[Charge]) -> None:
    closed = pricing.closed
    billable = [c for c in charges if c.status is not ChargeStatus.VOID]
    uow.publish(
        type=GROUP_SESSION_CHARGED_V1,
        tenant_id=pricing.tenant.tenant_id,
        subject=closed.session_id,
        data=GroupSessionCharged(
            session_id=closed.session_id,
            close_sequence=closed.close_sequence,
            charge_ids=[c.charge_id for c in billable],
            ready_count=sum(1 for c in billable if c.status is ChargeStatus.READY),
            needs_fix_count=sum(1 for c in billable if c.status is ChargeStatus.NEEDS_FIX),
            band_name=pricing.evaluation.band.name if pricing.evaluation.band else None,
            rate_per_participant=pricing.band_rate,
        ),
    )


async def charge_closed_session(
    uow: UnitOfWork, tenant: TenantConfig, closed: GroupSessionClosed, event_id: str
) -> SessionCharges | None:
    """One charge per billable participant of the close, at the band rate in force on the
    session date. A close already priced (a duplicate, or one older than a reopen seen)
    changes nothing: None. A later close re-prices the same charge ids (new versions);
    a participant no longer billable has its charge voided."""
    repository = ChargeRepository(uow.session)
    ledger = await repository.lock_session(tenant.tenant_id, closed.session_id)
    if not ledger.takes_close(closed):
        log.info(
            "group_session_close_already_seen",
            session_id=closed.session_id,
            close_sequence=closed.close_sequence,
            last_closed=ledger.closed_sequence,
            last_reopened=ledger.reopened_sequence,
        )
        return None
    existing = {
        c.charge_id: c
        for c in await repository.of_session(tenant.tenant_id, closed.session_id, for_update=True)
    }
    # A new close while charges of the previous one sit on a claim sent to the payer: the
    # reopen that allowed it was refused here, and re-pricing them would be as silent.
    refuse_reopen_over_sent_claims(closed.session_id, existing.values())

    pricing = price_session(closed, tenant)
    updates: list[ChargeUpdate] = []
    billable_ids: set[str] = set()
    for participant in closed.billable_participants:
        charge_id = charge_id_for(tenant.tenant_id, closed.session_id, participant.member_id)
        billable_ids.add(charge_id)
        before = existing.get(charge_id)
        override = before.override if before is not None else PricingOverride()
        terms = await terms_for_member(uow, pricing, participant.member_id, override)
        if before is None:
            updates.append(ChargeUpdate(None, Charge.build(tenant.tenant_id, charge_id, terms)))
        else:
            after = before.rebuilt(terms)
            updates.append(ChargeUpdate(before, after or before))
    reason = f"not billable at close {closed.close_sequence}"
    for charge_id, before in existing.items():
        if charge_id not in billable_ids:
            after = before.voided_by_reopen(reason)
            updates.append(ChargeUpdate(before, after or before))

    await record_changes(
        uow,
        tenant.tenant_id,
        updates,
        ChargeChange.BUILT,
        Provenance(event_id=event_id),
        subject=closed.session_id,
        told=[u.after for u in updates],
    )
    charges = [u.after for u in updates]
    _publish_charged(uow, pricing, charges)
    await repository.save_session(ledger.with_close(closed), event_id)
    log.info(
        "group_session_charged",
        session_id=closed.session_id,
        close_sequence=closed.close_sequence,
        charges=len(billable_ids),
        band=pricing.evaluation.band.name if pricing.evaluation.band else None,
    )
    return SessionCharges(
        closed.session_id, closed.close_sequence, charges, built=len(billable_ids)
    )


async def void_reopened_session(
    uow: UnitOfWork, tenant_id: str, reopened: GroupSessionReopened, event_id: str
) -> list[Charge]:
    """Void the session's charges: it was reopened and will close again. Refused whole
    (CLAIM_SUBMITTED, naming the claims) when any sits on a claim sent to the payer."""
    repository = ChargeRepository(uow.session)
    ledger = await repository.lock_session(tenant_id, reopened.session_id)
    if not ledger.takes_reopen(reopened):
        log.info(
            "group_session_reopen_already_seen",
            session_id=reopened.session_id,
            close_sequence=reopened.close_sequence,
            last_closed=ledger.closed_sequence,
            last_reopened=ledger.reopened_sequence,
        )
        return []
    charges = await repository.of_session(tenant_id, reopened.session_id, for_update=True)
    try:
        refuse_reopen_over_sent_claims(reopened.session_id, charges)
    except ChargeRuleViolation as refusal:
        # Recorded here and, with its code and the claims, on the dead-letter queue; the
        # dead letter can be replayed once the claims are reversed.
        log.warning(
            "group_session_reopen_refused",
            session_id=reopened.session_id,
            close_sequence=reopened.close_sequence,
            code=refusal.code,
            claim_ids=refusal.details.get("claim_ids"),
        )
        raise
    reason = f"session reopened (close {reopened.close_sequence} undone)"
    updates = [ChargeUpdate(c, c.voided_by_reopen(reason) or c) for c in charges]
    changed = await record_changes(
        uow,
        tenant_id,
        updates,
        ChargeChange.VOIDED,
        Provenance(reason=reason, event_id=event_id),
        subject=reopened.session_id,
    )
    await repository.save_session(ledger.with_reopen(reopened), None)
    return changed


async def generate_session_charges(
    uow: UnitOfWork, tenants: TenantLookup, tenant_id: str, session_id: str, actor: str
) -> SessionCharges:
    """ "Generate charges" from the last close stored for the session: a billable
    participant without a charge gets one, a charge needing a fix is re-checked, the rest
    is left as it is. Asking twice changes nothing the second time."""
    repository = ChargeRepository(uow.session)
    ledger = await repository.get_session(tenant_id, session_id, for_update=True)
    if ledger is None:
        raise SessionNotClosed(session_id)
    closed = ledger.close_to_charge()
    tenant = tenants(tenant_id)
    existing = {
        c.charge_id: c
        for c in await repository.of_session(tenant.tenant_id, session_id, for_update=True)
    }
    pricing = price_session(closed, tenant)
    built: list[ChargeUpdate] = []
    rechecked: list[ChargeUpdate] = []
    for participant in closed.billable_participants:
        charge_id = charge_id_for(tenant.tenant_id, session_id, participant.member_id)
        before = existing.get(charge_id)
        if before is None:
            terms = await terms_for_member(uow, pricing, participant.member_id, PricingOverride())
            built.append(ChargeUpdate(None, Charge.build(tenant.tenant_id, charge_id, terms)))
        elif before.status is ChargeStatus.NEEDS_FIX:
            terms = await terms_for_member(uow, pricing, participant.member_id, before.override)
            rechecked.append(ChargeUpdate(before, before.rechecked(terms) or before))
    for item in built + rechecked:
        existing[item.after.charge_id] = item.after
    session_charges = sorted(existing.values(), key=lambda c: c.charge_id)
    provenance = Provenance(actor=actor, reason="generate charges")
    if built:
        await record_changes(
            uow,
            tenant.tenant_id,
            built + rechecked,
            ChargeChange.BUILT,
            provenance,
            subject=session_id,
            told=session_charges,
        )
        _publish_charged(uow, pricing, session_charges)
    else:
        await record_changes(
            uow, tenant.tenant_id, rechecked, ChargeChange.RECHECKED, provenance, subject=session_id
        )
    return SessionCharges(
        session_id,
        closed.close_sequence,
        session_charges,
        built=len(built),
        rechecked=sum(1 for u in rechecked if u.new_version),
    )
