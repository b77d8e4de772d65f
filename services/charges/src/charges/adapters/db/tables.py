"""Tables of the charges schema (placeholder schema translated to DB_SCHEMA at runtime).

Projections carry the stamp (``source_event_time``, ``source_event_id``) of the event they
came from; see ``domain.projections.SourceStamp``. Charges carry ``charge_version`` (the
optimistic version every change bumps); ``charge_history`` keeps every version, append-only;
``group_session`` keeps the last close priced and the last reopen applied per session;
``stay`` keeps the newest stay version seen and how far its day charges are written;
``billing_code_group`` (with its codes), ``code_assignment`` and the append-only
``billing_code_group_audit`` keep the billing code groups of seed 004."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
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


class GroupSessionRow(ChargesTable, table=True):
    __tablename__ = "group_session"
    __table_args__ = (
        UniqueConstraint("tenant_id", "session_id", name="uq_group_session_tenant_session"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    session_id: str = Field(sa_column=Column(String(64), nullable=False))
    closed_sequence: int = Field(sa_column=Column(Integer, nullable=False))
    reopened_sequence: int = Field(sa_column=Column(Integer, nullable=False))
    #: The ``data`` of the last ``attendance.group_session.closed`` priced (None before one).
    closed_event: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSONB, nullable=True)
    )
    closed_event_id: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class StayRow(ChargesTable, table=True):
    """What charges keeps of the newest version of a stay (its dates and leaves; no
    diagnosis) and how far its day charges are written: every stay day through
    ``written_through`` has its charge; ``next_due_at`` is when the next day completes
    (None: no day comes by time alone)."""

    __tablename__ = "stay"
    __table_args__ = (
        UniqueConstraint("tenant_id", "stay_id", name="uq_stay_tenant_stay"),
        CheckConstraint("stay_version >= 1", name="ck_stay_version"),
        Index("ix_stay_next_due_at", "next_due_at"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    stay_id: str = Field(sa_column=Column(String(64), nullable=False))
    stay_version: int = Field(sa_column=Column(Integer, nullable=False))
    member_id: str = Field(sa_column=Column(String(64), nullable=False))
    facility_id: str = Field(sa_column=Column(String(64), nullable=False))
    program_id: str = Field(sa_column=Column(String(64), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    admit_date: date = Field(sa_column=Column(Date, nullable=False))
    discharge_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    #: [{leave_id, start_date, return_date, reason}], ordered by start_date.
    leaves: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    source_event_id: str = Field(sa_column=Column(String(128), nullable=False))
    written_through: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    next_due_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class ChargeRow(ChargesTable, table=True):
    """A charge's current version: a group participant's (``source_kind`` GROUP_SESSION,
    with ``group_context``) or a stay day's (STAY, ``source_id`` the stay and
    ``source_sequence`` the stay version its content was written from)."""

    __tablename__ = "charge"
    __table_args__ = (
        UniqueConstraint("tenant_id", "charge_id", name="uq_charge_tenant_charge"),
        CheckConstraint("charge_version >= 1", name="ck_charge_version"),
        Index("ix_charge_source", "tenant_id", "source_kind", "source_id"),
        Index("ix_charge_member", "tenant_id", "member_id", "status"),
        Index("ix_charge_status_date", "tenant_id", "status", "date_of_service"),
        Index("ix_charge_claim", "tenant_id", "claim_id"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    charge_id: str = Field(sa_column=Column(String(64), nullable=False))
    charge_version: int = Field(sa_column=Column(Integer, nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    filing_type: str = Field(sa_column=Column(String(16), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    issues: list[dict[str, str]] = Field(sa_column=Column(JSONB, nullable=False))
    member_id: str = Field(sa_column=Column(String(64), nullable=False))
    program_id: str = Field(sa_column=Column(String(64), nullable=False))
    facility_id: str = Field(sa_column=Column(String(64), nullable=False))
    payer_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    coverage_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    date_of_service: date = Field(sa_column=Column(Date, nullable=False))
    procedure_code: str | None = Field(default=None, sa_column=Column(String(5), nullable=True))
    revenue_code: str | None = Field(default=None, sa_column=Column(String(4), nullable=True))
    unit_basis: str = Field(sa_column=Column(String(2), nullable=False))
    covered: bool = Field(sa_column=Column(Boolean, nullable=False))
    modifiers: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    units: Decimal = Field(sa_column=Column(Numeric(9, 3), nullable=False))
    rate: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    amount: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    rendering_provider_id: str | None = Field(
        default=None, sa_column=Column(String(64), nullable=True)
    )
    place_of_service: str | None = Field(default=None, sa_column=Column(String(2), nullable=True))
    source_kind: str = Field(sa_column=Column(String(16), nullable=False))
    source_id: str = Field(sa_column=Column(String(64), nullable=False))
    source_sequence: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    group_context: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSONB, nullable=True)
    )
    override_payer_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    override_coverage_id: str | None = Field(
        default=None, sa_column=Column(String(64), nullable=True)
    )
    override_rate: Decimal | None = Field(
        default=None, sa_column=Column(Numeric(12, 2), nullable=True)
    )
    override_reason: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    claim_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    claim_status: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    claim_marks: dict[str, list[int]] = Field(sa_column=Column(JSONB, nullable=False))
    void_reason: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    void_cause: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class ChargeHistoryRow(ChargesTable, table=True):
    """Every version of every charge, with who or what made it and why. Append-only."""

    __tablename__ = "charge_history"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "charge_id", "charge_version", name="uq_charge_history_version"
        ),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    charge_id: str = Field(sa_column=Column(String(64), nullable=False))
    charge_version: int = Field(sa_column=Column(Integer, nullable=False))
    change: str = Field(sa_column=Column(String(16), nullable=False))
    actor: str = Field(sa_column=Column(String(128), nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    caused_by_event_id: str | None = Field(
        default=None, sa_column=Column(String(128), nullable=True)
    )
    state: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    recorded_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class BillingCodeGroupRow(ChargesTable, table=True):
    """A billing code group (seed 004). Deleted groups are kept (``deleted_at``): their
    id stays on the assignments made from them and their name is free again."""

    __tablename__ = "billing_code_group"
    __table_args__ = (
        UniqueConstraint("tenant_id", "group_id", name="uq_billing_code_group_tenant_group"),
        # One live group per name per tenant, case and spacing aside (name_key).
        Index(
            "uq_billing_code_group_name",
            "tenant_id",
            "name_key",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        CheckConstraint("group_version >= 1", name="ck_billing_code_group_version"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    group_id: str = Field(sa_column=Column(String(64), nullable=False))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    name_key: str = Field(sa_column=Column(String(100), nullable=False))
    active: bool = Field(sa_column=Column(Boolean, nullable=False))
    is_default: bool = Field(sa_column=Column(Boolean, nullable=False))
    default_since: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    group_version: int = Field(sa_column=Column(Integer, nullable=False))
    created_by: str = Field(sa_column=Column(String(128), nullable=False))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    updated_by: str = Field(sa_column=Column(String(128), nullable=False))
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    deleted_by: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    deleted_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class BillingCodeGroupCodeRow(ChargesTable, table=True):
    """A code a group holds."""

    __tablename__ = "billing_code_group_code"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "group_id", "code", name="uq_billing_code_group_code_group_code"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "group_id"],
            [
                f"{SERVICE_SCHEMA}.billing_code_group.tenant_id",
                f"{SERVICE_SCHEMA}.billing_code_group.group_id",
            ],
            name="fk_billing_code_group_code_group",
        ),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    group_id: str = Field(sa_column=Column(String(64), nullable=False))
    code: str = Field(sa_column=Column(String(5), nullable=False))
    added_by: str = Field(sa_column=Column(String(128), nullable=False))
    added_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class CodeAssignmentRow(ChargesTable, table=True):
    """A code assigned to a client (member) or a staff member (provider) from
    ``effective_from`` through ``effective_through`` (inclusive; NULL: open-ended), with
    who assigned it and when, and who ended it and when. Never deleted: undone only by
    ending it. ``group_id`` is the group it was assigned from (provenance only).

    One row per period: repeating an assignment with the same dates hits
    ``uq_code_assignment_period`` and writes nothing. An assignment ended before its first
    day keeps ``effective_through = effective_from - 1``: never in force."""

    __tablename__ = "code_assignment"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id",
            "assignee_kind",
            "assignee_id",
            "code",
            "effective_from",
            "effective_through",
            name="uq_code_assignment_period",
            postgresql_nulls_not_distinct=True,
        ),
        CheckConstraint(
            "effective_through IS NULL OR effective_through >= effective_from - 1",
            name="ck_code_assignment_dates",
        ),
        CheckConstraint("assignee_kind IN ('CLIENT', 'STAFF')", name="ck_code_assignment_kind"),
        Index("ix_code_assignment_group", "tenant_id", "group_id"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    assignee_kind: str = Field(sa_column=Column(String(8), nullable=False))
    assignee_id: str = Field(sa_column=Column(String(64), nullable=False))
    code: str = Field(sa_column=Column(String(5), nullable=False))
    effective_from: date = Field(sa_column=Column(Date, nullable=False))
    effective_through: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    group_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    assigned_by: str = Field(sa_column=Column(String(128), nullable=False))
    assigned_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    ended_by: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    ended_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class BillingCodeGroupAuditRow(ChargesTable, table=True):
    """Every change to a group and every assign / end action, with who, when and what
    (counts, dates, codes; ids, no PHI). Append-only."""

    __tablename__ = "billing_code_group_audit"
    __table_args__ = (
        Index("ix_billing_code_group_audit_group", "tenant_id", "group_id"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    group_id: str = Field(sa_column=Column(String(64), nullable=False))
    action: str = Field(sa_column=Column(String(32), nullable=False))
    actor: str = Field(sa_column=Column(String(128), nullable=False))
    details: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    recorded_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


MEMBER: Table = MemberRow.__table__  # type: ignore[attr-defined]
MEMBER_COVERAGE: Table = MemberCoverageRow.__table__  # type: ignore[attr-defined]
PROVIDER: Table = ProviderRow.__table__  # type: ignore[attr-defined]
FACILITY: Table = FacilityRow.__table__  # type: ignore[attr-defined]
GROUP_SESSION: Table = GroupSessionRow.__table__  # type: ignore[attr-defined]
STAY: Table = StayRow.__table__  # type: ignore[attr-defined]
CHARGE: Table = ChargeRow.__table__  # type: ignore[attr-defined]
CHARGE_HISTORY: Table = ChargeHistoryRow.__table__  # type: ignore[attr-defined]
BILLING_CODE_GROUP: Table = BillingCodeGroupRow.__table__  # type: ignore[attr-defined]
BILLING_CODE_GROUP_CODE: Table = BillingCodeGroupCodeRow.__table__  # type: ignore[attr-defined]
CODE_ASSIGNMENT: Table = CodeAssignmentRow.__table__  # type: ignore[attr-defined]
BILLING_CODE_GROUP_AUDIT: Table = BillingCodeGroupAuditRow.__table__  # type: ignore[attr-defined]
