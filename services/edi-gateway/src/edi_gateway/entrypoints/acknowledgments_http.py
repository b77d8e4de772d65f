"""HTTP API of the acknowledgments and the file archive (issue #5). Routes translate:
request in, use case, response out. Reading needs ``billing.claim.read``, a hand upload
``billing.claim.write``; everything is the caller's tenant's only (another tenant's
acknowledgment or file answers 404, as one that does not exist)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from common.http import Principal, require_scopes
from common.http.problems import Problem
from common.runtime import ServiceRuntime
from edi_gateway.adapters.db.acknowledgment_repository import (
    AcknowledgmentItemRecord,
    AcknowledgmentRecord,
    AcknowledgmentRepository,
)
from edi_gateway.domain.acknowledgments import AcknowledgmentStatus, ItemEffect
from edi_gateway.entrypoints.http import AcknowledgmentStandingOut, standing_fields
from edi_gateway.entrypoints.runtime import acknowledgment_reader
from edi_gateway.service_layer.acknowledgments import (
    AcknowledgmentReader,
    AcknowledgmentReceipt,
    UploadAcknowledgment,
    acknowledgment_detail,
    upload_acknowledgment,
)

READ = "billing.claim.read"
WRITE = "billing.claim.write"
ACCEPTED_MEDIA_TYPES = ("application/edi-x12", "text/plain", "application/octet-stream")
MAX_UPLOAD_BYTES = 20 * 1024 * 1024

router = APIRouter(prefix="/v1", tags=["acknowledgments"])

DOMAIN_STATUSES: dict[str, int] = {"CLEARINGHOUSE_NOT_CONFIGURED": 422}


class MappedClaim(BaseModel):
    claim_id: str
    claim_version: int
    interchange_id: str


class AcknowledgmentItemOut(BaseModel):
    position: int
    item_kind: str = Field(description="TA1, 999_GROUP, 999_SET or 277CA_CLAIM")
    match_status: str = Field(description="MATCHED or UNMATCHED")
    outcome: str = Field(description="ACCEPTED, REJECTED or INFORMATIONAL")
    effect: ItemEffect | None = Field(
        description="ANNOUNCED (an accepted / rejected event went out), RECORDED (kept, "
        "nothing to tell) or REJECTION_STANDS (an acceptance of a claim version already "
        "rejected: kept, not told, the rejection wins); None for items applied before "
        "effects were recorded"
    )
    code: str | None
    codes: list[str]
    message: str | None
    party: str | None
    isa13: int | None
    gs06: int | None
    st02: int | None
    patient_control_number: str | None
    payer_claim_control_number: str | None
    clearinghouse_trace_number: str | None
    status_date: date | None
    interchange_id: str | None
    claims: list[MappedClaim]
    lines: list[dict[str, Any]]
    created_at: datetime
    matched_at: datetime | None


class UnmatchedItemOut(AcknowledgmentItemOut):
    acknowledgment_id: str
    clearinghouse_id: str


class AcknowledgmentOut(BaseModel):
    acknowledgment_id: str
    clearinghouse_id: str
    kind: str = Field(description="TA1, 999, 277CA or UNKNOWN (unreadable)")
    status: AcknowledgmentStatus
    source: str = Field(description="POLLED or MANUAL")
    file_id: str = Field(description="GET /v1/files/{file_id} serves the file")
    file_name: str
    sha256: str
    size_bytes: int
    sender_id: str | None
    control_number: str | None
    error_code: str | None
    error_detail: str | None
    validation_issues: list[str]
    item_count: int
    unmatched_count: int
    received_at: datetime


class AcknowledgmentList(BaseModel):
    items: list[AcknowledgmentOut]


class AcknowledgmentDetailOut(AcknowledgmentOut):
    duplicate: bool = Field(description="True when this upload was a file already applied")
    items: list[AcknowledgmentItemOut]


class UnmatchedList(BaseModel):
    items: list[UnmatchedItemOut]


class ArchivedFileOut(BaseModel):
    file_id: str
    file_name: str
    direction: Literal["INBOUND", "OUTBOUND"]
    clearinghouse_id: str
    interchange_id: str | None
    sha256: str
    size_bytes: int
    created_at: datetime
    download: str


class ArchivedFileList(BaseModel):
    items: list[ArchivedFileOut]


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def _acknowledgment(record: AcknowledgmentRecord) -> dict[str, Any]:
    return {
        "acknowledgment_id": record.acknowledgment_id,
        "clearinghouse_id": record.clearinghouse_id,
        "kind": record.kind,
        "status": record.status,
        "source": record.source,
        "file_id": record.file_id,
        "file_name": record.file_name,
        "sha256": record.sha256,
        "size_bytes": record.size_bytes,
        "sender_id": record.sender_id,
        "control_number": record.control_number,
        "error_code": record.error_code,
        "error_detail": record.error_detail,
        "validation_issues": list(record.validation_issues or []),
        "item_count": record.item_count,
        "unmatched_count": record.unmatched_count,
        "received_at": record.received_at,
    }


def _item(item: AcknowledgmentItemRecord) -> dict[str, Any]:
    return {
        "position": item.position,
        "item_kind": item.item_kind,
        "match_status": item.match_status,
        "outcome": item.outcome,
        "effect": item.effect,
        "code": item.code,
        "codes": list(item.codes),
        "message": item.message,
        "party": item.party,
        "isa13": item.isa13,
        "gs06": item.gs06,
        "st02": item.st02,
        "patient_control_number": item.patient_control_number,
        "payer_claim_control_number": item.payer_claim_control_number,
        "clearinghouse_trace_number": item.clearinghouse_trace_number,
        "status_date": item.status_date,
        "interchange_id": item.interchange_id,
        "claims": [MappedClaim(**c) for c in item.claims],
        "lines": list(item.lines),
        "created_at": item.created_at,
        "matched_at": item.matched_at,
    }


def _detail(receipt: AcknowledgmentReceipt) -> AcknowledgmentDetailOut:
    return AcknowledgmentDetailOut(
        **_acknowledgment(receipt.acknowledgment),
        duplicate=receipt.duplicate,
        items=[AcknowledgmentItemOut(**_item(i)) for i in receipt.items],
    )


@router.get(
    "/acknowledgments",
    response_model=AcknowledgmentList,
    summary="The tenant's acknowledgment files, newest first",
)
async def get_acknowledgments(
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(READ))],
    kind: Literal["TA1", "999", "277CA", "UNKNOWN"] | None = None,
    status: AcknowledgmentStatus | None = None,
    unmatched: bool | None = Query(
        default=None, description="only files with (true) or without (false) unmatched items"
    ),
    clearinghouse_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AcknowledgmentList:
    async with _runtime(request).sessionmaker() as session:
        records = await AcknowledgmentRepository(session).search(
            principal.tenant_id,
            kind=kind,
            status=status.value if status else None,
            unmatched=unmatched,
            clearinghouse_id=clearinghouse_id,
            limit=limit,
            offset=offset,
        )
    return AcknowledgmentList(items=[AcknowledgmentOut(**_acknowledgment(r)) for r in records])


@router.get(
    "/acknowledgments/unmatched",
    response_model=UnmatchedList,
    summary="Acknowledgment items that mapped to nothing we sent (kept, never dropped)",
)
async def get_unmatched_items(
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(READ))],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> UnmatchedList:
    async with _runtime(request).sessionmaker() as session:
        items = await AcknowledgmentRepository(session).unmatched_items(
            principal.tenant_id, limit=limit, offset=offset
        )
    return UnmatchedList(
        items=[
            UnmatchedItemOut(
                **_item(i),
                acknowledgment_id=i.acknowledgment_id,
                clearinghouse_id=i.clearinghouse_id,
            )
            for i in items
        ]
    )


@router.get(
    "/acknowledgments/{acknowledgment_id}",
    response_model=AcknowledgmentDetailOut,
    summary="One acknowledgment with its items and what each mapped to",
)
async def get_acknowledgment(
    acknowledgment_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(READ))],
) -> AcknowledgmentDetailOut:
    async with _runtime(request).sessionmaker() as session:
        receipt = await acknowledgment_detail(session, principal.tenant_id, acknowledgment_id)
    if receipt is None:
        raise Problem(404, "ACKNOWLEDGMENT_NOT_FOUND", "No such acknowledgment")
    return _detail(receipt)


@router.post(
    "/acknowledgments",
    response_model=AcknowledgmentDetailOut,
    status_code=201,
    responses={
        200: {"description": "The same file was uploaded or polled before: its result"},
        415: {"description": "UNSUPPORTED_MEDIA_TYPE"},
        422: {
            "description": "ACKNOWLEDGMENT_UNREADABLE (archived all the same), "
            "ACKNOWLEDGMENT_EMPTY, REASON_REQUIRED, CLEARINGHOUSE_NOT_CONFIGURED"
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/edi-x12": {"schema": {"type": "string"}}},
        }
    },
    summary="Upload an acknowledgment (TA1, 999, 277CA) by hand: archived, applied, audited",
)
async def post_acknowledgment(
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(WRITE))],
    reader: Annotated[AcknowledgmentReader, Depends(acknowledgment_reader)],
    clearinghouse_id: Annotated[str, Query(min_length=1, max_length=64)],
    reason: Annotated[str | None, Query(max_length=2000)] = None,
) -> Any:
    media_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media_type not in ACCEPTED_MEDIA_TYPES:
        raise Problem(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "Send the raw X12 as application/edi-x12 or text/plain",
        )
    if not reason or not reason.strip():
        raise Problem(422, "REASON_REQUIRED", "A hand upload says why (the reason parameter)")
    content = await request.body()
    if len(content) > MAX_UPLOAD_BYTES:
        raise Problem(413, "ACKNOWLEDGMENT_TOO_LARGE", "The file is larger than 20 MB")
    if not content.strip():
        raise Problem(422, "ACKNOWLEDGMENT_EMPTY", "The body holds no file")
    runtime = _runtime(request)
    async with runtime.unit_of_work() as uow:
        receipt = await upload_acknowledgment(
            uow,
            reader,
            runtime.tenants,
            UploadAcknowledgment(
                tenant_id=principal.tenant_id,
                subject=principal.subject,
                clearinghouse_id=clearinghouse_id,
                reason=reason.strip(),
                content=content,
            ),
        )
        await uow.commit()
    if receipt.acknowledgment.status == AcknowledgmentStatus.UNREADABLE:
        raise Problem(
            422,
            "ACKNOWLEDGMENT_UNREADABLE",
            "The file is not an acknowledgment the gateway can read",
            receipt.acknowledgment.error_detail,
            acknowledgment_id=receipt.acknowledgment.acknowledgment_id,
            file_id=receipt.acknowledgment.file_id,
            reason_code=receipt.acknowledgment.error_code,
        )
    body = _detail(receipt)
    if receipt.duplicate:
        return JSONResponse(status_code=200, content=body.model_dump(mode="json"))
    return body


@router.get(
    "/files",
    response_model=ArchivedFileList,
    summary="The archive: every file out (837) and in (acknowledgments), newest first",
)
async def get_files(
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(READ))],
    direction: Literal["INBOUND", "OUTBOUND"] | None = None,
    clearinghouse_id: str | None = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ArchivedFileList:
    async with _runtime(request).sessionmaker() as session:
        files = await AcknowledgmentRepository(session).list_files(
            principal.tenant_id,
            direction=direction,
            clearinghouse_id=clearinghouse_id,
            since=since,
            limit=limit,
            offset=offset,
        )
    return ArchivedFileList(
        items=[
            ArchivedFileOut(
                file_id=f.file_id,
                file_name=f.file_name,
                direction=f.direction,
                clearinghouse_id=f.clearinghouse_id,
                interchange_id=f.interchange_id,
                sha256=f.sha256,
                size_bytes=f.size_bytes,
                created_at=f.created_at,
                download=f"/v1/files/{f.file_id}",
            )
            for f in files
        ]
    )


class TransmissionStandingOut(AcknowledgmentStandingOut):
    interchange_id: str
    claim_version: int


class ClaimAcknowledgmentsOut(BaseModel):
    claim_id: str
    transmissions: list[TransmissionStandingOut]
    statuses: list[UnmatchedItemOut] = Field(
        description="Every acknowledgment item about the claim, in arrival order"
    )


@router.get(
    "/claims/{claim_id}/acknowledgments",
    response_model=ClaimAcknowledgmentsOut,
    summary="Where each transmission of the claim stands, and every status received",
)
async def get_claim_acknowledgments(
    claim_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(READ))],
) -> ClaimAcknowledgmentsOut:
    async with _runtime(request).sessionmaker() as session:
        repository = AcknowledgmentRepository(session)
        standings = await repository.for_claim(principal.tenant_id, claim_id)
        items = await repository.items_for_claim(principal.tenant_id, claim_id)
    return ClaimAcknowledgmentsOut(
        claim_id=claim_id,
        transmissions=[
            TransmissionStandingOut(
                **standing_fields(s), interchange_id=s.interchange_id, claim_version=s.claim_version
            )
            for s in standings
        ],
        statuses=[
            UnmatchedItemOut(
                **_item(i),
                acknowledgment_id=i.acknowledgment_id,
                clearinghouse_id=i.clearinghouse_id,
            )
            for i in items
        ],
    )
