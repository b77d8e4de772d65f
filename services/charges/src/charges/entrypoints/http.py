"""HTTP API of the charges service. Routes translate: request in, use case, response out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from charges.adapters.db.charges_repository import ChargeFilter
from charges.domain.charges import Charge
from charges.domain.projections import CoveragePeriod
from charges.service_layer.corrections import FixCharge, fix_charge, void_charge
from charges.service_layer.coverage import primary_coverage_on
from charges.service_layer.group_sessions import generate_session_charges
from charges.service_layer.queries import (
    AgedCharge,
    StayCharges,
    aged,
    get_charge,
    list_charges,
    list_charges_by_stay,
)
from charges.service_layer.recording import charge_contract
from common.http import Principal, Problem, require_scopes
from common.runtime import ServiceRuntime
from contracts.codes import Money
from contracts.events.charges import Charge as ChargeMessage
from contracts.events.charges import ChargeStatus
from contracts.tenant import TenantConfig

CLAIM_READ = "billing.claim.read"
CLAIM_WRITE = "billing.claim.write"

router = APIRouter(prefix="/v1")

# The one place a charges rule's code becomes an HTTP status.
DOMAIN_STATUSES: dict[str, int] = {
    "MEMBER_NOT_FOUND": 404,
    "COVERAGE_DATES_OUT_OF_ORDER": 422,
    "DUPLICATE_COVERAGE": 422,
    "CHARGE_NOT_FOUND": 404,
    "SESSION_NOT_CLOSED": 404,
    "TENANT_NOT_CONFIGURED": 404,
    "SESSION_REOPENED": 409,
    "CHARGE_LOCKED": 409,
    "CHARGE_VOID": 409,
    "CLAIM_SUBMITTED": 409,
    "REASON_REQUIRED": 422,
    "PAYER_NOT_CONFIGURED": 422,
    "COVERAGE_NOT_FOUND": 422,
    "COVERAGE_PAYER_MISMATCH": 422,
    "NOT_A_STAY_DAY": 409,
    "PROGRAM_NOT_INSTITUTIONAL": 422,
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
    tags=["members"],
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


# --------------------------------------------------------------------------- charges


class ChargeOverrideOut(BaseModel):
    payer_id: str | None
    coverage_id: str | None
    rate: Decimal | None
    reason: str | None


class ChargeOut(ChargeMessage):
    """A charge as ``charges.charges.recorded.v1`` carries it, with what an operator
    needs besides."""

    age_days: int = Field(description="date of service to today, in the tenant's time zone")
    claim_status: str | None = Field(description="status of the claim holding the charge")
    override: ChargeOverrideOut | None = Field(description="an operator's override, if any")
    void_reason: str | None


class StayChargesOut(BaseModel):
    """A stay's header in the charge worklist: the stay as charges knows it, totals over
    its listed charges that are not void, and those charges in date order."""

    stay_id: str
    stay_version: int | None = Field(description="the newest stay version applied")
    stay_status: str | None = Field(description="ADMITTED, DISCHARGED or ENTERED_IN_ERROR")
    member_id: str
    program_id: str
    facility_id: str
    admit_date: date | None
    discharge_date: date | None
    first_date: date = Field(description="earliest date of service listed")
    last_date: date = Field(description="latest date of service listed")
    day_count: int = Field(description="days listed that are not void")
    covered_days: int
    leave_days: int = Field(description="LOA (non-covered) days")
    total_amount: Money = Field(description="sum of the amounts of the days not void")
    ready: int
    needs_fix: int
    on_claim: int
    billed: int
    void: int
    charges: list[ChargeOut]


class ChargeList(BaseModel):
    items: list[ChargeOut] = Field(description="the charges; empty with group_by=stay")
    stays: list[StayChargesOut] | None = Field(
        default=None, description="with group_by=stay: one header per stay with its charges"
    )


class SessionChargesOut(BaseModel):
    session_id: str
    close_sequence: int
    built: int = Field(description="charges written by this request")
    rechecked: int = Field(description="charges needing a fix that this request re-priced")
    charges: list[ChargeOut]


class FixChargeIn(BaseModel):
    """Any of payer_id / coverage_id / rate, with a reason; none of them: re-check the
    charge against what is known now (coverage that arrived since, for one)."""

    payer_id: str | None = Field(default=None, min_length=1, max_length=64)
    coverage_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="one of the member's coverages"
    )
    rate: Annotated[Money, Field(gt=0)] | None = Field(
        default=None,
        description="overrides the band rate (group charge) or the day's rate (day charge; "
        "kept while the day keeps its revenue code)",
    )
    reason: str | None = Field(default=None, min_length=1, max_length=300)


class VoidChargeIn(BaseModel):
    reason: str = Field(min_length=1, max_length=300)


def _tenants(request: Request) -> Callable[[str], TenantConfig]:
    return _runtime(request).tenants.get


def _charge_out(item: AgedCharge) -> ChargeOut:
    charge = item.charge
    override = charge.override
    return ChargeOut(
        **charge_contract(charge).model_dump(),
        age_days=item.age_days,
        claim_status=charge.claim.claim_status.value if charge.claim is not None else None,
        override=None
        if override.empty
        else ChargeOverrideOut(
            payer_id=override.payer_id,
            coverage_id=override.coverage_id,
            rate=override.rate,
            reason=override.reason,
        ),
        void_reason=charge.void_reason,
    )


def _one_out(request: Request, tenant_id: str, charge: Charge) -> ChargeOut:
    return _charge_out(aged([charge], _tenants(request), tenant_id)[0])


def _stay_out(group: StayCharges) -> StayChargesOut:
    charges = [item.charge for item in group.charges]
    first = charges[0].terms
    stay = group.stay
    return StayChargesOut(
        stay_id=group.stay_id,
        stay_version=stay.stay_version if stay is not None else None,
        stay_status=stay.status.value if stay is not None else None,
        member_id=stay.member_id if stay is not None else first.member_id,
        program_id=stay.program_id if stay is not None else first.program_id,
        facility_id=stay.facility_id if stay is not None else first.facility_id,
        admit_date=stay.admit_date if stay is not None else None,
        discharge_date=stay.discharge_date if stay is not None else None,
        first_date=min(c.terms.date_of_service for c in charges),
        last_date=max(c.terms.date_of_service for c in charges),
        day_count=len(group.billable),
        covered_days=group.covered_days,
        leave_days=group.leave_days,
        total_amount=group.total_amount,
        ready=group.count(ChargeStatus.READY),
        needs_fix=group.count(ChargeStatus.NEEDS_FIX),
        on_claim=group.count(ChargeStatus.ON_CLAIM),
        billed=group.count(ChargeStatus.BILLED),
        void=group.count(ChargeStatus.VOID),
        charges=[_charge_out(item) for item in group.charges],
    )


@router.get("/charges", response_model=ChargeList, tags=["charges"], summary="List charges")
async def get_charges(
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(CLAIM_READ))],
    member_id: str | None = None,
    session_id: str | None = None,
    stay_id: str | None = None,
    status: ChargeStatus | None = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    group_by: Annotated[
        Literal["stay"] | None,
        Query(description="stay: stay charges only, one header per stay; limit/offset count stays"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ChargeList:
    """The tenant's charges, newest date of service first, each with its age in days; or,
    with ``group_by=stay``, the stays' day charges under a header per stay (the stay with
    the latest day first, its days in date order)."""
    if date_from is not None and date_to is not None and date_to < date_from:
        raise Problem(422, "DATE_RANGE_OUT_OF_ORDER", "'to' is before 'from'")
    where = ChargeFilter(
        member_id=member_id,
        session_id=session_id,
        stay_id=stay_id,
        status=status,
        date_from=date_from,
        date_to=date_to,
    )
    async with _runtime(request).sessionmaker() as session:
        if group_by == "stay":
            stays = await list_charges_by_stay(
                session, _tenants(request), principal.tenant_id, where, limit=limit, offset=offset
            )
            return ChargeList(items=[], stays=[_stay_out(group) for group in stays])
        items = await list_charges(
            session, _tenants(request), principal.tenant_id, where, limit=limit, offset=offset
        )
    return ChargeList(items=[_charge_out(item) for item in items])


@router.get(
    "/charges/{charge_id}", response_model=ChargeOut, tags=["charges"], summary="One charge"
)
async def get_one_charge(
    charge_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(CLAIM_READ))],
) -> ChargeOut:
    async with _runtime(request).sessionmaker() as session:
        item = await get_charge(session, _tenants(request), principal.tenant_id, charge_id)
    return _charge_out(item)


@router.post(
    "/group-sessions/{session_id}/charges",
    response_model=SessionChargesOut,
    tags=["charges"],
    summary="Generate charges: one per billable participant of the session's last close",
)
async def generate_charges(
    session_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(CLAIM_WRITE))],
) -> SessionChargesOut:
    runtime = _runtime(request)
    async with runtime.unit_of_work() as uow:
        result = await generate_session_charges(
            uow, _tenants(request), principal.tenant_id, session_id, principal.subject
        )
        await uow.commit()
    runtime.relay.wake()
    return SessionChargesOut(
        session_id=result.session_id,
        close_sequence=result.close_sequence,
        built=result.built,
        rechecked=result.rechecked,
        charges=[
            _charge_out(item)
            for item in aged(result.charges, _tenants(request), principal.tenant_id)
        ],
    )


@router.post(
    "/charges/{charge_id}/fix",
    response_model=ChargeOut,
    tags=["charges"],
    summary="Fix a charge (override payer, coverage or rate with a reason) or re-check it",
)
async def fix_one_charge(
    charge_id: str,
    body: FixChargeIn,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(CLAIM_WRITE))],
) -> ChargeOut:
    command = FixCharge(
        tenant_id=principal.tenant_id,
        charge_id=charge_id,
        actor=principal.subject,
        payer_id=body.payer_id,
        coverage_id=body.coverage_id,
        rate=body.rate,
        reason=body.reason,
    )
    runtime = _runtime(request)
    async with runtime.unit_of_work() as uow:
        charge = await fix_charge(uow, _tenants(request), command)
        await uow.commit()
    runtime.relay.wake()
    return _one_out(request, principal.tenant_id, charge)


@router.post(
    "/charges/{charge_id}/void", response_model=ChargeOut, tags=["charges"], summary="Void"
)
async def void_one_charge(
    charge_id: str,
    body: VoidChargeIn,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(CLAIM_WRITE))],
) -> ChargeOut:
    runtime = _runtime(request)
    async with runtime.unit_of_work() as uow:
        charge = await void_charge(
            uow, principal.tenant_id, charge_id, body.reason, principal.subject
        )
        await uow.commit()
    runtime.relay.wake()
    return _one_out(request, principal.tenant_id, charge)
