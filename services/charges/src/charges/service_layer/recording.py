"""Writing charge changes: each new version saved with its history row, and the charges it
changed told once in ``charges.charges.recorded.v1`` (through the outbox, in the same
transaction). The contract shape of a charge is made here, once, for events and the API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from charges.adapters.db.charges_repository import ChargeRepository
from charges.domain.charges import GroupCharge
from common.db import UnitOfWork
from contracts.events import CHARGES_RECORDED_V1
from contracts.events.charges import (
    Charge,
    ChargeChange,
    ChargeIssue,
    ChargeKind,
    ChargeSource,
    ChargeSourceKind,
    ChargesRecorded,
    FilingType,
    GroupChargeContext,
)

#: The actor of changes made by the service itself on an event (history rows).
EVENT_ACTOR = "system:charges"


def charge_contract(charge: GroupCharge) -> Charge:
    terms = charge.terms
    group = terms.group
    return Charge(
        charge_id=charge.charge_id,
        charge_version=charge.version,
        kind=ChargeKind.GROUP,
        filing_type=FilingType.PROFESSIONAL,
        status=charge.status,
        issues=[ChargeIssue(code=i.code, message=i.message) for i in terms.issues],
        member_id=terms.member_id,
        program_id=terms.program_id,
        facility_id=terms.facility_id,
        payer_id=terms.payer_id,
        coverage_id=terms.coverage_id,
        date_of_service=terms.date_of_service,
        procedure_code=terms.procedure_code,
        modifiers=list(terms.modifiers),
        units=terms.units,
        rate=terms.rate,
        amount=terms.amount,
        rendering_provider_id=terms.rendering_provider_id,
        place_of_service=terms.place_of_service,
        source=ChargeSource(
            kind=ChargeSourceKind.GROUP_SESSION, id=group.session_id, sequence=group.close_sequence
        ),
        group=GroupChargeContext(
            session_id=group.session_id,
            close_sequence=group.close_sequence,
            facility_state=group.facility_state,
            billable_count=group.billable_count,
            band_name=group.band_name,
            supervisors_present=list(group.supervisors_present),
            acknowledged_warnings=list(group.acknowledged_warnings),
        ),
        claim_id=charge.claim.claim_id if charge.claim is not None else None,
    )


@dataclass(frozen=True)
class ChargeUpdate:
    """A charge as it was (None: new) and as it is now."""

    before: GroupCharge | None
    after: GroupCharge

    @property
    def new_version(self) -> bool:
        return self.before is None or self.before.version != self.after.version


@dataclass(frozen=True)
class Provenance:
    actor: str = EVENT_ACTOR
    reason: str | None = None
    event_id: str | None = None


async def save_updates(
    uow: UnitOfWork,
    updates: Sequence[ChargeUpdate],
    change: ChargeChange,
    provenance: Provenance,
) -> None:
    repository = ChargeRepository(uow.session)
    for item in updates:
        await repository.save(
            item.after,
            item.before.version if item.before is not None else None,
            change=change.value if item.new_version else None,
            actor=provenance.actor,
            reason=provenance.reason,
            caused_by_event_id=provenance.event_id,
        )


def publish_recorded(
    uow: UnitOfWork,
    tenant_id: str,
    change: ChargeChange,
    charges: Sequence[GroupCharge],
    *,
    subject: str,
    reason: str | None = None,
) -> None:
    if not charges:
        return
    uow.publish(
        type=CHARGES_RECORDED_V1,
        tenant_id=tenant_id,
        subject=subject,
        data=ChargesRecorded(
            change=change,
            reason=reason,
            charges=[charge_contract(c) for c in sorted(charges, key=lambda c: c.charge_id)],
        ),
    )


async def record_changes(
    uow: UnitOfWork,
    tenant_id: str,
    updates: Sequence[ChargeUpdate],
    change: ChargeChange,
    provenance: Provenance,
    *,
    subject: str,
    told: Sequence[GroupCharge] | None = None,
) -> list[GroupCharge]:
    """Save ``updates`` and publish the charges with a new version (or, given ``told``,
    those: a build tells the session's every charge). Returns the changed ones."""
    await save_updates(uow, updates, change, provenance)
    changed = [u.after for u in updates if u.new_version]
    if changed:
        publish_recorded(
            uow,
            tenant_id,
            change,
            changed if told is None else told,
            subject=subject,
            reason=provenance.reason,
        )
    return changed
