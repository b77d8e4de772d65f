"""Use cases that correct one charge, a group charge or a stay's day charge alike: an
operator's fix (an override with its reason, or a plain re-check), an operator's void, the
automatic re-check of a member's charges that lacked coverage when the member's record
(with its coverage) arrives, and the re-check of charges whose code was not assigned to
their member or rendering staff (billing code groups) once it is."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from charges.adapters.db.charges_repository import ChargeRepository
from charges.adapters.db.repository import ProjectionRepository
from charges.domain.charges import (
    Charge,
    ChargeNotFound,
    ChargeRuleViolation,
    IssueCode,
    PricingOverride,
)
from charges.domain.code_groups import CODE_ASSIGNMENT_ISSUES, AssigneeKind
from charges.domain.pricing import price_session
from charges.service_layer.group_sessions import TenantLookup, terms_for_member
from charges.service_layer.recording import ChargeUpdate, Provenance, record_changes
from charges.service_layer.stay_days import price_written_day
from common.db import UnitOfWork
from common.logging import get_logger
from contracts.events.charges import ChargeChange
from contracts.tenant import TenantConfig
from contracts.tenant.effective_dating import ConfigLookupError

log = get_logger(__name__)


@dataclass(frozen=True)
class FixCharge:
    """Bill another payer (``payer_id``, and/or ``coverage_id``: one of the member's
    coverages), or price at ``rate``, with ``reason``; with none of them, re-check."""

    tenant_id: str
    charge_id: str
    actor: str
    payer_id: str | None = None
    coverage_id: str | None = None
    rate: Decimal | None = None
    reason: str | None = None


async def _locked_charge(uow: UnitOfWork, tenant_id: str, charge_id: str) -> Charge:
    charge = await ChargeRepository(uow.session).get(tenant_id, charge_id, for_update=True)
    if charge is None:
        raise ChargeNotFound(charge_id)
    return charge


async def _override(
    uow: UnitOfWork, tenant: TenantConfig, charge: Charge, command: FixCharge
) -> PricingOverride:
    """The command's override, checked against the configuration and the member's record."""
    payer_id = command.payer_id
    if command.coverage_id is not None:
        member = await ProjectionRepository(uow.session).get_member(
            tenant.tenant_id, charge.terms.member_id
        )
        coverages = member.coverages if member is not None else ()
        coverage = next((c for c in coverages if c.coverage_id == command.coverage_id), None)
        if coverage is None:
            raise ChargeRuleViolation(
                "COVERAGE_NOT_FOUND",
                "the member has no coverage with this id",
                coverage_id=command.coverage_id,
            )
        if payer_id is not None and payer_id != coverage.payer_id:
            raise ChargeRuleViolation(
                "COVERAGE_PAYER_MISMATCH",
                f"coverage {coverage.coverage_id} is with payer {coverage.payer_id}",
                coverage_id=coverage.coverage_id,
            )
        payer_id = coverage.payer_id
    if payer_id is not None:
        try:
            tenant.payer(payer_id)
        except ConfigLookupError as exc:
            raise ChargeRuleViolation(
                "PAYER_NOT_CONFIGURED", "no payer with this id is configured", payer_id=payer_id
            ) from exc
    return PricingOverride(
        payer_id=payer_id, coverage_id=command.coverage_id, rate=command.rate, reason=command.reason
    )


async def _repriced(
    uow: UnitOfWork, tenant: TenantConfig, charge: Charge, override: PricingOverride
) -> Charge | None:
    """``charge`` priced again from its source (its session's close, or its stay as kept
    now), with ``override`` on top of the charge's own (None: nothing changes)."""
    combined = charge.override.then(override)
    if charge.terms.stay is not None:
        terms = await price_written_day(uow, tenant, charge, combined)
    else:
        assert charge.terms.group is not None, "a charge comes from a session or a stay"
        ledger = await ChargeRepository(uow.session).get_session(
            tenant.tenant_id, charge.terms.group.session_id
        )
        assert ledger is not None and ledger.closed is not None, "a charge comes from a close"
        pricing = price_session(ledger.closed, tenant)
        terms = await terms_for_member(uow, pricing, charge.terms.member_id, combined)
    if override.empty:
        return charge.rechecked(terms)
    return charge.fixed(override, terms)


