"""HTTP API of the claims service. Routes translate: request in, use case, response out."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from claims.domain.projections import ClaimMember, Coverage, Person, PostalAddress
from claims.service_layer.members import claim_member
from common.http import Principal, require_scopes
from common.runtime import ServiceRuntime

CLAIM_READ = "billing.claim.read"

router = APIRouter(prefix="/v1", tags=["members"])

# The one place a claims rule's code becomes an HTTP status.
DOMAIN_STATUSES: dict[str, int] = {
    "MEMBER_NOT_FOUND": 404,
    "SESSION_NOT_BILLED": 404,
    "CLAIM_NOT_FOUND": 404,
    "CLAIM_NOT_READY": 409,
    "ILLEGAL_CLAIM_TRANSITION": 409,
    "NOT_TRANSMITTED": 409,
    "UNKNOWN_PAYER": 409,
    "PERIOD_OUT_OF_ORDER": 422,
    "TENANT_NOT_CONFIGURED": 403,
    "COVERAGE_DATES_OUT_OF_ORDER": 422,
    "SUBSCRIBER_MISMATCH": 422,
    "DUPLICATE_COVERAGE": 422,
    # Institutional cycle claims and reference tables.
    "STAY_NOT_FOUND": 404,
    "CYCLE_NOT_READY": 409,
    "CYCLE_NOT_CLOSED": 409,
    "CLAIM_SUBMITTED": 409,
    "PERIOD_ALREADY_BILLED": 409,
    "PERIOD_OUTSIDE_STAY": 422,
    "INSTITUTIONAL_CONTEXT_INVALID": 422,
    "NOT_INSTITUTIONAL": 409,
    "REFERENCE_DATA_INVALID": 422,
    "REFERENCE_TABLE_NOT_FOUND": 404,
    # Corrections after submission (#5).
    "CLAIM_NOT_REVERSIBLE": 409,
    "CLAIM_NOT_REPLACEABLE": 409,
    "CLAIM_WITHDRAWAL_PENDING": 409,
    "CLAIM_ALREADY_REBUILT": 409,
    "NOTHING_CHANGED": 409,
    "NOTHING_TO_REPLACE": 409,
    "NOTHING_TO_REBUILD": 409,
    "REPLACEMENT_NOT_CLEAN": 422,
    "REASON_REQUIRED": 422,
    "REASON_TOO_LONG": 422,
}


class AddressOut(BaseModel):
    line1: str
    line2: str | None
    city: str
    state: str
    postal_code: str


class PersonOut(BaseModel):
    first_name: str
    last_name: str
    middle_name: str | None
    birth_date: date
    sex: str = Field(description="X12 DMG03: F, M or U")
    address: AddressOut | None


class CoverageOut(BaseModel):
    coverage_id: str
    payer_id: str
    subscriber_id: str
    relationship_to_subscriber: str = Field(description="X12 relationship code; 18 = self")
    is_primary: bool
    effective_from: date
    effective_to: date | None = Field(description="last day in force; null when open-ended")
    group_number: str | None
    subscriber: PersonOut = Field(
        description="who the 2010BA subscriber loop names: the member when 18 (self)"
    )


class ClaimMemberOut(BaseModel):
    member_id: str
    active: bool
    patient: PersonOut
    coverages: list[CoverageOut]
    diagnoses: list[str] = Field(description="ICD-10-CM, principal first, as the HI prints them")


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def _address(address: PostalAddress | None) -> AddressOut | None:
    if address is None:
        return None
    return AddressOut(
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        state=address.state,
        postal_code=address.postal_code,
    )


def _person(person: Person) -> PersonOut:
    return PersonOut(
        first_name=person.first_name,
        last_name=person.last_name,
        middle_name=person.middle_name,
        birth_date=person.birth_date,
        sex=person.sex,
        address=_address(person.address),
    )


def _coverage(member: ClaimMember, coverage: Coverage) -> CoverageOut:
    return CoverageOut(
        coverage_id=coverage.coverage_id,
        payer_id=coverage.payer_id,
        subscriber_id=coverage.subscriber_id,
        relationship_to_subscriber=coverage.relationship_to_subscriber,
        is_primary=coverage.is_primary,
        effective_from=coverage.effective_from,
        effective_to=coverage.effective_to,
        group_number=coverage.group_number,
        subscriber=_person(member.subscriber_under(coverage)),
    )


@router.get(
    "/members/{member_id}",
    response_model=ClaimMemberOut,
    summary="The member as claims print it: patient demographics and coverages",
)
async def get_member(
    member_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(CLAIM_READ))],
) -> ClaimMemberOut:
    async with _runtime(request).sessionmaker() as session:
        member = await claim_member(session, principal.tenant_id, member_id)
    return ClaimMemberOut(
        member_id=member.member_id,
        active=member.active,
        patient=_person(member.person),
        coverages=[_coverage(member, c) for c in member.coverages],
        diagnoses=list(member.diagnoses),
    )
