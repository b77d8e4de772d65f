"""The dry run of a claim build (issue #8): the operator's build runs as it would (the
same joining, building, scrubbing and, where the tenant auto-submits, submitting), the
claims are read back as the gateway would get them, and the transaction is rolled back:
nothing is stored, no patient control number is spent, no event reaches the outbox.

Each claim comes back with its scrub issues and, when its scrub lets it go, the document
the claims service publishes (``claims.claim.submitted.v1``'s data). A claim that had
left our hands before the dry run (a build changes nothing about it) is reported as it
was last sent, flagged ``sent_before``. The EDI gateway then renders those documents
into the exact 837 with pyx12's verdict (:func:`render_837`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from claims.adapters.db.claims_repository import INSTITUTIONAL, PROFESSIONAL, ClaimRepository
from claims.adapters.db.institutional_repository import InstitutionalRepository
from claims.domain.claims import ClaimRuleViolation, ClaimStatus, ScrubIssue
from claims.domain.corrections import REPLACEMENT, VOID
from claims.service_layer.dependencies import ClaimsDependencies
from claims.service_layer.institutional_claims import (
    BlockedCycle,
    StayBuildRequest,
    build_stay_claims,
)
from claims.service_layer.messages import claim_submitted, cycle_claim_submitted
from claims.service_layer.ports import EdiPreviewUnavailable
from claims.service_layer.professional_claims import BuildRequest, build_member_claims
from claims.service_layer.queries import ClaimDetail, ClaimFilter, claim_detail, list_claims
from common.db import UnitOfWork
from common.logging import get_logger
from contracts.tenant.effective_dating import ConfigLookupError

log = get_logger(__name__)

WOULD_NOT_SEND = "SCRUB_ERRORS"
#: Claims no build sends again: emptied, voided, or replaced by another.
GONE = frozenset(
    {ClaimStatus.CANCELLED.value, ClaimStatus.REVERSED.value, ClaimStatus.REPLACED.value}
)
LISTED = 500


@dataclass(frozen=True)
class Note:
    """A coded remark: why a claim has no document, or why there is no 837."""

    code: str
    detail: str


@dataclass(frozen=True)
class ClaimPreview:
    claim_id: str
    claim_version: int
    patient_control_number: str
    transaction_type: str
    member_id: str
    payer_id: str
    status: ClaimStatus  # after the dry build (SUBMITTED where the tenant auto-submits)
    status_before: ClaimStatus | None  # None: the dry run would open it
    sent_before: bool
    issues: list[ScrubIssue]
    document: dict[str, Any] | None  # claims.claim.submitted.v1's data, JSON
    note: Note | None = None


@dataclass(frozen=True)
class DryRun:
    claims: list[ClaimPreview]
    blocked: list[BlockedCycle] = field(default_factory=list)


@dataclass(frozen=True)
class SessionBuildRequest:
    """Every member's claims that bill one group session's charges."""

    session_id: str


@dataclass(frozen=True)
class Rendering:
    """The gateway's answer (files with the 837 text and pyx12's errors, refused claims),
    or a note saying why there is none."""

    files: list[dict[str, Any]] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    note: Note | None = None


# --------------------------------------------------------------------------- building


async def dry_run_member_build(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant_id: str,
    request: BuildRequest | SessionBuildRequest,
) -> DryRun:
    """``POST /v1/claims/build`` without its effects: a member's claims (optionally in a
    period), or the claims of one session's charges. Rolls ``uow`` back."""
    uow.rehearsal = True
    try:
        if isinstance(request, SessionBuildRequest):
            return await _session_build(uow, deps, tenant_id, request.session_id)
        wanted = ClaimFilter(member_id=request.member_id, limit=LISTED)
        before = await _statuses(uow, tenant_id, wanted)
        built = await build_member_claims(uow, deps, tenant_id, request)
        live = [
            v.summary.claim_id
            for v in await list_claims(uow.session, tenant_id, wanted)
            if v.summary.transaction_type == PROFESSIONAL
            and v.summary.status not in GONE
            and (request.period_to is None or v.summary.period_from <= request.period_to)
            and (request.period_from is None or v.summary.period_to >= request.period_from)
        ]
        return DryRun(await _previews(uow, deps, tenant_id, [*built, *live], before))
    finally:
        await uow.rollback()


async def _session_build(
    uow: UnitOfWork, deps: ClaimsDependencies, tenant_id: str, session_id: str
) -> DryRun:
    dates = await ClaimRepository(uow.session).session_charge_dates(tenant_id, session_id)
    if not dates:
        raise ClaimRuleViolation(
            "SESSION_NOT_BILLED",
            "no charge of this session has reached the claims service",
            session_id=session_id,
        )
    wanted = ClaimFilter(session_id=session_id, limit=LISTED)
    before = await _statuses(uow, tenant_id, wanted)
    for member_id in sorted(dates):  # members are locked in id order
        days: list[date] = dates[member_id]
        await build_member_claims(
            uow, deps, tenant_id, BuildRequest(member_id, min(days), max(days))
        )
    after = await list_claims(uow.session, tenant_id, wanted)
    claim_ids = [v.summary.claim_id for v in after if v.summary.status not in GONE]
    return DryRun(await _previews(uow, deps, tenant_id, claim_ids, before))


