"""Tables of the edi-gateway schema (placeholder schema translated to DB_SCHEMA at runtime)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from common.db import SERVICE_SCHEMA


class GatewayTable(SQLModel, registry=registry()):
    """Base of the gateway tables: a metadata of their own (no collision with another
    service's tables loaded in the same process)."""


class ControlNumberSequenceRow(GatewayTable, table=True):
    """The last control number taken per tenant, sender (ISA06) and kind (ISA, GS, ST)."""

    __tablename__ = "control_number_sequence"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "sender_id", "kind", name="pk_control_number_sequence"),
        CheckConstraint("kind IN ('ISA', 'GS', 'ST')", name="ck_control_number_kind"),
        CheckConstraint("last_value BETWEEN 0 AND 999999999", name="ck_control_number_last_value"),
        {"schema": SERVICE_SCHEMA},
    )

    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    sender_id: str = Field(sa_column=Column(String(15), nullable=False))
    kind: str = Field(sa_column=Column(String(3), nullable=False))
    last_value: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class InterchangeRow(GatewayTable, table=True):
    """An interchange: its control numbers, its claims' count, its file and where it is
    (ALLOCATED, PENDING until delivered, SENT; DISCARDED when the validator refused it)."""

    __tablename__ = "interchange"
    __table_args__ = (
        UniqueConstraint("tenant_id", "interchange_id", name="uq_interchange_tenant_id"),
        # Acknowledgments map back by ISA13 (TA1) and GS06 (999). Not unique: numbers wrap
        # after 999 999 999 interchanges; the newest with the number is the one meant.
        Index("ix_interchange_isa13", "tenant_id", "sender_id", "isa13"),
        Index("ix_interchange_gs06", "tenant_id", "sender_id", "gs06"),
        Index("ix_interchange_listing", "tenant_id", "created_at"),
        Index("ix_interchange_unsent", "id", postgresql_where=text("status = 'PENDING'")),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    interchange_id: str = Field(sa_column=Column(String(64), nullable=False))
    clearinghouse_id: str = Field(sa_column=Column(String(64), nullable=False))
    sender_id: str = Field(sa_column=Column(String(15), nullable=False))
    transaction_type: str = Field(sa_column=Column(String(4), nullable=False))
    usage_indicator: str = Field(sa_column=Column(String(1), nullable=False))
    isa13: int = Field(sa_column=Column(BigInteger, nullable=False))
    gs06: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    receiver_id: str | None = Field(default=None, sa_column=Column(String(15), nullable=True))
    claim_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    transaction_set_control_numbers: list[int] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(BigInteger), nullable=False, server_default="{}"),
    )
    file_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    file_name: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    file_sha256: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    sent_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    # Why the validator refused a DISCARDED interchange (codes and texts, no PHI).
    validation_issues: list[str] | None = Field(
        default=None, sa_column=Column(JSONB, nullable=True)
    )
    # Delivery attempts so far, the last one's time and its error ("CODE: message").
    delivery_attempts: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    last_delivery_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_delivery_attempt_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class InterchangeDeliveryRow(GatewayTable, table=True):
    """Where an interchange's recorded delivery is (UPLOADING, UPLOADED, RENAMED), written
    in transactions of its own, outside the interchange's row lock, so that it survives a
    crash (``service_layer.delivery``)."""

    __tablename__ = "interchange_delivery"
    __table_args__ = (
        UniqueConstraint("tenant_id", "interchange_id", name="uq_interchange_delivery"),
        CheckConstraint(
            "state IN ('UPLOADING', 'UPLOADED', 'RENAMED')", name="ck_interchange_delivery_state"
        ),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    interchange_id: str = Field(sa_column=Column(String(64), nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False))
    file_name: str = Field(sa_column=Column(String(200), nullable=False))
    temporary_name: str = Field(sa_column=Column(String(220), nullable=False))
    size_bytes: int = Field(sa_column=Column(Integer, nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    uploads: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class ClaimSubmissionRow(GatewayTable, table=True):
    """A claim version as submitted (the whole message, PHI included, as JSONB), waiting
    for its batch, batched, transmitted, rejected or withdrawn. A version is stored once:
    one asked back before it arrived is stored WITHDRAWN with the request as its payload,
    and the submission, when it comes, finds it held."""

    __tablename__ = "claim_submission"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "claim_id", "claim_version", name="uq_claim_submission_version"
        ),
        Index(
            "ix_claim_submission_pending",
            "tenant_id",
            "clearinghouse_id",
            "transaction_type",
            "usage_indicator",
            "received_at",
            postgresql_where=text("status = 'PENDING'"),
        ),
        Index("ix_claim_submission_interchange", "interchange_id"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    claim_id: str = Field(sa_column=Column(String(64), nullable=False))
    claim_version: int = Field(sa_column=Column(Integer, nullable=False))
    patient_control_number: str = Field(sa_column=Column(String(20), nullable=False))
    clearinghouse_id: str = Field(sa_column=Column(String(64), nullable=False))
    transaction_type: str = Field(sa_column=Column(String(4), nullable=False))
    # None only for a claim refused on arrival (its clearinghouse is not configured) or
    # withdrawn before it arrived.
    usage_indicator: str | None = Field(default=None, sa_column=Column(String(1), nullable=True))
    # The W3C traceparent of the event that brought it (migration 0007): background jobs
    # continue the claim's trace from it.
    traceparent: str | None = Field(default=None, sa_column=Column(String(55), nullable=True))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    event_id: str = Field(sa_column=Column(String(128), nullable=False))
    correlation_id: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    received_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    interchange_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    rejection_codes: list[str] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    rejection_message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class TransmissionRow(GatewayTable, table=True):
    """A claim's place in an interchange (ISA13 / GS06 / ST02 / CLM01 / 6R numbers), so
    that TA1, 999 and 277CA acknowledgments map back to it."""

    __tablename__ = "transmission"
    __table_args__ = (
        UniqueConstraint(
            "interchange_id", "claim_id", "claim_version", name="uq_transmission_claim"
        ),
        Index("ix_transmission_claim", "tenant_id", "claim_id"),
        Index("ix_transmission_pcn", "tenant_id", "patient_control_number"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    interchange_id: str = Field(sa_column=Column(String(64), nullable=False))
    clearinghouse_id: str = Field(sa_column=Column(String(64), nullable=False))
    claim_id: str = Field(sa_column=Column(String(64), nullable=False))
    claim_version: int = Field(sa_column=Column(Integer, nullable=False))
    patient_control_number: str = Field(sa_column=Column(String(20), nullable=False))
    isa13: int = Field(sa_column=Column(BigInteger, nullable=False))
    gs06: int = Field(sa_column=Column(BigInteger, nullable=False))
    st02: int = Field(sa_column=Column(BigInteger, nullable=False))
    line_control_numbers: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class ArchivedFileRow(GatewayTable, table=True):
    """Every file that left, byte for byte, with its hash: the API serves it even after
    the clearinghouse folder was cleaned."""

    __tablename__ = "archived_file"
    __table_args__ = (
        UniqueConstraint("tenant_id", "file_id", name="uq_archived_file_id"),
        CheckConstraint("direction IN ('OUTBOUND', 'INBOUND')", name="ck_archived_file_direction"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    file_id: str = Field(sa_column=Column(String(64), nullable=False))
    direction: str = Field(sa_column=Column(String(8), nullable=False))
    clearinghouse_id: str = Field(sa_column=Column(String(64), nullable=False))
    interchange_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    file_name: str = Field(sa_column=Column(String(200), nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    size_bytes: int = Field(sa_column=Column(Integer, nullable=False))
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


CONTROL_NUMBER_SEQUENCE: Table = ControlNumberSequenceRow.__table__  # type: ignore[attr-defined]
INTERCHANGE: Table = InterchangeRow.__table__  # type: ignore[attr-defined]
CLAIM_SUBMISSION: Table = ClaimSubmissionRow.__table__  # type: ignore[attr-defined]
TRANSMISSION: Table = TransmissionRow.__table__  # type: ignore[attr-defined]
ARCHIVED_FILE: Table = ArchivedFileRow.__table__  # type: ignore[attr-defined]
INTERCHANGE_DELIVERY: Table = InterchangeDeliveryRow.__table__  # type: ignore[attr-defined]
