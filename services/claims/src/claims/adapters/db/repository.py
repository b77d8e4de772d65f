"""Maps projection rows to the domain's records and back. Every query names the tenant.

Writes are last-writer-wins: one ``INSERT .. ON CONFLICT DO UPDATE .. WHERE kept stamp <
new stamp`` decides and writes atomically (the conflicting row is locked, so two
deliveries for one record serialise) and reports whether it wrote."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import RowMapping, Table, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from claims.adapters.db.tables import (
    FACILITY,
    MEMBER,
    MEMBER_COVERAGE,
    MEMBER_ENROLLMENT,
    PROVIDER,
    STAY_CONTEXT,
    one_of,
)
from claims.domain.projections import (
    Admission,
    ClaimMember,
    Coverage,
    Discharge,
    Facility,
    Leave,
    Person,
    PostalAddress,
    Procedure,
    ProgramEnrollment,
    Provider,
    SourceStamp,
    StayContext,
    StayStamp,
    StayStatus,
)
from common.projections import upsert_if_newer

# --------------------------------------------------------------------------- JSON value objects


def _address_json(address: PostalAddress | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {
        "line1": address.line1,
        "line2": address.line2,
        "city": address.city,
        "state": address.state,
        "postal_code": address.postal_code,
    }


def _address(data: Mapping[str, Any] | None) -> PostalAddress | None:
    return None if data is None else PostalAddress(**data)


def _person_json(person: Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "middle_name": person.middle_name,
        "birth_date": person.birth_date.isoformat(),
        "sex": person.sex,
        "address": _address_json(person.address),
    }


def _person(data: Mapping[str, Any] | None) -> Person | None:
    if data is None:
        return None
    return Person(
        first_name=data["first_name"],
        last_name=data["last_name"],
        middle_name=data.get("middle_name"),
        birth_date=date.fromisoformat(data["birth_date"]),
        sex=data["sex"],
        address=_address(data.get("address")),
    )


def _procedures_json(procedures: Sequence[Procedure]) -> list[dict[str, Any]]:
    return [{"code": p.code, "performed_on": p.performed_on.isoformat()} for p in procedures]


def _leaves_json(leaves: Sequence[Leave]) -> list[dict[str, Any]]:
    return [
        {
            "leave_id": leave.leave_id,
            "start_date": leave.start_date.isoformat(),
            "return_date": None if leave.return_date is None else leave.return_date.isoformat(),
            "reason": leave.reason,
        }
        for leave in leaves
    ]


def _leave(data: Mapping[str, Any]) -> Leave:
    returned = data.get("return_date")
    return Leave(
        leave_id=data["leave_id"],
        start_date=date.fromisoformat(data["start_date"]),
        return_date=None if returned is None else date.fromisoformat(returned),
        reason=data["reason"],
    )


# --------------------------------------------------------------------------- rows


def _coverage(row: RowMapping) -> Coverage:
    return Coverage(
        coverage_id=row["coverage_id"],
        payer_id=row["payer_id"],
        subscriber_id=row["subscriber_id"],
        relationship_to_subscriber=row["relationship_to_subscriber"],
        is_primary=row["is_primary"],
        effective_from=row["effective_from"],
        effective_to=row["effective_to"],
        group_number=row["group_number"],
        subscriber=_person(row["subscriber"]),
    )


def _provider(row: RowMapping) -> Provider:
    return Provider(
        provider_id=row["provider_id"],
        npi=row["npi"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        middle_name=row["middle_name"],
        credential=row["credential"],
        taxonomy_code=row["taxonomy_code"],
        active=row["active"],
    )


def _facility(row: RowMapping) -> Facility:
    return Facility(
        facility_id=row["facility_id"],
        name=row["name"],
        npi=row["npi"],
        tax_id=row["tax_id"],
        address=PostalAddress(**row["address"]),
        time_zone=row["time_zone"],
        taxonomy_code=row["taxonomy_code"],
        active=row["active"],
    )


def _stay_context(row: RowMapping) -> StayContext:
    discharge = None
    if row["discharge_date"] is not None:
        discharge = Discharge(
            discharge_date=row["discharge_date"],
            discharge_hour=row["discharge_hour"],
            patient_status=row["patient_status"],
        )
    return StayContext(
        stay_id=row["stay_id"],
        stay_version=row["stay_version"],
        member_id=row["member_id"],
        facility_id=row["facility_id"],
        program_id=row["program_id"],
        status=StayStatus(row["status"]),
        admission=Admission(
            admit_date=row["admit_date"],
            admit_hour=row["admit_hour"],
            admission_type=row["admission_type"],
            admission_source=row["admission_source"],
            principal_diagnosis=row["principal_diagnosis"],
            admitting_diagnosis=row["admitting_diagnosis"],
            other_diagnoses=tuple(row["other_diagnoses"]),
            drg=row["drg"],
            procedures=tuple(
                Procedure(p["code"], date.fromisoformat(p["performed_on"]))
                for p in row["procedures"]
            ),
        ),
        leaves=tuple(_leave(leave) for leave in row["leaves"]),
        discharge=discharge,
    )


# --------------------------------------------------------------------------- last writer wins


async def _upsert_if_newer(
    session: AsyncSession,
    table: Table,
    constraint: str,
    values: dict[str, Any],
    stamp: SourceStamp,
    *,
    versioned: bool = False,
) -> bool:
    return await upsert_if_newer(
        session,
        table,
        constraint,
        values,
        source_event_time=stamp.time,
        source_event_id=stamp.event_id,
        version_column="stay_version" if versioned else None,
    )


class ProjectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # ------------------------------------------------------------------ members

    async def save_member(self, tenant_id: str, member: ClaimMember, stamp: SourceStamp) -> bool:
        """Keep ``member`` with its coverages if it is newer than what is kept. False when
        it is not (nothing written)."""
        person = member.person
        written = await _upsert_if_newer(
            self._session,
            MEMBER,
            "uq_member_tenant_member",
            {
                "tenant_id": tenant_id,
                "member_id": member.member_id,
                "active": member.active,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "middle_name": person.middle_name,
                "birth_date": person.birth_date,
                "sex": person.sex,
                "address": _address_json(person.address),
                "diagnoses": list(member.diagnoses),
            },
            stamp,
        )
        if not written:
            return False
        # The member row stays locked by the upsert until commit: replacing its coverages
        # cannot interleave with another delivery for the same member.
        await self._session.execute(
            delete(MEMBER_COVERAGE).where(
                MEMBER_COVERAGE.c.tenant_id == tenant_id,
                MEMBER_COVERAGE.c.member_id == member.member_id,
            )
        )
        if member.coverages:
            await self._session.execute(
                insert(MEMBER_COVERAGE),
                [
                    {
                        "tenant_id": tenant_id,
                        "member_id": member.member_id,
                        "coverage_id": c.coverage_id,
                        "payer_id": c.payer_id,
                        "subscriber_id": c.subscriber_id,
                        "relationship_to_subscriber": c.relationship_to_subscriber,
                        "is_primary": c.is_primary,
                        "effective_from": c.effective_from,
                        "effective_to": c.effective_to,
                        "group_number": c.group_number,
                        "subscriber": _person_json(c.subscriber),
                    }
                    for c in member.coverages
                ],
            )
        await self._session.execute(
            delete(MEMBER_ENROLLMENT).where(
                MEMBER_ENROLLMENT.c.tenant_id == tenant_id,
                MEMBER_ENROLLMENT.c.member_id == member.member_id,
            )
        )
        if member.enrollments:
            await self._session.execute(
                insert(MEMBER_ENROLLMENT),
                [
                    {
                        "tenant_id": tenant_id,
                        "member_id": member.member_id,
                        "program_id": e.program_id,
                        "enrolled_from": e.enrolled_from,
                        "enrolled_to": e.enrolled_to,
                    }
                    for e in member.enrollments
                ],
            )
        return True

    async def get_member(self, tenant_id: str, member_id: str) -> ClaimMember | None:
        return (await self.get_members(tenant_id, [member_id])).get(member_id)

    async def get_members(
        self, tenant_id: str, member_ids: Sequence[str]
    ) -> dict[str, ClaimMember]:
        """The members among ``member_ids`` this service knows, each with its coverages
        and program enrollments: three statements however many members."""
        wanted = sorted(set(member_ids))
        rows = (
            (
                await self._session.execute(
                    select(MEMBER).where(
                        MEMBER.c.tenant_id == tenant_id, one_of(MEMBER.c.member_id, wanted)
                    )
                )
            )
            .mappings()
            .all()
        )
        if not rows:
            return {}
        coverages: dict[str, list[RowMapping]] = {}
        for c in (
            await self._session.execute(
                select(MEMBER_COVERAGE)
                .where(
                    MEMBER_COVERAGE.c.tenant_id == tenant_id,
                    one_of(MEMBER_COVERAGE.c.member_id, wanted),
                )
                .order_by(
                    MEMBER_COVERAGE.c.member_id,
                    MEMBER_COVERAGE.c.is_primary.desc(),
                    MEMBER_COVERAGE.c.effective_from,
                    MEMBER_COVERAGE.c.coverage_id,
                )
            )
        ).mappings():
            coverages.setdefault(c["member_id"], []).append(c)
        enrollments: dict[str, list[ProgramEnrollment]] = {}
        for e in (
            await self._session.execute(
                select(MEMBER_ENROLLMENT)
                .where(
                    MEMBER_ENROLLMENT.c.tenant_id == tenant_id,
                    one_of(MEMBER_ENROLLMENT.c.member_id, wanted),
                )
                .order_by(
                    MEMBER_ENROLLMENT.c.member_id,
                    MEMBER_ENROLLMENT.c.program_id,
                    MEMBER_ENROLLMENT.c.enrolled_from,
                )
            )
        ).mappings():
            enrollments.setdefault(e["member_id"], []).append(
                ProgramEnrollment(e["program_id"], e["enrolled_from"], e["enrolled_to"])
            )
        return {
            row["member_id"]: ClaimMember(
                member_id=row["member_id"],
                active=row["active"],
                person=Person(
                    first_name=row["first_name"],
                    last_name=row["last_name"],
                    middle_name=row["middle_name"],
                    birth_date=row["birth_date"],
                    sex=row["sex"],
                    address=_address(row["address"]),
                ),
                coverages=tuple(_coverage(c) for c in coverages.get(row["member_id"], ())),
                diagnoses=tuple(row["diagnoses"]),
                enrollments=tuple(enrollments.get(row["member_id"], ())),
            )
            for row in rows
        }

    async def save_provider(self, tenant_id: str, provider: Provider, stamp: SourceStamp) -> bool:
        return await _upsert_if_newer(
            self._session,
            PROVIDER,
            "uq_provider_tenant_provider",
            {
                "tenant_id": tenant_id,
                "provider_id": provider.provider_id,
                "npi": provider.npi,
                "first_name": provider.first_name,
                "last_name": provider.last_name,
                "middle_name": provider.middle_name,
                "credential": provider.credential,
                "taxonomy_code": provider.taxonomy_code,
                "active": provider.active,
            },
            stamp,
        )

    async def get_provider(self, tenant_id: str, provider_id: str) -> Provider | None:
        row = (
            (
                await self._session.execute(
                    select(PROVIDER).where(
                        PROVIDER.c.tenant_id == tenant_id, PROVIDER.c.provider_id == provider_id
                    )
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else _provider(row)

    async def get_providers(
        self, tenant_id: str, provider_ids: Sequence[str]
    ) -> dict[str, Provider]:
        if not provider_ids:
            return {}
        rows = (
            (
                await self._session.execute(
                    select(PROVIDER).where(
                        PROVIDER.c.tenant_id == tenant_id,
                        one_of(PROVIDER.c.provider_id, provider_ids),
                    )
                )
            )
            .mappings()
            .all()
        )
        return {row["provider_id"]: _provider(row) for row in rows}

    async def save_facility(self, tenant_id: str, facility: Facility, stamp: SourceStamp) -> bool:
        return await _upsert_if_newer(
            self._session,
            FACILITY,
            "uq_facility_tenant_facility",
            {
                "tenant_id": tenant_id,
                "facility_id": facility.facility_id,
                "name": facility.name,
                "npi": facility.npi,
                "tax_id": facility.tax_id,
                "address": _address_json(facility.address),
                "time_zone": facility.time_zone,
                "taxonomy_code": facility.taxonomy_code,
                "active": facility.active,
            },
            stamp,
        )

    async def get_facility(self, tenant_id: str, facility_id: str) -> Facility | None:
        return (await self.get_facilities(tenant_id, [facility_id])).get(facility_id)

    async def get_facilities(
        self, tenant_id: str, facility_ids: Sequence[str]
    ) -> dict[str, Facility]:
        rows = await self._session.execute(
            select(FACILITY).where(
                FACILITY.c.tenant_id == tenant_id,
                one_of(FACILITY.c.facility_id, facility_ids),
            )
        )
        return {row["facility_id"]: _facility(row) for row in rows.mappings()}

    # ------------------------------------------------------------------ stays

    async def save_stay(self, tenant_id: str, stay: StayContext, stamp: StayStamp) -> bool:
        """Keep ``stay`` if its version (then its event stamp) is newer than the kept one."""
        admission = stay.admission
        discharge = stay.discharge
        return await _upsert_if_newer(
            self._session,
            STAY_CONTEXT,
            "uq_stay_context_tenant_stay",
            {
                "tenant_id": tenant_id,
                "stay_id": stay.stay_id,
                "stay_version": stay.stay_version,
                "member_id": stay.member_id,
                "facility_id": stay.facility_id,
                "program_id": stay.program_id,
                "status": stay.status.value,
                "admit_date": admission.admit_date,
                "admit_hour": admission.admit_hour,
                "admission_type": admission.admission_type,
                "admission_source": admission.admission_source,
                "principal_diagnosis": admission.principal_diagnosis,
                "admitting_diagnosis": admission.admitting_diagnosis,
                "other_diagnoses": list(admission.other_diagnoses),
                "drg": admission.drg,
                "procedures": _procedures_json(admission.procedures),
                "leaves": _leaves_json(stay.leaves),
                "discharge_date": None if discharge is None else discharge.discharge_date,
                "discharge_hour": None if discharge is None else discharge.discharge_hour,
                "patient_status": None if discharge is None else discharge.patient_status,
            },
            stamp.source,
            versioned=True,
        )

    async def get_stay(self, tenant_id: str, stay_id: str) -> StayContext | None:
        return (await self.get_stays(tenant_id, [stay_id])).get(stay_id)

    async def get_stays(self, tenant_id: str, stay_ids: Sequence[str]) -> dict[str, StayContext]:
        rows = await self._session.execute(
            select(STAY_CONTEXT).where(
                STAY_CONTEXT.c.tenant_id == tenant_id,
                one_of(STAY_CONTEXT.c.stay_id, stay_ids),
            )
        )
        return {row["stay_id"]: _stay_context(row) for row in rows.mappings()}