async def dry_run_stay_build(
    uow: UnitOfWork, deps: ClaimsDependencies, tenant_id: str, request: StayBuildRequest
) -> DryRun:
    """``POST /v1/stays/{stay_id}/claims/build`` without its effects: the stay's live cycle
    claims as the build leaves them, and the cycles a day blocks. Rolls ``uow`` back."""
    uow.rehearsal = True
    try:
        wanted = ClaimFilter(stay_id=request.stay_id, limit=LISTED)
        before = await _statuses(uow, tenant_id, wanted)
        outcome = await build_stay_claims(uow, deps, tenant_id, request)
        previews = await _previews(uow, deps, tenant_id, outcome.claim_ids, before)
        return DryRun(previews, blocked=list(outcome.blocked))
    finally:
        await uow.rollback()


async def _statuses(uow: UnitOfWork, tenant_id: str, wanted: ClaimFilter) -> dict[str, ClaimStatus]:
    views = await list_claims(uow.session, tenant_id, wanted)
    return {v.summary.claim_id: ClaimStatus(v.summary.status) for v in views}


async def _previews(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant_id: str,
    claim_ids: Sequence[str],
    before: dict[str, ClaimStatus],
) -> list[ClaimPreview]:
    previews = []
    for claim_id in dict.fromkeys(claim_ids):
        detail = await claim_detail(uow.session, tenant_id, claim_id)
        if detail.summary.status in GONE:
            continue
        previews.append(await _preview(uow, deps, tenant_id, detail, before.get(claim_id)))
    return previews


async def _preview(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant_id: str,
    detail: ClaimDetail,
    status_before: ClaimStatus | None,
) -> ClaimPreview:
    summary = detail.summary
    status = ClaimStatus(summary.status)
    sent_before = status_before is not None and status_before not in (
        ClaimStatus.DRAFT,
        ClaimStatus.READY,
    )
    document, note = await _document(uow, deps, tenant_id, detail)
    return ClaimPreview(
        claim_id=summary.claim_id,
        claim_version=summary.version,
        patient_control_number=summary.patient_control_number,
        transaction_type=summary.transaction_type,
        member_id=summary.member_id,
        payer_id=summary.payer_id,
        status=status,
        status_before=status_before,
        sent_before=sent_before,
        issues=list(detail.issues),
        document=document,
        note=note,
    )


async def _document(
    uow: UnitOfWork, deps: ClaimsDependencies, tenant_id: str, detail: ClaimDetail
) -> tuple[dict[str, Any] | None, Note | None]:
    """The claim's current version as the claims service publishes it to the gateway, or
    why it would not be sent."""
    summary = detail.summary
    if summary.version == 0 or summary.status in (
        ClaimStatus.DRAFT.value,
        ClaimStatus.CANCELLED.value,
    ):
        blocking = sorted({i.code for i in detail.issues if i.blocks})
        return None, Note(
            WOULD_NOT_SEND,
            "its scrub issues keep it from being sent"
            + (f": {', '.join(blocking)}" if blocking else ""),
        )
    current = next((v for v in detail.versions if v.version == summary.version), None)
    frequency = current.frequency_code if current else None
    correction = frequency if frequency in (REPLACEMENT, VOID) else None
    reference = current.original_reference if current and correction else None
    try:
        clearinghouse_id = (
            deps.tenant_config(tenant_id).clearinghouse_for_payer(summary.payer_id).id
        )
    except ConfigLookupError:
        return None, Note("UNKNOWN_PAYER", "the tenant configuration has no such payer")
    try:
        if summary.transaction_type == INSTITUTIONAL:
            repository = InstitutionalRepository(uow.session)
            cycle = await repository.get_cycle_claim(tenant_id, summary.claim_id)
            content = detail.institutional
            if cycle is None or content is None:
                return None, Note("CLAIM_NOT_BUILT", "the cycle claim has no built version")
            message = cycle_claim_submitted(
                cycle,
                content,
                clearinghouse_id,
                frequency_code=correction,
                original_reference=reference,
            )
        else:
            claim = await ClaimRepository(uow.session).get_claim(tenant_id, summary.claim_id)
            if claim is None or detail.content is None:
                return None, Note("CLAIM_NOT_BUILT", "the claim has no built version")
            message = claim_submitted(
                claim,
                detail.content,
                clearinghouse_id,
                frequency_code=correction,
                original_reference=reference,
            )
    except (ValidationError, ValueError) as exc:
        return None, Note("CLAIM_CONTENT_INVALID", f"no valid claim message ({type(exc).__name__})")
    return message.model_dump(mode="json"), None


# --------------------------------------------------------------------------- the 837


async def render_837(
    deps: ClaimsDependencies, dry_run: DryRun, authorization: str | None
) -> Rendering:
    """The gateway's rendering of the documents the dry run would send; a note instead
    when there is nothing to render or the gateway cannot (the claims and their scrub
    issues stand on their own)."""
    documents = [p.document for p in dry_run.claims if p.document is not None]
    if not documents:
        return Rendering(note=Note("NOTHING_TO_RENDER", "no claim of the dry run would be sent"))
    if deps.edi_preview is None:
        return Rendering(
            note=Note("EDI_GATEWAY_NOT_CONFIGURED", "the claims service has no EDI gateway URL")
        )
    try:
        answer = await deps.edi_preview.render(authorization, documents)
    except EdiPreviewUnavailable as exc:
        log.warning("dry_run_edi_unavailable", code=exc.code, claims=len(documents))
        return Rendering(note=Note(exc.code, exc.message))
    return Rendering(files=list(answer.get("files", [])), refused=list(answer.get("refused", [])))
