"""Tables of the attendance schema (placeholder schema translated to DB_SCHEMA at runtime).

A session's roster rows hang off its ``group_session.id``; every table carries the tenant
too, so no query can reach a row without naming its tenant. ``attendance_history`` is
append-only and keyed by the subject, not by its roster row, so a participant removed by a
schedule update keeps their history."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from common.db import SERVICE_SCHEMA

_SESSION_FK = f"{SERVICE_SCHEMA}.group_session.id"


class AttendanceTable(SQLModel, registry=registry()):
    """Base of this service's tables: a metadata of its own, so that another service's
    table of the same name never collides with one of ours in a shared process."""


class GroupSessionRow(AttendanceTable, table=True):
    __tablename__ = "group_session"
    __table_args__ = (
        UniqueConstraint("tenant_id", "session_id", name="uq_group_session_tenant_session"),
        Index("ix_group_session_tenant_date", "tenant_id", "session_date"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    session_id: str = Field(sa_column=Column(String(64), nullable=False))
    facility_id: str = Field(sa_column=Column(String(64), nullable=False))
    facility_state: str | None = Field(default=None, sa_column=Column(String(2)))
    program_id: str = Field(sa_column=Column(String(64), nullable=False))
    session_date: date = Field(sa_column=Column(Date, nullable=False))
    start_time: time = Field(sa_column=Column(Time, nullable=False))
    end_time: time = Field(sa_column=Column(Time, nullable=False))
    group_type: str = Field(sa_column=Column(String(64), nullable=False))
    service_code: str = Field(sa_column=Column(String(16), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    origin: str = Field(sa_column=Column(String(16), nullable=False))
    cancel_reason: str | None = Field(default=None, sa_column=Column(Text))
    schedule_revision: int | None = Field(default=None, sa_column=Column(BigInteger))
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now())
    )
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now()),
    )


class ParticipantRow(AttendanceTable, table=True):
    __tablename__ = "participant"
    __table_args__ = (
        UniqueConstraint("session_pk", "member_id", name="uq_participant_session_member"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    session_pk: int = Field(
        sa_column=Column(Integer, ForeignKey(_SESSION_FK, ondelete="CASCADE"), nullable=False)
    )
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    member_id: str = Field(sa_column=Column(String(64), nullable=False))
    position: int = Field(sa_column=Column(SmallInteger, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))


class SupervisorRow(AttendanceTable, table=True):
    __tablename__ = "supervisor"
    __table_args__ = (
        UniqueConstraint("session_pk", "provider_id", name="uq_supervisor_session_provider"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    session_pk: int = Field(
        sa_column=Column(Integer, ForeignKey(_SESSION_FK, ondelete="CASCADE"), nullable=False)
    )
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    provider_id: str = Field(sa_column=Column(String(64), nullable=False))
    position: int = Field(sa_column=Column(SmallInteger, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))


class AttendanceHistoryRow(AttendanceTable, table=True):
    __tablename__ = "attendance_history"
    __table_args__ = (
        Index("ix_attendance_history_session", "session_pk", "id"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    session_pk: int = Field(
        sa_column=Column(Integer, ForeignKey(_SESSION_FK, ondelete="CASCADE"), nullable=False)
    )
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    subject_id: str = Field(sa_column=Column(String(64), nullable=False))
    from_status: str | None = Field(default=None, sa_column=Column(String(16)))
    to_status: str = Field(sa_column=Column(String(16), nullable=False))
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


GROUP_SESSION: Table = GroupSessionRow.__table__  # type: ignore[attr-defined]
PARTICIPANT: Table = ParticipantRow.__table__  # type: ignore[attr-defined]
SUPERVISOR: Table = SupervisorRow.__table__  # type: ignore[attr-defined]
ATTENDANCE_HISTORY: Table = AttendanceHistoryRow.__table__  # type: ignore[attr-defined]
