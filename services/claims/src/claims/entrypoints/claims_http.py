"""HTTP API of professional claims. Routes translate: request in, use case, response out.

Scopes: reading needs ``billing.claim.read`` (or its equivalent ``claims.read``), changing
needs ``billing.claim.write`` (or ``claims.update``). Every query is the token's tenant's:
another tenant's claim is 404."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from claims.adapters.db.claims_repository import ClaimSummaryRow
from claims.domain.claims import (
    Address,
    BillingProviderParty,
    ClaimLine,
    ClaimStatus,
    ClaimTransmission,
    PatientParty,
    PayerParty,
    RenderingProviderParty,
    ScrubIssue,
    SubscriberParty,
)
from claims.service_layer.dependencies import ClaimsDependencies
from claims.service_layer.professional_claims import (
    BuildRequest,
    build_member_claims,
    submit_claim,
)
from claims.service_layer.queries import (
    ClaimFilter,
    ClaimView,
    claim_detail,
    claim_transmissions,
    claims_by_id,
    list_claims,
)
from common.http import Principal, Problem, current_principal
from common.runtime import ServiceRuntime

READ_SCOPES = ("billing.claim.read", "claims.read")
WRITE_SCOPES = ("billing.claim.write", "claims.update")


def require_any_scope(*scopes: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Dependency: the caller must hold one of ``scopes`` (equivalent names)."""

    async def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        if not any(principal.has(scope) for scope in scopes):
            raise Problem(
                403,
                "INSUFFICIENT_SCOPE",
                "The token lacks a required scope",
                f"one of: {' '.join(scopes)}",
                required_scopes=list(scopes),
            )
        return principal

    return dependency


Reader = Annotated[Principal, Depends(require_any_scope(*READ_SCOPES))]
Writer = Annotated[Principal, Depends(require_any_scope(*WRITE_SCOPES))]


# --------------------------------------------------------------------------- bodies


class LineOut(BaseModel):
    line_number: int
    line_control_number: str = Field(description="REF*6R")
    service: str = Field(description="SV101 as printed, e.g. HC:90853:HQ")
    procedure_code: str | None
    modifiers: list[str]
    units: Decimal
    unit_basis: str
    amount: Decimal
    date_of_service: date
    place_of_service: str | None = Field(description="only when it differs from the claim's")
    diagnosis_pointers: list[int]
    rendering_provider: RenderingProviderParty | None = Field(
        description="only when the rendering provider is not the billing provider"
    )
    charge_id: str
    charge_version: int
    session_id: str | None


class TransmissionOut(BaseModel):
    claim_version: int
    clearinghouse_id: str
    interchange_control_number: str = Field(description="ISA13")
    group_control_number: str = Field(description="GS06")
    transaction_set_control_number: str = Field(description="ST02")
    file_name: str
    file_sha256: str
    transmitted_at: datetime


class ClaimOut(BaseModel):
    claim_id: str
    claim_version: int
    patient_control_number: str = Field(description="CLM01: at most 20, unique per tenant")
    transaction_type: str
    status: ClaimStatus
    member_id: str
    payer_id: str
    billing_provider_npi: str
    period_from: date
    period_to: date
    total_charge: Decimal
    line_count: int
    stale_reason: str | None
    charge_ids: list[str]
    session_ids: list[str]
    lines: list[LineOut]
    transmissions: list[TransmissionOut]
    created_at: datetime
    updated_at: datetime


class ClaimList(BaseModel):
    items: list[ClaimOut]


class IssueOut(BaseModel):
    code: str
    severity: str = Field(description="error blocks READY; warning does not")
    message: str
    line_number: int | None
    charge_id: str | None


class VersionOut(BaseModel):
    version: int
    scrubbed_status: str
    reason: str
    total_charge: Decimal
    built_at: datetime


class StatusChangeOut(BaseModel):
    claim_version: int
    from_status: str | None
    to_status: str
    reason_codes: list[str]
    reason: str | None
    stage: str | None
    actor: str | None
    changed_at: datetime


