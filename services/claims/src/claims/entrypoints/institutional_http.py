"""HTTP API of stays' cycle claims and of the reference tables. Routes translate: request
in, use case, response out."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from claims.adapters.reference_data import ReferenceTableInfo
from claims.domain.cycles import Cycle, DateRange
from claims.entrypoints.claims_http import (
    READ_SCOPES,
    WRITE_SCOPES,
    ClaimOut,
    DryRunClaimOut,
    Edi837Out,
    dry_run_claims,
    edi_837,
    require_any_scope,
)
from claims.entrypoints.claims_http import _claim as claim_out
from claims.service_layer.dependencies import ClaimsDependencies
from claims.service_layer.dry_run import dry_run_stay_build, render_837
from claims.service_layer.institutional_claims import (
    BlockedCycle,
    StayBuildRequest,
    StayOutcome,
    build_many_stays_claims,
    build_stay_claims,
)
from claims.service_layer.queries import claims_by_id
from claims.service_layer.reference import reference_tables, refresh_reference_table
from common.errors import DomainError
from common.http import Principal
from common.logging import get_logger
from common.runtime import ServiceRuntime
from contracts.tenant import BillingPeriod

REFERENCE_WRITE = "billing.reference.write"
MOST_STAYS_PER_BUILD = 500

log = get_logger(__name__)

Reader = Annotated[Principal, Depends(require_any_scope(*READ_SCOPES))]
Writer = Annotated[Principal, Depends(require_any_scope(*WRITE_SCOPES))]
ReferenceWriter = Annotated[Principal, Depends(require_any_scope(REFERENCE_WRITE))]


class PeriodIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    first: dt.date = Field(alias="from", description="the cycle's first day")
    last: dt.date = Field(alias="to", description="the cycle's last day (clipped to the stay)")

    @model_validator(mode="after")
    def _ordered(self) -> PeriodIn:
        if self.last < self.first:
            raise ValueError("the period ends before it starts")
        return self


class StayBuildIn(BaseModel):
    """Optional: an explicit cycle (``period``), or the billing period to cut the stay's
    unbilled days by (``billing_period``) instead of the program's."""

    model_config = ConfigDict(extra="forbid")

    period: PeriodIn | None = None
    billing_period: BillingPeriod | None = None


class BlockedDayOut(BaseModel):
    date: dt.date
    reason: str = Field(description="MISSING (no day charge) or NEEDS_FIX")
    charge_ids: list[str]
    issue_codes: list[str]


class CycleStateOut(BaseModel):
    first_day: dt.date
    last_day: dt.date
    billing_period: str | None


class BlockedCycleOut(CycleStateOut):
    days: list[BlockedDayOut] = Field(description="the stay days without a READY day charge")


class StayClaimsOut(BaseModel):
    stay_id: str
    claims: list[ClaimOut] = Field(description="the stay's cycle claims, live ones")
    built: list[str] = Field(description="claims this request built, rebuilt or changed")
    blocked: list[BlockedCycleOut] = Field(description="closed cycles a day blocks")
    open_cycles: list[CycleStateOut] = Field(description="cycles whose period has not ended")


class StaysBuildIn(BaseModel):
    """The stays to build (seed 001's "Build claim" on a selection, a month-end), each as
    ``POST /v1/stays/{stay_id}/claims/build`` without an explicit period."""

    model_config = ConfigDict(extra="forbid")

    stay_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=MOST_STAYS_PER_BUILD
    )
    billing_period: BillingPeriod | None = Field(
        default=None, description="cut each stay's unbilled days by it from now on"
    )


class StayBuildErrorOut(BaseModel):
    code: str = Field(description="STAY_NOT_FOUND, a build refusal's code, or BUILD_FAILED")
    detail: str


class StayBuildResultOut(BaseModel):
    stay_id: str
    claim_ids: list[str] = Field(description="the stay's live cycle claims after the build")
    built: list[str] = Field(description="claims this request built, rebuilt or changed")
    blocked: list[BlockedCycleOut] = Field(description="closed cycles a day blocks")
    open_cycles: list[CycleStateOut] = Field(description="cycles whose period has not ended")
    error: StayBuildErrorOut | None = Field(
        default=None, description="why nothing of this stay was built (the others go on)"
    )


class StaysBuildOut(BaseModel):
    results: list[StayBuildResultOut] = Field(description="one per stay, in the asked order")
    built: int = Field(description="claims built, rebuilt or changed, all stays together")
    failed: int = Field(description="stays answered with an error")


class StayDryRunOut(BaseModel):
    dry_run: Literal[True] = True
    stay_id: str
    claims: list[DryRunClaimOut] = Field(
        description="the stay's live cycle claims as the build would leave them"
    )
    blocked: list[BlockedCycleOut] = Field(description="closed cycles a day blocks")
    edi: Edi837Out


class ReferenceTableOut(BaseModel):
    name: str
    version: int = Field(description="0: the file packaged with this release")
    source: str
    rows: int
    refreshed_at: dt.datetime | None


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def _cycle(cycle: Cycle) -> CycleStateOut:
    return CycleStateOut(
        first_day=cycle.first_day,
        last_day=cycle.last_day,
        billing_period=None if cycle.billing_period is None else cycle.billing_period.value,
    )


def _blocked(blocked: BlockedCycle) -> BlockedCycleOut:
    return BlockedCycleOut(
        first_day=blocked.first_day,
        last_day=blocked.last_day,
        billing_period=None,
        days=[
            BlockedDayOut(
                date=d.day,
                reason=d.reason.value,
                charge_ids=list(d.charge_ids),
                issue_codes=list(d.issue_codes),
            )
            for d in blocked.days
        ],
    )


