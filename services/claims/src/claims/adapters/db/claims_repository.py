"""Maps charges and claims to rows and back. Every query names the tenant.

Claim versions, their lines and issues, status changes and transmissions are only ever
inserted: a rebuild adds a version, nothing is overwritten. The claim header carries the
current version and status."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from group_billing import Severity
from sqlalchemy import RowMapping, and_, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from claims.adapters.db.status_metrics import count_on_commit
from claims.adapters.db.tables import (
    CHARGE,
    CLAIM,
    CLAIM_CHARGE,
    CLAIM_ISSUE,
    CLAIM_LINE,
    CLAIM_STATUS_CHANGE,
    CLAIM_TRANSMISSION,
    CLAIM_VERSION,
    PCN_SEQUENCE,
)
from claims.domain.building import OpenClaim
from claims.domain.charges import (
    BILLABLE_STATUSES,
    ChargeOnFile,
    GroupContext,
    ReverseHold,
)
from claims.domain.claims import (
    Address,
    BillingProviderParty,
    ClaimKey,
    ClaimLine,
    ClaimStatus,
    ClaimTransmission,
    PatientParty,
    PayerParty,
    PersonParty,
    ProfessionalClaim,
    ProfessionalClaimContent,
    RenderingProviderParty,
    ScrubIssue,
    SubscriberParty,
)

OPEN_STATUSES = (ClaimStatus.DRAFT.value, ClaimStatus.READY.value)
PROFESSIONAL = "837P"
INSTITUTIONAL = "837I"
GROUP_SESSION = "GROUP_SESSION"
STAY = "STAY"

# --------------------------------------------------------------------------- JSON


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _address(data: Mapping[str, Any] | None) -> Address | None:
    return None if data is None else Address(**data)


def _person(data: Mapping[str, Any]) -> PersonParty:
    return PersonParty(
        first_name=data["first_name"],
        last_name=data["last_name"],
        middle_name=data.get("middle_name"),
        birth_date=date.fromisoformat(data["birth_date"]),
        sex=data["sex"],
        address=_address(data.get("address")),
    )


def _subscriber(data: Mapping[str, Any] | None) -> SubscriberParty | None:
    if data is None:
        return None
    return SubscriberParty(
        person=_person(data["person"]),
        subscriber_id=data["subscriber_id"],
        relationship_to_subscriber=data["relationship_to_subscriber"],
        member_id=data.get("member_id"),
        group_number=data.get("group_number"),
    )


def _patient(data: Mapping[str, Any] | None) -> PatientParty | None:
    if data is None:
        return None
    return PatientParty(person=_person(data["person"]), member_id=data["member_id"])


def _billing(data: Mapping[str, Any]) -> BillingProviderParty:
    address = _address(data["address"])
    assert address is not None
    return BillingProviderParty(**{**data, "address": address})


def _rendering(data: Mapping[str, Any] | None) -> RenderingProviderParty | None:
    return None if data is None else RenderingProviderParty(**data)


def _group_json(group: GroupContext | None) -> dict[str, Any] | None:
    return None if group is None else _jsonable(group)


def _group(data: Mapping[str, Any] | None) -> GroupContext | None:
    if data is None:
        return None
    return GroupContext(
        session_id=data["session_id"],
        close_sequence=data["close_sequence"],
        billable_count=data["billable_count"],
        band_name=data.get("band_name"),
        supervisors_present=tuple(data.get("supervisors_present", ())),
        facility_state=data.get("facility_state"),
        acknowledged_warnings=tuple(data.get("acknowledged_warnings", ())),
    )


# --------------------------------------------------------------------------- rows


def _units(value: Decimal) -> Decimal:
    """``1.000`` as stored -> ``1``, ``0.500`` -> ``0.5`` (SV104 prints what it gets)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def _charge(row: RowMapping) -> ChargeOnFile:
    return ChargeOnFile(
        charge_id=row["charge_id"],
        charge_version=row["charge_version"],
        status=row["status"],
        kind=row["kind"],
        filing_type=row["filing_type"],
        member_id=row["member_id"],
        program_id=row["program_id"],
        facility_id=row["facility_id"],
        date_of_service=row["date_of_service"],
        units=_units(row["units"]),
        amount=row["amount"],
        rate=row["rate"],
        payer_id=row["payer_id"],
        coverage_id=row["coverage_id"],
        procedure_code=row["procedure_code"],
        modifiers=tuple(row["modifiers"]),
        revenue_code=row["revenue_code"],
        unit_basis=row["unit_basis"],
        rendering_provider_id=row["rendering_provider_id"],
        place_of_service=row["place_of_service"],
        session_id=row["session_id"],
        group=_group(row["group_context"]),
        covered=row["covered"],
        stay_id=row["source_id"] if row["source_kind"] != GROUP_SESSION else None,
        stay_version=row["stay_version"],
        issue_codes=tuple(row["issue_codes"]),
        hold=None
        if row["held_after_reverse_of"] is None
        else ReverseHold(row["held_after_reverse_of"], row["held_at_version"]),
    )


