"""Tables of the stays schema (placeholder schema translated to DB_SCHEMA at runtime):
the stay, its leaves (cancelled ones kept), its change history (append-only), and the
members' program enrollment windows from the EHR feed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from common.db import SERVICE_SCHEMA


class StaysTable(SQLModel, registry=registry()):
    """Base of this service's tables: a metadata of its own, so that another service's
    table of the same name never collides with one of ours in a shared process."""


class StayRow(StaysTable, table=True):
    __tablename__ = "stay"
    __table_args__ = (
        UniqueConstraint("tenant_id", "stay_id", name="uq_stay_tenant_stay"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    stay_id: str = Field(sa_column=Column(String(64), nullable=False))
    member_id: str = Field(sa_column=Column(String(64), nullable=False))
    facility_id: str = Field(sa_column=Column(String(64), nullable=False))
    program_id: str = Field(sa_column=Column(String(64), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    admit_date: date = Field(sa_column=Column(Date, nullable=False))
    admit_hour: int | None = Field(default=None, sa_column=Column(SmallInteger))
    admission: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    discharge_date: date | None = Field(default=None, sa_column=Column(Date))
    discharge_hour: int | None = Field(default=None, sa_column=Column(SmallInteger))
    discharge_status: str | None = Field(default=None, sa_column=Column(String(2)))
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now()),
    )


STAY: Table = StayRow.__table__  # type: ignore[attr-defined]


class StayLeaveRow(StaysTable, table=True):
    """A leave of a stay; a cancelled one is kept (``cancelled``) so a replay is a no-op."""

    __tablename__ = "stay_leave"
    __table_args__ = (
        UniqueConstraint("tenant_id", "stay_id", "leave_id", name="uq_stay_leave"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    stay_id: str = Field(sa_column=Column(String(64), nullable=False))
    leave_id: str = Field(sa_column=Column(String(64), nullable=False))
    start_date: date = Field(sa_column=Column(Date, nullable=False))
    return_date: date | None = Field(default=None, sa_column=Column(Date))
    reason: str = Field(sa_column=Column(String(32), nullable=False))
    closed_by_discharge: bool = Field(sa_column=Column(Boolean, nullable=False))
    cancelled: bool = Field(sa_column=Column(Boolean, nullable=False))


class StayChangeRow(StaysTable, table=True):
    """One change of a stay: the history behind every stay_version (append-only: a
    trigger refuses UPDATE, DELETE and TRUNCATE)."""

    __tablename__ = "stay_change"
    __table_args__ = (
        UniqueConstraint("tenant_id", "stay_id", "stay_version", name="uq_stay_change_version"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    stay_id: str = Field(sa_column=Column(String(64), nullable=False))
    stay_version: int = Field(sa_column=Column(Integer, nullable=False))
    change: str = Field(sa_column=Column(String(16), nullable=False))
    correction_kind: str | None = Field(default=None, sa_column=Column(String(32)))
    leave_id: str | None = Field(default=None, sa_column=Column(String(64)))
    affected_from: date | None = Field(default=None, sa_column=Column(Date))
    affected_through: date | None = Field(default=None, sa_column=Column(Date))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    recorded_by: str = Field(sa_column=Column(String(200), nullable=False))
    event_id: str | None = Field(default=None, sa_column=Column(String(128)))
    note: str | None = Field(default=None, sa_column=Column(Text))
    detail: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))


class MemberSourceRow(StaysTable, table=True):
    """Which ``ehr.member.upserted`` event the member's enrollment windows came from."""

    __tablename__ = "member_source"
    __table_args__ = (
        UniqueConstraint("tenant_id", "member_id", name="uq_member_source_tenant_member"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    member_id: str = Field(sa_column=Column(String(64), nullable=False))
    source_event_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    source_event_id: str = Field(sa_column=Column(String(128), nullable=False))


class EnrollmentWindowRow(StaysTable, table=True):
    """A member's enrollment in a program, ``enrolled_to`` inclusive (None: open)."""

    __tablename__ = "enrollment_window"
    __table_args__ = ({"schema": SERVICE_SCHEMA},)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    member_id: str = Field(sa_column=Column(String(64), nullable=False))
    program_id: str = Field(sa_column=Column(String(64), nullable=False))
    enrolled_from: date = Field(sa_column=Column(Date, nullable=False))
    enrolled_to: date | None = Field(default=None, sa_column=Column(Date))


STAY_LEAVE: Table = StayLeaveRow.__table__  # type: ignore[attr-defined]
STAY_CHANGE: Table = StayChangeRow.__table__  # type: ignore[attr-defined]
MEMBER_SOURCE: Table = MemberSourceRow.__table__  # type: ignore[attr-defined]
ENROLLMENT_WINDOW: Table = EnrollmentWindowRow.__table__  # type: ignore[attr-defined]
