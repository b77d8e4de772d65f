"""Tables of the edi-gateway schema (placeholder schema translated to DB_SCHEMA at runtime)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    func,
)
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
    """An interchange as allocated; rendering and transmission fill in its file later."""

    __tablename__ = "interchange"
    __table_args__ = (
        UniqueConstraint("tenant_id", "interchange_id", name="uq_interchange_tenant_id"),
        # Acknowledgments map back by ISA13 (TA1) and GS06 (999). Not unique: numbers wrap
        # after 999 999 999 interchanges; the newest with the number is the one meant.
        Index("ix_interchange_isa13", "tenant_id", "sender_id", "isa13"),
        Index("ix_interchange_gs06", "tenant_id", "sender_id", "gs06"),
        Index("ix_interchange_listing", "tenant_id", "created_at"),
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


CONTROL_NUMBER_SEQUENCE: Table = ControlNumberSequenceRow.__table__  # type: ignore[attr-defined]
INTERCHANGE: Table = InterchangeRow.__table__  # type: ignore[attr-defined]