class ClaimDetailOut(ClaimOut):
    billing_provider: BillingProviderParty | None
    pay_to_address: Address | None
    payer: PayerParty | None
    clearinghouse_id: str | None
    subscriber: SubscriberParty | None
    patient: PatientParty | None = Field(description="only when the patient is not the subscriber")
    diagnoses: list[str] = Field(description="ICD-10-CM, principal first (HI)")
    place_of_service: str | None
    issues: list[IssueOut]
    versions: list[VersionOut]
    status_history: list[StatusChangeOut]


class BuildClaims(BaseModel):
    member_id: str = Field(min_length=1, max_length=64)
    period_from: date | None = Field(default=None, description="first date of service to build")
    period_to: date | None = Field(default=None, description="last date of service to build")


class BuiltClaims(BaseModel):
    claims: list[ClaimOut]


class ClaimEdiOut(BaseModel):
    claim_id: str
    claim_version: int
    patient_control_number: str
    status: ClaimStatus
    transmission: TransmissionOut = Field(description="the newest")
    transmissions: list[TransmissionOut]
    gateway_url: str = Field(
        description="the EDI gateway's record of the claim's transmissions: each with the id "
        "of its archived file, served byte for byte at the gateway's /v1/files/{file_id}"
    )


# --------------------------------------------------------------------------- mapping


def _service(line: ClaimLine) -> str:
    return ":".join(["HC", line.procedure_code or "", *line.modifiers])


def _line(line: ClaimLine) -> LineOut:
    return LineOut(
        line_number=line.line_number,
        line_control_number=line.line_control_number,
        service=_service(line),
        procedure_code=line.procedure_code,
        modifiers=list(line.modifiers),
        units=line.units,
        unit_basis=line.unit_basis,
        amount=line.amount,
        date_of_service=line.date_of_service,
        place_of_service=line.place_of_service,
        diagnosis_pointers=list(line.diagnosis_pointers),
        rendering_provider=line.rendering_provider,
        charge_id=line.charge_id,
        charge_version=line.charge_version,
        session_id=line.session_id,
    )


def _transmission(t: ClaimTransmission) -> TransmissionOut:
    return TransmissionOut(
        claim_version=t.claim_version,
        clearinghouse_id=t.clearinghouse_id,
        interchange_control_number=t.interchange_control_number,
        group_control_number=t.group_control_number,
        transaction_set_control_number=t.transaction_set_control_number,
        file_name=t.file_name,
        file_sha256=t.file_sha256,
        transmitted_at=t.transmitted_at,
    )


def _summary_fields(
    s: ClaimSummaryRow, lines: list[ClaimLine], transmissions: list[ClaimTransmission]
) -> dict[str, Any]:
    return {
        "claim_id": s.claim_id,
        "claim_version": s.version,
        "patient_control_number": s.patient_control_number,
        "transaction_type": s.transaction_type,
        "status": ClaimStatus(s.status),
        "member_id": s.member_id,
        "payer_id": s.payer_id,
        "billing_provider_npi": s.billing_provider_npi,
        "period_from": s.period_from,
        "period_to": s.period_to,
        "total_charge": s.total_charge,
        "line_count": s.line_count,
        "stale_reason": s.stale_reason,
        "charge_ids": [line.charge_id for line in lines],
        "session_ids": sorted({line.session_id for line in lines if line.session_id}),
        "lines": [_line(line) for line in lines],
        "transmissions": [_transmission(t) for t in transmissions],
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    }


def _claim(view: ClaimView) -> ClaimOut:
    return ClaimOut(**_summary_fields(view.summary, view.lines, view.transmissions))


def _issue(issue: ScrubIssue) -> IssueOut:
    return IssueOut(
        code=issue.code,
        severity=issue.severity.value,
        message=issue.message,
        line_number=issue.line_number,
        charge_id=issue.charge_id,
    )


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


# --------------------------------------------------------------------------- routes


