"""HTTP API of the stays service. Routes translate: request in, use case, response out."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from common.http import Principal, not_found, require_scopes
from common.runtime import ServiceRuntime
from stays.adapters.db.repository import StayRepository
from stays.domain.model import Admission, Stay, StayStatus
from stays.service_layer.admissions import AdmitStay, admit_stay

READ = "clinical.encounter.read"
WRITE = "clinical.encounter.write"

router = APIRouter(prefix="/v1/stays", tags=["stays"])

# The one place a stay rule's code becomes an HTTP status.
DOMAIN_STATUSES: dict[str, int] = {
    "STAY_ALREADY_ADMITTED": 409,
}


class StayOut(BaseModel):
    stay_id: str
    member_id: str
    facility_id: str
    program_id: str
    status: StayStatus
    admission: Admission
    discharge_date: date | None
    discharge_hour: int | None
    discharge_status: str | None
    length_of_stay_days: int = Field(description="midnight rule; open stays count through today")


class StayList(BaseModel):
    items: list[StayOut]


class CreateStay(BaseModel):
    stay_id: str = Field(min_length=1, max_length=64)
    member_id: str = Field(min_length=1, max_length=64)
    facility_id: str = Field(min_length=1, max_length=64)
    program_id: str = Field(min_length=1, max_length=64)
    admission: Admission


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def _out(stay: Stay) -> StayOut:
    return StayOut(
        stay_id=stay.stay_id,
        member_id=stay.member_id,
        facility_id=stay.facility_id,
        program_id=stay.program_id,
        status=stay.status,
        admission=stay.admission,
        discharge_date=stay.discharge_date,
        discharge_hour=stay.discharge_hour,
        discharge_status=stay.discharge_status,
        length_of_stay_days=stay.length_of_stay(date.today()),  # noqa: DTZ011 - server date until facility zones land (#4)
    )


@router.get("", response_model=StayList, summary="List the tenant's stays")
async def list_stays(
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(READ))],
    member_id: str | None = None,
    facility_id: str | None = None,
    status: StayStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> StayList:
    async with _runtime(request).sessionmaker() as session:
        stays = await StayRepository(session).list(
            principal.tenant_id,
            member_id=member_id,
            facility_id=facility_id,
            status=status,
            limit=limit,
            offset=offset,
        )
    return StayList(items=[_out(s) for s in stays])


@router.get("/{stay_id}", response_model=StayOut, summary="A stay with its length of stay")
async def get_stay(
    stay_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(READ))],
) -> StayOut:
    async with _runtime(request).sessionmaker() as session:
        stay = await StayRepository(session).get(principal.tenant_id, stay_id)
    if stay is None:
        raise not_found("Stay")
    return _out(stay)


@router.post("", response_model=StayOut, status_code=201, summary="Record an admission")
async def create_stay(
    body: CreateStay,
    request: Request,
    principal: Annotated[Principal, Depends(require_scopes(WRITE))],
) -> StayOut:
    command = AdmitStay(
        tenant_id=principal.tenant_id,
        stay_id=body.stay_id,
        member_id=body.member_id,
        facility_id=body.facility_id,
        program_id=body.program_id,
        admission=body.admission,
    )
    async with _runtime(request).unit_of_work() as uow:
        stay = await admit_stay(uow, command)
        await uow.commit()
    _runtime(request).relay.wake()
    return _out(stay)
