"""Writing charge changes: each new version saved with its history row, and the charges it
changed told once in ``charges.charges.recorded.v1`` (through the outbox, in the same
transaction). The contract shape of a charge is made here, once, for events and the API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from charges.adapters.db.charges_repository import ChargeRepository, ChargeWrite
from charges.domain.charges import Charge, ChargeTerms, GroupContext
from common.db import UnitOfWork
from contracts.events import CHARGES_RECORDED_V1
from contracts.events.charges import Charge as ChargeMessage
from contracts.events.charges import (
    ChargeChange,
    ChargeIssue,
    ChargeSource,
    ChargeSourceKind,
    ChargesRecorded,
    GroupChargeContext,
)

#: The actor of changes made by the service itself on an event (history rows).
EVENT_ACTOR = "system:charges"


#: ``charges.charges.recorded.v1`` carries at most this many charges; more go in several.
MAX_CHARGES_PER_MESSAGE = 5000


def _group_contract(group: GroupContext | None) -> GroupChargeContext | None:
    if group is None:
        return None
    return GroupChargeContext(
        session_id=group.session_id,
        close_sequence=group.close_sequence,
        facility_state=group.facility_state,
        billable_count=group.billable_count,
        band_name=group.band_name,
        supervisors_present=list(group.supervisors_present),
        acknowledged_warnings=list(group.acknowledged_warnings),
    )


def _source(terms: ChargeTerms) -> ChargeSource:
    if terms.stay is not None:
        return ChargeSource(
            kind=ChargeSourceKind.STAY, id=terms.stay.stay_id, sequence=terms.stay.stay_version
        )
    assert terms.group is not None
    return ChargeSource(
        kind=ChargeSourceKind.GROUP_SESSION,
        id=terms.group.session_id,
        sequence=terms.group.close_sequence,
    )


def charge_contract(charge: Charge) -> ChargeMessage:
    terms = charge.terms
    return ChargeMessage(
        charge_id=charge.charge_id,
        charge_version=charge.version,
        kind=terms.kind,
        filing_type=terms.filing_type,
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
        revenue_code=terms.revenue_code,
        units=terms.units,
        unit_basis=terms.unit_basis,
        rate=terms.rate,
        amount=terms.amount,
        covered=terms.covered,
        rendering_provider_id=terms.rendering_provider_id,
        place_of_service=terms.place_of_service,
        source=_source(terms),
        group=_group_contract(terms.group),
        claim_id=charge.claim.claim_id if charge.claim is not None else None,
    )


@dataclass(frozen=True)
class ChargeUpdate:
    """A charge as it was (None: new) and as it is now."""

    before: Charge | None
    after: Charge

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
    await ChargeRepository(uow.session).save_many(
        [
            ChargeWrite(
                item.after,
                item.before.version if item.before is not None else None,
                change.value if item.new_version else None,
            )
            for item in updates
        ],
        actor=provenance.actor,
        reason=provenance.reason,
        caused_by_event_id=provenance.event_id,
    )


def publish_recorded(
    uow: UnitOfWork,
    tenant_id: str,
    change: ChargeChange,
    charges: Sequence[Charge],
    *,
    subject: str,
    reason: str | None = None,
) -> None:
    """One message for ``charges`` (several of at most MAX_CHARGES_PER_MESSAGE each)."""
    ordered = sorted(charges, key=lambda c: (c.terms.date_of_service, c.charge_id))
    for start in range(0, len(ordered), MAX_CHARGES_PER_MESSAGE):
        uow.publish(
            type=CHARGES_RECORDED_V1,
            tenant_id=tenant_id,
            subject=subject,
            data=ChargesRecorded(
                change=change,
                reason=reason,
                charges=[
                    charge_contract(c) for c in ordered[start : start + MAX_CHARGES_PER_MESSAGE]
                ],
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
    told: Sequence[Charge] | None = None,
) -> list[Charge]:
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
