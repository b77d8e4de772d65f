"""HTTP API of the charges service. Routes translate: request in, use case, response out."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from charges.domain.projections import CoveragePeriod
from charges.service_layer.coverage import primary_coverage_on
from common.http import Principal, require_scopes
from common.runtime import ServiceRuntime

CLAIM_READ = "billing.claim.read"

router = APIRouter(prefix="/v1", tags=["members"])

# The one place a charges rule's code becomes an HTTP status.
DOMAIN_STATUSES: dict[str, int] = {
    "MEMBER_NOT_FOUND": 404,
    "COVERAGE_DATES_OUT_OF_ORDER": 422,
    "DUPLICATE_COVERAGE": 422,
}


class CoverageOut(BaseModel):
    coverage_id: str
    payer_id: str
    relationship_to_subscriber: str = Field(description="X12 relationship code; 18 = self")
    effective_from: date
    effective_to: date | None = Field(description="last day in force; null when open-ended")


class CoverageOnDateOut(BaseModel):
    member_id: str
    on: date
    coverage: CoverageOut | None = Field(
        description="the primary coverage in force on the date; null when there is none"
    )


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def _out(coverage: CoveragePeriod) -> CoverageOut:
    return CoverageOut(
        coverage_id=coverage.coverage_id,
        payer_id=coverage.payer_id,
        relationship_to_subscriber=coverage.relationship_to_subscriber,
        effective_from=coverage.effective_from,
        effective_to=coverage.effective_to,
    )


@router.get(
    "/members/{member_id}/coverage",
    response_model=CoverageOnDateOut,
    summary="The member's primary coverage in force on a date (the payer a charge bills)",
)
async def get_primary_coverage(
    member_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(CLAIM_READ))],
    on: Annotated[date, Query(description="date of service, YYYY-MM-DD")],
) -> CoverageOnDateOut:
    async with _runtime(request).sessionmaker() as session:
        coverage = await primary_coverage_on(session, principal.tenant_id, member_id, on)
    return CoverageOnDateOut(
        member_id=member_id, on=on, coverage=None if coverage is None else _out(coverage)
    )
