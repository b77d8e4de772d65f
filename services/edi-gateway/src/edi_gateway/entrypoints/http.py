"""HTTP API of the edi-gateway. Routes translate: request in, use case, response out.

Every route needs ``billing.claim.read`` and sees only the caller's tenant: another
tenant's interchange, file or claim answers 404, as one that does not exist."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from common.http import Principal, require_scopes
from common.http.problems import Problem
from common.runtime import ServiceRuntime
from contracts.events.claims import ClaimSubmitted
from edi_gateway.adapters.db.acknowledgment_repository import TransmissionAcknowledgment
from edi_gateway.domain.model import (
    ClaimSubmission,
    ClaimSubmissionStatus,
    Interchange,
    InterchangeStatus,
    TransactionType,
    Transmission,
    UsageIndicator,
)
from edi_gateway.entrypoints.runtime import interchange_previewer
from edi_gateway.service_layer.interchanges import (
    claim_transmissions,
    get_archived_file,
    get_interchange,
    list_interchanges,
)
from edi_gateway.service_layer.preview import (
    PREVIEW_CONTROL_NUMBER,
    InterchangePreviewer,
    Preview,
)

READ = "billing.claim.read"
X12_MEDIA_TYPE = "application/edi-x12"

router = APIRouter(prefix="/v1", tags=["interchanges"])

# The one place a gateway rule's code becomes an HTTP status.
DOMAIN_STATUSES: dict[str, int] = {
    "CONTROL_NUMBER_COUNT_INVALID": 422,
}


class InterchangeOut(BaseModel):
    interchange_id: str
    clearinghouse_id: str
    sender_id: str
    receiver_id: str | None
    transaction_type: TransactionType
    usage_indicator: UsageIndicator
    isa13: int = Field(description="interchange control number (ISA13 / IEA02)")
    gs06: int = Field(description="group control number (GS06 / GE02)")
    transaction_set_control_numbers: list[int] = Field(description="ST02 / SE02 of each set")
    status: InterchangeStatus
    claim_count: int
    file_id: str | None = Field(description="GET /v1/files/{file_id} serves the file")
    file_name: str | None
    file_sha256: str | None
    created_at: datetime
    sent_at: datetime | None
    validation_issues: list[str] = Field(
        description="Why the validator refused a DISCARDED interchange (codes, no PHI)."
    )
    delivery_attempts: int = Field(default=0, description="delivery attempts so far")
    last_delivery_error: str | None = Field(
        default=None,
        description="Why the last delivery attempt failed ('CODE: message'); None once sent.",
    )
    last_delivery_attempt_at: datetime | None = None


class InterchangeList(BaseModel):
    items: list[InterchangeOut]


class ClaimPlacement(BaseModel):
    """A claim's place in an interchange: what acknowledgments map back by."""

    claim_id: str
    claim_version: int
    patient_control_number: str
    isa13: int
    gs06: int
    st02: int
    line_control_numbers: list[str]


class InterchangeDetailOut(InterchangeOut):
    file_size_bytes: int | None
    claims: list[ClaimPlacement]


class AcknowledgmentStandingOut(BaseModel):
    """Where a transmission stands by its acknowledgments (each status kept per stage)."""

    ta1_status: str | None = Field(description="TA104 of the interchange's TA1 (A, E, R)")
    ack_999_status: str | None = Field(description="IK501 of the claim's transaction set")
    ack_999_codes: list[str]
    claim_ack_status: str | None = Field(description="277CA: ACCEPTED, REJECTED, INFORMATIONAL")
    claim_ack_codes: list[str] = Field(description="STC01 composites of the latest 277CA")
    payer_claim_control_number: str | None
    clearinghouse_trace_number: str | None
    ack_status: str | None = Field(
        description="Overall: ACCEPTED or REJECTED (a rejection at any stage wins); None "
        "while only notices were heard"
    )
    updated_at: datetime


class TransmissionOut(ClaimPlacement):
    interchange_id: str
    clearinghouse_id: str
    interchange_status: InterchangeStatus
    file_id: str | None
    file_name: str | None
    file_sha256: str | None
    sent_at: datetime | None
    acknowledgment: AcknowledgmentStandingOut | None = Field(
        description="TA1 / 999 / 277CA and overall status; None until an acknowledgment "
        "about this transmission arrived (GET /v1/claims/{claim_id}/acknowledgments lists "
        "every status received)"
    )


class SubmissionOut(BaseModel):
    claim_version: int
    status: ClaimSubmissionStatus
    received_at: datetime
    interchange_id: str | None
    rejection_codes: list[str]
    rejection_message: str | None