def build_claims_router(deps: ClaimsDependencies) -> APIRouter:
    router = APIRouter(prefix="/v1/claims", tags=["claims"])

    @router.get("", response_model=ClaimList, summary="List the tenant's claims, newest first")
    async def get_claims(
        request: Request,
        principal: Reader,
        member_id: str | None = None,
        status: ClaimStatus | None = None,
        on: Annotated[
            date | None,
            Query(alias="date", description="claims whose period holds this date of service"),
        ] = None,
        session_id: Annotated[
            str | None, Query(description="claims whose current version bills this session")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> ClaimList:
        wanted = ClaimFilter(
            member_id=member_id,
            status=None if status is None else status.value,
            on=on,
            session_id=session_id,
            limit=limit,
            offset=offset,
        )
        async with _runtime(request).sessionmaker() as session:
            views = await list_claims(session, principal.tenant_id, wanted)
        return ClaimList(items=[_claim(v) for v in views])

    @router.post(
        "/build",
        response_model=BuiltClaims,
        summary="Build a member's claims now from READY charges (optionally for a period)",
    )
    async def post_build(body: BuildClaims, request: Request, principal: Writer) -> BuiltClaims:
        runtime = _runtime(request)
        command = BuildRequest(body.member_id, body.period_from, body.period_to)
        async with runtime.unit_of_work() as uow:
            claim_ids = await build_member_claims(uow, deps, principal.tenant_id, command)
            await uow.commit()
        runtime.relay.wake()
        async with runtime.sessionmaker() as session:
            views = await claims_by_id(session, principal.tenant_id, claim_ids)
        return BuiltClaims(claims=[_claim(v) for v in views])

    @router.get(
        "/{claim_id}",
        response_model=ClaimDetailOut,
        summary="A claim: parties, lines, scrub issues, versions, status history, transmissions",
    )
    async def get_claim(claim_id: str, request: Request, principal: Reader) -> ClaimDetailOut:
        async with _runtime(request).sessionmaker() as session:
            detail = await claim_detail(session, principal.tenant_id, claim_id)
        content = detail.content
        lines = list(content.lines) if content else []
        return ClaimDetailOut(
            **_summary_fields(detail.summary, lines, detail.transmissions),
            billing_provider=content.billing_provider if content else None,
            pay_to_address=content.pay_to_address if content else None,
            payer=content.payer if content else None,
            clearinghouse_id=content.clearinghouse_id if content else None,
            subscriber=content.subscriber if content else None,
            patient=content.patient if content else None,
            diagnoses=list(content.diagnoses) if content else [],
            place_of_service=content.place_of_service if content else None,
            issues=[_issue(i) for i in detail.issues],
            versions=[
                VersionOut(
                    version=v.version,
                    scrubbed_status=v.scrubbed_status,
                    reason=v.reason,
                    total_charge=v.total_charge,
                    built_at=v.built_at,
                )
                for v in detail.versions
            ],
            status_history=[
                StatusChangeOut(
                    claim_version=c.version,
                    from_status=c.from_status,
                    to_status=c.to_status,
                    reason_codes=c.reason_codes,
                    reason=c.reason,
                    stage=c.stage,
                    actor=c.actor,
                    changed_at=c.changed_at,
                )
                for c in detail.status_changes
            ],
        )

    @router.post(
        "/{claim_id}/submit",
        response_model=ClaimOut,
        summary="Submit a READY claim to its payer's clearinghouse (409 unless READY)",
    )
    async def post_submit(claim_id: str, request: Request, principal: Writer) -> ClaimOut:
        runtime = _runtime(request)
        async with runtime.unit_of_work() as uow:
            await submit_claim(uow, deps, principal.tenant_id, claim_id, principal.subject)
            await uow.commit()
        runtime.relay.wake()
        async with runtime.sessionmaker() as session:
            views = await claims_by_id(session, principal.tenant_id, [claim_id])
        return _claim(views[0])

    @router.get(
        "/{claim_id}/edi",
        response_model=ClaimEdiOut,
        summary="Where the claim's 837 is (409 NOT_TRANSMITTED until the gateway sends it)",
    )
    async def get_edi(claim_id: str, request: Request, principal: Reader) -> ClaimEdiOut:
        async with _runtime(request).sessionmaker() as session:
            summary, transmissions = await claim_transmissions(
                session, principal.tenant_id, claim_id
            )
        newest = transmissions[-1]
        base = (deps.edi_gateway_url or "").rstrip("/")
        return ClaimEdiOut(
            claim_id=summary.claim_id,
            claim_version=summary.version,
            patient_control_number=summary.patient_control_number,
            status=ClaimStatus(summary.status),
            transmission=_transmission(newest),
            transmissions=[_transmission(t) for t in transmissions],
            gateway_url=f"{base}/v1/claims/{summary.claim_id}/transmissions",
        )

    return router
