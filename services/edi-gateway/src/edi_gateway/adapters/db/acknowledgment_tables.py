"""Tables of the acknowledgments (issue #5), in the gateway's schema: every inbound
acknowledgment file and each item in it (what it said, what it mapped to), the latest
acknowledgment state per interchange and per transmission, and the append-only audit of
hand uploads. Kept apart from ``tables.py`` so that the transmissions' own rows stay as
the batcher writes them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from common.db import SERVICE_SCHEMA
from edi_gateway.adapters.db.tables import GatewayTable


def _now() -> Any:
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class AcknowledgmentRow(GatewayTable, table=True):
    """An inbound acknowledgment file (TA1, 999, 277CA, or one nobody could read), once per
    tenant and SHA-256: the same file again is the same row."""

    __tablename__ = "acknowledgment"
    __table_args__ = (
        UniqueConstraint("tenant_id", "acknowledgment_id", name="uq_acknowledgment_id"),
        UniqueConstraint("tenant_id", "sha256", name="uq_acknowledgment_sha256"),
        Index("ix_acknowledgment_listing", "tenant_id", "received_at"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    acknowledgment_id: str = Field(sa_column=Column(String(64), nullable=False))
    clearinghouse_id: str = Field(sa_column=Column(String(64), nullable=False))
    file_id: str = Field(sa_column=Column(String(64), nullable=False))
    file_name: str = Field(sa_column=Column(String(200), nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    size_bytes: int = Field(sa_column=Column(Integer, nullable=False))
    kind: str = Field(sa_column=Column(String(8), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    source: str = Field(sa_column=Column(String(8), nullable=False))
    sender_id: str | None = Field(default=None, sa_column=Column(String(15), nullable=True))
    control_number: str | None = Field(default=None, sa_column=Column(String(9), nullable=True))
    error_code: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    error_detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    validation_issues: list[str] | None = Field(
        default=None, sa_column=Column(JSONB, nullable=True)
    )
    item_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    unmatched_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    received_at: datetime | None = _now()


class AcknowledgmentItemRow(GatewayTable, table=True):
    """One thing an acknowledgment said (a TA1, a 999 group or transaction set, a 277CA
    claim) and what it mapped to; UNMATCHED ones are kept and listed, never dropped."""

    __tablename__ = "acknowledgment_item"
    __table_args__ = (
        UniqueConstraint("acknowledgment_id", "position", name="uq_acknowledgment_item"),
        Index(
            "ix_acknowledgment_item_unmatched",
            "tenant_id",
            "id",
            postgresql_where=text("match_status = 'UNMATCHED'"),
        ),
        Index("ix_acknowledgment_item_interchange", "tenant_id", "interchange_id"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    acknowledgment_id: str = Field(sa_column=Column(String(64), nullable=False))
    clearinghouse_id: str = Field(sa_column=Column(String(64), nullable=False))
    position: int = Field(sa_column=Column(Integer, nullable=False))
    item_kind: str = Field(sa_column=Column(String(16), nullable=False))
    match_status: str = Field(sa_column=Column(String(16), nullable=False))
    outcome: str = Field(sa_column=Column(String(16), nullable=False))
    # ANNOUNCED, RECORDED or REJECTION_STANDS; None on items applied before 0005.
    effect: str | None = Field(default=None, sa_column=Column(String(24), nullable=True))
    code: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    codes: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    party: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    isa13: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    gs06: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    st02: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    patient_control_number: str | None = Field(
        default=None, sa_column=Column(String(50), nullable=True)
    )
    payer_claim_control_number: str | None = Field(
        default=None, sa_column=Column(String(50), nullable=True)
    )
    clearinghouse_trace_number: str | None = Field(
        default=None, sa_column=Column(String(50), nullable=True)
    )
    status_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    interchange_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    claims: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    lines: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime | None = _now()
    matched_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class InterchangeAcknowledgmentRow(GatewayTable, table=True):
    """The latest TA1 and 999 (AK9) word on one of our interchanges."""

    __tablename__ = "interchange_acknowledgment"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "interchange_id", name="pk_interchange_acknowledgment"),
        {"schema": SERVICE_SCHEMA},
    )

    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    interchange_id: str = Field(sa_column=Column(String(64), nullable=False))
    ta1_status: str | None = Field(default=None, sa_column=Column(String(1), nullable=True))
    ta1_note_code: str | None = Field(default=None, sa_column=Column(String(3), nullable=True))
    ack_999_status: str | None = Field(default=None, sa_column=Column(String(1), nullable=True))
    ack_999_codes: list[str] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    updated_at: datetime | None = _now()


class TransmissionAcknowledgmentRow(GatewayTable, table=True):
    """Where one transmission (a claim version in an interchange) stands by its
    acknowledgments: the TA1, its set's 999, the 277CAs, and the outcome (a rejection by
    any party wins over an acceptance, whatever the order they arrived in)."""

    __tablename__ = "transmission_acknowledgment"
    __table_args__ = (
        PrimaryKeyConstraint(
            "tenant_id",
            "interchange_id",
            "claim_id",
            "claim_version",
            name="pk_transmission_acknowledgment",
        ),
        Index("ix_transmission_acknowledgment_claim", "tenant_id", "claim_id"),
        {"schema": SERVICE_SCHEMA},
    )

    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    interchange_id: str = Field(sa_column=Column(String(64), nullable=False))
    claim_id: str = Field(sa_column=Column(String(64), nullable=False))
    claim_version: int = Field(sa_column=Column(Integer, nullable=False))
    ta1_status: str | None = Field(default=None, sa_column=Column(String(1), nullable=True))
    ack_999_status: str | None = Field(default=None, sa_column=Column(String(1), nullable=True))
    ack_999_codes: list[str] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    claim_ack_status: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    claim_ack_codes: list[str] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    payer_claim_control_number: str | None = Field(
        default=None, sa_column=Column(String(50), nullable=True)
    )
    clearinghouse_trace_number: str | None = Field(
        default=None, sa_column=Column(String(50), nullable=True)
    )
    ack_status: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    updated_at: datetime | None = _now()


class ManualAcknowledgmentAuditRow(GatewayTable, table=True):
    """Who uploaded which acknowledgment by hand, when and why. Append-only: a trigger
    refuses updates and deletes."""

    __tablename__ = "manual_acknowledgment_audit"
    __table_args__ = (
        Index("ix_manual_acknowledgment_audit", "tenant_id", "occurred_at"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    subject: str = Field(sa_column=Column(String(200), nullable=False))
    occurred_at: datetime | None = _now()
    clearinghouse_id: str = Field(sa_column=Column(String(64), nullable=False))
    acknowledgment_id: str = Field(sa_column=Column(String(64), nullable=False))
    file_id: str = Field(sa_column=Column(String(64), nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    duplicate: bool = Field(sa_column=Column(Boolean, nullable=False))


ACKNOWLEDGMENT: Table = AcknowledgmentRow.__table__  # type: ignore[attr-defined]
ACKNOWLEDGMENT_ITEM: Table = AcknowledgmentItemRow.__table__  # type: ignore[attr-defined]
INTERCHANGE_ACKNOWLEDGMENT: Table = InterchangeAcknowledgmentRow.__table__  # type: ignore[attr-defined]
TRANSMISSION_ACKNOWLEDGMENT: Table = TransmissionAcknowledgmentRow.__table__  # type: ignore[attr-defined]
MANUAL_ACKNOWLEDGMENT_AUDIT: Table = ManualAcknowledgmentAuditRow.__table__  # type: ignore[attr-defined]