async def fix_charge(uow: UnitOfWork, tenants: TenantLookup, command: FixCharge) -> Charge:
    charge = await _locked_charge(uow, command.tenant_id, command.charge_id)
    charge.require_editable()
    tenant = tenants(command.tenant_id)
    override = await _override(uow, tenant, charge, command)
    after = await _repriced(uow, tenant, charge, override)
    if after is None:
        return charge  # asked for what the charge already is
    change = ChargeChange.RECHECKED if override.empty else ChargeChange.FIXED
    await record_changes(
        uow,
        tenant.tenant_id,
        [ChargeUpdate(charge, after)],
        change,
        Provenance(actor=command.actor, reason=command.reason),
        subject=charge.charge_id,
    )
    return after


async def void_charge(
    uow: UnitOfWork, tenant_id: str, charge_id: str, reason: str, actor: str
) -> Charge:
    charge = await _locked_charge(uow, tenant_id, charge_id)
    after = charge.voided_by_operator(reason)
    if after is None:
        return charge  # already void: voiding again changes nothing
    await record_changes(
        uow,
        tenant_id,
        [ChargeUpdate(charge, after)],
        ChargeChange.VOIDED,
        Provenance(actor=actor, reason=reason),
        subject=charge_id,
    )
    return after


async def recheck_member_charges(
    uow: UnitOfWork,
    tenants: TenantLookup,
    tenant_id: str,
    member_id: str,
    event_id: str,
    issue_codes: Collection[str] = (IssueCode.NO_ACTIVE_COVERAGE,),
) -> list[Charge]:
    """Re-check the member's charges that needed a fix for want of coverage (the member's
    coverage has just changed), or for any of ``issue_codes``. Those now covered go READY
    (or keep other issues)."""
    waiting = [
        c
        for c in await ChargeRepository(uow.session).needing_fix_of_member(
            tenant_id, member_id, for_update=True
        )
        if any(c.terms.has_issue(code) for code in issue_codes)
    ]
    if not waiting:
        return []
    tenant = tenants(tenant_id)
    updates = []
    for charge in waiting:
        after = await _repriced(uow, tenant, charge, PricingOverride())
        updates.append(ChargeUpdate(charge, after or charge))
    changed = await record_changes(
        uow,
        tenant_id,
        updates,
        ChargeChange.RECHECKED,
        Provenance(reason="member record changed", event_id=event_id),
        subject=member_id,
    )
    log.info("member_charges_rechecked", waiting=len(waiting), changed=len(changed))
    return changed


#: Charges re-checked at most per request or assignment; the rest wait for the next one.
RECHECK_LIMIT = 1000


@dataclass(frozen=True)
class CodeAssignmentRecheck:
    checked: int  # NEEDS_FIX charges looked at
    changed: int  # of those, priced anew (READY now, or other issues left)
    more: bool  # more such charges wait than one re-check takes (RECHECK_LIMIT)


async def recheck_code_assignment_charges(
    uow: UnitOfWork,
    tenants: TenantLookup,
    tenant_id: str,
    provenance: Provenance,
    *,
    kind: AssigneeKind | None = None,
    assignee_id: str | None = None,
    procedure_codes: Collection[str] | None = None,
    limit: int = RECHECK_LIMIT,
) -> CodeAssignmentRecheck:
    """Re-check the charges that need a fix because their code was not assigned to their
    member (``kind`` CLIENT) or rendering staff (STAFF), or either (None): of one client or
    staff member, or of all; of the codes given, or of any."""
    issue_codes: tuple[str, ...] = CODE_ASSIGNMENT_ISSUES
    if kind is AssigneeKind.CLIENT:
        issue_codes = (IssueCode.CODE_NOT_ASSIGNED_TO_MEMBER,)
    elif kind is AssigneeKind.STAFF:
        issue_codes = (IssueCode.CODE_NOT_ASSIGNED_TO_STAFF,)
    waiting = await ChargeRepository(uow.session).needing_code_assignment(
        tenant_id,
        issue_codes,
        member_id=assignee_id if kind is AssigneeKind.CLIENT else None,
        provider_id=assignee_id if kind is AssigneeKind.STAFF else None,
        procedure_codes=procedure_codes,
        limit=limit + 1,
        for_update=True,
    )
    more = len(waiting) > limit
    waiting = waiting[:limit]
    if not waiting:
        return CodeAssignmentRecheck(0, 0, False)
    tenant = tenants(tenant_id)
    updates = []
    for charge in waiting:
        after = await _repriced(uow, tenant, charge, PricingOverride())
        updates.append(ChargeUpdate(charge, after or charge))
    changed = await record_changes(
        uow,
        tenant_id,
        updates,
        ChargeChange.RECHECKED,
        provenance,
        subject=assignee_id or tenant_id,
    )
    log.info(
        "code_assignment_charges_rechecked", checked=len(waiting), changed=len(changed), more=more
    )
    return CodeAssignmentRecheck(len(waiting), len(changed), more)
