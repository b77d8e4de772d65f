"""Maps charge and group-session rows to the domain and back. Every query names the tenant.

Writers lock what they change (``FOR UPDATE``): the session row serialises the closes and
reopens of one session; a charge row serialises an operator's fix, a re-check and a claim's
news about it. Saving a charge also checks its version (optimistic), so a writer that did
not lock can never overwrite a newer version."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import (
    Integer,
    RowMapping,
    Select,
    Text,
    Update,
    bindparam,
    cast,
    column,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from charges.adapters.db.tables import CHARGE, CHARGE_HISTORY, GROUP_SESSION
from charges.domain.charges import (
    Charge,
    ChargeTerms,
    ClaimHold,
    GroupContext,
    Issue,
    PricingOverride,
    StayDayContext,
    VoidCause,
)
from charges.domain.sessions import GroupSessionLedger
from contracts.events.attendance import GroupSessionClosed
from contracts.events.charges import ChargeSourceKind, ChargeStatus, UnitBasis
from contracts.events.claims import ClaimStatus

ChargesByStay = dict[str, list[Charge]]
T = TypeVar("T")


@dataclass(frozen=True)
class ChargeWrite:
    """One charge to save: ``previous_version`` None for a new charge; ``change`` names a
    new version for the history, None when only bookkeeping moved (same version)."""

    charge: Charge
    previous_version: int | None
    change: str | None


_KEY = ("tenant_id", "charge_id")

#: Rows per statement, to bound the size of one round trip.
_ROWS_PER_STATEMENT = 500


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _ROWS_PER_STATEMENT):
        yield items[start : start + _ROWS_PER_STATEMENT]


def _generations(writes: Sequence[ChargeWrite]) -> Iterator[list[ChargeWrite]]:
    """``writes`` in order, cut wherever a charge comes again."""
    current: list[ChargeWrite] = []
    seen: set[str] = set()
    for write in writes:
        if write.charge.charge_id in seen:
            yield current
            current, seen = [], set()
        current.append(write)
        seen.add(write.charge.charge_id)
    if current:
        yield current


@lru_cache(maxsize=8)
def _update_over_versions(names: tuple[str, ...]) -> Update:
    """``UPDATE charge ... FROM unnest(<one array per column>)``, each row written only over
    the version it was read at. One bound array per column, whatever the number of rows:
    SQLAlchemy compiles it once and Postgres prepares it once. (A multi-row ``VALUES``
    renders a parameter per cell, so its SQL was compiled anew for every message, over
    half of the service's CPU at month-end, #10.)"""
    arrays = [
        # A JSONB value may itself be a list, which an ARRAY parameter would take for a
        # dimension: those columns travel as JSON text (see ``_column_arrays``).
        cast(bindparam(f"in_{name}", type_=ARRAY(Text)), ARRAY(JSONB))
        if name in _JSON_COLUMNS
        else bindparam(f"in_{name}", type_=ARRAY(CHARGE.c[name].type))
        for name in names
    ]
    incoming = (
        func.unnest(*arrays, bindparam("in_previous_version", type_=ARRAY(Integer)))
        .table_valued(
            *(column(name, CHARGE.c[name].type) for name in names),
            column("previous_version", Integer),
        )
        .render_derived(name="incoming")
    )
    return (
        update(CHARGE)
        .where(
            CHARGE.c.tenant_id == incoming.c.tenant_id,
            CHARGE.c.charge_id == incoming.c.charge_id,
            CHARGE.c.charge_version == incoming.c.previous_version,
        )
        .values(
            {
                **{name: incoming.c[name] for name in names if name not in _KEY},
                "updated_at": func.now(),
            }
        )
        .returning(CHARGE.c.charge_id)
    )


_JSON_COLUMNS = frozenset(c.name for c in CHARGE.columns if isinstance(c.type, JSONB))


def _column_arrays(names: Sequence[str], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The parameters of ``_update_over_versions``: one list per column."""
    return {
        f"in_{name}": [
            json.dumps(row[name]) if name in _JSON_COLUMNS else row[name] for row in rows
        ]
        for name in names
    }


def _all_written(asked: Sequence[dict[str, Any]], written: Iterable[str]) -> None:
    done = set(written)
    missing = [v["charge_id"] for v in asked if v["charge_id"] not in done]
    if missing:
        raise ConcurrentChargeChange(missing[0])


class ConcurrentChargeChange(Exception):
    """Another writer saved a newer version first; the transaction is retried whole."""


@dataclass(frozen=True)
class ChargeFilter:
    member_id: str | None = None
    session_id: str | None = None
    stay_id: str | None = None
    status: ChargeStatus | None = None
    date_from: date | None = None
    date_to: date | None = None


def _context(data: dict[str, Any] | None) -> GroupContext | None:
    if data is None:
        return None
    return GroupContext(
        session_id=data["session_id"],
        close_sequence=data["close_sequence"],
        facility_state=data["facility_state"],
        billable_count=data["billable_count"],
        band_name=data["band_name"],
        supervisors_present=tuple(data["supervisors_present"]),
        acknowledged_warnings=tuple(data["acknowledged_warnings"]),
    )


def _units(value: Decimal) -> Decimal:
    """``1.000`` as kept by the column reads back as ``1``, as it was priced."""
    return Decimal(int(value)) if value == value.to_integral_value() else value.normalize()


def _stay(row: RowMapping) -> StayDayContext | None:
    if row["source_kind"] != ChargeSourceKind.STAY.value:
        return None
    return StayDayContext(row["source_id"], row["source_sequence"])


def _charge(row: RowMapping) -> Charge:
    terms = ChargeTerms(
        member_id=row["member_id"],
        program_id=row["program_id"],
        facility_id=row["facility_id"],
        date_of_service=row["date_of_service"],
        procedure_code=row["procedure_code"],
        modifiers=tuple(row["modifiers"]),
        units=_units(Decimal(row["units"])),
        rate=Decimal(row["rate"]),
        amount=Decimal(row["amount"]),
        payer_id=row["payer_id"],
        coverage_id=row["coverage_id"],
        rendering_provider_id=row["rendering_provider_id"],
        place_of_service=row["place_of_service"],
        issues=tuple(Issue(i["code"], i["message"]) for i in row["issues"]),
        group=_context(row["group_context"]),
        stay=_stay(row),
        revenue_code=row["revenue_code"],
        unit_basis=UnitBasis(row["unit_basis"]),
        covered=row["covered"],
    )
    return Charge(
        tenant_id=row["tenant_id"],
        charge_id=row["charge_id"],
        version=row["charge_version"],
        status=ChargeStatus(row["status"]),
        terms=terms,
        override=PricingOverride(
            payer_id=row["override_payer_id"],
            coverage_id=row["override_coverage_id"],
            rate=row["override_rate"],
            reason=row["override_reason"],
        ),
        claim=(
            ClaimHold(row["claim_id"], ClaimStatus(row["claim_status"]))
            if row["claim_id"] is not None
            else None
        ),
        claim_marks={claim: (mark[0], mark[1]) for claim, mark in row["claim_marks"].items()},
        void_reason=row["void_reason"],
        void_cause=VoidCause(row["void_cause"]) if row["void_cause"] is not None else None,
    )


def _source(terms: ChargeTerms) -> tuple[ChargeSourceKind, str, int]:
    if terms.stay is not None:
        return ChargeSourceKind.STAY, terms.stay.stay_id, terms.stay.stay_version
    assert terms.group is not None
    return ChargeSourceKind.GROUP_SESSION, terms.group.session_id, terms.group.close_sequence


def _values(charge: Charge) -> dict[str, Any]:
    terms = charge.terms
    group: dict[str, Any] | None = None
    if terms.group is not None:
        group = asdict(terms.group)
        group["supervisors_present"] = list(terms.group.supervisors_present)
        group["acknowledged_warnings"] = list(terms.group.acknowledged_warnings)
    source_kind, source_id, source_sequence = _source(terms)
    return {
        "tenant_id": charge.tenant_id,
        "charge_id": charge.charge_id,
        "charge_version": charge.version,
        "kind": terms.kind.value,
        "filing_type": terms.filing_type.value,
        "status": charge.status.value,
        "issues": [{"code": i.code, "message": i.message} for i in terms.issues],
        "member_id": terms.member_id,
        "program_id": terms.program_id,
        "facility_id": terms.facility_id,
        "payer_id": terms.payer_id,
        "coverage_id": terms.coverage_id,
        "date_of_service": terms.date_of_service,
        "procedure_code": terms.procedure_code,
        "revenue_code": terms.revenue_code,
        "unit_basis": terms.unit_basis.value,
        "covered": terms.covered,
        "modifiers": list(terms.modifiers),
        "units": terms.units,
        "rate": terms.rate,
        "amount": terms.amount,
        "rendering_provider_id": terms.rendering_provider_id,
        "place_of_service": terms.place_of_service,
        "source_kind": source_kind.value,
        "source_id": source_id,
        "source_sequence": source_sequence,
        "group_context": group,
        "override_payer_id": charge.override.payer_id,
        "override_coverage_id": charge.override.coverage_id,
        "override_rate": charge.override.rate,
        "override_reason": charge.override.reason,
        "claim_id": charge.claim.claim_id if charge.claim else None,
        "claim_status": charge.claim.claim_status.value if charge.claim else None,
        "claim_marks": {claim: list(mark) for claim, mark in charge.claim_marks.items()},
        "void_reason": charge.void_reason,
        "void_cause": charge.void_cause.value if charge.void_cause is not None else None,
    }


def _state(values: dict[str, Any]) -> dict[str, Any]:
    """A history row's JSON copy of the charge."""
    state = dict(values)
    state["date_of_service"] = values["date_of_service"].isoformat()
    for name in ("units", "rate", "amount", "override_rate"):
        state[name] = None if values[name] is None else str(values[name])
    return state


class ChargeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # ------------------------------------------------------------------ sessions

    async def lock_session(self, tenant_id: str, session_id: str) -> GroupSessionLedger:
        """The session's ledger, locked until commit; an empty one (written) if new."""
        await self._session.execute(
            insert(GROUP_SESSION)
            .values(
                tenant_id=tenant_id, session_id=session_id, closed_sequence=0, reopened_sequence=0
            )
            .on_conflict_do_nothing(constraint="uq_group_session_tenant_session")
        )
        ledger = await self.get_session(tenant_id, session_id, for_update=True)
        assert ledger is not None
        return ledger

    async def get_session(
        self, tenant_id: str, session_id: str, *, for_update: bool = False
    ) -> GroupSessionLedger | None:
        query = select(GROUP_SESSION).where(
            GROUP_SESSION.c.tenant_id == tenant_id, GROUP_SESSION.c.session_id == session_id
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).mappings().first()
        if row is None:
            return None
        closed = row["closed_event"]
        return GroupSessionLedger(
            tenant_id=tenant_id,
            session_id=session_id,
            closed=GroupSessionClosed.model_validate(closed) if closed is not None else None,
            reopened_sequence=row["reopened_sequence"],
        )

    async def get_sessions(
        self, tenant_id: str, session_ids: Collection[str]
    ) -> dict[str, GroupSessionLedger]:
        ledgers: dict[str, GroupSessionLedger] = {}
        for session_id in sorted(set(session_ids)):
            ledger = await self.get_session(tenant_id, session_id)
            if ledger is not None:
                ledgers[session_id] = ledger
        return ledgers

    async def save_session(self, ledger: GroupSessionLedger, event_id: str | None) -> None:
        values: dict[str, Any] = {
            "closed_sequence": ledger.closed_sequence,
            "reopened_sequence": ledger.reopened_sequence,
            "closed_event": (
                ledger.closed.model_dump(mode="json") if ledger.closed is not None else None
            ),
            "updated_at": func.now(),
        }
        if event_id is not None and ledger.closed is not None:
            values["closed_event_id"] = event_id
        await self._session.execute(
            update(GROUP_SESSION)
            .where(
                GROUP_SESSION.c.tenant_id == ledger.tenant_id,
                GROUP_SESSION.c.session_id == ledger.session_id,
            )
            .values(**values)
        )

    # ------------------------------------------------------------------ charges

    async def _charges(self, query: Select[Any], for_update: bool) -> list[Charge]:
        if for_update:
            query = query.with_for_update()
        rows = (await self._session.execute(query.order_by(CHARGE.c.charge_id))).mappings()
        return [_charge(row) for row in rows]

    async def get(
        self, tenant_id: str, charge_id: str, *, for_update: bool = False
    ) -> Charge | None:
        found = await self._charges(
            select(CHARGE).where(CHARGE.c.tenant_id == tenant_id, CHARGE.c.charge_id == charge_id),
            for_update,
        )
        return found[0] if found else None

    async def get_many(
        self, tenant_id: str, charge_ids: Collection[str], *, for_update: bool = False
    ) -> list[Charge]:
        return await self._charges(
            select(CHARGE).where(
                CHARGE.c.tenant_id == tenant_id, CHARGE.c.charge_id.in_(sorted(set(charge_ids)))
            ),
            for_update,
        )

    async def of_session(
        self, tenant_id: str, session_id: str, *, for_update: bool = False
    ) -> list[Charge]:
        return await self._charges(
            select(CHARGE).where(
                CHARGE.c.tenant_id == tenant_id,
                CHARGE.c.source_kind == ChargeSourceKind.GROUP_SESSION.value,
                CHARGE.c.source_id == session_id,
            ),
            for_update,
        )

    async def of_stay(
        self,
        tenant_id: str,
        stay_id: str,
        *,
        days_from: date | None = None,
        days_through: date | None = None,
        for_update: bool = False,
    ) -> list[Charge]:
        """The stay's day charges (void ones too), within the dates when given."""
        c = CHARGE.c
        query = select(CHARGE).where(
            c.tenant_id == tenant_id,
            c.source_kind == ChargeSourceKind.STAY.value,
            c.source_id == stay_id,
        )
        if days_from is not None:
            query = query.where(c.date_of_service >= days_from)
        if days_through is not None:
            query = query.where(c.date_of_service <= days_through)
        return await self._charges(query, for_update)

    async def held_by_claim(
        self, tenant_id: str, claim_id: str, *, for_update: bool = False
    ) -> list[Charge]:
        return await self._charges(
            select(CHARGE).where(CHARGE.c.tenant_id == tenant_id, CHARGE.c.claim_id == claim_id),
            for_update,
        )

    async def needing_fix_of_member(
        self, tenant_id: str, member_id: str, *, for_update: bool = False
    ) -> list[Charge]:
        return await self._charges(
            select(CHARGE).where(
                CHARGE.c.tenant_id == tenant_id,
                CHARGE.c.member_id == member_id,
                CHARGE.c.status == ChargeStatus.NEEDS_FIX.value,
            ),
            for_update,
        )

    async def needing_code_assignment(
        self,
        tenant_id: str,
        issue_codes: Collection[str],
        *,
        member_id: str | None = None,
        provider_id: str | None = None,
        procedure_codes: Collection[str] | None = None,
        limit: int,
        for_update: bool = False,
    ) -> list[Charge]:
        """NEEDS_FIX charges with any of ``issue_codes`` (code-assignment issues), of the
        member / rendering provider / procedure codes when given; at most ``limit``."""
        c = CHARGE.c
        query = select(CHARGE).where(
            c.tenant_id == tenant_id,
            c.status == ChargeStatus.NEEDS_FIX.value,
            or_(*(c.issues.contains([{"code": code}]) for code in sorted(issue_codes))),
        )
        if member_id is not None:
            query = query.where(c.member_id == member_id)
        if provider_id is not None:
            query = query.where(c.rendering_provider_id == provider_id)
        if procedure_codes is not None:
            query = query.where(c.procedure_code.in_(sorted(procedure_codes)))
        return await self._charges(query.limit(limit), for_update)

    @staticmethod
    def _filtered(tenant_id: str, where: ChargeFilter) -> Select[Any]:
        c = CHARGE.c
        query = select(CHARGE).where(c.tenant_id == tenant_id)
        if where.member_id is not None:
            query = query.where(c.member_id == where.member_id)
        if where.session_id is not None:
            query = query.where(
                c.source_kind == ChargeSourceKind.GROUP_SESSION.value,
                c.source_id == where.session_id,
            )
        if where.stay_id is not None:
            query = query.where(
                c.source_kind == ChargeSourceKind.STAY.value, c.source_id == where.stay_id
            )
        if where.status is not None:
            query = query.where(c.status == where.status.value)
        if where.date_from is not None:
            query = query.where(c.date_of_service >= where.date_from)
        if where.date_to is not None:
            query = query.where(c.date_of_service <= where.date_to)
        return query

    async def list(
        self, tenant_id: str, where: ChargeFilter, *, limit: int, offset: int
    ) -> list[Charge]:
        c = CHARGE.c
        query = (
            self._filtered(tenant_id, where)
            .order_by(c.date_of_service.desc(), c.charge_id)
            .limit(limit)
            .offset(offset)
        )
        return [_charge(row) for row in (await self._session.execute(query)).mappings()]

    async def list_by_stay(
        self, tenant_id: str, where: ChargeFilter, *, limit: int, offset: int
    ) -> ChargesByStay:
        """The filtered day charges of a page of stays (``limit`` stays from ``offset``,
        the stay with the latest day first), each stay's charges in date order."""
        c = CHARGE.c
        day_charges = (
            self._filtered(tenant_id, where)
            .where(c.source_kind == ChargeSourceKind.STAY.value)
            .subquery()
        )
        page = (
            select(day_charges.c.source_id)
            .group_by(day_charges.c.source_id)
            .order_by(func.max(day_charges.c.date_of_service).desc(), day_charges.c.source_id)
            .limit(limit)
            .offset(offset)
        )
        stay_ids = list((await self._session.execute(page)).scalars())
        if not stay_ids:
            return {}
        query = (
            self._filtered(tenant_id, where)
            .where(c.source_kind == ChargeSourceKind.STAY.value, c.source_id.in_(stay_ids))
            .order_by(c.source_id, c.date_of_service)
        )
        grouped: ChargesByStay = {stay_id: [] for stay_id in stay_ids}
        for row in (await self._session.execute(query)).mappings():
            grouped[row["source_id"]].append(_charge(row))
        return grouped

    async def save(
        self,
        charge: Charge,
        previous_version: int | None,
        *,
        change: str | None,
        actor: str,
        reason: str | None = None,
        caused_by_event_id: str | None = None,
    ) -> None:
        """Write ``charge`` over ``previous_version`` (None: a new charge). ``change`` names
        a new version for the history; None when only bookkeeping moved (same version)."""
        await self.save_many(
            [ChargeWrite(charge, previous_version, change)],
            actor=actor,
            reason=reason,
            caused_by_event_id=caused_by_event_id,
        )

    async def save_many(
        self,
        writes: Sequence[ChargeWrite],
        *,
        actor: str,
        reason: str | None = None,
        caused_by_event_id: str | None = None,
    ) -> None:
        """``save`` for many charges in a few statements: the new ones in one multi-row
        insert, the changed ones in one ``UPDATE ... FROM (VALUES ...)`` that checks each
        row's version, their history in one insert (per ``_ROWS_PER_STATEMENT``). A month
        of a stay is some 31 day charges, and a claim's news changes all of them: a pair
        of statements per charge was most of the service's time at month end (#10).
        Raises ``ConcurrentChargeChange`` when any charge was not written as asked. A
        charge written twice in ``writes`` (a version, then the next) is written in order:
        each generation of distinct charges goes in statements of its own."""
        for generation in _generations(writes):
            await self._save_distinct(generation, actor, reason, caused_by_event_id)

    async def _save_distinct(
        self,
        writes: Sequence[ChargeWrite],
        actor: str,
        reason: str | None,
        caused_by_event_id: str | None,
    ) -> None:
        rows = [(_values(w.charge), w) for w in writes]
        new = [values for values, w in rows if w.previous_version is None]
        for chunk in _chunks(new):
            # Parameters as a list: SQLAlchemy's "insertmanyvalues" batches the rows into
            # the one compiled statement.
            inserted = await self._session.execute(
                insert(CHARGE)
                .on_conflict_do_nothing(constraint="uq_charge_tenant_charge")
                .returning(CHARGE.c.charge_id),
                list(chunk),
            )
            _all_written(chunk, inserted.scalars())
        changed = [
            (values, w.previous_version) for values, w in rows if w.previous_version is not None
        ]
        for part in _chunks(changed):
            names = tuple(part[0][0])
            arrays = _column_arrays(names, [values for values, _ in part])
            arrays["in_previous_version"] = [before for _, before in part]
            updated = await self._session.execute(_update_over_versions(names), arrays)
            _all_written([values for values, _ in part], updated.scalars())
        history = [
            {
                "tenant_id": values["tenant_id"],
                "charge_id": values["charge_id"],
                "charge_version": values["charge_version"],
                "change": w.change,
                "actor": actor,
                "reason": reason,
                "caused_by_event_id": caused_by_event_id,
                "state": _state(values),
            }
            for values, w in rows
            if w.change is not None
        ]
        for chunk in _chunks(history):
            await self._session.execute(insert(CHARGE_HISTORY), list(chunk))

    async def history(self, tenant_id: str, charge_id: str) -> Sequence[RowMapping]:
        query = (
            select(CHARGE_HISTORY)
            .where(CHARGE_HISTORY.c.tenant_id == tenant_id, CHARGE_HISTORY.c.charge_id == charge_id)
            .order_by(CHARGE_HISTORY.c.charge_version)
        )
        return (await self._session.execute(query)).mappings().all()