def _result(stay_id: str, result: StayOutcome | Exception) -> StayBuildResultOut:
    if isinstance(result, StayOutcome):
        return StayBuildResultOut(
            stay_id=stay_id,
            claim_ids=result.claim_ids,
            built=result.touched,
            blocked=[_blocked(b) for b in result.blocked],
            open_cycles=[_cycle(c) for c in result.open_cycles],
        )
    if isinstance(result, DomainError):
        error = StayBuildErrorOut(code=result.code, detail=result.message)
    else:
        log.warning("stay_build_failed", stay_id=stay_id, error_type=type(result).__name__)
        error = StayBuildErrorOut(
            code="BUILD_FAILED", detail="the build of this stay failed; build it again"
        )
    return StayBuildResultOut(
        stay_id=stay_id, claim_ids=[], built=[], blocked=[], open_cycles=[], error=error
    )


def _table(info: ReferenceTableInfo) -> ReferenceTableOut:
    return ReferenceTableOut(
        name=info.name,
        version=info.version,
        source=info.source,
        rows=info.rows,
        refreshed_at=info.refreshed_at,
    )


def build_institutional_router(deps: ClaimsDependencies) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["institutional claims"])

    @router.post(
        "/stays/{stay_id}/claims/build",
        response_model=StayClaimsOut,
        summary="Build the stay's closed cycles whose days are all READY (seed 001 'Build "
        "claim'); optionally an explicit period or another billing period",
    )
    async def post_build(
        stay_id: str,
        request: Request,
        principal: Writer,
        body: Annotated[StayBuildIn | None, Body()] = None,
    ) -> StayClaimsOut:
        runtime = _runtime(request)
        wanted = body or StayBuildIn()
        command = StayBuildRequest(
            stay_id=stay_id,
            period=None
            if wanted.period is None
            else DateRange(wanted.period.first, wanted.period.last),
            billing_period=wanted.billing_period,
        )
        async with runtime.unit_of_work() as uow:
            outcome = await build_stay_claims(uow, deps, principal.tenant_id, command)
            # The answer is read in the build's own transaction: what it commits.
            views = await claims_by_id(uow.session, principal.tenant_id, outcome.claim_ids)
            await uow.commit()
        runtime.relay.wake()
        return StayClaimsOut(
            stay_id=stay_id,
            claims=[claim_out(v) for v in views],
            built=outcome.touched,
            blocked=[_blocked(b) for b in outcome.blocked],
            open_cycles=[_cycle(c) for c in outcome.open_cycles],
        )

    @router.post(
        "/stays/claims/build",
        response_model=StaysBuildOut,
        summary="Build many stays' closed cycles whose days are all READY (a month-end "
        "close): each stay as its own build, a stay's error does not stop the others",
    )
    async def post_build_many(
        request: Request, principal: Writer, body: StaysBuildIn
    ) -> StaysBuildOut:
        runtime = _runtime(request)
        stay_ids = list(dict.fromkeys(body.stay_ids))
        results = await build_many_stays_claims(
            runtime.unit_of_work,
            deps,
            principal.tenant_id,
            stay_ids,
            billing_period=body.billing_period,
        )
        runtime.relay.wake()
        answers = [_result(stay_id, results[stay_id]) for stay_id in stay_ids]
        return StaysBuildOut(
            results=answers,
            built=sum(len(a.built) for a in answers),
            failed=sum(1 for a in answers if a.error is not None),
        )

    @router.post(
        "/stays/{stay_id}/claims/build/preview",
        response_model=StayDryRunOut,
        summary="Dry run of the stay's build: its cycle claims as the build would make and "
        "send them, with their scrub issues, and the exact 837I the EDI gateway would render "
        "with pyx12's verdict; nothing is stored, numbered, published or sent",
    )
    async def post_build_preview(
        stay_id: str,
        request: Request,
        principal: Writer,
        body: Annotated[StayBuildIn | None, Body()] = None,
    ) -> StayDryRunOut:
        wanted = body or StayBuildIn()
        command = StayBuildRequest(
            stay_id=stay_id,
            period=None
            if wanted.period is None
            else DateRange(wanted.period.first, wanted.period.last),
            billing_period=wanted.billing_period,
        )
        async with _runtime(request).unit_of_work() as uow:
            dry_run = await dry_run_stay_build(uow, deps, principal.tenant_id, command)
        rendering = await render_837(deps, dry_run, request.headers.get("authorization"))
        return StayDryRunOut(
            stay_id=stay_id,
            claims=dry_run_claims(dry_run),
            blocked=[_blocked(b) for b in dry_run.blocked],
            edi=edi_837(rendering),
        )

    @router.get(
        "/reference",
        response_model=list[ReferenceTableOut],
        summary="The reference tables in force (revenue codes, DRG master) and their versions",
    )
    async def get_reference(request: Request, principal: Reader) -> list[ReferenceTableOut]:
        async with _runtime(request).sessionmaker() as session:
            tables = await reference_tables(session, deps)
        return [_table(t) for t in tables]

    @router.put(
        "/reference/{name}",
        response_model=ReferenceTableOut,
        summary="Refresh a reference table from a file (text/csv body; every bad line is "
        "reported and nothing is applied)",
        openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    )
    async def put_reference(
        name: str, request: Request, principal: ReferenceWriter
    ) -> ReferenceTableOut:
        text = (await request.body()).decode("utf-8-sig")
        runtime = _runtime(request)
        async with runtime.unit_of_work() as uow:
            info = await refresh_reference_table(
                uow, deps, name, text, f"API upload by {principal.subject}"
            )
            await uow.commit()
        return _table(info)

    return router