def _charge_values(tenant_id: str, charge: ChargeOnFile, event_id: str) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "charge_id": charge.charge_id,
        "charge_version": charge.charge_version,
        "status": charge.status,
        "kind": charge.kind,
        "filing_type": charge.filing_type,
        "member_id": charge.member_id,
        "program_id": charge.program_id,
        "facility_id": charge.facility_id,
        "payer_id": charge.payer_id,
        "coverage_id": charge.coverage_id,
        "date_of_service": charge.date_of_service,
        "procedure_code": charge.procedure_code,
        "modifiers": list(charge.modifiers),
        "revenue_code": charge.revenue_code,
        "units": charge.units,
        "unit_basis": charge.unit_basis,
        "rate": charge.rate,
        "amount": charge.amount,
        "rendering_provider_id": charge.rendering_provider_id,
        "place_of_service": charge.place_of_service,
        "session_id": charge.session_id,
        "group_context": _group_json(charge.group),
        "covered": charge.covered,
        "source_kind": GROUP_SESSION if charge.session_id else (STAY if charge.stay_id else None),
        "source_id": charge.session_id or charge.stay_id,
        "stay_version": charge.stay_version,
        "issue_codes": list(charge.issue_codes),
        "source_event_id": event_id,
    }


def _claim(row: RowMapping) -> ProfessionalClaim:
    return ProfessionalClaim(
        claim_id=row["claim_id"],
        patient_control_number=row["patient_control_number"],
        key=ClaimKey(
            member_id=row["member_id"],
            payer_id=row["payer_id"],
            billing_provider_npi=row["billing_provider_npi"],
            period_from=row["period_from"],
            period_to=row["period_to"],
        ),
        status=ClaimStatus(row["status"]),
        version=row["version"],
    )


def _line(row: RowMapping) -> ClaimLine:
    return ClaimLine(
        line_number=row["line_number"],
        line_control_number=row["line_control_number"],
        charge_id=row["charge_id"],
        charge_version=row["charge_version"],
        procedure_code=row["procedure_code"],
        modifiers=tuple(row["modifiers"]),
        units=_units(row["units"]),
        unit_basis=row["unit_basis"],
        amount=row["amount"],
        date_of_service=row["date_of_service"],
        place_of_service=row["place_of_service"],
        diagnosis_pointers=tuple(row["diagnosis_pointers"]),
        rendering_provider=_rendering(row["rendering_provider"]),
        session_id=row["session_id"],
    )


def _issue(row: RowMapping) -> ScrubIssue:
    return ScrubIssue(
        code=row["code"],
        severity=Severity(row["severity"]),
        message=row["message"],
        line_number=row["line_number"],
        charge_id=row["charge_id"],
    )


@dataclasses.dataclass(frozen=True)
class StatusChange:
    """One row of a claim's status history."""

    claim_id: str
    version: int
    from_status: ClaimStatus | None
    to_status: ClaimStatus
    reason_codes: tuple[str, ...] = ()
    reason: str | None = None
    stage: str | None = None
    actor: str | None = None


@dataclasses.dataclass(frozen=True)
class ClaimSummaryRow:
    """A claim header as listed."""

    claim_id: str
    patient_control_number: str
    transaction_type: str
    member_id: str
    payer_id: str
    billing_provider_npi: str
    period_from: date
    period_to: date
    status: str
    version: int
    total_charge: Decimal
    line_count: int
    stale_reason: str | None
    created_at: datetime
    updated_at: datetime
    stay_id: str | None
    frequency_code: str | None
    reversal_needed: bool
    superseded_by: str | None


@dataclasses.dataclass(frozen=True)
class VersionRow:
    version: int
    scrubbed_status: str
    reason: str
    total_charge: Decimal
    built_at: datetime
    frequency_code: str | None = None
    original_reference: str | None = None


@dataclasses.dataclass(frozen=True)
class StatusChangeRow:
    version: int
    from_status: str | None
    to_status: str
    reason_codes: list[str]
    reason: str | None
    stage: str | None
    actor: str | None
    changed_at: datetime


def _summary(row: RowMapping) -> ClaimSummaryRow:
    return ClaimSummaryRow(**{f.name: row[f.name] for f in dataclasses.fields(ClaimSummaryRow)})


def _transmission(row: RowMapping) -> ClaimTransmission:
    return ClaimTransmission(**{f.name: row[f.name] for f in dataclasses.fields(ClaimTransmission)})


async def insert_scrub_issues(
    session: AsyncSession,
    tenant_id: str,
    claim_id: str,
    version: int,
    issues: Sequence[ScrubIssue],
) -> None:
    """A claim version's scrub issues (professional or institutional), insert-only."""
    if issues:
        await session.execute(
            insert(CLAIM_ISSUE),
            [
                {
                    "tenant_id": tenant_id,
                    "claim_id": claim_id,
                    "version": version,
                    "code": issue.code,
                    "severity": issue.severity.value,
                    "message": issue.message,
                    "line_number": issue.line_number,
                    "charge_id": issue.charge_id,
                }
                for issue in issues
            ],
        )


