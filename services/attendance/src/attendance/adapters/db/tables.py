"""Tables of the attendance schema (placeholder schema translated to DB_SCHEMA at runtime).

A session's roster rows hang off its ``group_session.id``; every table carries the tenant
too, so no query can reach a row without naming its tenant. ``attendance_history`` is
append-only and keyed by the subject, not by its roster row, so a participant removed by a
schedule update keeps their history.

``attendance_override`` is the append-only audit of forced changes: the code only inserts
into it, and a trigger (migration 0002) refuses UPDATE, DELETE and TRUNCATE.

``member_coverage``, ``facility`` hold what the EHR feed says (no PHI: payer ids and
dates, state and time zone); ``session_claim`` and ``session_charge`` what the charges and
claims services say about a session's charges."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY
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
    locked: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    close_sequence: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    closure: str | None = Field(default=None, sa_column=Column(String(16)))
    closed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    closed_by: str | None = Field(default=None, sa_column=Column(String(200)))
    closed_billable_statuses: list[str] | None = Field(
        default=None, sa_column=Column(ARRAY(String(16)))
    )
    closed_billable_count: int | None = Field(default=None, sa_column=Column(Integer))
    closed_band_name: str | None = Field(default=None, sa_column=Column(String(40)))
    closed_band_rate: Decimal | None = Field(default=None, sa_column=Column(Numeric(9, 2)))
    acknowledged_warnings: list[str] | None = Field(
        default=None, sa_column=Column(ARRAY(String(64)))
    )
    # The version the auto-close sweep last found past its end but blocked: it looks
    # again only once something changed.
    auto_close_checked_version: int | None = Field(default=None, sa_column=Column(Integer))
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


class AttendanceOverrideRow(AttendanceTable, table=True):
    __tablename__ = "attendance_override"
    __table_args__ = (
        Index("ix_attendance_override_session", "tenant_id", "session_id", "id"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    session_id: str = Field(sa_column=Column(String(64), nullable=False))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    subject_id: str = Field(sa_column=Column(String(64), nullable=False))
    from_status: str = Field(sa_column=Column(String(16), nullable=False))
    to_status: str = Field(sa_column=Column(String(16), nullable=False))
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    reopened: bool = Field(sa_column=Column(Boolean, nullable=False))
    close_sequence: int = Field(sa_column=Column(Integer, nullable=False))


class MemberSourceRow(AttendanceTable, table=True):
    """Which ``ehr.member.upserted`` event the member's coverage periods came from."""

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


class MemberCoverageRow(AttendanceTable, table=True):
    __tablename__ = "member_coverage"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "member_id", "coverage_id", name="uq_member_coverage_member_coverage"
        ),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    member_id: str = Field(sa_column=Column(String(64), nullable=False))
    coverage_id: str = Field(sa_column=Column(String(64), nullable=False))
    payer_id: str = Field(sa_column=Column(String(64), nullable=False))
    is_primary: bool = Field(sa_column=Column(Boolean, nullable=False))
    effective_from: date = Field(sa_column=Column(Date, nullable=False))
    effective_to: date | None = Field(default=None, sa_column=Column(Date))


class FacilityRow(AttendanceTable, table=True):
    __tablename__ = "facility"
    __table_args__ = (
        UniqueConstraint("tenant_id", "facility_id", name="uq_facility_tenant_facility"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    facility_id: str = Field(sa_column=Column(String(64), nullable=False))
    state: str | None = Field(default=None, sa_column=Column(String(2)))
    time_zone: str = Field(sa_column=Column(String(64), nullable=False))
    source_event_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    source_event_id: str = Field(sa_column=Column(String(128), nullable=False))


class SessionClaimRow(AttendanceTable, table=True):
    """A claim holding charges of a session, at the newest status reported."""

    __tablename__ = "session_claim"
    __table_args__ = (
        UniqueConstraint("tenant_id", "session_id", "claim_id", name="uq_session_claim"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    session_id: str = Field(sa_column=Column(String(64), nullable=False))
    claim_id: str = Field(sa_column=Column(String(64), nullable=False))
    claim_version: int = Field(sa_column=Column(Integer, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    previous_status: str | None = Field(default=None, sa_column=Column(String(16)))
    source_event_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    source_event_id: str = Field(sa_column=Column(String(128), nullable=False))


class SessionChargeRow(AttendanceTable, table=True):
    """A charge built for a session (from ``charges.group_session.charged``), so a claim
    naming only charges still finds its session."""

    __tablename__ = "session_charge"
    __table_args__ = (
        UniqueConstraint("tenant_id", "charge_id", name="uq_session_charge_tenant_charge"),
        Index("ix_session_charge_session", "tenant_id", "session_id"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    session_id: str = Field(sa_column=Column(String(64), nullable=False))
    charge_id: str = Field(sa_column=Column(String(64), nullable=False))


GROUP_SESSION: Table = GroupSessionRow.__table__  # type: ignore[attr-defined]
PARTICIPANT: Table = ParticipantRow.__table__  # type: ignore[attr-defined]
SUPERVISOR: Table = SupervisorRow.__table__  # type: ignore[attr-defined]
ATTENDANCE_HISTORY: Table = AttendanceHistoryRow.__table__  # type: ignore[attr-defined]
ATTENDANCE_OVERRIDE: Table = AttendanceOverrideRow.__table__  # type: ignore[attr-defined]
MEMBER_SOURCE: Table = MemberSourceRow.__table__  # type: ignore[attr-defined]
MEMBER_COVERAGE: Table = MemberCoverageRow.__table__  # type: ignore[attr-defined]
FACILITY: Table = FacilityRow.__table__  # type: ignore[attr-defined]
SESSION_CLAIM: Table = SessionClaimRow.__table__  # type: ignore[attr-defined]
SESSION_CHARGE: Table = SessionChargeRow.__table__  # type: ignore[attr-defined]
