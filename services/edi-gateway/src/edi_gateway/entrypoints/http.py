"""HTTP API of the edi-gateway. Routes translate: request in, use case, response out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from common.http import Principal, require_scopes
from common.runtime import ServiceRuntime
from edi_gateway.domain.model import (
    Interchange,
    InterchangeStatus,
    TransactionType,
    UsageIndicator,
)
from edi_gateway.service_layer.interchanges import list_interchanges

READ = "billing.claim.read"

router = APIRouter(prefix="/v1", tags=["interchanges"])

# The one place a gateway rule's code becomes an HTTP status.
DOMAIN_STATUSES: dict[str, int] = {
    "CONTROL_NUMBER_COUNT_INVALID": 422,
}


class InterchangeOut(BaseModel):
    interchange_id: str
    clearinghouse_id: str
    sender_id: str
    transaction_type: TransactionType
    usage_indicator: UsageIndicator
    isa13: int = Field(description="interchange control number (ISA13 / IEA02)")
    gs06: int = Field(description="group control number (GS06 / GE02)")
    status: InterchangeStatus
    created_at: datetime


class InterchangeList(BaseModel):
    items: list[InterchangeOut]


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def _out(interchange: Interchange) -> InterchangeOut:
    return InterchangeOut(
        interchange_id=interchange.interchange_id,
        clearinghouse_id=interchange.clearinghouse_id,
        sender_id=interchange.sender_id,
        transaction_type=interchange.transaction_type,
        usage_indicator=interchange.usage_indicator,
        isa13=interchange.isa13,
        gs06=interchange.gs06,
        status=interchange.status,
        created_at=interchange.created_at,
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
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> InterchangeList:
    async with _runtime(request).sessionmaker() as session:
        interchanges = await list_interchanges(
            session,
            principal.tenant_id,
            clearinghouse_id=clearinghouse_id,
            limit=limit,
            offset=offset,
        )
    return InterchangeList(items=[_out(i) for i in interchanges])
