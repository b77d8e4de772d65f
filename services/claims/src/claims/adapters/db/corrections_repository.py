"""Acknowledgments received and operators' overrides: both only ever inserted (the audit
table refuses updates and deletes by trigger). Every query names the tenant."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import RowMapping, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from claims.adapters.db.tables import CLAIM_ACKNOWLEDGMENT, CLAIM_OVERRIDE_AUDIT
from claims.domain.claims import ClaimStatus
from claims.domain.corrections import (
    Acknowledgment,
    AcknowledgmentEffect,
    OverrideAction,
    PayerReference,
)


@dataclasses.dataclass(frozen=True)
class AcknowledgmentRow:
    claim_version: int
    outcome: str
    stage: str
    party: str | None
    codes: list[str]
    message: str | None
    payer_claim_control_number: str | None
    clearinghouse_trace_number: str | None
    status_date: date | None
    acknowledgment_file_id: str | None
    lines: list[dict[str, Any]]
    effect: str
    event_id: str
    acknowledged_at: datetime
    received_at: datetime


@dataclasses.dataclass(frozen=True)
class OverrideRow:
    action: str
    actor: str
    reason: str
    from_status: str
    to_status: str
    from_version: int
    to_version: int
    details: dict[str, Any]
    recorded_at: datetime


@dataclasses.dataclass(frozen=True)
class Override:
    """One override as the audit log keeps it."""

    claim_id: str
    action: OverrideAction
    actor: str
    reason: str
    from_status: ClaimStatus
    to_status: ClaimStatus
    from_version: int
    to_version: int
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def _row(cls: type[Any], row: RowMapping) -> Any:
    return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls)})


class CorrectionsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_acknowledgment(
        self, tenant_id: str, ack: Acknowledgment, effect: AcknowledgmentEffect
    ) -> bool:
        """False when this event was recorded before (the same acknowledgment twice)."""
        statement = (
            insert(CLAIM_ACKNOWLEDGMENT)
            .values(
                tenant_id=tenant_id,
                claim_id=ack.claim_id,
                claim_version=ack.claim_version,
                outcome=ack.outcome.value,
                stage=ack.stage,
                party=ack.party,
                codes=list(ack.codes),
                message=ack.message,
                payer_claim_control_number=ack.payer_claim_control_number,
                clearinghouse_trace_number=ack.clearinghouse_trace_number,
                status_date=ack.status_date,
                acknowledgment_file_id=ack.acknowledgment_file_id,
                lines=[dict(line) for line in ack.lines],
                effect=effect.value,
                event_id=ack.event_id,
                acknowledged_at=ack.acknowledged_at,
            )
            .on_conflict_do_nothing(constraint="uq_claim_acknowledgment_event")
            .returning(CLAIM_ACKNOWLEDGMENT.c.id)
        )
        return (await self._session.execute(statement)).first() is not None

    async def acknowledgments(self, tenant_id: str, claim_id: str) -> list[AcknowledgmentRow]:
        rows = (
            (
                await self._session.execute(
                    select(CLAIM_ACKNOWLEDGMENT)
                    .where(
                        CLAIM_ACKNOWLEDGMENT.c.tenant_id == tenant_id,
                        CLAIM_ACKNOWLEDGMENT.c.claim_id == claim_id,
                    )
                    .order_by(CLAIM_ACKNOWLEDGMENT.c.id)
                )
            )
            .mappings()
            .all()
        )
        return [_row(AcknowledgmentRow, row) for row in rows]

    async def payer_references(self, tenant_id: str, claim_id: str) -> list[PayerReference]:
        """The payer claim control numbers (REF*1K) the claim's versions were given."""
        rows = await self._session.execute(
            select(
                CLAIM_ACKNOWLEDGMENT.c.claim_version,
                CLAIM_ACKNOWLEDGMENT.c.party,
                CLAIM_ACKNOWLEDGMENT.c.payer_claim_control_number,
            )
            .where(
                CLAIM_ACKNOWLEDGMENT.c.tenant_id == tenant_id,
                CLAIM_ACKNOWLEDGMENT.c.claim_id == claim_id,
                CLAIM_ACKNOWLEDGMENT.c.payer_claim_control_number.is_not(None),
            )
            .order_by(CLAIM_ACKNOWLEDGMENT.c.id)
        )
        return [PayerReference(row[0], row[1], row[2]) for row in rows]

    async def add_override(self, tenant_id: str, override: Override) -> None:
        await self._session.execute(
            insert(CLAIM_OVERRIDE_AUDIT).values(
                tenant_id=tenant_id,
                claim_id=override.claim_id,
                action=override.action.value,
                actor=override.actor[:128],
                reason=override.reason,
                from_status=override.from_status.value,
                to_status=override.to_status.value,
                from_version=override.from_version,
                to_version=override.to_version,
                details=dict(override.details),
            )
        )

    async def overrides(self, tenant_id: str, claim_id: str) -> list[OverrideRow]:
        rows = (
            (
                await self._session.execute(
                    select(CLAIM_OVERRIDE_AUDIT)
                    .where(
                        CLAIM_OVERRIDE_AUDIT.c.tenant_id == tenant_id,
                        CLAIM_OVERRIDE_AUDIT.c.claim_id == claim_id,
                    )
                    .order_by(CLAIM_OVERRIDE_AUDIT.c.id)
                )
            )
            .mappings()
            .all()
        )
        return [_row(OverrideRow, row) for row in rows]
