"""Tables of the charges schema (placeholder schema translated to DB_SCHEMA at runtime).

Projections carry the stamp (``source_event_time``, ``source_event_id``) of the event they
came from; see ``domain.projections.SourceStamp``."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    String,
    Table,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from common.db import SERVICE_SCHEMA


class ChargesTable(SQLModel, registry=registry()):
    """Base of the charges tables: a metadata of their own, so that another service's
    ``member`` table loaded in the same process (tests, tools) never collides with ours."""


class MemberRow(ChargesTable, table=True):
    __tablename__ = "member"
    __table_args__ = (
        UniqueConstraint("tenant_id", "member_id", name="uq_member_tenant_member"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    member_id: str = Field(sa_column=Column(String(64), nullable=False))
    active: bool = Field(sa_column=Column(Boolean, nullable=False))
    source_event_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    source_event_id: str = Field(sa_column=Column(String(128), nullable=False))
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class MemberCoverageRow(ChargesTable, table=True):
    """One coverage period of a member; replaced with the member's projection."""

    __tablename__ = "member_coverage"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "member_id", "coverage_id", name="uq_member_coverage_tenant_member_cov"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "member_id"],
            [f"{SERVICE_SCHEMA}.member.tenant_id", f"{SERVICE_SCHEMA}.member.member_id"],
            name="fk_member_coverage_member",
            ondelete="CASCADE",
        ),
        CheckConstraint(
            "effective_to IS NULL OR effective_to >= effective_from",
            name="ck_member_coverage_dates",
        ),
        # "Which primary coverage is in force on this date" reads this index only.
        Index(
            "ix_member_coverage_in_force",
            "tenant_id",
            "member_id",
            "is_primary",
            "effective_from",
        ),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    member_id: str = Field(sa_column=Column(String(64), nullable=False))
    coverage_id: str = Field(sa_column=Column(String(64), nullable=False))
    payer_id: str = Field(sa_column=Column(String(64), nullable=False))
    relationship_to_subscriber: str = Field(sa_column=Column(String(2), nullable=False))
    is_primary: bool = Field(sa_column=Column(Boolean, nullable=False))
    effective_from: date = Field(sa_column=Column(Date, nullable=False))
    effective_to: date | None = Field(default=None, sa_column=Column(Date, nullable=True))


class ProviderRow(ChargesTable, table=True):
    __tablename__ = "provider"
    __table_args__ = (
        UniqueConstraint("tenant_id", "provider_id", name="uq_provider_tenant_provider"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    provider_id: str = Field(sa_column=Column(String(64), nullable=False))
    npi: str = Field(sa_column=Column(String(10), nullable=False))
    active: bool = Field(sa_column=Column(Boolean, nullable=False))
    source_event_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    source_event_id: str = Field(sa_column=Column(String(128), nullable=False))
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class FacilityRow(ChargesTable, table=True):
    __tablename__ = "facility"
    __table_args__ = (
        UniqueConstraint("tenant_id", "facility_id", name="uq_facility_tenant_facility"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    facility_id: str = Field(sa_column=Column(String(64), nullable=False))
    state: str = Field(sa_column=Column(String(2), nullable=False))
    time_zone: str = Field(sa_column=Column(String(64), nullable=False))
    source_event_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    source_event_id: str = Field(sa_column=Column(String(128), nullable=False))
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


MEMBER: Table = MemberRow.__table__  # type: ignore[attr-defined]
MEMBER_COVERAGE: Table = MemberCoverageRow.__table__  # type: ignore[attr-defined]
PROVIDER: Table = ProviderRow.__table__  # type: ignore[attr-defined]
FACILITY: Table = FacilityRow.__table__  # type: ignore[attr-defined]
