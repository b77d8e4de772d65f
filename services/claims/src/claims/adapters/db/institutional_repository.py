"""Maps institutional cycle claims, their versions and SV2 lines, the stays' day charges and
the stay billing records to rows and back. Every query names the tenant (the sweep's
query reads every tenant's due stays, and says so).

Like professional claims, versions, lines and issues are only ever inserted; the claim
header (shared ``claim`` table, ``transaction_type`` 837I) carries the current version."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import RowMapping, and_, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from claims.adapters.db.claims_repository import (
    INSTITUTIONAL,
    OPEN_STATUSES,
    _address,
    _billing,
    _charge,
    _jsonable,
    _patient,
    _subscriber,
    _units,
    insert_scrub_issues,
)
from claims.adapters.db.tables import (
    CHARGE,
    CLAIM,
    CLAIM_CHARGE,
    CLAIM_INSTITUTIONAL_LINE,
    CLAIM_VERSION,
    STAY_BILLING,
    STAY_CHARGING,
    STAY_CONTEXT,
    one_of,
)
from claims.domain.charges import AwaitedDay, ChargeOnFile, StayCharging
from claims.domain.claims import ClaimStatus, PayerParty, ScrubIssue
from claims.domain.cycles import DateRange, FrequencyCode
from claims.domain.institutional import (
    NO_EDITS,
    AdmitDateSource,
    CycleClaim,
    CycleDay,
    DayCalculation,
    DayKind,
    FacilityParty,
    InstitutionalClaimContent,
    InstitutionalEdits,
    InstitutionalLine,
    LeaveDates,
    LineKind,
    Occurrence,
    OccurrenceSpan,
    ValueCode,
)
from claims.domain.projections import Procedure
from contracts.tenant import BillingPeriod

PRINTED = "printed_fingerprint"

# A charge joins a claim, leaving the one that held it before (its primary key decides).
_JOIN = insert(CLAIM_CHARGE)
_TAKE_CHARGE = _JOIN.on_conflict_do_update(
    index_elements=[CLAIM_CHARGE.c.tenant_id, CLAIM_CHARGE.c.charge_id],
    set_={"claim_id": _JOIN.excluded.claim_id},
)

# --------------------------------------------------------------------------- JSON


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _required_day(value: str) -> date:
    return date.fromisoformat(value)


def edits_json(edits: InstitutionalEdits) -> dict[str, Any] | None:
    if not edits.edited:
        return None
    data: dict[str, Any] = {"edited": sorted(edits.edited)}
    for name in edits.edited:
        data[name] = _jsonable(getattr(edits, name))
    return data


def edits_from_json(data: Mapping[str, Any] | None) -> InstitutionalEdits:
    if not data:
        return NO_EDITS
    edited = frozenset(data.get("edited", ()))
    values: dict[str, Any] = {}
    for name in edited:
        raw = data.get(name)
        if name == "admission_date":
            values[name] = _day(raw)
        elif name in ("other_diagnoses",):
            values[name] = tuple(raw or ())
        elif name == "procedures":
            values[name] = tuple(
                Procedure(p["code"], _required_day(p["performed_on"])) for p in raw or ()
            )
        elif name == "leaves":
            values[name] = tuple(
                LeaveDates(_day(v["start_date"]), _day(v["return_date"]), v.get("leave_id"))
                for v in raw or ()
            )
        else:
            values[name] = raw
    return InstitutionalEdits(**values, edited=edited)


def _content_json(content: InstitutionalClaimContent) -> dict[str, Any]:
    data = _jsonable(dataclasses.replace(content, lines=()))
    data["kind"] = INSTITUTIONAL
    del data["lines"]
    return dict(data)


def _days(data: Mapping[str, Any]) -> DayCalculation:
    return DayCalculation(
        statement_from=_required_day(data["statement_from"]),
        statement_through=_required_day(data["statement_through"]),
        days_in_period=data["days_in_period"],
        covered_days=data["covered_days"],
        non_covered_days=data["non_covered_days"],
        billed_covered_days=data["billed_covered_days"],
        billed_non_covered_days=data["billed_non_covered_days"],
        expected_leave_days=data["expected_leave_days"],
        days=tuple(
            CycleDay(
                day=_required_day(d["day"]),
                expected=DayKind(d["expected"]),
                billed_as=None if d["billed_as"] is None else DayKind(d["billed_as"]),
                charge_ids=tuple(d["charge_ids"]),
                revenue_code=d["revenue_code"],
                amount=Decimal(d["amount"]),
            )
            for d in data["days"]
        ),
    )


def _facility(data: Mapping[str, Any] | None) -> FacilityParty | None:
    if data is None:
        return None
    address = _address(data["address"])
    assert address is not None
    return FacilityParty(**{**data, "address": address})


def _content(
    data: Mapping[str, Any], lines: Sequence[InstitutionalLine]
) -> InstitutionalClaimContent:
    payer = data.get("payer")
    source = data.get("admission_date_source")
    return InstitutionalClaimContent(
        stay_id=data["stay_id"],
        program_id=data["program_id"],
        cycle_first_day=_required_day(data["cycle_first_day"]),
        cycle_last_day=_required_day(data["cycle_last_day"]),
        billing_period=data["billing_period"],
        final=data["final"],
        billing_provider=_billing(data["billing_provider"]),
        pay_to_address=_address(data.get("pay_to_address")),
        payer=None if payer is None else PayerParty(**payer),
        clearinghouse_id=data.get("clearinghouse_id"),
        subscriber=_subscriber(data.get("subscriber")),
        patient=_patient(data.get("patient")),
        service_facility=_facility(data.get("service_facility")),
        type_of_bill=data["type_of_bill"],
        frequency_code=FrequencyCode(data["frequency_code"]),
        statement_from=_required_day(data["statement_from"]),
        statement_through=_required_day(data["statement_through"]),
        admission_date=_day(data["admission_date"]),
        admission_date_source=None if source is None else AdmitDateSource(source),
        admission_hour=data["admission_hour"],
        admission_type=data["admission_type"],
        admission_source=data["admission_source"],
        patient_status=data["patient_status"],
        discharge_hour=data["discharge_hour"],
        principal_diagnosis=data["principal_diagnosis"],
        admitting_diagnosis=data["admitting_diagnosis"],
        other_diagnoses=tuple(data["other_diagnoses"]),
        drg=data["drg"],
        procedures=tuple(
            Procedure(p["code"], _required_day(p["performed_on"])) for p in data["procedures"]
        ),
        occurrence_spans=tuple(
            OccurrenceSpan(s["code"], _required_day(s["start"]), _required_day(s["end"]))
            for s in data["occurrence_spans"]
        ),
        occurrences=tuple(
            Occurrence(o["code"], _required_day(o["on"])) for o in data["occurrences"]
        ),
        value_codes=tuple(ValueCode(v["code"], Decimal(v["amount"])) for v in data["value_codes"]),
        lines=tuple(lines),
        days=_days(data["days"]),
        discharge_date=_day(data.get("discharge_date")),
        leaves=tuple(
            LeaveDates(_day(v["start_date"]), _day(v["return_date"]), v.get("leave_id"))
            for v in data.get("leaves", ())
        ),
        edited=tuple(data.get("edited", ())),
    )


def _line(row: RowMapping) -> InstitutionalLine:
    return InstitutionalLine(
        line_number=row["line_number"],
        line_control_number=row["line_control_number"],
        kind=LineKind(row["kind"]),
        revenue_code=row["revenue_code"],
        procedure_code=row["procedure_code"],
        modifiers=tuple(row["modifiers"]),
        amount=row["amount"],
        unit_basis=row["unit_basis"],
        units=_units(row["units"]),
        service_from=row["service_from"],
        service_to=row["service_to"],
        charge_ids=tuple(row["charge_ids"]),
    )


def _cycle_claim(row: RowMapping) -> CycleClaim:
    return CycleClaim(
        claim_id=row["claim_id"],
        patient_control_number=row["patient_control_number"],
        stay_id=row["stay_id"],
        member_id=row["member_id"],
        payer_id=row["payer_id"],
        billing_provider_npi=row["billing_provider_npi"],
        cycle_first_day=row["cycle_from"],
        cycle_last_day=row["cycle_to"],
        statement_from=row["period_from"],
        statement_through=row["period_to"],
        status=ClaimStatus(row["status"]),
        version=row["version"],
        frequency_code=row["frequency_code"],
        reversal_needed=row["reversal_needed"],
        stale_reason=row["stale_reason"],
        edits=edits_from_json(row["institutional_edits"]),
        released=row["released"],
        superseded_by=row["superseded_by"],
        withdrawal_requested=row["withdrawal_requested_version"],
    )


@dataclasses.dataclass(frozen=True)
class StayBilling:
    """The operator's choices for a stay: a billing period for its unbilled days and
    explicit cycles."""

    billing_period: BillingPeriod | None = None
    explicit: tuple[DateRange, ...] = ()


@dataclasses.dataclass(frozen=True)
class DueStay:
    tenant_id: str
    stay_id: str


class InstitutionalRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock_stay(self, tenant_id: str, stay_id: str) -> None:
        """Serialise everything that changes one stay's cycle claims until commit."""
        await self.lock_stays(tenant_id, [stay_id])

    async def lock_stays(self, tenant_id: str, stay_ids: Sequence[str]) -> None:
        """``lock_stay`` for many stays in one statement, always in the same order (by
        key), so two transactions locking overlapping sets cannot deadlock on them."""
        keys = sorted({f"claims-stay:{tenant_id}:{stay_id}" for stay_id in stay_ids})
        await self._session.execute(
            text(
                "SELECT count(pg_advisory_xact_lock(hashtext(k))) "
                "FROM (SELECT k FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k) AS ordered"
            ),
            {"keys": keys},
        )

    # ------------------------------------------------------------------ charges

    async def stay_charges(self, tenant_id: str, stay_id: str) -> list[ChargeOnFile]:
        return (await self.stays_charges(tenant_id, [stay_id])).get(stay_id, [])

    async def stays_charges(
        self, tenant_id: str, stay_ids: Sequence[str]
    ) -> dict[str, list[ChargeOnFile]]:
        """Each stay's day charges (PER_DIEM), by date of service."""
        rows = await self._session.execute(
            select(CHARGE)
            .where(
                CHARGE.c.tenant_id == tenant_id,
                one_of(CHARGE.c.source_id, stay_ids),
                CHARGE.c.kind == "PER_DIEM",
            )
            .order_by(CHARGE.c.source_id, CHARGE.c.date_of_service, CHARGE.c.charge_id)
        )
        found: dict[str, list[ChargeOnFile]] = {}
        for row in rows.mappings():
            found.setdefault(row["source_id"], []).append(_charge(row))
        return found

    async def hold_charges(
        self, tenant_id: str, claim_id: str, charge_ids: Sequence[str], *, fresh: bool = False
    ) -> None:
        """The claim holds exactly ``charge_ids`` now (taken from whichever claim of the
        stay held them before). ``fresh``: the claim is new and holds nothing yet."""
        # Each statement goes by a whole index, whatever the statistics say: "claim_id = x
        # OR charge_id IN (...)", and a DELETE by charge_id alone, were planned as a filter
        # over every row of the tenant while the table grew from empty at a month-end
        # (5,600 rows read to delete 31 at 200 residents, growing with the tenant).
        if not fresh:
            await self._session.execute(
                delete(CLAIM_CHARGE).where(
                    CLAIM_CHARGE.c.tenant_id == tenant_id, CLAIM_CHARGE.c.claim_id == claim_id
                )
            )
        if charge_ids:
            await self._session.execute(
                _TAKE_CHARGE,
                [
                    {"tenant_id": tenant_id, "charge_id": c, "claim_id": claim_id}
                    for c in sorted(set(charge_ids))
                ],
            )

    # ------------------------------------------------------------------ claims

    async def stay_claims(self, tenant_id: str, stay_id: str) -> list[CycleClaim]:
        return (await self.stays_claims(tenant_id, [stay_id])).get(stay_id, [])

    async def stays_claims(
        self, tenant_id: str, stay_ids: Sequence[str]
    ) -> dict[str, list[CycleClaim]]:
        """Each stay's cycle claims by cycle, their rows locked until commit."""
        rows = await self._session.execute(
            select(CLAIM)
            .where(
                CLAIM.c.tenant_id == tenant_id,
                one_of(CLAIM.c.stay_id, stay_ids),
                CLAIM.c.transaction_type == INSTITUTIONAL,
            )
            .order_by(CLAIM.c.stay_id, CLAIM.c.cycle_from, CLAIM.c.id)
            .with_for_update()
        )
        found: dict[str, list[CycleClaim]] = {}
        for row in rows.mappings():
            found.setdefault(row["stay_id"], []).append(_cycle_claim(row))
        return found

    async def get_cycle_claim(
        self, tenant_id: str, claim_id: str, *, for_update: bool = False
    ) -> CycleClaim | None:
        statement = select(CLAIM).where(
            CLAIM.c.tenant_id == tenant_id,
            CLAIM.c.claim_id == claim_id,
            CLAIM.c.transaction_type == INSTITUTIONAL,
        )
        if for_update:
            statement = statement.with_for_update()
        row = (await self._session.execute(statement)).mappings().first()
        return None if row is None else _cycle_claim(row)

    async def transaction_type(self, tenant_id: str, claim_id: str) -> str | None:
        row = await self._session.execute(
            select(CLAIM.c.transaction_type).where(
                CLAIM.c.tenant_id == tenant_id, CLAIM.c.claim_id == claim_id
            )
        )
        value: str | None = row.scalar_one_or_none()
        return value

    async def add_cycle_claim(
        self,
        tenant_id: str,
        claim: CycleClaim,
        *,
        total_charge: Decimal = Decimal("0.00"),
        line_count: int = 0,
    ) -> None:
        await self._session.execute(
            insert(CLAIM).values(
                tenant_id=tenant_id,
                claim_id=claim.claim_id,
                patient_control_number=claim.patient_control_number,
                transaction_type=INSTITUTIONAL,
                member_id=claim.member_id,
                payer_id=claim.payer_id,
                billing_provider_npi=claim.billing_provider_npi,
                period_from=claim.statement_from,
                period_to=claim.statement_through,
                status=claim.status.value,
                version=claim.version,
                total_charge=total_charge,
                line_count=line_count,
                stay_id=claim.stay_id,
                cycle_from=claim.cycle_first_day,
                cycle_to=claim.cycle_last_day,
                frequency_code=claim.frequency_code,
                institutional_edits=edits_json(claim.edits),
                reversal_needed=claim.reversal_needed,
            )
        )

    async def update_cycle_claim(
        self,
        tenant_id: str,
        claim: CycleClaim,
        *,
        total_charge: Decimal | None = None,
        line_count: int | None = None,
    ) -> None:
        """Write the header as it is now (stale_reason included, cleared when None)."""
        values: dict[str, Any] = {
            "status": claim.status.value,
            "version": claim.version,
            "payer_id": claim.payer_id,
            "period_from": claim.statement_from,
            "period_to": claim.statement_through,
            "cycle_from": claim.cycle_first_day,
            "cycle_to": claim.cycle_last_day,
            "frequency_code": claim.frequency_code,
            "reversal_needed": claim.reversal_needed,
            "stale_reason": claim.stale_reason,
            "institutional_edits": edits_json(claim.edits),
            "released": claim.released,
            "superseded_by": claim.superseded_by,
            "withdrawal_requested_version": claim.withdrawal_requested,
            "updated_at": func.now(),
        }
        if total_charge is not None:
            values["total_charge"] = total_charge
        if line_count is not None:
            values["line_count"] = line_count
        await self._session.execute(
            update(CLAIM)
            .where(CLAIM.c.tenant_id == tenant_id, CLAIM.c.claim_id == claim.claim_id)
            .values(**values)
        )

    async def add_version(
        self,
        tenant_id: str,
        claim_id: str,
        version: int,
        *,
        content: InstitutionalClaimContent,
        issues: Sequence[ScrubIssue],
        scrubbed_status: ClaimStatus,
        reason: str,
        fingerprint: str,
        printed_fingerprint: str,
        frequency_code: str | None = None,
        original_reference: str | None = None,
    ) -> None:
        """``fingerprint`` covers what it prints and how it scrubbed; ``printed_fingerprint``
        what it prints only (a submitted claim goes STALE when that changes)."""
        await self._session.execute(
            insert(CLAIM_VERSION).values(
                tenant_id=tenant_id,
                claim_id=claim_id,
                version=version,
                scrubbed_status=scrubbed_status.value,
                reason=reason[:40],
                content={**_content_json(content), PRINTED: printed_fingerprint},
                fingerprint=fingerprint,
                total_charge=content.total_charge,
                frequency_code=frequency_code,
                original_reference=original_reference,
            )
        )
        if content.lines:
            await self._session.execute(
                insert(CLAIM_INSTITUTIONAL_LINE),
                [
                    {
                        "tenant_id": tenant_id,
                        "claim_id": claim_id,
                        "version": version,
                        "line_number": line.line_number,
                        "line_control_number": line.line_control_number,
                        "kind": line.kind.value,
                        "revenue_code": line.revenue_code,
                        "procedure_code": line.procedure_code,
                        "modifiers": list(line.modifiers),
                        "amount": line.amount,
                        "unit_basis": line.unit_basis,
                        "units": line.units,
                        "service_from": line.service_from,
                        "service_to": line.service_to,
                        "charge_ids": list(line.charge_ids),
                    }
                    for line in content.lines
                ],
            )
        await insert_scrub_issues(self._session, tenant_id, claim_id, version, issues)

    async def version_fingerprint(self, tenant_id: str, claim_id: str, version: int) -> str | None:
        row = await self._session.execute(
            select(CLAIM_VERSION.c.fingerprint).where(
                CLAIM_VERSION.c.tenant_id == tenant_id,
                CLAIM_VERSION.c.claim_id == claim_id,
                CLAIM_VERSION.c.version == version,
            )
        )
        value: str | None = row.scalar_one_or_none()
        return value

    async def version_printed_fingerprint(
        self, tenant_id: str, claim_id: str, version: int
    ) -> str | None:
        row = await self._session.execute(
            select(CLAIM_VERSION.c.content[PRINTED].astext).where(
                CLAIM_VERSION.c.tenant_id == tenant_id,
                CLAIM_VERSION.c.claim_id == claim_id,
                CLAIM_VERSION.c.version == version,
            )
        )
        value: str | None = row.scalar_one_or_none()
        return value

    async def version_content(
        self, tenant_id: str, claim_id: str, version: int
    ) -> InstitutionalClaimContent | None:
        row = (
            await self._session.execute(
                select(CLAIM_VERSION.c.content).where(
                    CLAIM_VERSION.c.tenant_id == tenant_id,
                    CLAIM_VERSION.c.claim_id == claim_id,
                    CLAIM_VERSION.c.version == version,
                )
            )
        ).scalar_one_or_none()
        if row is None:
            return None
        return _content(row, await self.version_lines(tenant_id, claim_id, version))

    async def version_lines(
        self, tenant_id: str, claim_id: str, version: int
    ) -> list[InstitutionalLine]:
        rows = (
            (
                await self._session.execute(
                    select(CLAIM_INSTITUTIONAL_LINE)
                    .where(
                        CLAIM_INSTITUTIONAL_LINE.c.tenant_id == tenant_id,
                        CLAIM_INSTITUTIONAL_LINE.c.claim_id == claim_id,
                        CLAIM_INSTITUTIONAL_LINE.c.version == version,
                    )
                    .order_by(CLAIM_INSTITUTIONAL_LINE.c.line_number)
                )
            )
            .mappings()
            .all()
        )
        return [_line(row) for row in rows]

    async def current_lines(
        self, tenant_id: str, claims: Sequence[tuple[str, int]]
    ) -> dict[str, list[InstitutionalLine]]:
        """The lines of each (claim id, version)."""
        if not claims:
            return {}
        wanted = or_(
            *(
                and_(
                    CLAIM_INSTITUTIONAL_LINE.c.claim_id == claim_id,
                    CLAIM_INSTITUTIONAL_LINE.c.version == version,
                )
                for claim_id, version in claims
            )
        )
        rows = (
            (
                await self._session.execute(
                    select(CLAIM_INSTITUTIONAL_LINE)
                    .where(CLAIM_INSTITUTIONAL_LINE.c.tenant_id == tenant_id, wanted)
                    .order_by(
                        CLAIM_INSTITUTIONAL_LINE.c.claim_id,
                        CLAIM_INSTITUTIONAL_LINE.c.line_number,
                    )
                )
            )
            .mappings()
            .all()
        )
        found: dict[str, list[InstitutionalLine]] = {}
        for row in rows:
            found.setdefault(row["claim_id"], []).append(_line(row))
        return found

    async def stays_with_open_claims(
        self, tenant_id: str, *, member_id: str | None = None, facility_id: str | None = None
    ) -> list[str]:
        """Stays with a cycle claim not yet submitted, of a member or at a facility."""
        statement = (
            select(CLAIM.c.stay_id)
            .distinct()
            .where(
                CLAIM.c.tenant_id == tenant_id,
                CLAIM.c.transaction_type == INSTITUTIONAL,
                or_(
                    CLAIM.c.status.in_(OPEN_STATUSES),
                    and_(
                        CLAIM.c.status == ClaimStatus.STALE.value,
                        CLAIM.c.reversal_needed.is_(False),
                    ),
                ),
            )
        )
        if member_id is not None:
            statement = statement.where(CLAIM.c.member_id == member_id)
        if facility_id is not None:
            at_facility = select(STAY_CONTEXT.c.id).where(
                STAY_CONTEXT.c.tenant_id == CLAIM.c.tenant_id,
                STAY_CONTEXT.c.stay_id == CLAIM.c.stay_id,
                STAY_CONTEXT.c.facility_id == facility_id,
            )
            statement = statement.where(at_facility.exists())
        return sorted(s for s in (await self._session.execute(statement)).scalars() if s)

    async def stays_of_member(self, tenant_id: str, member_id: str) -> list[str]:
        """Every stay of the member claims knows (by its record or its day charges)."""
        known = select(STAY_CONTEXT.c.stay_id).where(
            STAY_CONTEXT.c.tenant_id == tenant_id, STAY_CONTEXT.c.member_id == member_id
        )
        charged = select(CHARGE.c.source_id).where(
            CHARGE.c.tenant_id == tenant_id,
            CHARGE.c.member_id == member_id,
            CHARGE.c.kind == "PER_DIEM",
            CHARGE.c.source_id.is_not(None),
        )
        stays = set((await self._session.execute(known)).scalars())
        stays |= set((await self._session.execute(charged)).scalars())
        return sorted(s for s in stays if s)

    # ------------------------------------------------------------------ stay billing

    async def stay_billing(self, tenant_id: str, stay_id: str) -> StayBilling:
        return (await self.stays_billing(tenant_id, [stay_id])).get(stay_id, StayBilling())

    async def stays_billing(
        self, tenant_id: str, stay_ids: Sequence[str]
    ) -> dict[str, StayBilling]:
        """The operator's billing choices of the stays that have a row (the others have
        none: ``StayBilling()``)."""
        rows = await self._session.execute(
            select(STAY_BILLING).where(
                STAY_BILLING.c.tenant_id == tenant_id,
                one_of(STAY_BILLING.c.stay_id, stay_ids),
            )
        )
        found: dict[str, StayBilling] = {}
        for row in rows.mappings():
            period = row["billing_period_override"]
            found[row["stay_id"]] = StayBilling(
                billing_period=None if period is None else BillingPeriod(period),
                explicit=tuple(
                    DateRange(_required_day(r["first"]), _required_day(r["last"]))
                    for r in row["explicit_cycles"]
                ),
            )
        return found

    async def stay_charging(self, tenant_id: str, stay_id: str) -> StayCharging | None:
        """How far the charges service has said it brought the stay's day charges (None:
        it has not said yet)."""
        return (await self.stays_charging(tenant_id, [stay_id])).get(stay_id)

    async def stays_charging(
        self, tenant_id: str, stay_ids: Sequence[str]
    ) -> dict[str, StayCharging]:
        rows = await self._session.execute(
            select(
                STAY_CHARGING.c.stay_id, STAY_CHARGING.c.stay_version, STAY_CHARGING.c.awaited
            ).where(
                STAY_CHARGING.c.tenant_id == tenant_id,
                one_of(STAY_CHARGING.c.stay_id, stay_ids),
            )
        )
        return {
            row["stay_id"]: StayCharging(
                row["stay_version"],
                tuple(
                    AwaitedDay(
                        d["charge_id"],
                        int(d["charge_version"]),
                        _required_day(d["date_of_service"]),
                    )
                    for d in row["awaited"]
                ),
            )
            for row in rows.mappings()
        }

    async def save_stay_charging(
        self, tenant_id: str, stay_id: str, charging: StayCharging
    ) -> None:
        values = {
            "tenant_id": tenant_id,
            "stay_id": stay_id,
            "stay_version": charging.stay_version,
            "awaited": [
                {
                    "charge_id": d.charge_id,
                    "charge_version": d.charge_version,
                    "date_of_service": d.date_of_service.isoformat(),
                }
                for d in charging.awaited
            ],
        }
        statement = insert(STAY_CHARGING).values(**values)
        statement = statement.on_conflict_do_update(
            constraint="uq_stay_charging_tenant_stay",
            set_={
                "stay_version": statement.excluded.stay_version,
                "awaited": statement.excluded.awaited,
                "updated_at": func.now(),
            },
        )
        await self._session.execute(statement)

    async def save_stay_billing(
        self,
        tenant_id: str,
        stay_id: str,
        *,
        member_id: str,
        billing: StayBilling,
        closes_on: date | None,
        time_zone: str,
    ) -> None:
        values = {
            "tenant_id": tenant_id,
            "stay_id": stay_id,
            "member_id": member_id,
            "billing_period_override": None
            if billing.billing_period is None
            else billing.billing_period.value,
            "explicit_cycles": [
                {"first": r.first.isoformat(), "last": r.last.isoformat()} for r in billing.explicit
            ],
            "closes_on": closes_on,
            "time_zone": time_zone,
        }
        statement = insert(STAY_BILLING).values(**values)
        statement = statement.on_conflict_do_update(
            constraint="uq_stay_billing_tenant_stay",
            set_={
                **{k: statement.excluded[k] for k in values if k not in ("tenant_id", "stay_id")},
                "updated_at": func.now(),
            },
        )
        await self._session.execute(statement)

    async def due_stays(self, now: datetime, limit: int) -> list[DueStay]:
        """Stays (of every tenant: the sweep is the service's, not a tenant's) whose next
        open cycle's period has ended in the facility's zone."""
        local_today = func.timezone(STAY_BILLING.c.time_zone, now).cast(
            STAY_BILLING.c.closes_on.type
        )
        rows = await self._session.execute(
            select(STAY_BILLING.c.tenant_id, STAY_BILLING.c.stay_id)
            .where(STAY_BILLING.c.closes_on.is_not(None), STAY_BILLING.c.closes_on <= local_today)
            .order_by(STAY_BILLING.c.closes_on, STAY_BILLING.c.id)
            .limit(limit)
        )
        return [DueStay(row.tenant_id, row.stay_id) for row in rows]
