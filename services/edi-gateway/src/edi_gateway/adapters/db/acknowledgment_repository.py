"""Acknowledgments, their items, the acknowledgment state of interchanges and
transmissions, the hand-upload audit and the archive listing. Every query names the
tenant."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import String, and_, any_, func, literal, select, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from edi_gateway.adapters.db.acknowledgment_tables import (
    ACKNOWLEDGMENT,
    ACKNOWLEDGMENT_ITEM,
    INTERCHANGE_ACKNOWLEDGMENT,
    MANUAL_ACKNOWLEDGMENT_AUDIT,
    TRANSMISSION_ACKNOWLEDGMENT,
)
from edi_gateway.adapters.db.tables import (
    ARCHIVED_FILE,
    CLAIM_SUBMISSION,
    INTERCHANGE,
    TRANSMISSION,
)
from edi_gateway.domain.model import ArchivedFile, InterchangeStatus

_T = TypeVar("_T")


def _record(cls: type[_T], row: Any) -> _T:
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{name: row[name] for name in names if name in row})


@dataclass(frozen=True)
class AcknowledgmentRecord:
    tenant_id: str
    acknowledgment_id: str
    clearinghouse_id: str
    file_id: str
    file_name: str
    sha256: str
    size_bytes: int
    kind: str
    status: str
    source: str
    sender_id: str | None
    control_number: str | None
    error_code: str | None
    error_detail: str | None
    validation_issues: list[str] | None
    item_count: int
    unmatched_count: int
    received_at: datetime


@dataclass(frozen=True)
class AcknowledgmentItemRecord:
    acknowledgment_id: str
    clearinghouse_id: str
    position: int
    item_kind: str
    match_status: str
    outcome: str
    effect: str | None
    code: str | None
    codes: list[str]
    message: str | None
    party: str | None
    isa13: int | None
    gs06: int | None
    st02: int | None
    patient_control_number: str | None
    payer_claim_control_number: str | None
    clearinghouse_trace_number: str | None
    status_date: date | None
    interchange_id: str | None
    claims: list[dict[str, Any]]
    lines: list[dict[str, Any]]
    created_at: datetime
    matched_at: datetime | None


@dataclass(frozen=True)
class TransmissionAcknowledgment:
    interchange_id: str
    claim_id: str
    claim_version: int
    ta1_status: str | None
    ack_999_status: str | None
    ack_999_codes: list[str] | None
    claim_ack_status: str | None
    claim_ack_codes: list[str] | None
    payer_claim_control_number: str | None
    clearinghouse_trace_number: str | None
    ack_status: str | None
    updated_at: datetime


@dataclass(frozen=True)
class ClaimCandidate:
    """A transmission a 277CA's patient control number may mean, with what tells them
    apart (the claim's total charge and service dates, when its interchange was sent)."""

    interchange_id: str
    claim_id: str
    claim_version: int
    patient_control_number: str
    line_control_numbers: list[str]
    sent_at: datetime | None
    created_at: datetime
    total_charge: Decimal | None
    service_from: date | None
    service_to: date | None


@dataclass(frozen=True)
class TransmittedClaim:
    interchange_id: str
    claim_id: str
    claim_version: int
    patient_control_number: str
    st02: int


_LIVE = (InterchangeStatus.PENDING.value, InterchangeStatus.SENT.value)


class AcknowledgmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # ------------------------------------------------------------ acknowledgments

    async def claim_file(self, **values: Any) -> bool:
        """Record a new acknowledgment file; False when the tenant has one with the same
        SHA-256 (waits for a concurrent writer of the same file, then says False)."""
        statement = (
            insert(ACKNOWLEDGMENT)
            .values(item_count=0, unmatched_count=0, **values)
            .on_conflict_do_nothing(constraint="uq_acknowledgment_sha256")
            .returning(ACKNOWLEDGMENT.c.id)
        )
        return (await self._session.execute(statement)).scalar_one_or_none() is not None

    async def by_sha256(self, tenant_id: str, sha256: str) -> AcknowledgmentRecord | None:
        return await self._one(
            ACKNOWLEDGMENT.c.tenant_id == tenant_id, ACKNOWLEDGMENT.c.sha256 == sha256
        )

    async def get(self, tenant_id: str, acknowledgment_id: str) -> AcknowledgmentRecord | None:
        return await self._one(
            ACKNOWLEDGMENT.c.tenant_id == tenant_id,
            ACKNOWLEDGMENT.c.acknowledgment_id == acknowledgment_id,
        )

    async def _one(self, *where: Any) -> AcknowledgmentRecord | None:
        row = (await self._session.execute(select(ACKNOWLEDGMENT).where(*where))).mappings().first()
        return None if row is None else _record(AcknowledgmentRecord, row)

    async def finish(self, tenant_id: str, acknowledgment_id: str, **values: Any) -> None:
        await self._session.execute(
            update(ACKNOWLEDGMENT)
            .where(
                ACKNOWLEDGMENT.c.tenant_id == tenant_id,
                ACKNOWLEDGMENT.c.acknowledgment_id == acknowledgment_id,
            )
            .values(**values)
        )

    async def recount(self, tenant_id: str, acknowledgment_id: str) -> tuple[int, int]:
        c = ACKNOWLEDGMENT_ITEM.c
        row = (
            await self._session.execute(
                select(
                    func.count(),
                    func.count().filter(c.match_status == "UNMATCHED"),
                ).where(c.tenant_id == tenant_id, c.acknowledgment_id == acknowledgment_id)
            )
        ).one()
        return int(row[0]), int(row[1])

    async def search(
        self,
        tenant_id: str,
        *,
        kind: str | None = None,
        status: str | None = None,
        unmatched: bool | None = None,
        clearinghouse_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AcknowledgmentRecord]:
        c = ACKNOWLEDGMENT.c
        query = select(ACKNOWLEDGMENT).where(c.tenant_id == tenant_id)
        if kind:
            query = query.where(c.kind == kind)
        if status:
            query = query.where(c.status == status)
        if clearinghouse_id:
            query = query.where(c.clearinghouse_id == clearinghouse_id)
        if unmatched is True:
            query = query.where(c.unmatched_count > 0)
        elif unmatched is False:
            query = query.where(c.unmatched_count == 0)
        query = query.order_by(c.received_at.desc(), c.id.desc()).limit(limit).offset(offset)
        rows = (await self._session.execute(query)).mappings().all()
        return [_record(AcknowledgmentRecord, row) for row in rows]

    # ------------------------------------------------------------ items

    async def save_item(self, tenant_id: str, **values: Any) -> None:
        """Insert the item, or replace what an earlier (unmatched) try recorded."""
        statement = insert(ACKNOWLEDGMENT_ITEM).values(tenant_id=tenant_id, **values)
        statement = statement.on_conflict_do_update(
            constraint="uq_acknowledgment_item",
            set_={k: statement.excluded[k] for k in values if k not in ("position",)},
        )
        await self._session.execute(statement)

    async def items(self, tenant_id: str, acknowledgment_id: str) -> list[AcknowledgmentItemRecord]:
        c = ACKNOWLEDGMENT_ITEM.c
        query = (
            select(ACKNOWLEDGMENT_ITEM)
            .where(c.tenant_id == tenant_id, c.acknowledgment_id == acknowledgment_id)
            .order_by(c.position)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [_record(AcknowledgmentItemRecord, row) for row in rows]

    async def unmatched_items(
        self, tenant_id: str, *, limit: int = 100, offset: int = 0
    ) -> list[AcknowledgmentItemRecord]:
        c = ACKNOWLEDGMENT_ITEM.c
        query = (
            select(ACKNOWLEDGMENT_ITEM)
            .where(c.tenant_id == tenant_id, c.match_status == "UNMATCHED")
            .order_by(c.id)
            .limit(limit)
            .offset(offset)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [_record(AcknowledgmentItemRecord, row) for row in rows]

    async def acknowledgments_with_unmatched_items(
        self, limit: int, after: tuple[str, str] | None = None
    ) -> list[tuple[str, str]]:
        """Across tenants (the poller's retry): (tenant, acknowledgment id) of those with
        unmatched items, in that order, the ``limit`` next after ``after``."""
        c = ACKNOWLEDGMENT_ITEM.c
        query = select(c.tenant_id, c.acknowledgment_id).where(c.match_status == "UNMATCHED")
        if after is not None:
            query = query.where(tuple_(c.tenant_id, c.acknowledgment_id) > after)
        query = (
            query.group_by(c.tenant_id, c.acknowledgment_id)
            .order_by(c.tenant_id, c.acknowledgment_id)
            .limit(limit)
        )
        return [(r[0], r[1]) for r in (await self._session.execute(query)).all()]

    async def matching_watermark(self) -> tuple[int, int]:
        """Across tenants: the newest interchange's row id and how many are sent. An item
        that matched nothing can match only after one of the two moved."""
        c = INTERCHANGE.c
        row = (
            await self._session.execute(
                select(
                    func.coalesce(func.max(c.id), 0),
                    func.count().filter(c.status == InterchangeStatus.SENT.value),
                )
            )
        ).one()
        return int(row[0]), int(row[1])

    async def items_for_claim(
        self, tenant_id: str, claim_id: str
    ) -> list[AcknowledgmentItemRecord]:
        """Every acknowledgment item about the claim, in arrival order."""
        c = ACKNOWLEDGMENT_ITEM.c
        query = (
            select(ACKNOWLEDGMENT_ITEM)
            .where(c.tenant_id == tenant_id, c.claims.contains([{"claim_id": claim_id}]))
            .order_by(c.id)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [_record(AcknowledgmentItemRecord, row) for row in rows]

    # ------------------------------------------------------------ matching

    async def interchange_by(
        self,
        tenant_id: str,
        clearinghouse_id: str,
        *,
        isa13: int | None = None,
        gs06: int | None = None,
    ) -> str | None:
        """The newest live interchange with that ISA13 (TA1) or GS06 (999)."""
        c = INTERCHANGE.c
        query = select(c.interchange_id).where(
            c.tenant_id == tenant_id,
            c.clearinghouse_id == clearinghouse_id,
            c.status.in_(_LIVE),
        )
        if isa13 is not None:
            query = query.where(c.isa13 == isa13)
        if gs06 is not None:
            query = query.where(c.gs06 == gs06)
        query = query.order_by(c.created_at.desc(), c.id.desc()).limit(1)
        value = (await self._session.execute(query)).scalar_one_or_none()
        return None if value is None else str(value)

    async def transmitted_claims(
        self, tenant_id: str, interchange_id: str, st02: int | None = None
    ) -> list[TransmittedClaim]:
        c = TRANSMISSION.c
        query = select(
            c.interchange_id, c.claim_id, c.claim_version, c.patient_control_number, c.st02
        ).where(c.tenant_id == tenant_id, c.interchange_id == interchange_id)
        if st02 is not None:
            query = query.where(c.st02 == st02)
        rows = (await self._session.execute(query.order_by(c.id))).mappings().all()
        return [_record(TransmittedClaim, row) for row in rows]

    async def claim_candidates_of(
        self, tenant_id: str, clearinghouse_id: str, patient_control_numbers: Sequence[str]
    ) -> dict[str, list[ClaimCandidate]]:
        """The live transmissions of each patient control number, in the order they were
        recorded: one statement for a whole 277CA (#10)."""
        wanted = sorted(set(patient_control_numbers))
        if not wanted:
            return {}
        t, i, s = TRANSMISSION.c, INTERCHANGE.c, CLAIM_SUBMISSION.c
        query = (
            select(
                t.interchange_id,
                t.claim_id,
                t.claim_version,
                t.patient_control_number,
                t.line_control_numbers,
                t.created_at,
                i.sent_at,
                s.payload,
            )
            .join(
                INTERCHANGE,
                and_(i.tenant_id == t.tenant_id, i.interchange_id == t.interchange_id),
            )
            .outerjoin(
                CLAIM_SUBMISSION,
                and_(
                    s.tenant_id == t.tenant_id,
                    s.claim_id == t.claim_id,
                    s.claim_version == t.claim_version,
                ),
            )
            .where(
                t.tenant_id == tenant_id,
                t.clearinghouse_id == clearinghouse_id,
                t.patient_control_number == wanted[0]
                if len(wanted) == 1
                else t.patient_control_number == any_(literal(wanted, ARRAY(String))),
                i.status.in_(_LIVE),
            )
            .order_by(t.id)
        )
        found: dict[str, list[ClaimCandidate]] = {}
        for row in (await self._session.execute(query)).mappings():
            found.setdefault(row["patient_control_number"], []).append(_candidate(row))
        return found

    # ------------------------------------------------------------ state

    async def record_interchange(self, tenant_id: str, interchange_id: str, **values: Any) -> None:
        statement = insert(INTERCHANGE_ACKNOWLEDGMENT).values(
            tenant_id=tenant_id, interchange_id=interchange_id, **values
        )
        await self._session.execute(
            statement.on_conflict_do_update(
                constraint="pk_interchange_acknowledgment",
                set_={**{k: statement.excluded[k] for k in values}, "updated_at": func.now()},
            )
        )

    async def interchange_state(self, tenant_id: str, interchange_id: str) -> dict[str, Any] | None:
        c = INTERCHANGE_ACKNOWLEDGMENT.c
        row = (
            (
                await self._session.execute(
                    select(INTERCHANGE_ACKNOWLEDGMENT).where(
                        c.tenant_id == tenant_id, c.interchange_id == interchange_id
                    )
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else dict(row)

    async def lock_transmission(
        self, tenant_id: str, interchange_id: str, claim_id: str, claim_version: int
    ) -> TransmissionAcknowledgment:
        """The transmission's acknowledgment state, locked until the transaction ends (two
        acknowledgments of one claim are applied one after the other): created when it has
        none yet, locked and read in the one statement (an upsert that returns the row)."""
        key = {
            "tenant_id": tenant_id,
            "interchange_id": interchange_id,
            "claim_id": claim_id,
            "claim_version": claim_version,
        }
        statement = insert(TRANSMISSION_ACKNOWLEDGMENT).values(**key)
        upsert = statement.on_conflict_do_update(
            constraint="pk_transmission_acknowledgment",
            set_={"claim_version": statement.excluded.claim_version},
        ).returning(*TRANSMISSION_ACKNOWLEDGMENT.c)
        row = (await self._session.execute(upsert)).mappings().one()
        return _record(TransmissionAcknowledgment, row)

    async def update_transmission(
        self, tenant_id: str, state: TransmissionAcknowledgment, **values: Any
    ) -> None:
        c = TRANSMISSION_ACKNOWLEDGMENT.c
        await self._session.execute(
            update(TRANSMISSION_ACKNOWLEDGMENT)
            .where(
                c.tenant_id == tenant_id,
                c.interchange_id == state.interchange_id,
                c.claim_id == state.claim_id,
                c.claim_version == state.claim_version,
            )
            .values(updated_at=func.now(), **values)
        )

    async def for_claim(self, tenant_id: str, claim_id: str) -> list[TransmissionAcknowledgment]:
        c = TRANSMISSION_ACKNOWLEDGMENT.c
        rows = (
            (
                await self._session.execute(
                    select(TRANSMISSION_ACKNOWLEDGMENT).where(
                        c.tenant_id == tenant_id, c.claim_id == claim_id
                    )
                )
            )
            .mappings()
            .all()
        )
        return [_record(TransmissionAcknowledgment, row) for row in rows]

    # ------------------------------------------------------------ audit and archive

    async def audit_manual_upload(self, **values: Any) -> None:
        await self._session.execute(insert(MANUAL_ACKNOWLEDGMENT_AUDIT).values(**values))

    async def manual_uploads(self, tenant_id: str) -> list[dict[str, Any]]:
        c = MANUAL_ACKNOWLEDGMENT_AUDIT.c
        query = select(MANUAL_ACKNOWLEDGMENT_AUDIT).where(c.tenant_id == tenant_id).order_by(c.id)
        return [dict(r) for r in (await self._session.execute(query)).mappings().all()]

    async def link_file_to_interchange(
        self, tenant_id: str, file_id: str, interchange_id: str
    ) -> None:
        c = ARCHIVED_FILE.c
        await self._session.execute(
            update(ARCHIVED_FILE)
            .where(c.tenant_id == tenant_id, c.file_id == file_id, c.interchange_id.is_(None))
            .values(interchange_id=interchange_id)
        )

    async def list_files(
        self,
        tenant_id: str,
        *,
        direction: str | None = None,
        clearinghouse_id: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[ArchivedFile]:
        c = ARCHIVED_FILE.c
        query = select(*(col for col in ARCHIVED_FILE.c if col.name != "content")).where(
            c.tenant_id == tenant_id
        )
        if direction:
            query = query.where(c.direction == direction)
        if clearinghouse_id:
            query = query.where(c.clearinghouse_id == clearinghouse_id)
        if since is not None:
            query = query.where(c.created_at >= since)
        query = query.order_by(c.created_at.desc(), c.id.desc()).limit(limit).offset(offset)
        rows = (await self._session.execute(query)).mappings().all()
        return [
            ArchivedFile(
                tenant_id=row["tenant_id"],
                file_id=row["file_id"],
                direction=row["direction"],
                clearinghouse_id=row["clearinghouse_id"],
                interchange_id=row["interchange_id"],
                file_name=row["file_name"],
                sha256=row["sha256"],
                size_bytes=row["size_bytes"],
                created_at=row["created_at"],
            )
            for row in rows
        ]


def _candidate(row: Any) -> ClaimCandidate:
    payload: dict[str, Any] = row["payload"] or {}
    days: list[date] = []
    for line in payload.get("service_lines") or []:
        if line.get("date_of_service"):
            days.append(date.fromisoformat(line["date_of_service"]))
    period = (payload.get("institutional") or {}).get("statement_period")
    if period:
        days += [date.fromisoformat(period["start"]), date.fromisoformat(period["end"])]
    total = payload.get("total_charge")
    return ClaimCandidate(
        interchange_id=row["interchange_id"],
        claim_id=row["claim_id"],
        claim_version=row["claim_version"],
        patient_control_number=row["patient_control_number"],
        line_control_numbers=list(row["line_control_numbers"] or ()),
        sent_at=row["sent_at"],
        created_at=row["created_at"],
        total_charge=Decimal(str(total)) if total is not None else None,
        service_from=min(days) if days else None,
        service_to=max(days) if days else None,
    )