class ClaimTransmissionsOut(BaseModel):
    claim_id: str
    submissions: list[SubmissionOut]
    items: list[TransmissionOut]


class PreviewIn(BaseModel):
    """Claim documents exactly as the claims service publishes them
    (``claims.claim.submitted.v1``'s data)."""

    claims: list[ClaimSubmitted] = Field(min_length=1, max_length=500)


class PreviewIssueOut(BaseModel):
    code: str = Field(description="loop/element or segment:validator code, e.g. 2300/CLM05-01:7")
    description: str = Field(description="the guide's names and the code's meaning; no values")
    level: str = Field(description="INTERCHANGE, GROUP, TRANSACTION_SET, SEGMENT or ELEMENT")
    segment_number: int | None = Field(description="1-based position of the segment")
    segment_id: str | None
    element: str | None
    claim_id: str | None = Field(description="the claim it is about; null: envelope or header")


class PreviewFileOut(BaseModel):
    clearinghouse_id: str
    transaction_type: TransactionType
    usage_indicator: UsageIndicator = Field(description="ISA15, the clearinghouse's")
    claim_ids: list[str]
    interchange_control_number: str = Field(
        description=f"ISA13 / GS06: {PREVIEW_CONTROL_NUMBER} marks a preview (no number taken)"
    )
    text: str = Field(description="the 837 as the batcher would render it")
    valid: bool = Field(description="pyx12 found no error")
    errors: list[PreviewIssueOut] = Field(description="pyx12's findings")


class PreviewRefusalOut(BaseModel):
    claim_id: str
    code: str
    message: str


class PreviewOut(BaseModel):
    preview: bool = Field(default=True, description="always true: nothing stored or numbered")
    files: list[PreviewFileOut] = Field(description="one per clearinghouse and transaction type")
    refused: list[PreviewRefusalOut] = Field(
        description="claims the batcher would reject before numbering (in no file)"
    )


def _preview_out(preview: Preview) -> PreviewOut:
    return PreviewOut(
        files=[
            PreviewFileOut(
                clearinghouse_id=f.clearinghouse_id,
                transaction_type=f.transaction_type,
                usage_indicator=f.usage_indicator,
                claim_ids=list(f.claim_ids),
                interchange_control_number=f"{PREVIEW_CONTROL_NUMBER:09d}",
                text=f.text,
                valid=f.valid,
                errors=[PreviewIssueOut(**dataclasses.asdict(e)) for e in f.errors],
            )
            for f in preview.files
        ],
        refused=[
            PreviewRefusalOut(claim_id=r.claim_id, code=r.code, message=r.message)
            for r in preview.refused
        ],
    )


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def _out(interchange: Interchange) -> InterchangeOut:
    return InterchangeOut(**_interchange_fields(interchange))


def _interchange_fields(interchange: Interchange) -> dict[str, object]:
    return {
        "interchange_id": interchange.interchange_id,
        "clearinghouse_id": interchange.clearinghouse_id,
        "sender_id": interchange.sender_id,
        "receiver_id": interchange.receiver_id,
        "transaction_type": interchange.transaction_type,
        "usage_indicator": interchange.usage_indicator,
        "isa13": interchange.isa13,
        "gs06": interchange.gs06,
        "transaction_set_control_numbers": list(interchange.transaction_set_control_numbers),
        "status": interchange.status,
        "claim_count": interchange.claim_count,
        "file_id": interchange.file_id,
        "file_name": interchange.file_name,
        "file_sha256": interchange.file_sha256,
        "created_at": interchange.created_at,
        "sent_at": interchange.sent_at,
        "validation_issues": list(interchange.validation_issues),
        "delivery_attempts": interchange.delivery_attempts,
        "last_delivery_error": interchange.last_delivery_error,
        "last_delivery_attempt_at": interchange.last_delivery_attempt_at,
    }


def _placement(transmission: Transmission) -> dict[str, object]:
    return {
        "claim_id": transmission.claim_id,
        "claim_version": transmission.claim_version,
        "patient_control_number": transmission.patient_control_number,
        "isa13": transmission.isa13,
        "gs06": transmission.gs06,
        "st02": transmission.st02,
        "line_control_numbers": list(transmission.line_control_numbers),
    }


def standing_fields(standing: TransmissionAcknowledgment) -> dict[str, object]:
    return {
        "ta1_status": standing.ta1_status,
        "ack_999_status": standing.ack_999_status,
        "ack_999_codes": list(standing.ack_999_codes or []),
        "claim_ack_status": standing.claim_ack_status,
        "claim_ack_codes": list(standing.claim_ack_codes or []),
        "payer_claim_control_number": standing.payer_claim_control_number,
        "clearinghouse_trace_number": standing.clearinghouse_trace_number,
        "ack_status": standing.ack_status,
        "updated_at": standing.updated_at,
    }


