"""Use cases of professional claims (SPEC 6): charges join claims, claims are built,
scrubbed and rebuilt as versions, READY claims are submitted (at once when the tenant
auto-submits), and what the gateway reports moves them on.

Everything that changes a member's claims runs under that member's lock, in the unit of
work of the event or request that caused it; the events it causes go to the outbox in
the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from pydantic import ValidationError

from claims.adapters.db.claims_repository import INSTITUTIONAL, ClaimRepository
from claims.adapters.db.corrections_repository import CorrectionsRepository, Override
from claims.adapters.db.institutional_repository import InstitutionalRepository
from claims.adapters.db.repository import ProjectionRepository
from claims.domain.building import (
    ClaimInputs,
    build_professional_claim,
    claim_key_for,
    plan_claim_assignment,
)
from claims.domain.charges import (
    ChargeOnFile,
    ChargeRouting,
    Holder,
    ReverseHold,
    hold_outlasts,
    only_bookkeeping,
    route_charge_change,
)
from claims.domain.claims import (
    ClaimLine,
    ClaimRuleViolation,
    ClaimStatus,
    ClaimTransmission,
    IssueCode,
    ProfessionalClaim,
    ProfessionalClaimContent,
    ScrubIssue,
    UnknownClaim,
    build_fingerprint,
    check_submittable,
    check_transition,
    error,
    patient_control_number,
    status_after_scrub,
)
from claims.domain.corrections import (
    REPLACEMENT,
    VOID,
    Acknowledgment,
    AcknowledgmentEffect,
    OverrideAction,
    ReplacementNotClean,
    acknowledgment_decision,
    bills_alike,
    check_correctable,
    check_rebuildable_afresh,
    nothing_changed,
    rebuilt_afresh,
    renumbered,
)
from claims.domain.projections import (
    ClaimMember,
    ProjectionOutcome,
    Provider,
    SourceStamp,
    UnknownMember,
)
from claims.domain.scrubbing import scrub_professional_claim
from claims.service_layer import institutional_claims as institutional
from claims.service_layer.dependencies import ClaimsDependencies, next_control_number
from claims.service_layer.messages import claim_status_changed, claim_submitted
from claims.service_layer.overrides import (
    REPLACEMENT_REASON,
    VOID_REASON,
    audit,
    clearinghouse_of,
    reference_to_original,
)
from claims.service_layer.projections import record_member, record_provider
from common.db import UnitOfWork
from common.errors import NotYetKnown
from common.logging import get_logger
from contracts.events import CLAIM_STATUS_CHANGED_V1, CLAIM_SUBMITTED_V1
from contracts.tenant import TenantConfig
from contracts.tenant.effective_dating import ConfigLookupError

log = get_logger(__name__)

AUTO_SUBMIT = "auto-submit"


class BuildReason:
    """Why a claim version was built (kept on the version)."""

    BUILT = "BUILT"
    CHARGES_JOINED = "CHARGES_JOINED"
    CHARGE_CHANGED = "CHARGE_CHANGED"
    CHARGE_LEFT = "CHARGE_LEFT"
    MEMBER_CHANGED = "MEMBER_CHANGED"
    PROVIDER_CHANGED = "PROVIDER_CHANGED"
    REQUESTED = "REQUESTED"


def new_claim_id() -> str:
    return f"clm-{uuid.uuid4().hex}"


# --------------------------------------------------------------------------- charges in


async def record_charges(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant_id: str,
    charges: Sequence[ChargeOnFile],
    event_id: str,
) -> None:
    """Keep each charge's newest version and carry it to the claims: a READY professional
    charge joins a claim, a voided one leaves its unsubmitted claim (which is rebuilt, or
    cancelled when empty) or marks its submitted claim STALE."""
    repository = ClaimRepository(uow.session)
    tenant = deps.tenant_config(tenant_id)
    npi = tenant.billing_provider.npi
    newest: dict[str, ChargeOnFile] = {}
    for charge in charges:  # one message may list a charge twice: its newest version counts
        kept = newest.get(charge.charge_id)
        if kept is None or kept.charge_version < charge.charge_version:
            newest[charge.charge_id] = charge
    for member_id in sorted({c.member_id for c in newest.values()}):
        await repository.lock_member(tenant_id, member_id)

    rebuild: dict[str, str] = {}
    stale: dict[str, list[ChargeOnFile]] = {}
    joining: list[ChargeOnFile] = []
    stays: dict[str, list[date]] = {}
    saved = await repository.save_charges_if_newer(tenant_id, list(newest.values()), event_id)
    for charge in newest.values():
        written, previous = saved[charge.charge_id]
        if not written:
            log.info(
                "charge_version_kept_newer",
                charge_id=charge.charge_id,
                offered_version=charge.charge_version,
                kept_version=previous.charge_version if previous else None,
            )
            continue
        held = (
            previous is not None
            and previous.hold is not None
            and await _still_held(repository, tenant_id, charge, previous, previous.hold)
        )
        if held and not charge.bills_a_stay:
            continue  # its claim was voided: it waits for a rebuild (a day: its cycle does)
        if charge.bills_a_stay:
            # A day of a stay: it goes on its cycle's 837I claim, decided stay by stay;
            # the echo of a claim's own status (built, submitted, accepted, voided) asks
            # nothing of its stay, and is most of a month-end's charge messages (#10).
            if only_bookkeeping(charge, previous):
                continue
            for version in (charge, previous):
                if version is not None and version.stay_id is not None:
                    stays.setdefault(version.stay_id, []).append(version.date_of_service)
            continue
        claim = await repository.holder_of(tenant_id, charge.charge_id)
        holder = None
        if claim is not None:
            same_key = charge.payer_id is not None and claim_key_for(charge, npi) == claim.key
            holder = Holder(claim.claim_id, claim.status, same_key)
        routing = route_charge_change(charge, previous, holder)
        if routing is ChargeRouting.JOIN:
            joining.append(charge)
        elif routing is ChargeRouting.REBUILD_HOLDER and holder:
            rebuild.setdefault(holder.claim_id, BuildReason.CHARGE_CHANGED)
        elif routing in (ChargeRouting.LEAVE_HOLDER, ChargeRouting.MOVE) and holder:
            await repository.unassign(tenant_id, [charge.charge_id])
            rebuild[holder.claim_id] = BuildReason.CHARGE_LEFT
            if routing is ChargeRouting.MOVE:
                joining.append(charge)
        elif routing is ChargeRouting.STALE_HOLDER and holder:
            stale.setdefault(holder.claim_id, []).append(charge)

    for claim_id, reason in (await _assign(uow, deps, repository, tenant_id, npi, joining)).items():
        rebuild.setdefault(claim_id, reason)
    for claim_id in sorted(rebuild):
        await rebuild_claim(uow, deps, tenant, tenant_id, claim_id, rebuild[claim_id])
    for claim_id in sorted(stale):
        await _mark_stale(uow, tenant_id, claim_id, stale[claim_id])
    await institutional.day_charges_changed(uow, deps, tenant_id, stays)


async def _still_held(
    repository: ClaimRepository,
    tenant_id: str,
    charge: ChargeOnFile,
    previous: ChargeOnFile,
    hold: ReverseHold,
) -> bool:
    """A newer version of a charge held after its claim's void: held still while it bills
    as before (the charges service's echo of the void); let go once it changes. A day
    charge that changes lets its whole voided cycle go: the cycle bills differently now."""
    if hold_outlasts(charge, previous):
        log.info(
            "charge_held_after_reverse",
            charge_id=charge.charge_id,
            charge_version=charge.charge_version,
            claim_id=hold.claim_id,
        )
        return True
    if charge.bills_a_stay:
        await repository.release_holds_of(tenant_id, hold.claim_id)
    else:
        await repository.release_hold(tenant_id, [charge.charge_id])
    log.info(
        "charge_hold_released",
        charge_id=charge.charge_id,
        charge_version=charge.charge_version,
        claim_id=hold.claim_id,
        cause="charge_changed",
    )
    return False


async def _assign(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    repository: ClaimRepository,
    tenant_id: str,
    npi: str,
    joining: Sequence[ChargeOnFile],
) -> dict[str, str]:
    """Put READY charges on claims; the claims to build, with why."""
    if not joining:
        return {}
    keys = sorted({claim_key_for(charge, npi) for charge in joining})
    plan = plan_claim_assignment(joining, await repository.open_claims(tenant_id, keys), npi)
    touched: dict[str, str] = {}
    for claim_id, charge_ids in plan.to_existing.items():
        await repository.assign(tenant_id, claim_id, charge_ids)
        touched[claim_id] = BuildReason.CHARGES_JOINED
    for new in plan.new_claims:
        sequence = await next_control_number(uow, deps, tenant_id)
        claim = ProfessionalClaim(
            claim_id=new_claim_id(),
            patient_control_number=patient_control_number(sequence),
            key=new.key,
            status=ClaimStatus.DRAFT,
        )
        await repository.add_claim(tenant_id, claim)
        await repository.assign(tenant_id, claim.claim_id, new.charge_ids)
        touched[claim.claim_id] = BuildReason.BUILT
        log.info("claim_opened", claim_id=claim.claim_id, lines=len(new.charge_ids))
    return touched


# --------------------------------------------------------------------------- building


def _contract_issues(
    claim: ProfessionalClaim,
    version: int,
    content: ProfessionalClaimContent,
    *,
    frequency_code: str | None = None,
    original_reference: str | None = None,
) -> list[ScrubIssue]:
    """Whatever the scrub let through must still make a valid claim message: checked by
    building it, so a READY claim can always be submitted."""
    trial = ProfessionalClaim(
        claim.claim_id, claim.patient_control_number, claim.key, claim.status, version
    )
    try:
        claim_submitted(
            trial,
            content,
            content.clearinghouse_id or "unknown",
            frequency_code=frequency_code,
            original_reference=original_reference,
        )
    except ValidationError as exc:
        where = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        return [
            error(
                IssueCode.CLAIM_CONTENT_INVALID,
                "the claim message would be invalid at: " + ", ".join(where)[:400],
            )
        ]
    except ValueError as exc:
        return [error(IssueCode.CLAIM_CONTENT_INVALID, str(exc))]
    return []


async def _inputs(
    uow: UnitOfWork,
    tenant: TenantConfig,
    tenant_id: str,
    claim: ProfessionalClaim,
    charges: Sequence[ChargeOnFile],
    version: int,
) -> ClaimInputs:
    projections = ProjectionRepository(uow.session)
    member: ClaimMember | None = await projections.get_member(tenant_id, claim.key.member_id)
    providers: dict[str, Provider] = await projections.get_providers(
        tenant_id, [c.rendering_provider_id for c in charges if c.rendering_provider_id]
    )
    return ClaimInputs(
        patient_control_number=claim.patient_control_number,
        version=version,
        key=claim.key,
        charges=tuple(charges),
        member=member,
        providers=providers,
        tenant=tenant,
    )


async def rebuild_claim(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant: TenantConfig,
    tenant_id: str,
    claim_id: str,
    reason: str,
) -> ProfessionalClaim | None:
    """Build an unsubmitted claim again from its charges and the records it prints from:
    a new version when anything it prints or any scrub finding changed, nothing otherwise.
    Emptied, it is cancelled. READY and auto-submitting, it is submitted."""
    repository = ClaimRepository(uow.session)
    claim = await repository.get_claim(tenant_id, claim_id, for_update=True)
    if claim is None or not claim.status.open_for_change:
        return claim
    charges = await repository.charges_on_claim(tenant_id, claim_id)
    if not charges:
        await _cancel(uow, repository, tenant_id, claim, reason)
        return claim
    version = claim.version + 1
    inputs = await _inputs(uow, tenant, tenant_id, claim, charges, version)
    content = build_professional_claim(inputs)
    issues = list(scrub_professional_claim(inputs, content, deps.diagnoses))
    if not any(issue.blocks for issue in issues):
        issues += _contract_issues(claim, version, content)
    fingerprint = build_fingerprint(content, issues)
    if claim.version and fingerprint == await repository.version_fingerprint(
        tenant_id, claim_id, claim.version
    ):
        return claim
    previous = claim.status if claim.version else None
    status = status_after_scrub(issues)
    if previous is not None:
        check_transition(claim_id, previous, status)
    claim.version, claim.status = version, status
    await repository.add_version(
        tenant_id,
        claim_id,
        version,
        content=content,
        issues=issues,
        scrubbed_status=status,
        reason=reason,
        fingerprint=fingerprint,
    )
    await repository.update_claim(
        tenant_id, claim, total_charge=content.total_charge, line_count=len(content.lines)
    )
    blocking = sorted({issue.code for issue in issues if issue.blocks})
    if previous is not status:
        await repository.add_status_change(
            tenant_id, claim_id, version, previous, status, reason_codes=[reason, *blocking]
        )
    # Every version is announced, with the charges it holds now (charges marks them
    # ON_CLAIM), whether or not its status moved; one submitted at once is announced once,
    # as submitted (its READY never outlives this transaction).
    submitting = status is ClaimStatus.READY and tenant.auto_submit_claims
    if not submitting:
        _publish_status(uow, tenant_id, claim, previous, content.lines, reason_codes=blocking)
    log.info(
        "claim_built",
        claim_id=claim_id,
        claim_version=version,
        status=status.value,
        lines=len(content.lines),
        issue_codes=blocking,
    )
    if submitting:
        await _submit(
            uow, repository, tenant, tenant_id, claim, content, AUTO_SUBMIT, announced=previous
        )
    return claim


async def _cancel(
    uow: UnitOfWork,
    repository: ClaimRepository,
    tenant_id: str,
    claim: ProfessionalClaim,
    reason: str,
) -> None:
    previous = claim.status
    check_transition(claim.claim_id, previous, ClaimStatus.CANCELLED)
    claim.status = ClaimStatus.CANCELLED
    await repository.update_claim(tenant_id, claim, total_charge=None, line_count=0)
    await repository.add_status_change(
        tenant_id,
        claim.claim_id,
        claim.version,
        previous,
        ClaimStatus.CANCELLED,
        reason_codes=[reason],
        reason="every charge left the claim before it was submitted",
    )
    # claims.claim.status_changed.v1 has no CANCELLED status (a contract gap reported to
    # the lead); its charges have all left it already, so nobody waits on this one.
    log.info("claim_cancelled", claim_id=claim.claim_id, claim_version=claim.version)


def _publish_status(
    uow: UnitOfWork,
    tenant_id: str,
    claim: ProfessionalClaim,
    previous: ClaimStatus | None,
    lines: Sequence[ClaimLine],
    *,
    reason_codes: Sequence[str] = (),
    reason: str | None = None,
) -> None:
    uow.publish(
        type=CLAIM_STATUS_CHANGED_V1,
        tenant_id=tenant_id,
        data=claim_status_changed(claim, previous, lines, reason_codes=reason_codes, reason=reason),
        subject=claim.claim_id,
    )


# --------------------------------------------------------------------------- submitting


async def _submit(
    uow: UnitOfWork,
    repository: ClaimRepository,
    tenant: TenantConfig,
    tenant_id: str,
    claim: ProfessionalClaim,
    content: ProfessionalClaimContent,
    actor: str,
    *,
    announced: ClaimStatus | None,
) -> None:
    """``announced``: the status the consumers last heard of (the status_changed event's
    ``previous_status``)."""
    check_submittable(claim.claim_id, claim.status)
    try:
        clearinghouse_id = tenant.clearinghouse_for_payer(claim.key.payer_id).id
    except ConfigLookupError as exc:
        raise ClaimRuleViolation(
            "UNKNOWN_PAYER", "the tenant configuration has no such payer", claim_id=claim.claim_id
        ) from exc
    uow.publish(
        type=CLAIM_SUBMITTED_V1,
        tenant_id=tenant_id,
        data=claim_submitted(claim, content, clearinghouse_id),
        subject=claim.claim_id,
    )
    previous = claim.status
    claim.status = ClaimStatus.SUBMITTED
    await repository.update_claim(tenant_id, claim)
    await repository.add_status_change(
        tenant_id, claim.claim_id, claim.version, previous, claim.status, actor=actor
    )
    _publish_status(uow, tenant_id, claim, announced, content.lines)
    log.info(
        "claim_submitted",
        claim_id=claim.claim_id,
        claim_version=claim.version,
        clearinghouse_id=clearinghouse_id,
    )


async def submit_claim(
    uow: UnitOfWork, deps: ClaimsDependencies, tenant_id: str, claim_id: str, actor: str
) -> ProfessionalClaim:
    """An operator's submit: only a READY claim (409 CLAIM_NOT_READY otherwise)."""
    repository = ClaimRepository(uow.session)
    if await InstitutionalRepository(uow.session).transaction_type(tenant_id, claim_id) == (
        INSTITUTIONAL
    ):
        cycle_claim = await institutional.submit_cycle_claim(uow, deps, tenant_id, claim_id, actor)
        return ProfessionalClaim(
            cycle_claim.claim_id,
            cycle_claim.patient_control_number,
            cycle_claim.key,
            cycle_claim.status,
            cycle_claim.version,
        )
    claim = await repository.get_claim(tenant_id, claim_id, for_update=True)
    if claim is None:
        raise UnknownClaim(claim_id)
    check_submittable(claim_id, claim.status)
    content = await repository.version_content(tenant_id, claim_id, claim.version)
    if content is None:
        raise UnknownClaim(claim_id)
    await _submit(
        uow,
        repository,
        deps.tenant_config(tenant_id),
        tenant_id,
        claim,
        content,
        actor,
        announced=claim.status,
    )
    return claim


# --------------------------------------------------------------------------- stale


async def _mark_stale(
    uow: UnitOfWork, tenant_id: str, claim_id: str, charges: Sequence[ChargeOnFile]
) -> None:
    """A charge changed or was voided under a claim that left our hands: the claim needs a
    reverse and rebuild (#5); until then it says so."""
    repository = ClaimRepository(uow.session)
    claim = await repository.get_claim(tenant_id, claim_id, for_update=True)
    if claim is None or not claim.status.left_our_hands:
        return
    voided = [c.charge_id for c in charges if not c.billable]
    changed = [c.charge_id for c in charges if c.billable]
    codes = (["CHARGE_VOIDED"] if voided else []) + (["CHARGE_CHANGED"] if changed else [])
    parts = []
    if voided:
        parts.append("voided: " + ", ".join(sorted(voided)))
    if changed:
        parts.append("changed: " + ", ".join(sorted(changed)))
    reason = (
        f"charges {'; '.join(parts)} after the claim was {claim.status.value.lower()}; "
        "it needs a reverse and rebuild"
    )
    previous = claim.status
    check_transition(claim_id, previous, ClaimStatus.STALE)
    claim.status = ClaimStatus.STALE
    await repository.update_claim(tenant_id, claim, stale_reason=reason, reversal_needed=True)
    await repository.add_status_change(
        tenant_id,
        claim_id,
        claim.version,
        previous,
        ClaimStatus.STALE,
        reason_codes=codes,
        reason=reason,
    )
    lines = await repository.version_lines(tenant_id, claim_id, claim.version)
    _publish_status(uow, tenant_id, claim, previous, lines, reason_codes=codes, reason=reason)
    log.info("claim_stale", claim_id=claim_id, claim_version=claim.version, reason_codes=codes)


# --------------------------------------------------------------------------- re-scrubbing


async def _rebuild_open_claims(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant_id: str,
    member_claims: Iterable[tuple[str, str]],
    reason: str,
) -> None:
    by_member: dict[str, list[str]] = {}
    for member_id, claim_id in member_claims:
        by_member.setdefault(member_id, []).append(claim_id)
    if not by_member:
        return
    repository = ClaimRepository(uow.session)
    tenant = deps.tenant_config(tenant_id)
    for member_id in sorted(by_member):
        await repository.lock_member(tenant_id, member_id)
    for member_id in sorted(by_member):
        for claim_id in by_member[member_id]:
            await rebuild_claim(uow, deps, tenant, tenant_id, claim_id, reason)


async def member_changed(
    uow: UnitOfWork, deps: ClaimsDependencies, tenant_id: str, member_id: str
) -> None:
    """A newer member record: the member's unsubmitted claims are built and scrubbed
    again (a claim waiting with MISSING_MEMBER becomes READY)."""
    repository = ClaimRepository(uow.session)
    claim_ids = await repository.open_claims_of_member(tenant_id, member_id)
    await _rebuild_open_claims(
        uow, deps, tenant_id, [(member_id, c) for c in claim_ids], BuildReason.MEMBER_CHANGED
    )


async def provider_changed(
    uow: UnitOfWork, deps: ClaimsDependencies, tenant_id: str, provider_id: str
) -> None:
    repository = ClaimRepository(uow.session)
    member_claims = await repository.open_claims_rendered_by(tenant_id, provider_id)
    await _rebuild_open_claims(uow, deps, tenant_id, member_claims, BuildReason.PROVIDER_CHANGED)


@dataclass(frozen=True)
class BuildRequest:
    member_id: str
    period_from: date | None = None
    period_to: date | None = None


async def build_member_claims(
    uow: UnitOfWork, deps: ClaimsDependencies, tenant_id: str, request: BuildRequest
) -> list[str]:
    """An operator's "build": the member's READY charges in the period that are on no
    claim join claims now, and the member's unsubmitted claims there are built again.
    Returns the claims concerned."""
    if request.period_from and request.period_to and request.period_to < request.period_from:
        raise ClaimRuleViolation(
            "PERIOD_OUT_OF_ORDER", "the period ends before it starts", member_id=request.member_id
        )
    repository = ClaimRepository(uow.session)
    await repository.lock_member(tenant_id, request.member_id)
    member = await ProjectionRepository(uow.session).get_member(tenant_id, request.member_id)
    if member is None and not await repository.member_has_charges(tenant_id, request.member_id):
        raise UnknownMember(request.member_id)
    tenant = deps.tenant_config(tenant_id)
    joining = await repository.unassigned_ready_charges(
        tenant_id, request.member_id, request.period_from, request.period_to
    )
    touched = await _assign(uow, deps, repository, tenant_id, tenant.billing_provider.npi, joining)
    open_ids = await repository.open_claims_of_member(
        tenant_id, request.member_id, request.period_from, request.period_to
    )
    claim_ids = list(dict.fromkeys([*touched, *open_ids]))
    for claim_id in claim_ids:
        await rebuild_claim(
            uow, deps, tenant, tenant_id, claim_id, touched.get(claim_id, BuildReason.REQUESTED)
        )
    return claim_ids


async def rebuild_requested(
    uow: UnitOfWork, deps: ClaimsDependencies, tenant_id: str, claim_id: str
) -> list[str]:
    """An operator's rebuild of one claim: a cycle claim is rebuilt with its stay; a
    professional one from its charges (409 once it left our hands). A REVERSED claim (or
    a REJECTED one) is not rebuilt in place: a fresh original is built from its charges
    as they are now. Returns the claims to show: this one, or the fresh ones."""
    if await InstitutionalRepository(uow.session).transaction_type(tenant_id, claim_id) == (
        INSTITUTIONAL
    ):
        return await institutional.rebuild_cycle_claim(uow, deps, tenant_id, claim_id)
    repository = ClaimRepository(uow.session)
    claim = await repository.get_claim(tenant_id, claim_id)
    if claim is None:
        raise UnknownClaim(claim_id)
    stale_from = await repository.status_before(tenant_id, claim_id, ClaimStatus.STALE)
    if rebuilt_afresh(claim.status, stale_from):
        return await _rebuild_afresh(uow, deps, tenant_id, claim)
    if not claim.status.open_for_change:
        raise ClaimRuleViolation(
            "CLAIM_SUBMITTED",
            "the claim left our hands: it is reversed and rebuilt, or replaced (#5)",
            claim_id=claim_id,
            claim_status=claim.status.value,
        )
    await repository.lock_member(tenant_id, claim.key.member_id)
    tenant = deps.tenant_config(tenant_id)
    await rebuild_claim(uow, deps, tenant, tenant_id, claim_id, BuildReason.REQUESTED)
    return [claim_id]


# --------------------------------------------------------------------------- EDI outcomes


class ClaimNotYetKnown(NotYetKnown):
    def __init__(self, claim_id: str) -> None:
        super().__init__("CLAIM_NOT_FOUND", "no claim with this id (yet)", claim_id=claim_id)


async def record_transmission(
    uow: UnitOfWork, tenant_id: str, transmission: ClaimTransmission
) -> None:
    """Where the gateway put a claim version (ISA13 / GS06 / ST02, file): kept so the EDI
    can be found and acknowledgments map back. Applying it twice keeps one row."""
    repository = ClaimRepository(uow.session)
    if await repository.get_claim(tenant_id, transmission.claim_id) is None:
        raise ClaimNotYetKnown(transmission.claim_id)
    recorded = await repository.add_transmission(tenant_id, transmission)
    log.info(
        "claim_transmitted" if recorded else "claim_transmission_seen_before",
        claim_id=transmission.claim_id,
        claim_version=transmission.claim_version,
        interchange_control_number=transmission.interchange_control_number,
    )


async def record_acknowledgment(
    uow: UnitOfWork, tenant_id: str, ack: Acknowledgment
) -> AcknowledgmentEffect:
    """An acknowledgment of a claim version (TA1, 999, 277CA, or the gateway's own X12
    validator): kept in the claim's history whatever it does; for the claim's current
    version it moves SUBMITTED to ACCEPTED or REJECTED and ACCEPTED to REJECTED, with its
    codes and text (a rejection wins; repeats and older versions change nothing)."""
    repository = ClaimRepository(uow.session)
    corrections = CorrectionsRepository(uow.session)
    claim = await repository.get_claim(tenant_id, ack.claim_id, for_update=True)
    if claim is None:
        raise ClaimNotYetKnown(ack.claim_id)
    decision = acknowledgment_decision(claim.status, claim.version, ack.claim_version, ack.outcome)
    if not await corrections.add_acknowledgment(tenant_id, ack, decision.effect):
        return AcknowledgmentEffect.UNCHANGED  # this event was recorded before
    log.info(
        "claim_acknowledgment_recorded",
        claim_id=claim.claim_id,
        claim_version=claim.version,
        acknowledged_version=ack.claim_version,
        outcome=ack.outcome.value,
        stage=ack.stage,
        effect=decision.effect.value,
        status=claim.status.value,
    )
    if decision.status is None:
        return decision.effect
    previous = claim.status
    check_transition(claim.claim_id, previous, decision.status)
    claim.status = decision.status
    await repository.update_claim(tenant_id, claim)
    await repository.add_status_change(
        tenant_id,
        claim.claim_id,
        claim.version,
        previous,
        claim.status,
        reason_codes=list(ack.codes),
        reason=ack.message,
        stage=ack.stage,
    )
    reason = f"{ack.stage}: {ack.message}" if ack.message else ack.stage
    cycle_claim = await InstitutionalRepository(uow.session).get_cycle_claim(
        tenant_id, claim.claim_id
    )
    if cycle_claim is not None:
        await institutional.announce_status(
            uow, tenant_id, cycle_claim, previous, list(ack.codes), reason
        )
    else:
        lines = await repository.version_lines(tenant_id, claim.claim_id, claim.version)
        _publish_status(
            uow, tenant_id, claim, previous, lines, reason_codes=list(ack.codes), reason=reason
        )
    return decision.effect


# --------------------------------------------------------------------------- corrections (#5)


async def _claim_to_correct(
    uow: UnitOfWork, tenant_id: str, claim_id: str, action: OverrideAction
) -> tuple[ClaimRepository, ProfessionalClaim]:
    """The claim under its member's lock, checked: it left our hands and may sit on the
    payer's books (409 otherwise)."""
    repository = ClaimRepository(uow.session)
    found = await repository.get_claim(tenant_id, claim_id)
    if found is None:
        raise UnknownClaim(claim_id)
    await repository.lock_member(tenant_id, found.key.member_id)
    claim = await repository.get_claim(tenant_id, claim_id, for_update=True)
    assert claim is not None
    reversal_needed, _ = await repository.header_marks(tenant_id, claim_id)
    stale_from = await repository.status_before(tenant_id, claim_id, ClaimStatus.STALE)
    check_correctable(
        claim_id,
        action,
        claim.status,
        reversal_needed=reversal_needed,
        stale_from=stale_from if claim.status is ClaimStatus.STALE else None,
    )
    return repository, claim


async def reverse_professional_claim(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant_id: str,
    claim_id: str,
    reason: str,
    actor: str,
) -> ProfessionalClaim:
    """Void the claim at the payer: its next version repeats the last one sent, with
    frequency 8 and the original's reference; the claim is REVERSED and its charges are
    held: no automatic build bills them until they change or an operator rebuilds it."""
    repository, claim = await _claim_to_correct(uow, tenant_id, claim_id, OverrideAction.REVERSE)
    sent = await repository.version_content(tenant_id, claim_id, claim.version)
    if sent is None:
        raise UnknownClaim(claim_id)
    tenant = deps.tenant_config(tenant_id)
    reference = await reference_to_original(
        uow, tenant_id, claim_id, claim.patient_control_number, claim.version
    )
    previous, from_version = claim.status, claim.version
    check_transition(claim_id, previous, ClaimStatus.REVERSED)
    claim.version, claim.status = from_version + 1, ClaimStatus.REVERSED
    void = replace(sent, lines=renumbered(sent.lines, claim.patient_control_number, claim.version))
    await repository.add_version(
        tenant_id,
        claim_id,
        claim.version,
        content=void,
        issues=[],
        scrubbed_status=ClaimStatus.READY,
        reason=VOID_REASON,
        fingerprint=build_fingerprint(void, []),
        frequency_code=VOID,
        original_reference=reference,
    )
    clearinghouse_id = clearinghouse_of(tenant, claim_id, claim.key.payer_id)
    uow.publish(
        type=CLAIM_SUBMITTED_V1,
        tenant_id=tenant_id,
        data=claim_submitted(
            claim, void, clearinghouse_id, frequency_code=VOID, original_reference=reference
        ),
        subject=claim_id,
    )
    await repository.update_claim(
        tenant_id, claim, reversal_needed=False, frequency_code=VOID, released=True
    )
    released = await repository.release_charges(tenant_id, claim_id)
    # The charges go back to READY (the charges service's echo of this status): that alone
    # must not bill them again, or the payer gets the void and the same claim once more.
    await repository.hold_after_reverse(tenant_id, claim_id, released)
    await repository.add_status_change(
        tenant_id,
        claim_id,
        claim.version,
        previous,
        ClaimStatus.REVERSED,
        reason_codes=[VOID_REASON],
        reason=reason,
        actor=actor,
    )
    _publish_status(
        uow,
        tenant_id,
        claim,
        previous,
        void.lines,
        reason_codes=[VOID_REASON],
        reason="voided (frequency 8); its charges wait for a rebuild (or their next change)",
    )
    await audit(
        uow,
        tenant_id,
        Override(
            claim_id=claim_id,
            action=OverrideAction.REVERSE,
            actor=actor,
            reason=reason,
            from_status=previous,
            to_status=ClaimStatus.REVERSED,
            from_version=from_version,
            to_version=claim.version,
            details={"frequency_code": VOID, "original_reference": reference},
        ),
    )
    return claim


async def replace_professional_claim(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant_id: str,
    claim_id: str,
    reason: str,
    actor: str,
) -> ProfessionalClaim:
    """Replace the claim at the payer: its next version is built from its charges as they
    are now (frequency 7, the original's reference), scrubbed (422 with the issues when it
    has errors, nothing changed) and submitted; the version sent before stays as REPLACED
    in the history. A charge no longer billable here leaves the claim."""
    repository, claim = await _claim_to_correct(uow, tenant_id, claim_id, OverrideAction.REPLACE)
    tenant = deps.tenant_config(tenant_id)
    npi = tenant.billing_provider.npi
    held = await repository.charges_on_claim(tenant_id, claim_id)
    kept = [
        c
        for c in held
        if c.billable and c.payer_id is not None and claim_key_for(c, npi) == claim.key
    ]
    if not kept:
        raise ClaimRuleViolation(
            "NOTHING_TO_REPLACE",
            "no charge on the claim is billable any more: reverse it instead",
            claim_id=claim_id,
        )
    reference = await reference_to_original(
        uow, tenant_id, claim_id, claim.patient_control_number, claim.version
    )
    version = claim.version + 1
    inputs = await _inputs(uow, tenant, tenant_id, claim, kept, version)
    content = build_professional_claim(inputs)
    issues = list(scrub_professional_claim(inputs, content, deps.diagnoses))
    if not any(issue.blocks for issue in issues):
        issues += _contract_issues(
            claim, version, content, frequency_code=REPLACEMENT, original_reference=reference
        )
    if any(issue.blocks for issue in issues):
        raise ReplacementNotClean(claim_id, issues)
    sent = await repository.version_content(tenant_id, claim_id, claim.version)
    if sent is not None and bills_alike(sent, content):
        raise nothing_changed(claim_id, claim.version)

    previous, from_version = claim.status, claim.version
    check_transition(claim_id, previous, ClaimStatus.REPLACED)
    check_transition(claim_id, ClaimStatus.REPLACED, ClaimStatus.SUBMITTED)
    await repository.add_status_change(
        tenant_id,
        claim_id,
        from_version,
        previous,
        ClaimStatus.REPLACED,
        reason_codes=[REPLACEMENT_REASON],
        reason=reason,
        actor=actor,
    )
    claim.version, claim.status = version, ClaimStatus.SUBMITTED
    await repository.add_version(
        tenant_id,
        claim_id,
        version,
        content=content,
        issues=issues,
        scrubbed_status=ClaimStatus.READY,
        reason=REPLACEMENT_REASON,
        fingerprint=build_fingerprint(content, issues),
        frequency_code=REPLACEMENT,
        original_reference=reference,
    )
    kept_ids = {c.charge_id for c in kept}
    leaving = [c for c in held if c.charge_id not in kept_ids]
    await repository.unassign(tenant_id, [c.charge_id for c in leaving])
    clearinghouse_id = clearinghouse_of(tenant, claim_id, claim.key.payer_id)
    uow.publish(
        type=CLAIM_SUBMITTED_V1,
        tenant_id=tenant_id,
        data=claim_submitted(
            claim,
            content,
            clearinghouse_id,
            frequency_code=REPLACEMENT,
            original_reference=reference,
        ),
        subject=claim_id,
    )
    await repository.update_claim(
        tenant_id,
        claim,
        total_charge=content.total_charge,
        line_count=len(content.lines),
        reversal_needed=False,
        clear_stale_reason=True,
        frequency_code=REPLACEMENT,
    )
    await repository.add_status_change(
        tenant_id,
        claim_id,
        version,
        ClaimStatus.REPLACED,
        ClaimStatus.SUBMITTED,
        reason_codes=[REPLACEMENT_REASON],
        actor=actor,
    )
    _publish_status(
        uow, tenant_id, claim, previous, content.lines, reason_codes=[REPLACEMENT_REASON]
    )
    await audit(
        uow,
        tenant_id,
        Override(
            claim_id=claim_id,
            action=OverrideAction.REPLACE,
            actor=actor,
            reason=reason,
            from_status=previous,
            to_status=ClaimStatus.SUBMITTED,
            from_version=from_version,
            to_version=version,
            details={
                "frequency_code": REPLACEMENT,
                "original_reference": reference,
                "charges_left": sorted(c.charge_id for c in leaving),
            },
        ),
    )
    # A charge that left and is billable elsewhere (a new payer) joins its claim now.
    joining = [c for c in leaving if c.joins_professional_claims]
    for joined, why in (await _assign(uow, deps, repository, tenant_id, npi, joining)).items():
        await rebuild_claim(uow, deps, tenant, tenant_id, joined, why)
    log.info("claim_replaced", claim_id=claim_id, claim_version=version, lines=len(content.lines))
    return claim


async def _rebuild_afresh(
    uow: UnitOfWork, deps: ClaimsDependencies, tenant_id: str, found: ProfessionalClaim
) -> list[str]:
    """After a void (or a rejection): the charges the claim billed, as they are now (held
    since the void: the rebuild lets them go), go on a fresh original (a new claim id and
    patient control number, frequency 1), built and scrubbed as usual (submitted at once
    when the tenant auto-submits)."""
    repository = ClaimRepository(uow.session)
    await repository.lock_member(tenant_id, found.key.member_id)
    claim = await repository.get_claim(tenant_id, found.claim_id, for_update=True)
    assert claim is not None
    _, superseded_by = await repository.header_marks(tenant_id, claim.claim_id)
    stale_from = await repository.status_before(tenant_id, claim.claim_id, ClaimStatus.STALE)
    check_rebuildable_afresh(
        claim.claim_id,
        claim.status,
        superseded_by,
        stale_from if claim.status is ClaimStatus.STALE else None,
    )
    lines = await repository.version_lines(tenant_id, claim.claim_id, claim.version)
    charge_ids = sorted({line.charge_id for line in lines})
    await repository.release_charges(tenant_id, claim.claim_id)
    await repository.release_holds_of(tenant_id, claim.claim_id)
    tenant = deps.tenant_config(tenant_id)
    held = await repository.holders(tenant_id, charge_ids)
    free = [
        c
        for c in await repository.charges_by_id(tenant_id, charge_ids)
        if c.charge_id not in held and c.billable and c.payer_id and not c.bills_a_stay
    ]
    touched = await _assign(uow, deps, repository, tenant_id, tenant.billing_provider.npi, free)
    for claim_id in sorted(touched):
        await rebuild_claim(uow, deps, tenant, tenant_id, claim_id, touched[claim_id])
    fresh = sorted(set((await repository.holders(tenant_id, charge_ids)).values()))
    if not fresh:
        raise ClaimRuleViolation(
            "NOTHING_TO_REBUILD",
            "none of the charges the claim billed is billable now",
            claim_id=claim.claim_id,
        )
    await repository.update_claim(tenant_id, claim, released=True, superseded_by=fresh[0])
    log.info("claim_rebuilt_afresh", claim_id=claim.claim_id, fresh_claims=fresh)
    return fresh


# --------------------------------------------------------------------------- EHR records


async def apply_member_upsert(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant_id: str,
    member: ClaimMember,
    stamp: SourceStamp,
) -> None:
    """Keep the newer member record, then scrub the member's unsubmitted claims again."""
    if await record_member(uow, tenant_id, member, stamp) is ProjectionOutcome.APPLIED:
        await member_changed(uow, deps, tenant_id, member.member_id)
        await institutional.member_changed(uow, deps, tenant_id, member.member_id)


async def apply_provider_upsert(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant_id: str,
    provider: Provider,
    stamp: SourceStamp,
) -> None:
    """Keep the newer provider record, then rebuild the unsubmitted claims it renders on."""
    if await record_provider(uow, tenant_id, provider, stamp) is ProjectionOutcome.APPLIED:
        await provider_changed(uow, deps, tenant_id, provider.provider_id)
