"""Tables of the claims schema (placeholder schema translated to DB_SCHEMA at runtime).

Projections carry the stamp of the event they came from (``source_event_time``,
``source_event_id``; stays also ``stay_version``). Addresses and a coverage's subscriber
are value objects kept as JSONB; everything a query filters on is a column."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from common.db import SERVICE_SCHEMA


class ClaimsTable(SQLModel, registry=registry()):
    """Base of the claims tables: a metadata of their own, so that another service's
    ``member`` table loaded in the same process (tests, tools) never collides with ours."""


def _stamp_time() -> Any:
    return Field(sa_column=Column(DateTime(timezone=True), nullable=False))


def _stamp_id() -> Any:
    return Field(sa_column=Column(String(128), nullable=False))


def _updated_at() -> Any:
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class MemberRow(ClaimsTable, table=True):
    __tablename__ = "member"
    __table_args__ = (
        UniqueConstraint("tenant_id", "member_id", name="uq_member_tenant_member"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    member_id: str = Field(sa_column=Column(String(64), nullable=False))
    active: bool = Field(sa_column=Column(Boolean, nullable=False))
    first_name: str = Field(sa_column=Column(String(60), nullable=False))
    last_name: str = Field(sa_column=Column(String(60), nullable=False))
    middle_name: str | None = Field(default=None, sa_column=Column(String(60)))
    birth_date: date = Field(sa_column=Column(Date, nullable=False))
    sex: str = Field(sa_column=Column(String(1), nullable=False))
    address: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    source_event_time: datetime = _stamp_time()
    source_event_id: str = _stamp_id()
    updated_at: datetime | None = _updated_at()


class MemberCoverageRow(ClaimsTable, table=True):
    """One coverage of a member; replaced with the member's projection."""

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
        Index("ix_member_coverage_payer", "tenant_id", "member_id", "payer_id", "effective_from"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    member_id: str = Field(sa_column=Column(String(64), nullable=False))
    coverage_id: str = Field(sa_column=Column(String(64), nullable=False))
    payer_id: str = Field(sa_column=Column(String(64), nullable=False))
    subscriber_id: str = Field(sa_column=Column(String(80), nullable=False))
    relationship_to_subscriber: str = Field(sa_column=Column(String(2), nullable=False))
    is_primary: bool = Field(sa_column=Column(Boolean, nullable=False))
    effective_from: date = Field(sa_column=Column(Date, nullable=False))
    effective_to: date | None = Field(default=None, sa_column=Column(Date))
    group_number: str | None = Field(default=None, sa_column=Column(String(50)))
    subscriber: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))


class ProviderRow(ClaimsTable, table=True):
    __tablename__ = "provider"
    __table_args__ = (
        UniqueConstraint("tenant_id", "provider_id", name="uq_provider_tenant_provider"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    provider_id: str = Field(sa_column=Column(String(64), nullable=False))
    npi: str = Field(sa_column=Column(String(10), nullable=False))
    first_name: str = Field(sa_column=Column(String(60), nullable=False))
    last_name: str = Field(sa_column=Column(String(60), nullable=False))
    middle_name: str | None = Field(default=None, sa_column=Column(String(60)))
    credential: str | None = Field(default=None, sa_column=Column(String(20)))
    taxonomy_code: str = Field(sa_column=Column(String(10), nullable=False))
    active: bool = Field(sa_column=Column(Boolean, nullable=False))
    source_event_time: datetime = _stamp_time()
    source_event_id: str = _stamp_id()
    updated_at: datetime | None = _updated_at()


class FacilityRow(ClaimsTable, table=True):
    __tablename__ = "facility"
    __table_args__ = (
        UniqueConstraint("tenant_id", "facility_id", name="uq_facility_tenant_facility"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    facility_id: str = Field(sa_column=Column(String(64), nullable=False))
    name: str = Field(sa_column=Column(String(60), nullable=False))
    npi: str = Field(sa_column=Column(String(10), nullable=False))
    tax_id: str = Field(sa_column=Column(String(9), nullable=False))
    address: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    time_zone: str = Field(sa_column=Column(String(64), nullable=False))
    taxonomy_code: str = Field(sa_column=Column(String(10), nullable=False))
    active: bool = Field(sa_column=Column(Boolean, nullable=False))
    source_event_time: datetime = _stamp_time()
    source_event_id: str = _stamp_id()
    updated_at: datetime | None = _updated_at()


class StayContextRow(ClaimsTable, table=True):
    """The newest stay state the stays service published; institutional claims read it."""

    __tablename__ = "stay_context"
    __table_args__ = (
        UniqueConstraint("tenant_id", "stay_id", name="uq_stay_context_tenant_stay"),
        Index("ix_stay_context_member", "tenant_id", "member_id"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    stay_id: str = Field(sa_column=Column(String(64), nullable=False))
    stay_version: int = Field(sa_column=Column(Integer, nullable=False))
    member_id: str = Field(sa_column=Column(String(64), nullable=False))
    facility_id: str = Field(sa_column=Column(String(64), nullable=False))
    program_id: str = Field(sa_column=Column(String(64), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    admit_date: date = Field(sa_column=Column(Date, nullable=False))
    admit_hour: int = Field(sa_column=Column(SmallInteger, nullable=False))
    admission_type: str = Field(sa_column=Column(String(1), nullable=False))
    admission_source: str = Field(sa_column=Column(String(1), nullable=False))
    principal_diagnosis: str = Field(sa_column=Column(String(8), nullable=False))
    admitting_diagnosis: str | None = Field(default=None, sa_column=Column(String(8)))
    other_diagnoses: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    drg: str | None = Field(default=None, sa_column=Column(String(3)))
    procedures: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    leaves: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    discharge_date: date | None = Field(default=None, sa_column=Column(Date))
    discharge_hour: int | None = Field(default=None, sa_column=Column(SmallInteger))
    patient_status: str | None = Field(default=None, sa_column=Column(String(2)))
    source_event_time: datetime = _stamp_time()
    source_event_id: str = _stamp_id()
    updated_at: datetime | None = _updated_at()


MEMBER: Table = MemberRow.__table__  # type: ignore[attr-defined]
MEMBER_COVERAGE: Table = MemberCoverageRow.__table__  # type: ignore[attr-defined]
PROVIDER: Table = ProviderRow.__table__  # type: ignore[attr-defined]
FACILITY: Table = FacilityRow.__table__  # type: ignore[attr-defined]
STAY_CONTEXT: Table = StayContextRow.__table__  # type: ignore[attr-defined]
