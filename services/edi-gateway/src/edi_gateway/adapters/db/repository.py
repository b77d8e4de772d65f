"""Control number sequences, submitted claims, interchanges, transmissions and archived
files. Every query a caller can reach by tenant names the tenant; the batcher's queries
(which work across tenants, one group at a time) say so."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from common.outbox import OUTBOX
from edi_gateway.adapters.db.tables import (
    ARCHIVED_FILE,
    CLAIM_SUBMISSION,
    CONTROL_NUMBER_SEQUENCE,
    INTERCHANGE,
    TRANSMISSION,
)
from edi_gateway.domain.batching import BatchKey
from edi_gateway.domain.model import (
    CONTROL_NUMBER_MAX,
    ArchivedFile,
    ClaimSubmission,
    ClaimSubmissionStatus,
    ControlNumberKind,
    Interchange,
    InterchangeStatus,
    TransactionType,
    Transmission,
    UsageIndicator,
)


class ControlNumberRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def take(
        self, tenant_id: str, sender_id: str, kind: ControlNumberKind, count: int
    ) -> int:
        """Move the sequence on by ``count`` and return its new last number.

        One statement: the first allocation creates the row, every later one updates it
        (``domain.model.advance``, in SQL) under the row lock the update takes. The lock is
        held until the caller's transaction ends, so concurrent allocators (other sessions,
        other replicas) queue behind it and see its committed number; if it rolls back,
        its numbers go back to the sequence unused."""
        seq = CONTROL_NUMBER_SEQUENCE
        statement = (
            insert(seq)
            .values(tenant_id=tenant_id, sender_id=sender_id, kind=kind.value, last_value=count)
            .on_conflict_do_update(
                constraint="pk_control_number_sequence",
                set_={
                    "last_value": (seq.c.last_value + count - 1) % CONTROL_NUMBER_MAX + 1,
                    "updated_at": func.now(),
                },
            )
            .returning(seq.c.last_value)
        )
        return int((await self._session.execute(statement)).scalar_one())

    async def last(self, tenant_id: str, sender_id: str, kind: ControlNumberKind) -> int:
        """The last number taken (0 before the first), without taking one."""
        seq = CONTROL_NUMBER_SEQUENCE
        value = (
            await self._session.execute(
                select(seq.c.last_value).where(
                    seq.c.tenant_id == tenant_id,
                    seq.c.sender_id == sender_id,
                    seq.c.kind == kind.value,
                )
            )
        ).scalar_one_or_none()
        return 0 if value is None else int(value)


def _interchange(row: Any) -> Interchange:
    return Interchange(
        tenant_id=row["tenant_id"],
        interchange_id=row["interchange_id"],
        clearinghouse_id=row["clearinghouse_id"],
        sender_id=row["sender_id"],
        transaction_type=TransactionType(row["transaction_type"]),
        usage_indicator=UsageIndicator(row["usage_indicator"]),
        isa13=row["isa13"],
        gs06=row["gs06"],
        status=InterchangeStatus(row["status"]),
        created_at=row["created_at"],
        receiver_id=row["receiver_id"],
        claim_count=row["claim_count"],
        transaction_set_control_numbers=tuple(row["transaction_set_control_numbers"] or ()),
        file_id=row["file_id"],
        file_name=row["file_name"],
        file_sha256=row["file_sha256"],
        sent_at=row["sent_at"],
        validation_issues=tuple(row["validation_issues"] or ()),
        delivery_attempts=row["delivery_attempts"],
        last_delivery_error=row["last_delivery_error"],
        last_delivery_attempt_at=row["last_delivery_attempt_at"],
    )


class InterchangeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        *,
        tenant_id: str,
        interchange_id: str,
        clearinghouse_id: str,
        sender_id: str,
        transaction_type: TransactionType,
        usage_indicator: UsageIndicator,
        isa13: int,
        gs06: int,
        status: InterchangeStatus = InterchangeStatus.ALLOCATED,
        receiver_id: str | None = None,
        claim_count: int = 0,
        transaction_set_control_numbers: Sequence[int] = (),
        file_id: str | None = None,
        file_name: str | None = None,
        file_sha256: str | None = None,
        validation_issues: Sequence[str] | None = None,
    ) -> Interchange:
        row = (
            (
                await self._session.execute(
                    insert(INTERCHANGE)
                    .values(
                        tenant_id=tenant_id,
                        interchange_id=interchange_id,
                        clearinghouse_id=clearinghouse_id,
                        sender_id=sender_id,
                        transaction_type=transaction_type.value,
                        usage_indicator=usage_indicator.value,
                        isa13=isa13,
                        gs06=gs06,
                        status=status.value,
                        receiver_id=receiver_id,
                        claim_count=claim_count,
                        transaction_set_control_numbers=list(transaction_set_control_numbers),
                        file_id=file_id,
                        file_name=file_name,
                        file_sha256=file_sha256,
                        validation_issues=(
                            list(validation_issues) if validation_issues is not None else None
                        ),
                    )
                    .returning(*INTERCHANGE.c)
                )
            )
            .mappings()
            .one()
        )
        return _interchange(row)

    async def get(self, tenant_id: str, interchange_id: str) -> Interchange | None:
        row = (
            (
                await self._session.execute(
                    select(INTERCHANGE).where(
                        INTERCHANGE.c.tenant_id == tenant_id,
                        INTERCHANGE.c.interchange_id == interchange_id,
                    )
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else _interchange(row)

    async def list(
        self,
        tenant_id: str,
        *,
        clearinghouse_id: str | None = None,
        status: InterchangeStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Interchange]:
        query = select(INTERCHANGE).where(INTERCHANGE.c.tenant_id == tenant_id)
        if clearinghouse_id:
            query = query.where(INTERCHANGE.c.clearinghouse_id == clearinghouse_id)
        if status is not None:
            query = query.where(INTERCHANGE.c.status == status.value)
        query = (
            query.order_by(INTERCHANGE.c.created_at.desc(), INTERCHANGE.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [_interchange(row) for row in rows]

    async def lock_next_unsent(self, *, skip: Sequence[str] = ()) -> Interchange | None:
        """The oldest PENDING interchange of any tenant, locked until the transaction ends;
        one another replica is sending is skipped (never two deliveries at once)."""
        query = select(INTERCHANGE).where(INTERCHANGE.c.status == InterchangeStatus.PENDING.value)
        if skip:
            query = query.where(INTERCHANGE.c.interchange_id.not_in(list(skip)))
        query = query.order_by(INTERCHANGE.c.id).limit(1).with_for_update(skip_locked=True)
        row = (await self._session.execute(query)).mappings().first()
        return None if row is None else _interchange(row)

    async def mark_sent(self, tenant_id: str, interchange_id: str, sent_at: datetime) -> None:
        await self._session.execute(
            update(INTERCHANGE)
            .where(
                INTERCHANGE.c.tenant_id == tenant_id,
                INTERCHANGE.c.interchange_id == interchange_id,
                INTERCHANGE.c.status == InterchangeStatus.PENDING.value,
            )
            .values(status=InterchangeStatus.SENT.value, sent_at=sent_at)
        )

    async def record_delivery_attempt(
        self, tenant_id: str, interchange_id: str, at: datetime, error: str | None
    ) -> None:
        """One more delivery attempt, when, and its error ("CODE: message"; None when it
        succeeded)."""
        await self._session.execute(
            update(INTERCHANGE)
            .where(
                INTERCHANGE.c.tenant_id == tenant_id,
                INTERCHANGE.c.interchange_id == interchange_id,
            )
            .values(
                delivery_attempts=INTERCHANGE.c.delivery_attempts + 1,
                last_delivery_attempt_at=at,
                last_delivery_error=error,
            )
        )


async def in_outbox(session: AsyncSession, event_id: str) -> bool:
    """Whether a committed transaction wrote an event with this id to the outbox. The
    outbox refuses an id twice: an event named after the fact it states is written once,
    however often the fact is asked about."""
    query = select(OUTBOX.c.id).where(OUTBOX.c.event_id == event_id)
    return (await session.execute(query)).first() is not None


@dataclass(frozen=True)
class PendingGroup:
    key: BatchKey
    pending: int
    oldest_age_seconds: float


@dataclass(frozen=True)
class PendingClaim:
    row_id: int
    claim_id: str
    claim_version: int
    patient_control_number: str
    payload: dict[str, Any]
    correlation_id: str | None


def _submission(row: Any) -> ClaimSubmission:
    return ClaimSubmission(
        row_id=row["id"],
        tenant_id=row["tenant_id"],
        claim_id=row["claim_id"],
        claim_version=row["claim_version"],
        patient_control_number=row["patient_control_number"],
        clearinghouse_id=row["clearinghouse_id"],
        transaction_type=TransactionType(row["transaction_type"]),
        usage_indicator=(
            UsageIndicator(row["usage_indicator"]) if row["usage_indicator"] else None
        ),
        status=ClaimSubmissionStatus(row["status"]),
        received_at=row["received_at"],
        interchange_id=row["interchange_id"],
        rejection_codes=tuple(row["rejection_codes"] or ()),
        rejection_message=row["rejection_message"],
    )


class ClaimSubmissionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        *,
        tenant_id: str,
        claim_id: str,
        claim_version: int,
        patient_control_number: str,
        clearinghouse_id: str,
        transaction_type: TransactionType,
        usage_indicator: UsageIndicator | None,
        payload: dict[str, Any],
        event_id: str,
        correlation_id: str | None,
        status: ClaimSubmissionStatus = ClaimSubmissionStatus.PENDING,
        rejection_codes: Sequence[str] | None = None,
        rejection_message: str | None = None,
        traceparent: str | None = None,
    ) -> bool:
        """Store the claim version; False when it was stored already (a duplicate)."""
        statement = (
            insert(CLAIM_SUBMISSION)
            .values(
                tenant_id=tenant_id,
                claim_id=claim_id,
                claim_version=claim_version,
                patient_control_number=patient_control_number,
                clearinghouse_id=clearinghouse_id,
                transaction_type=transaction_type.value,
                usage_indicator=usage_indicator.value if usage_indicator else None,
                status=status.value,
                payload=payload,
                event_id=event_id,
                correlation_id=correlation_id,
                rejection_codes=list(rejection_codes) if rejection_codes is not None else None,
                rejection_message=rejection_message,
                traceparent=traceparent,
            )
            .on_conflict_do_nothing(constraint="uq_claim_submission_version")
            .returning(CLAIM_SUBMISSION.c.id)
        )
        return (await self._session.execute(statement)).scalar_one_or_none() is not None

    async def traceparents(
        self, tenant_id: str, claims: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], str]:
        """The stored traceparent of each (claim id, version) that has one."""
        if not claims:
            return {}
        c = CLAIM_SUBMISSION.c
        query = select(c.claim_id, c.claim_version, c.traceparent).where(
            c.tenant_id == tenant_id,
            tuple_(c.claim_id, c.claim_version).in_(list(claims)),
            c.traceparent.is_not(None),
        )
        rows = (await self._session.execute(query)).all()
        return {(str(r[0]), int(r[1])): str(r[2]) for r in rows}

    async def pending_groups(self) -> list[PendingGroup]:
        """Across tenants (the batcher's view): each group with pending claims, how many,
        and how long its oldest has waited (by the database clock, one for all replicas)."""
        c = CLAIM_SUBMISSION.c
        age = func.extract("epoch", func.now() - func.min(c.received_at))
        query = (
            select(
                c.tenant_id,
                c.clearinghouse_id,
                c.transaction_type,
                c.usage_indicator,
                func.count().label("pending"),
                age.label("age"),
            )
            .where(c.status == ClaimSubmissionStatus.PENDING.value)
            .group_by(c.tenant_id, c.clearinghouse_id, c.transaction_type, c.usage_indicator)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [
            PendingGroup(
                key=BatchKey(
                    tenant_id=row["tenant_id"],
                    clearinghouse_id=row["clearinghouse_id"],
                    transaction_type=TransactionType(row["transaction_type"]),
                    usage_indicator=UsageIndicator(row["usage_indicator"]),
                ),
                pending=int(row["pending"]),
                oldest_age_seconds=float(row["age"] or 0),
            )
            for row in rows
        ]

    async def take_pending(self, key: BatchKey, limit: int) -> list[PendingClaim]:
        """Up to ``limit`` of the group's pending claims, oldest first, locked until the
        transaction ends; claims another transaction holds are skipped."""
        c = CLAIM_SUBMISSION.c
        query = (
            select(
                c.id,
                c.claim_id,
                c.claim_version,
                c.patient_control_number,
                c.payload,
                c.correlation_id,
            )
            .where(
                c.tenant_id == key.tenant_id,
                c.clearinghouse_id == key.clearinghouse_id,
                c.transaction_type == key.transaction_type.value,
                c.usage_indicator == key.usage_indicator.value,
                c.status == ClaimSubmissionStatus.PENDING.value,
            )
            .order_by(c.received_at, c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [
            PendingClaim(
                row_id=row["id"],
                claim_id=row["claim_id"],
                claim_version=row["claim_version"],
                patient_control_number=row["patient_control_number"],
                payload=row["payload"],
                correlation_id=row["correlation_id"],
            )
            for row in rows
        ]

    async def mark_rejected(
        self, row_ids: Sequence[int], codes: Sequence[str], message: str
    ) -> None:
        await self._session.execute(
            update(CLAIM_SUBMISSION)
            .where(CLAIM_SUBMISSION.c.id.in_(list(row_ids)))
            .values(
                status=ClaimSubmissionStatus.REJECTED.value,
                rejection_codes=list(codes),
                rejection_message=message,
                updated_at=func.now(),
            )
        )

    async def mark_batched(self, row_ids: Sequence[int], interchange_id: str) -> None:
        await self._session.execute(
            update(CLAIM_SUBMISSION)
            .where(CLAIM_SUBMISSION.c.id.in_(list(row_ids)))
            .values(
                status=ClaimSubmissionStatus.BATCHED.value,
                interchange_id=interchange_id,
                updated_at=func.now(),
            )
        )

    async def mark_transmitted(self, tenant_id: str, interchange_id: str) -> None:
        await self._session.execute(
            update(CLAIM_SUBMISSION)
            .where(
                CLAIM_SUBMISSION.c.tenant_id == tenant_id,
                CLAIM_SUBMISSION.c.interchange_id == interchange_id,
            )
            .values(status=ClaimSubmissionStatus.TRANSMITTED.value, updated_at=func.now())
        )

    async def lock_version(
        self, tenant_id: str, claim_id: str, claim_version: int
    ) -> ClaimSubmission | None:
        """The stored version, locked until the transaction ends: the batcher, which takes
        pending rows with ``SKIP LOCKED``, passes it by meanwhile, and a batcher that holds
        it first is waited for (its BATCHED is then what this reads)."""
        c = CLAIM_SUBMISSION.c
        query = (
            select(CLAIM_SUBMISSION)
            .where(
                c.tenant_id == tenant_id,
                c.claim_id == claim_id,
                c.claim_version == claim_version,
            )
            .with_for_update()
        )
        row = (await self._session.execute(query)).mappings().first()
        return None if row is None else _submission(row)

    async def mark_withdrawn(self, row_id: int) -> None:
        await self._session.execute(
            update(CLAIM_SUBMISSION)
            .where(
                CLAIM_SUBMISSION.c.id == row_id,
                CLAIM_SUBMISSION.c.status == ClaimSubmissionStatus.PENDING.value,
            )
            .values(status=ClaimSubmissionStatus.WITHDRAWN.value, updated_at=func.now())
        )

    async def for_claim(self, tenant_id: str, claim_id: str) -> list[ClaimSubmission]:
        query = (
            select(CLAIM_SUBMISSION)
            .where(
                CLAIM_SUBMISSION.c.tenant_id == tenant_id, CLAIM_SUBMISSION.c.claim_id == claim_id
            )
            .order_by(CLAIM_SUBMISSION.c.claim_version, CLAIM_SUBMISSION.c.id)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [_submission(row) for row in rows]


def _transmission(row: Any) -> Transmission:
    return Transmission(
        tenant_id=row["tenant_id"],
        interchange_id=row["interchange_id"],
        clearinghouse_id=row["clearinghouse_id"],
        claim_id=row["claim_id"],
        claim_version=row["claim_version"],
        patient_control_number=row["patient_control_number"],
        isa13=row["isa13"],
        gs06=row["gs06"],
        st02=row["st02"],
        line_control_numbers=tuple(row["line_control_numbers"] or ()),
        created_at=row["created_at"],
    )


class TransmissionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_all(self, transmissions: Sequence[Transmission]) -> None:
        if not transmissions:
            return
        await self._session.execute(
            insert(TRANSMISSION),
            [
                {
                    "tenant_id": t.tenant_id,
                    "interchange_id": t.interchange_id,
                    "clearinghouse_id": t.clearinghouse_id,
                    "claim_id": t.claim_id,
                    "claim_version": t.claim_version,
                    "patient_control_number": t.patient_control_number,
                    "isa13": t.isa13,
                    "gs06": t.gs06,
                    "st02": t.st02,
                    "line_control_numbers": list(t.line_control_numbers),
                }
                for t in transmissions
            ],
        )

    async def for_interchange(self, tenant_id: str, interchange_id: str) -> list[Transmission]:
        query = (
            select(TRANSMISSION)
            .where(
                TRANSMISSION.c.tenant_id == tenant_id,
                TRANSMISSION.c.interchange_id == interchange_id,
            )
            .order_by(TRANSMISSION.c.st02, TRANSMISSION.c.id)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [_transmission(row) for row in rows]

    async def for_claim(self, tenant_id: str, claim_id: str) -> list[Transmission]:
        query = (
            select(TRANSMISSION)
            .where(TRANSMISSION.c.tenant_id == tenant_id, TRANSMISSION.c.claim_id == claim_id)
            .order_by(TRANSMISSION.c.created_at, TRANSMISSION.c.id)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [_transmission(row) for row in rows]


def _archived(row: Any, with_content: bool) -> ArchivedFile:
    return ArchivedFile(
        tenant_id=row["tenant_id"],
        file_id=row["file_id"],
        direction=row["direction"],
        clearinghouse_id=row["clearinghouse_id"],
        interchange_id=row["interchange_id"],
        file_name=row["file_name"],
        sha256=row["sha256"],
        size_bytes=row["size_bytes"],
        created_at=row["created_at"],
        content=bytes(row["content"]) if with_content else None,
    )


class ArchivedFileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        *,
        tenant_id: str,
        file_id: str,
        direction: str,
        clearinghouse_id: str,
        interchange_id: str | None,
        file_name: str,
        sha256: str,
        content: bytes,
    ) -> None:
        await self._session.execute(
            insert(ARCHIVED_FILE).values(
                tenant_id=tenant_id,
                file_id=file_id,
                direction=direction,
                clearinghouse_id=clearinghouse_id,
                interchange_id=interchange_id,
                file_name=file_name,
                sha256=sha256,
                size_bytes=len(content),
                content=content,
            )
        )

    async def get(
        self, tenant_id: str, file_id: str, *, with_content: bool = True
    ) -> ArchivedFile | None:
        columns = [c for c in ARCHIVED_FILE.c if with_content or c.name != "content"]
        row = (
            (
                await self._session.execute(
                    select(*columns).where(
                        ARCHIVED_FILE.c.tenant_id == tenant_id,
                        ARCHIVED_FILE.c.file_id == file_id,
                    )
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else _archived(row, with_content)