@functools.cache
def _upsert_charge(columns: tuple[str, ...]) -> Any:
    """Keep a charge's newer version (built once per column set: SQLAlchemy compiles it
    once and reuses it)."""
    statement = insert(CHARGE)
    return statement.on_conflict_do_update(
        constraint="uq_charge_tenant_charge",
        set_={
            **{k: statement.excluded[k] for k in columns if k != "tenant_id"},
            "updated_at": func.now(),
        },
    )


class ClaimRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock_member(self, tenant_id: str, member_id: str) -> None:
        """Serialise everything that changes one member's claims (joining, rebuilding,
        opening a claim) until the transaction ends; callers lock members in id order."""
        await self._session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": f"claims:{tenant_id}:{member_id}"},
        )

    # ------------------------------------------------------------------ charges

    async def save_charges_if_newer(
        self, tenant_id: str, charges: Sequence[ChargeOnFile], event_id: str
    ) -> dict[str, tuple[bool, ChargeOnFile | None]]:
        """Keep each charge unless an equal or newer version of it is kept: one locking
        read and one write for the whole message (a stay's month is some thirty charges).
        Answers, per charge id, whether it was written and the version kept before.
        Callers hold the members' locks, so two versions of one charge never race here;
        the rows are locked in id order all the same."""
        if not charges:
            return {}
        ids = sorted({c.charge_id for c in charges})
        rows = (
            (
                await self._session.execute(
                    select(CHARGE)
                    .where(CHARGE.c.tenant_id == tenant_id, CHARGE.c.charge_id.in_(ids))
                    .order_by(CHARGE.c.charge_id)
                    .with_for_update()
                )
            )
            .mappings()
            .all()
        )
        kept = {row["charge_id"]: _charge(row) for row in rows}
        answers: dict[str, tuple[bool, ChargeOnFile | None]] = {}
        newer: dict[str, dict[str, Any]] = {}
        for charge in charges:
            previous = kept.get(charge.charge_id)
            if previous is not None and previous.charge_version >= charge.charge_version:
                answers[charge.charge_id] = (False, previous)
                continue
            answers[charge.charge_id] = (True, previous)
            newer[charge.charge_id] = _charge_values(tenant_id, charge, event_id)
        if newer:
            # One statement with every row as its parameters (asyncpg's executemany, one
            # round trip): unlike ``insert().values(rows)``, whose SQL SQLAlchemy cannot
            # cache and compiles anew for every message, it is compiled once.
            writes = [newer[charge_id] for charge_id in sorted(newer)]
            await self._session.execute(_upsert_charge(tuple(writes[0])), writes)
        return answers

    async def charges_on_claim(self, tenant_id: str, claim_id: str) -> list[ChargeOnFile]:
        rows = (
            (
                await self._session.execute(
                    select(CHARGE)
                    .join(
                        CLAIM_CHARGE,
                        and_(
                            CLAIM_CHARGE.c.tenant_id == CHARGE.c.tenant_id,
                            CLAIM_CHARGE.c.charge_id == CHARGE.c.charge_id,
                        ),
                    )
                    .where(
                        CLAIM_CHARGE.c.tenant_id == tenant_id, CLAIM_CHARGE.c.claim_id == claim_id
                    )
                )
            )
            .mappings()
            .all()
        )
        return [_charge(row) for row in rows]

    async def unassigned_ready_charges(
        self, tenant_id: str, member_id: str, period_from: date | None, period_to: date | None
    ) -> list[ChargeOnFile]:
        held = select(CLAIM_CHARGE.c.charge_id).where(
            CLAIM_CHARGE.c.tenant_id == tenant_id, CLAIM_CHARGE.c.charge_id == CHARGE.c.charge_id
        )
        statement = select(CHARGE).where(
            CHARGE.c.tenant_id == tenant_id,
            CHARGE.c.member_id == member_id,
            CHARGE.c.status == "READY",
            CHARGE.c.filing_type == "PROFESSIONAL",
            CHARGE.c.kind != "PER_DIEM",
            CHARGE.c.payer_id.is_not(None),
            CHARGE.c.held_after_reverse_of.is_(None),
            ~held.exists(),
        )
        if period_from is not None:
            statement = statement.where(CHARGE.c.date_of_service >= period_from)
        if period_to is not None:
            statement = statement.where(CHARGE.c.date_of_service <= period_to)
        rows = (await self._session.execute(statement)).mappings().all()
        return [_charge(row) for row in rows]

    async def member_has_charges(self, tenant_id: str, member_id: str) -> bool:
        row = await self._session.execute(
            select(CHARGE.c.id)
            .where(CHARGE.c.tenant_id == tenant_id, CHARGE.c.member_id == member_id)
            .limit(1)
        )
        return row.first() is not None

    async def session_charge_dates(self, tenant_id: str, session_id: str) -> dict[str, list[date]]:
        """member -> the dates of service of the session's charges on file (any status)."""
        rows = await self._session.execute(
            select(CHARGE.c.member_id, CHARGE.c.date_of_service)
            .where(CHARGE.c.tenant_id == tenant_id, CHARGE.c.session_id == session_id)
            .distinct()
        )
        found: dict[str, list[date]] = {}
        for member_id, day in rows.all():
            found.setdefault(member_id, []).append(day)
        return found

    # ------------------------------------------------------------------ claims

    async def next_patient_control_sequence(self, tenant_id: str, count: int = 1) -> int:
        """Take the tenant's next ``count`` numbers; the last of them is returned."""
        statement = insert(PCN_SEQUENCE).values(tenant_id=tenant_id, last_value=count)
        statement = statement.on_conflict_do_update(
            index_elements=["tenant_id"],
            set_={"last_value": PCN_SEQUENCE.c.last_value + count},
        )
        result = await self._session.execute(statement.returning(PCN_SEQUENCE.c.last_value))
        return int(result.scalar_one())

    async def add_claim(self, tenant_id: str, claim: ProfessionalClaim) -> None:
        key = claim.key
        await self._session.execute(
            insert(CLAIM).values(
                tenant_id=tenant_id,
                claim_id=claim.claim_id,
                patient_control_number=claim.patient_control_number,
                transaction_type="837P",
                member_id=key.member_id,
                payer_id=key.payer_id,
                billing_provider_npi=key.billing_provider_npi,
                period_from=key.period_from,
                period_to=key.period_to,
                status=claim.status.value,
                version=claim.version,
                total_charge=Decimal("0.00"),
                line_count=0,
            )
        )

    async def get_claim(
        self, tenant_id: str, claim_id: str, *, for_update: bool = False
    ) -> ProfessionalClaim | None:
        statement = select(CLAIM).where(
            CLAIM.c.tenant_id == tenant_id, CLAIM.c.claim_id == claim_id
        )
        if for_update:
            statement = statement.with_for_update()
        row = (await self._session.execute(statement)).mappings().first()
        return None if row is None else _claim(row)

    async def holder_of(self, tenant_id: str, charge_id: str) -> ProfessionalClaim | None:
        row = (
            (
                await self._session.execute(
                    select(CLAIM)
                    .join(
                        CLAIM_CHARGE,
                        and_(
                            CLAIM_CHARGE.c.tenant_id == CLAIM.c.tenant_id,
                            CLAIM_CHARGE.c.claim_id == CLAIM.c.claim_id,
                        ),
                    )
                    .where(
                        CLAIM_CHARGE.c.tenant_id == tenant_id, CLAIM_CHARGE.c.charge_id == charge_id
                    )
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else _claim(row)

    async def open_claims(self, tenant_id: str, keys: Sequence[ClaimKey]) -> list[OpenClaim]:
        """DRAFT/READY claims with one of ``keys``, oldest first, with the charges they hold."""
        if not keys:
            return []
        held = (
            select(func.count())
            .select_from(CLAIM_CHARGE)
            .where(
                CLAIM_CHARGE.c.tenant_id == CLAIM.c.tenant_id,
                CLAIM_CHARGE.c.claim_id == CLAIM.c.claim_id,
            )
            .scalar_subquery()
        )
        matches = or_(
            *(
                and_(
                    CLAIM.c.member_id == k.member_id,
                    CLAIM.c.payer_id == k.payer_id,
                    CLAIM.c.billing_provider_npi == k.billing_provider_npi,
                    CLAIM.c.period_from == k.period_from,
                    CLAIM.c.period_to == k.period_to,
                )
                for k in keys
            )
        )
        rows = (
            (
                await self._session.execute(
                    select(CLAIM, held.label("held"))
                    .where(
                        CLAIM.c.tenant_id == tenant_id,
                        CLAIM.c.transaction_type == PROFESSIONAL,
                        CLAIM.c.status.in_(OPEN_STATUSES),
                        matches,
                    )
                    .order_by(CLAIM.c.id)
                )
            )
            .mappings()
            .all()
        )
        return [OpenClaim(row["claim_id"], _claim(row).key, int(row["held"])) for row in rows]

    async def open_claims_of_member(
        self,
        tenant_id: str,
        member_id: str,
        period_from: date | None = None,
        period_to: date | None = None,
    ) -> list[str]:
        statement = select(CLAIM.c.claim_id).where(
            CLAIM.c.tenant_id == tenant_id,
            CLAIM.c.member_id == member_id,
            CLAIM.c.transaction_type == PROFESSIONAL,
            CLAIM.c.status.in_(OPEN_STATUSES),
        )
        if period_from is not None:
            statement = statement.where(CLAIM.c.period_to >= period_from)
        if period_to is not None:
            statement = statement.where(CLAIM.c.period_from <= period_to)
        return list((await self._session.execute(statement.order_by(CLAIM.c.id))).scalars())

    async def open_claims_rendered_by(
        self, tenant_id: str, provider_id: str
    ) -> list[tuple[str, str]]:
        """(member id, claim id) of the DRAFT/READY claims holding a charge it renders."""
        rows = await self._session.execute(
            select(CLAIM.c.member_id, CLAIM.c.claim_id)
            .distinct()
            .join(
                CLAIM_CHARGE,
                and_(
                    CLAIM_CHARGE.c.tenant_id == CLAIM.c.tenant_id,
                    CLAIM_CHARGE.c.claim_id == CLAIM.c.claim_id,
                ),
            )
            .join(
                CHARGE,
                and_(
                    CHARGE.c.tenant_id == CLAIM_CHARGE.c.tenant_id,
                    CHARGE.c.charge_id == CLAIM_CHARGE.c.charge_id,
                ),
            )
            .where(
                CLAIM.c.tenant_id == tenant_id,
                CLAIM.c.transaction_type == PROFESSIONAL,
                CLAIM.c.status.in_(OPEN_STATUSES),
                CHARGE.c.rendering_provider_id == provider_id,
            )
            .order_by(CLAIM.c.member_id, CLAIM.c.claim_id)
        )
        return [(row[0], row[1]) for row in rows]

    async def assign(self, tenant_id: str, claim_id: str, charge_ids: Sequence[str]) -> None:
        if charge_ids:
            await self._session.execute(
                insert(CLAIM_CHARGE),
                [
                    {"tenant_id": tenant_id, "charge_id": c, "claim_id": claim_id}
                    for c in charge_ids
                ],
            )

    async def unassign(self, tenant_id: str, charge_ids: Sequence[str]) -> None:
        if charge_ids:
            await self._session.execute(
                delete(CLAIM_CHARGE).where(
                    CLAIM_CHARGE.c.tenant_id == tenant_id,
                    CLAIM_CHARGE.c.charge_id.in_(list(charge_ids)),
                )
            )

    async def release_charges(self, tenant_id: str, claim_id: str) -> list[str]:
        """The claim holds nothing any more (a void, or a rejection rebuilt afresh): its
        charges are free to join another claim. Returns them."""
        rows = await self._session.execute(
            delete(CLAIM_CHARGE)
            .where(CLAIM_CHARGE.c.tenant_id == tenant_id, CLAIM_CHARGE.c.claim_id == claim_id)
            .returning(CLAIM_CHARGE.c.charge_id)
        )
        return sorted(rows.scalars())

    async def hold_after_reverse(
        self, tenant_id: str, claim_id: str, charge_ids: Sequence[str]
    ) -> list[str]:
        """The voided claim's charges that are still billable wait for a rebuild of it (or
        their next change), at the version they are now. Returns them."""
        if not charge_ids:
            return []
        rows = await self._session.execute(
            update(CHARGE)
            .where(
                CHARGE.c.tenant_id == tenant_id,
                CHARGE.c.charge_id.in_(list(charge_ids)),
                CHARGE.c.status.in_(sorted(BILLABLE_STATUSES)),
            )
            .values(held_after_reverse_of=claim_id, held_at_version=CHARGE.c.charge_version)
            .returning(CHARGE.c.charge_id)
        )
        return sorted(rows.scalars())

    async def release_hold(self, tenant_id: str, charge_ids: Sequence[str]) -> None:
        if charge_ids:
            await self._session.execute(
                update(CHARGE)
                .where(CHARGE.c.tenant_id == tenant_id, CHARGE.c.charge_id.in_(list(charge_ids)))
                .values(held_after_reverse_of=None, held_at_version=None)
            )

    async def release_holds_of(self, tenant_id: str, claim_id: str) -> list[str]:
        """Every charge held after the void of ``claim_id`` is free again. Returns them."""
        rows = await self._session.execute(
            update(CHARGE)
            .where(CHARGE.c.tenant_id == tenant_id, CHARGE.c.held_after_reverse_of == claim_id)
            .values(held_after_reverse_of=None, held_at_version=None)
            .returning(CHARGE.c.charge_id)
        )
        return sorted(rows.scalars())

    async def release_stay_holds(self, tenant_id: str, stay_id: str) -> list[str]:
        """The stay changed: its day charges held after a cycle void are free again."""
        rows = await self._session.execute(
            update(CHARGE)
            .where(
                CHARGE.c.tenant_id == tenant_id,
                CHARGE.c.source_id == stay_id,
                CHARGE.c.kind == "PER_DIEM",
                CHARGE.c.held_after_reverse_of.is_not(None),
            )
            .values(held_after_reverse_of=None, held_at_version=None)
            .returning(CHARGE.c.charge_id)
        )
        return sorted(rows.scalars())

    async def held_after_reverse_of(self, tenant_id: str, claim_id: str) -> list[str]:
        """The charges that wait for a rebuild of the voided ``claim_id``."""
        rows = await self._session.execute(
            select(CHARGE.c.charge_id)
            .where(CHARGE.c.tenant_id == tenant_id, CHARGE.c.held_after_reverse_of == claim_id)
            .order_by(CHARGE.c.charge_id)
        )
        return list(rows.scalars())

    async def charges_by_id(self, tenant_id: str, charge_ids: Sequence[str]) -> list[ChargeOnFile]:
        if not charge_ids:
            return []
        rows = (
            (
                await self._session.execute(
                    select(CHARGE)
                    .where(
                        CHARGE.c.tenant_id == tenant_id, CHARGE.c.charge_id.in_(list(charge_ids))
                    )
                    .order_by(CHARGE.c.charge_id)
                )
            )
            .mappings()
            .all()
        )
        return [_charge(row) for row in rows]

    async def holders(self, tenant_id: str, charge_ids: Sequence[str]) -> dict[str, str]:
        """charge id -> the claim holding it now, for those held."""
        if not charge_ids:
            return {}
        rows = await self._session.execute(
            select(CLAIM_CHARGE.c.charge_id, CLAIM_CHARGE.c.claim_id).where(
                CLAIM_CHARGE.c.tenant_id == tenant_id,
                CLAIM_CHARGE.c.charge_id.in_(list(charge_ids)),
            )
        )
        return {row[0]: row[1] for row in rows}

    async def status_before(
        self, tenant_id: str, claim_id: str, status: ClaimStatus
    ) -> ClaimStatus | None:
        """The status the claim had when it last moved into ``status``."""
        row = await self._session.execute(
            select(CLAIM_STATUS_CHANGE.c.from_status)
            .where(
                CLAIM_STATUS_CHANGE.c.tenant_id == tenant_id,
                CLAIM_STATUS_CHANGE.c.claim_id == claim_id,
                CLAIM_STATUS_CHANGE.c.to_status == status.value,
            )
            .order_by(CLAIM_STATUS_CHANGE.c.id.desc())
            .limit(1)
        )
        value = row.scalar_one_or_none()
        return None if value is None else ClaimStatus(value)

    async def header_marks(self, tenant_id: str, claim_id: str) -> tuple[bool, str | None]:
        """(reversal_needed, superseded_by) of a claim header."""
        row = (
            await self._session.execute(
                select(CLAIM.c.reversal_needed, CLAIM.c.superseded_by).where(
                    CLAIM.c.tenant_id == tenant_id, CLAIM.c.claim_id == claim_id
                )
            )
        ).first()
        return (False, None) if row is None else (bool(row[0]), row[1])

    async def version_fingerprint(self, tenant_id: str, claim_id: str, version: int) -> str | None:
        row = await self._session.execute(
            select(CLAIM_VERSION.c.fingerprint).where(
                CLAIM_VERSION.c.tenant_id == tenant_id,
                CLAIM_VERSION.c.claim_id == claim_id,
                CLAIM_VERSION.c.version == version,
            )
        )
        return row.scalar_one_or_none()

    async def add_version(
        self,
        tenant_id: str,
        claim_id: str,
        version: int,
        *,
        content: ProfessionalClaimContent,
        issues: Sequence[ScrubIssue],
        scrubbed_status: ClaimStatus,
        reason: str,
        fingerprint: str,
        frequency_code: str | None = None,
        original_reference: str | None = None,
    ) -> None:
        """``frequency_code`` and ``original_reference`` only on a void or replacement."""
        parties = {
            "billing_provider": _jsonable(content.billing_provider),
            "pay_to_address": _jsonable(content.pay_to_address),
            "payer": _jsonable(content.payer),
            "clearinghouse_id": content.clearinghouse_id,
            "subscriber": _jsonable(content.subscriber),
            "patient": _jsonable(content.patient),
            "diagnoses": list(content.diagnoses),
            "place_of_service": content.place_of_service,
        }
        await self._session.execute(
            insert(CLAIM_VERSION).values(
                tenant_id=tenant_id,
                claim_id=claim_id,
                version=version,
                scrubbed_status=scrubbed_status.value,
                reason=reason,
                content=parties,
                fingerprint=fingerprint,
                total_charge=content.total_charge,
                frequency_code=frequency_code,
                original_reference=original_reference,
            )
        )
        if content.lines:
            await self._session.execute(
                insert(CLAIM_LINE),
                [
                    {
                        "tenant_id": tenant_id,
                        "claim_id": claim_id,
                        "version": version,
                        "line_number": line.line_number,
                        "line_control_number": line.line_control_number,
                        "charge_id": line.charge_id,
                        "charge_version": line.charge_version,
                        "session_id": line.session_id,
                        "procedure_code": line.procedure_code,
                        "modifiers": list(line.modifiers),
                        "units": line.units,
                        "unit_basis": line.unit_basis,
                        "amount": line.amount,
                        "date_of_service": line.date_of_service,
                        "place_of_service": line.place_of_service,
                        "diagnosis_pointers": list(line.diagnosis_pointers),
                        "rendering_provider": _jsonable(line.rendering_provider),
                    }
                    for line in content.lines
                ],
            )
        await insert_scrub_issues(self._session, tenant_id, claim_id, version, issues)

    async def update_claim(
        self,
        tenant_id: str,
        claim: ProfessionalClaim,
        *,
        total_charge: Decimal | None = None,
        line_count: int | None = None,
        stale_reason: str | None = None,
        reversal_needed: bool | None = None,
        clear_stale_reason: bool = False,
        frequency_code: str | None = None,
        released: bool | None = None,
        superseded_by: str | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "status": claim.status.value,
            "version": claim.version,
            "updated_at": func.now(),
        }
        if total_charge is not None:
            values["total_charge"] = total_charge
        if line_count is not None:
            values["line_count"] = line_count
        if stale_reason is not None:
            values["stale_reason"] = stale_reason
        if reversal_needed is not None:
            values["reversal_needed"] = reversal_needed
        if clear_stale_reason:
            values["stale_reason"] = None
        if frequency_code is not None:
            values["frequency_code"] = frequency_code
        if released is not None:
            values["released"] = released
        if superseded_by is not None:
            values["superseded_by"] = superseded_by
        await self._session.execute(
            update(CLAIM)
            .where(CLAIM.c.tenant_id == tenant_id, CLAIM.c.claim_id == claim.claim_id)
            .values(**values)
        )

    async def add_status_change(
        self,
        tenant_id: str,
        claim_id: str,
        version: int,
        from_status: ClaimStatus | None,
        to_status: ClaimStatus,
        *,
        reason_codes: Sequence[str] = (),
        reason: str | None = None,
        stage: str | None = None,
        actor: str | None = None,
    ) -> None:
        await self.add_status_changes(
            tenant_id,
            [
                StatusChange(
                    claim_id,
                    version,
                    from_status,
                    to_status,
                    reason_codes=tuple(reason_codes),
                    reason=reason,
                    stage=stage,
                    actor=actor,
                )
            ],
        )

    async def add_status_changes(self, tenant_id: str, changes: Sequence[StatusChange]) -> None:
        """Rows of the claims' status history, in one statement."""
        if not changes:
            return
        await self._session.execute(
            insert(CLAIM_STATUS_CHANGE),
            [
                {
                    "tenant_id": tenant_id,
                    "claim_id": c.claim_id,
                    "version": c.version,
                    "from_status": None if c.from_status is None else c.from_status.value,
                    "to_status": c.to_status.value,
                    "reason_codes": list(c.reason_codes),
                    "reason": c.reason,
                    "stage": c.stage,
                    "actor": c.actor,
                }
                for c in changes
            ],
        )
        for c in changes:
            count_on_commit(self._session, c.to_status.value)

    async def version_content(
        self, tenant_id: str, claim_id: str, version: int
    ) -> ProfessionalClaimContent | None:
        row = (
            (
                await self._session.execute(
                    select(CLAIM_VERSION.c.content).where(
                        CLAIM_VERSION.c.tenant_id == tenant_id,
                        CLAIM_VERSION.c.claim_id == claim_id,
                        CLAIM_VERSION.c.version == version,
                    )
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        data = row["content"]
        payer = data.get("payer")
        return ProfessionalClaimContent(
            billing_provider=_billing(data["billing_provider"]),
            pay_to_address=_address(data.get("pay_to_address")),
            payer=None if payer is None else PayerParty(**payer),
            clearinghouse_id=data.get("clearinghouse_id"),
            subscriber=_subscriber(data.get("subscriber")),
            patient=_patient(data.get("patient")),
            diagnoses=tuple(data.get("diagnoses", ())),
            place_of_service=data.get("place_of_service"),
            lines=tuple(await self.version_lines(tenant_id, claim_id, version)),
        )

    async def version_lines(self, tenant_id: str, claim_id: str, version: int) -> list[ClaimLine]:
        rows = (
            (
                await self._session.execute(
                    select(CLAIM_LINE)
                    .where(
                        CLAIM_LINE.c.tenant_id == tenant_id,
                        CLAIM_LINE.c.claim_id == claim_id,
                        CLAIM_LINE.c.version == version,
                    )
                    .order_by(CLAIM_LINE.c.line_number)
                )
            )
            .mappings()
            .all()
        )
        return [_line(row) for row in rows]

    async def version_issues(self, tenant_id: str, claim_id: str, version: int) -> list[ScrubIssue]:
        rows = (
            (
                await self._session.execute(
                    select(CLAIM_ISSUE)
                    .where(
                        CLAIM_ISSUE.c.tenant_id == tenant_id,
                        CLAIM_ISSUE.c.claim_id == claim_id,
                        CLAIM_ISSUE.c.version == version,
                    )
                    .order_by(CLAIM_ISSUE.c.id)
                )
            )
            .mappings()
            .all()
        )
        return [_issue(row) for row in rows]

    # ------------------------------------------------------------------ transmissions

    async def add_transmission(self, tenant_id: str, transmission: ClaimTransmission) -> bool:
        """False when this placement of the claim version was recorded before."""
        statement = (
            insert(CLAIM_TRANSMISSION)
            .values(tenant_id=tenant_id, **dataclasses.asdict(transmission))
            .on_conflict_do_nothing(constraint="uq_claim_transmission")
            .returning(CLAIM_TRANSMISSION.c.id)
        )
        return (await self._session.execute(statement)).first() is not None

    async def transmissions(
        self, tenant_id: str, claim_ids: Sequence[str]
    ) -> dict[str, list[ClaimTransmission]]:
        if not claim_ids:
            return {}
        rows = (
            (
                await self._session.execute(
                    select(CLAIM_TRANSMISSION)
                    .where(
                        CLAIM_TRANSMISSION.c.tenant_id == tenant_id,
                        CLAIM_TRANSMISSION.c.claim_id.in_(list(claim_ids)),
                    )
                    .order_by(CLAIM_TRANSMISSION.c.transmitted_at, CLAIM_TRANSMISSION.c.id)
                )
            )
            .mappings()
            .all()
        )
        found: dict[str, list[ClaimTransmission]] = {}
        for row in rows:
            found.setdefault(row["claim_id"], []).append(_transmission(row))
        return found

    # ------------------------------------------------------------------ reading

    async def list_claims(
        self,
        tenant_id: str,
        *,
        member_id: str | None = None,
        status: str | None = None,
        on: date | None = None,
        session_id: str | None = None,
        stay_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[ClaimSummaryRow]:
        statement = select(CLAIM).where(CLAIM.c.tenant_id == tenant_id)
        if stay_id is not None:
            statement = statement.where(CLAIM.c.stay_id == stay_id)
        if member_id is not None:
            statement = statement.where(CLAIM.c.member_id == member_id)
        if status is not None:
            statement = statement.where(CLAIM.c.status == status)
        if on is not None:
            statement = statement.where(CLAIM.c.period_from <= on, CLAIM.c.period_to >= on)
        if session_id is not None:
            holds = select(CLAIM_LINE.c.id).where(
                CLAIM_LINE.c.tenant_id == CLAIM.c.tenant_id,
                CLAIM_LINE.c.claim_id == CLAIM.c.claim_id,
                CLAIM_LINE.c.version == CLAIM.c.version,
                CLAIM_LINE.c.session_id == session_id,
            )
            statement = statement.where(holds.exists())
        statement = statement.order_by(CLAIM.c.id.desc()).limit(limit).offset(offset)
        rows = (await self._session.execute(statement)).mappings().all()
        return [_summary(row) for row in rows]

    async def claim_summary(self, tenant_id: str, claim_id: str) -> ClaimSummaryRow | None:
        row = (
            (
                await self._session.execute(
                    select(CLAIM).where(
                        CLAIM.c.tenant_id == tenant_id, CLAIM.c.claim_id == claim_id
                    )
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else _summary(row)

    async def claim_summaries(
        self, tenant_id: str, claim_ids: Sequence[str]
    ) -> list[ClaimSummaryRow]:
        """The claims of ``claim_ids`` that exist, in that order, in one statement."""
        if not claim_ids:
            return []
        rows = (
            (
                await self._session.execute(
                    select(CLAIM).where(
                        CLAIM.c.tenant_id == tenant_id, CLAIM.c.claim_id.in_(list(claim_ids))
                    )
                )
            )
            .mappings()
            .all()
        )
        found = {row["claim_id"]: _summary(row) for row in rows}
        return [found[claim_id] for claim_id in claim_ids if claim_id in found]

    async def current_lines(
        self, tenant_id: str, claims: Sequence[ClaimSummaryRow]
    ) -> dict[str, list[ClaimLine]]:
        if not claims:
            return {}
        wanted = or_(
            *(
                and_(CLAIM_LINE.c.claim_id == c.claim_id, CLAIM_LINE.c.version == c.version)
                for c in claims
            )
        )
        rows = (
            (
                await self._session.execute(
                    select(CLAIM_LINE)
                    .where(CLAIM_LINE.c.tenant_id == tenant_id, wanted)
                    .order_by(CLAIM_LINE.c.claim_id, CLAIM_LINE.c.line_number)
                )
            )
            .mappings()
            .all()
        )
        found: dict[str, list[ClaimLine]] = {}
        for row in rows:
            found.setdefault(row["claim_id"], []).append(_line(row))
        return found

    async def versions(self, tenant_id: str, claim_id: str) -> list[VersionRow]:
        rows = (
            (
                await self._session.execute(
                    select(CLAIM_VERSION)
                    .where(
                        CLAIM_VERSION.c.tenant_id == tenant_id, CLAIM_VERSION.c.claim_id == claim_id
                    )
                    .order_by(CLAIM_VERSION.c.version)
                )
            )
            .mappings()
            .all()
        )
        return [
            VersionRow(
                version=row["version"],
                scrubbed_status=row["scrubbed_status"],
                reason=row["reason"],
                total_charge=row["total_charge"],
                built_at=row["built_at"],
                frequency_code=row["frequency_code"],
                original_reference=row["original_reference"],
            )
            for row in rows
        ]

    async def status_changes(self, tenant_id: str, claim_id: str) -> list[StatusChangeRow]:
        rows = (
            (
                await self._session.execute(
                    select(CLAIM_STATUS_CHANGE)
                    .where(
                        CLAIM_STATUS_CHANGE.c.tenant_id == tenant_id,
                        CLAIM_STATUS_CHANGE.c.claim_id == claim_id,
                    )
                    .order_by(CLAIM_STATUS_CHANGE.c.id)
                )
            )
            .mappings()
            .all()
        )
        return [
            StatusChangeRow(
                version=row["version"],
                from_status=row["from_status"],
                to_status=row["to_status"],
                reason_codes=list(row["reason_codes"]),
                reason=row["reason"],
                stage=row["stage"],
                actor=row["actor"],
                changed_at=row["changed_at"],
            )
            for row in rows
        ]