def _submission(submission: ClaimSubmission) -> SubmissionOut:
    return SubmissionOut(
        claim_version=submission.claim_version,
        status=submission.status,
        received_at=submission.received_at,
        interchange_id=submission.interchange_id,
        rejection_codes=list(submission.rejection_codes),
        rejection_message=submission.rejection_message,
    )


@router.get(
    "/interchanges",
    response_model=InterchangeList,
    summary="The tenant's interchanges, newest first",
)
async def get_interchanges(
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(READ))],
    clearinghouse_id: str | None = None,
    status: InterchangeStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> InterchangeList:
    async with _runtime(request).sessionmaker() as session:
        interchanges = await list_interchanges(
            session,
            principal.tenant_id,
            clearinghouse_id=clearinghouse_id,
            status=status,
            limit=limit,
            offset=offset,
        )
    return InterchangeList(items=[_out(i) for i in interchanges])


@router.post(
    "/interchanges/preview",
    response_model=PreviewOut,
    summary="Dry run: the 837 these claim documents would go out in, rendered and "
    "pyx12-validated as the batcher does, in a throwaway envelope (ISA13/GS06 999999999); "
    "nothing is stored, no control number is taken, nothing is sent",
    responses={
        422: {"description": "problem details; code: VALIDATION_ERROR (not claim documents)"}
    },
)
async def post_interchange_preview(
    body: PreviewIn,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(READ))],
    previewer: Annotated[InterchangePreviewer, Depends(interchange_previewer)],
) -> PreviewOut:
    tenant = _runtime(request).tenants.get(principal.tenant_id)
    return _preview_out(await previewer.preview(tenant, body.claims))


@router.get(
    "/interchanges/{interchange_id}",
    response_model=InterchangeDetailOut,
    summary="One interchange with each claim's place in it",
)
async def get_interchange_detail(
    interchange_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(READ))],
) -> InterchangeDetailOut:
    async with _runtime(request).sessionmaker() as session:
        detail = await get_interchange(session, principal.tenant_id, interchange_id)
    if detail is None:
        raise Problem(404, "INTERCHANGE_NOT_FOUND", "No such interchange")
    return InterchangeDetailOut(
        **_interchange_fields(detail.interchange),
        file_size_bytes=detail.file.size_bytes if detail.file else None,
        claims=[ClaimPlacement(**_placement(t)) for t in detail.transmissions],
    )


@router.get(
    "/files/{file_id}",
    response_class=Response,
    responses={200: {"content": {X12_MEDIA_TYPE: {}}, "description": "The archived file"}},
    summary="An archived file, byte for byte",
)
async def download_file(
    file_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(READ))],
) -> Response:
    async with _runtime(request).sessionmaker() as session:
        archived = await get_archived_file(session, principal.tenant_id, file_id)
    if archived is None or archived.content is None:
        raise Problem(404, "FILE_NOT_FOUND", "No such file")
    return Response(
        content=archived.content,
        media_type=X12_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{archived.file_name}"',
            "ETag": f'"{archived.sha256}"',
            "X-Content-SHA256": archived.sha256,
        },
    )


@router.get(
    "/claims/{claim_id}/transmissions",
    response_model=ClaimTransmissionsOut,
    summary="A claim's versions as the gateway got them, where each went and where each "
    "stands by its acknowledgments",
)
async def get_claim_transmissions(
    claim_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(READ))],
) -> ClaimTransmissionsOut:
    async with _runtime(request).sessionmaker() as session:
        found = await claim_transmissions(session, principal.tenant_id, claim_id)
    if found is None:
        raise Problem(404, "CLAIM_NOT_FOUND", "The gateway was given no such claim")
    return ClaimTransmissionsOut(
        claim_id=claim_id,
        submissions=[_submission(s) for s in found.submissions],
        items=[
            TransmissionOut(
                **_placement(placed.transmission),
                interchange_id=placed.interchange.interchange_id,
                clearinghouse_id=placed.interchange.clearinghouse_id,
                interchange_status=placed.interchange.status,
                file_id=placed.interchange.file_id,
                file_name=placed.interchange.file_name,
                file_sha256=placed.interchange.file_sha256,
                sent_at=placed.interchange.sent_at,
                acknowledgment=AcknowledgmentStandingOut(**standing_fields(placed.acknowledgment))
                if placed.acknowledgment
                else None,
            )
            for placed in found.transmissions
        ],
    )
