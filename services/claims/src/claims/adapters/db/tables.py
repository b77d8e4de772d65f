"""Tables of the claims schema (placeholder schema translated to DB_SCHEMA at runtime).

Projections carry the stamp of the event they came from (``source_event_time``,
``source_event_id``; stays also ``stay_version``). Addresses and a coverage's subscriber
are value objects kept as JSONB; everything a query filters on is a column."""

from __future__ import annotations

from collections.abc import Sequence
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
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    any_,
    func,
    literal,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import registry
from sqlalchemy.sql.elements import ColumnElement
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
    diagnoses: list[str] = Field(
        default_factory=list,
        sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    )
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


class MemberProgramEnrollmentRow(ClaimsTable, table=True):
    """A window of the member's enrollment in a program; replaced with the member."""

    __tablename__ = "member_program_enrollment"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "member_id"],
            [f"{SERVICE_SCHEMA}.member.tenant_id", f"{SERVICE_SCHEMA}.member.member_id"],
            name="fk_member_program_enrollment_member",
            ondelete="CASCADE",
        ),
        Index("ix_member_program_enrollment", "tenant_id", "member_id", "program_id"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    member_id: str = Field(sa_column=Column(String(64), nullable=False))
    program_id: str = Field(sa_column=Column(String(64), nullable=False))
    enrolled_from: date = Field(sa_column=Column(Date, nullable=False))
    enrolled_to: date | None = Field(default=None, sa_column=Column(Date))


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


# --------------------------------------------------------------------------- claims


def _id() -> Any:
    return Field(default=None, primary_key=True)


def _tenant() -> Any:
    return Field(sa_column=Column(String(64), nullable=False))


def _text(length: int, nullable: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_column=Column(String(length)))
    return Field(sa_column=Column(String(length), nullable=False))


def _money() -> Any:
    return Field(sa_column=Column(Numeric(12, 2), nullable=False))


def _created_at() -> Any:
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class ChargeRow(ClaimsTable, table=True):
    """The newest version of each charge the charges service recorded."""

    __tablename__ = "charge"
    __table_args__ = (
        UniqueConstraint("tenant_id", "charge_id", name="uq_charge_tenant_charge"),
        Index("ix_charge_member", "tenant_id", "member_id", "date_of_service"),
        Index("ix_charge_provider", "tenant_id", "rendering_provider_id"),
        Index("ix_charge_source", "tenant_id", "source_id", "date_of_service"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = _id()
    tenant_id: str = _tenant()
    charge_id: str = _text(64)
    charge_version: int = Field(sa_column=Column(Integer, nullable=False))
    status: str = _text(16)
    kind: str = _text(16)
    filing_type: str = _text(16)
    member_id: str = _text(64)
    program_id: str = _text(64)
    facility_id: str = _text(64)
    payer_id: str | None = _text(64, nullable=True)
    coverage_id: str | None = _text(64, nullable=True)
    date_of_service: date = Field(sa_column=Column(Date, nullable=False))
    procedure_code: str | None = _text(5, nullable=True)
    modifiers: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    revenue_code: str | None = _text(4, nullable=True)
    units: Decimal = Field(sa_column=Column(Numeric(12, 3), nullable=False))
    unit_basis: str = _text(2)
    rate: Decimal = _money()
    amount: Decimal = _money()
    rendering_provider_id: str | None = _text(64, nullable=True)
    place_of_service: str | None = _text(2, nullable=True)
    session_id: str | None = _text(64, nullable=True)
    group_context: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    covered: bool = Field(
        default=True,
        sa_column=Column(Boolean, nullable=False, server_default=text("true")),
    )
    source_kind: str | None = _text(16, nullable=True)
    source_id: str | None = _text(64, nullable=True)
    # A day charge's stay version (its source.sequence): the stay it was written from.
    stay_version: int | None = Field(default=None, sa_column=Column(Integer))
    issue_codes: list[str] = Field(
        default_factory=list,
        sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    )
    # After a void of the claim that billed it: that claim, and the version it billed
    # (no automatic build bills the charge until it changes or the claim is rebuilt).
    held_after_reverse_of: str | None = _text(64, nullable=True)
    held_at_version: int | None = Field(default=None, sa_column=Column(Integer))
    source_event_id: str = _stamp_id()
    updated_at: datetime | None = _updated_at()


class PatientControlNumberSequenceRow(ClaimsTable, table=True):
    """The tenant's CLM01 counter: only ever incremented, so a number is never reused."""

    __tablename__ = "patient_control_number_sequence"
    __table_args__ = ({"schema": SERVICE_SCHEMA},)

    tenant_id: str = Field(sa_column=Column(String(64), primary_key=True))
    last_value: int = Field(sa_column=Column(BigInteger, nullable=False))


class ClaimRow(ClaimsTable, table=True):
    """A claim's header: its key, patient control number, status and current version."""

    __tablename__ = "claim"
    __table_args__ = (
        UniqueConstraint("tenant_id", "claim_id", name="uq_claim_tenant_claim"),
        UniqueConstraint("tenant_id", "patient_control_number", name="uq_claim_tenant_pcn"),
        CheckConstraint("period_to >= period_from", name="ck_claim_period"),
        Index(
            "ix_claim_key",
            "tenant_id",
            "member_id",
            "payer_id",
            "billing_provider_npi",
            "period_from",
            "status",
        ),
        Index("ix_claim_stay", "tenant_id", "stay_id", "cycle_from"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = _id()
    tenant_id: str = _tenant()
    claim_id: str = _text(64)
    patient_control_number: str = _text(20)
    transaction_type: str = _text(4)
    member_id: str = _text(64)
    payer_id: str = _text(64)
    billing_provider_npi: str = _text(10)
    period_from: date = Field(sa_column=Column(Date, nullable=False))
    period_to: date = Field(sa_column=Column(Date, nullable=False))
    status: str = _text(16)
    version: int = Field(sa_column=Column(Integer, nullable=False))
    total_charge: Decimal = _money()
    line_count: int = Field(sa_column=Column(Integer, nullable=False))
    stale_reason: str | None = Field(default=None, sa_column=Column(Text))
    # Institutional (837I) cycle claims: the stay, the cycle's stay days, the frequency
    # digit, the operator's context edits; and the mark a submitted claim gets when a stay
    # event lands on it after it left (reverse and rebuild, #5).
    stay_id: str | None = _text(64, nullable=True)
    cycle_from: date | None = Field(default=None, sa_column=Column(Date))
    cycle_to: date | None = Field(default=None, sa_column=Column(Date))
    frequency_code: str | None = _text(1, nullable=True)
    institutional_edits: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    reversal_needed: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, server_default=text("false")),
    )
    # After a void (or a rejection): its charges and days were let go for a fresh claim,
    # and the claim built for them (#5).
    released: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, server_default=text("false")),
    )
    superseded_by: str | None = _text(64, nullable=True)
    # The submitted version asked back from the gateway (it went STALE before it was
    # sent), until the gateway answers (migration 0009).
    withdrawal_requested_version: int | None = Field(default=None, sa_column=Column(Integer))
    created_at: datetime | None = _created_at()
    updated_at: datetime | None = _updated_at()


class ClaimChargeRow(ClaimsTable, table=True):
    """Which claim holds a charge now (a charge is on one claim at a time)."""

    __tablename__ = "claim_charge"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "charge_id", name="pk_claim_charge"),
        Index("ix_claim_charge_claim", "tenant_id", "claim_id"),
        {"schema": SERVICE_SCHEMA},
    )

    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    charge_id: str = Field(sa_column=Column(String(64), nullable=False))
    claim_id: str = _text(64)


class ClaimVersionRow(ClaimsTable, table=True):
    """One build of a claim: what it printed (parties, diagnoses) and how it scrubbed.
    Written once, never updated."""

    __tablename__ = "claim_version"
    __table_args__ = (
        UniqueConstraint("tenant_id", "claim_id", "version", name="uq_claim_version"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = _id()
    tenant_id: str = _tenant()
    claim_id: str = _text(64)
    version: int = Field(sa_column=Column(Integer, nullable=False))
    scrubbed_status: str = _text(16)
    reason: str = _text(40)
    content: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    fingerprint: str = _text(64)
    total_charge: Decimal = _money()
    # CLM05-3 and REF*F8 when the version corrects one sent before (7 replacement, 8
    # void); null on an original, whose frequency is in its content (837I) or is 1.
    frequency_code: str | None = _text(1, nullable=True)
    original_reference: str | None = _text(50, nullable=True)
    built_at: datetime | None = _created_at()


class ClaimLineRow(ClaimsTable, table=True):
    __tablename__ = "claim_line"
    __table_args__ = (
        UniqueConstraint("tenant_id", "claim_id", "version", "line_number", name="uq_claim_line"),
        UniqueConstraint("tenant_id", "line_control_number", name="uq_claim_line_control"),
        Index("ix_claim_line_session", "tenant_id", "session_id"),
        Index("ix_claim_line_claim", "tenant_id", "claim_id", "version"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = _id()
    tenant_id: str = _tenant()
    claim_id: str = _text(64)
    version: int = Field(sa_column=Column(Integer, nullable=False))
    line_number: int = Field(sa_column=Column(SmallInteger, nullable=False))
    line_control_number: str = _text(30)
    charge_id: str = _text(64)
    charge_version: int = Field(sa_column=Column(Integer, nullable=False))
    session_id: str | None = _text(64, nullable=True)
    procedure_code: str | None = _text(5, nullable=True)
    modifiers: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    units: Decimal = Field(sa_column=Column(Numeric(12, 3), nullable=False))
    unit_basis: str = _text(2)
    amount: Decimal = _money()
    date_of_service: date = Field(sa_column=Column(Date, nullable=False))
    place_of_service: str | None = _text(2, nullable=True)
    diagnosis_pointers: list[int] = Field(sa_column=Column(JSONB, nullable=False))
    rendering_provider: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))


class ClaimInstitutionalLineRow(ClaimsTable, table=True):
    """An SV2 line of one institutional claim version (a roll-up bills many charges)."""

    __tablename__ = "claim_institutional_line"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "claim_id", "version", "line_number", name="uq_claim_institutional_line"
        ),
        UniqueConstraint(
            "tenant_id", "line_control_number", name="uq_claim_institutional_line_control"
        ),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = _id()
    tenant_id: str = _tenant()
    claim_id: str = _text(64)
    version: int = Field(sa_column=Column(Integer, nullable=False))
    line_number: int = Field(sa_column=Column(SmallInteger, nullable=False))
    line_control_number: str = _text(30)
    kind: str = _text(16)
    revenue_code: str = _text(4)
    procedure_code: str | None = _text(5, nullable=True)
    modifiers: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    amount: Decimal = _money()
    unit_basis: str = _text(2)
    units: Decimal = Field(sa_column=Column(Numeric(12, 3), nullable=False))
    service_from: date = Field(sa_column=Column(Date, nullable=False))
    service_to: date = Field(sa_column=Column(Date, nullable=False))
    charge_ids: list[str] = Field(sa_column=Column(JSONB, nullable=False))


class StayChargingRow(ClaimsTable, table=True):
    """How far the charges service has brought a stay's day charges
    (``charges.stay.charged.v1``): the newest stay version it applied, and the day charge
    versions it wrote that this service did not hold yet (``[{charge_id, charge_version,
    date_of_service}]``). An automatic build waits while its cycle's days are behind (#10)."""

    __tablename__ = "stay_charging"
    __table_args__ = (
        UniqueConstraint("tenant_id", "stay_id", name="uq_stay_charging_tenant_stay"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = _id()
    tenant_id: str = _tenant()
    stay_id: str = _text(64)
    stay_version: int = Field(sa_column=Column(Integer, nullable=False))
    awaited: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    )
    updated_at: datetime | None = _updated_at()


class StayBillingRow(ClaimsTable, table=True):
    """The claims service's own record of a stay's billing: the operator's billing-period
    override and explicit cycles, and when its next open cycle closes (the sweep's index)."""

    __tablename__ = "stay_billing"
    __table_args__ = (
        UniqueConstraint("tenant_id", "stay_id", name="uq_stay_billing_tenant_stay"),
        Index("ix_stay_billing_closes_on", "closes_on"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = _id()
    tenant_id: str = _tenant()
    stay_id: str = _text(64)
    member_id: str = _text(64)
    billing_period_override: str | None = _text(8, nullable=True)
    explicit_cycles: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    )
    closes_on: date | None = Field(default=None, sa_column=Column(Date))
    time_zone: str = _text(64)
    updated_at: datetime | None = _updated_at()


class ReferenceTableRow(ClaimsTable, table=True):
    """A refreshed reference table (revenue codes, DRG master), shared by every tenant and
    replica; without a row the packaged file is in force."""

    __tablename__ = "reference_table"
    __table_args__ = ({"schema": SERVICE_SCHEMA},)

    name: str = Field(sa_column=Column(String(32), primary_key=True))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    source: str = _text(200)
    row_count: int = Field(sa_column=Column(Integer, nullable=False))
    content: str = Field(sa_column=Column(Text, nullable=False))
    refreshed_at: datetime | None = _created_at()


class ClaimIssueRow(ClaimsTable, table=True):
    """A scrub finding of one claim version."""

    __tablename__ = "claim_issue"
    __table_args__ = (
        Index("ix_claim_issue_claim", "tenant_id", "claim_id", "version"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = _id()
    tenant_id: str = _tenant()
    claim_id: str = _text(64)
    version: int = Field(sa_column=Column(Integer, nullable=False))
    code: str = _text(64)
    severity: str = _text(8)
    message: str = Field(sa_column=Column(Text, nullable=False))
    line_number: int | None = Field(default=None, sa_column=Column(SmallInteger))
    charge_id: str | None = _text(64, nullable=True)


class ClaimStatusChangeRow(ClaimsTable, table=True):
    """Every status a claim took, with why (append-only)."""

    __tablename__ = "claim_status_change"
    __table_args__ = (
        Index("ix_claim_status_change_claim", "tenant_id", "claim_id"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = _id()
    tenant_id: str = _tenant()
    claim_id: str = _text(64)
    version: int = Field(sa_column=Column(Integer, nullable=False))
    from_status: str | None = _text(16, nullable=True)
    to_status: str = _text(16)
    reason_codes: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    stage: str | None = _text(32, nullable=True)
    actor: str | None = _text(128, nullable=True)
    changed_at: datetime | None = _created_at()


class ClaimTransmissionRow(ClaimsTable, table=True):
    """Where a claim version went: its interchange, group, transaction set and file."""

    __tablename__ = "claim_transmission"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id",
            "claim_id",
            "claim_version",
            "interchange_control_number",
            name="uq_claim_transmission",
        ),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = _id()
    tenant_id: str = _tenant()
    claim_id: str = _text(64)
    claim_version: int = Field(sa_column=Column(Integer, nullable=False))
    patient_control_number: str = _text(20)
    clearinghouse_id: str = _text(64)
    interchange_control_number: str = _text(9)
    group_control_number: str = _text(9)
    transaction_set_control_number: str = _text(9)
    file_name: str = _text(200)
    file_sha256: str = _text(64)
    transmitted_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    recorded_at: datetime | None = _created_at()


class ClaimAcknowledgmentRow(ClaimsTable, table=True):
    """Every acknowledgment received about a claim version (TA1, 999, 277CA, our own
    validator), with what it did; append-only, one row per event."""

    __tablename__ = "claim_acknowledgment"
    __table_args__ = (
        UniqueConstraint("tenant_id", "event_id", name="uq_claim_acknowledgment_event"),
        Index("ix_claim_acknowledgment_claim", "tenant_id", "claim_id", "claim_version"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = _id()
    tenant_id: str = _tenant()
    claim_id: str = _text(64)
    claim_version: int = Field(sa_column=Column(Integer, nullable=False))
    outcome: str = _text(8)
    stage: str = _text(32)
    party: str | None = _text(16, nullable=True)
    codes: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    message: str | None = Field(default=None, sa_column=Column(Text))
    payer_claim_control_number: str | None = _text(50, nullable=True)
    clearinghouse_trace_number: str | None = _text(50, nullable=True)
    status_date: date | None = Field(default=None, sa_column=Column(Date))
    acknowledgment_file_id: str | None = _text(64, nullable=True)
    lines: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    effect: str = _text(24)
    event_id: str = _text(64)
    acknowledged_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    received_at: datetime | None = _created_at()


class ClaimOverrideAuditRow(ClaimsTable, table=True):
    """An operator's override of a claim (reverse, replace, fresh rebuild): who, when,
    what, why (SPEC 10). Inserted only, never updated or deleted."""

    __tablename__ = "claim_override_audit"
    __table_args__ = (
        Index("ix_claim_override_audit_claim", "tenant_id", "claim_id"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = _id()
    tenant_id: str = _tenant()
    claim_id: str = _text(64)
    action: str = _text(16)
    actor: str = _text(128)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    from_status: str = _text(16)
    to_status: str = _text(16)
    from_version: int = Field(sa_column=Column(Integer, nullable=False))
    to_version: int = Field(sa_column=Column(Integer, nullable=False))
    details: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    recorded_at: datetime | None = _created_at()


MEMBER: Table = MemberRow.__table__  # type: ignore[attr-defined]
MEMBER_COVERAGE: Table = MemberCoverageRow.__table__  # type: ignore[attr-defined]
MEMBER_ENROLLMENT: Table = MemberProgramEnrollmentRow.__table__  # type: ignore[attr-defined]
PROVIDER: Table = ProviderRow.__table__  # type: ignore[attr-defined]
FACILITY: Table = FacilityRow.__table__  # type: ignore[attr-defined]
STAY_CONTEXT: Table = StayContextRow.__table__  # type: ignore[attr-defined]
CHARGE: Table = ChargeRow.__table__  # type: ignore[attr-defined]
PCN_SEQUENCE: Table = PatientControlNumberSequenceRow.__table__  # type: ignore[attr-defined]
CLAIM: Table = ClaimRow.__table__  # type: ignore[attr-defined]
CLAIM_CHARGE: Table = ClaimChargeRow.__table__  # type: ignore[attr-defined]
CLAIM_VERSION: Table = ClaimVersionRow.__table__  # type: ignore[attr-defined]
CLAIM_LINE: Table = ClaimLineRow.__table__  # type: ignore[attr-defined]
CLAIM_ISSUE: Table = ClaimIssueRow.__table__  # type: ignore[attr-defined]
CLAIM_STATUS_CHANGE: Table = ClaimStatusChangeRow.__table__  # type: ignore[attr-defined]
CLAIM_TRANSMISSION: Table = ClaimTransmissionRow.__table__  # type: ignore[attr-defined]
CLAIM_INSTITUTIONAL_LINE: Table = ClaimInstitutionalLineRow.__table__  # type: ignore[attr-defined]
STAY_BILLING: Table = StayBillingRow.__table__  # type: ignore[attr-defined]
STAY_CHARGING: Table = StayChargingRow.__table__  # type: ignore[attr-defined]
REFERENCE_TABLE: Table = ReferenceTableRow.__table__  # type: ignore[attr-defined]
CLAIM_ACKNOWLEDGMENT: Table = ClaimAcknowledgmentRow.__table__  # type: ignore[attr-defined]
CLAIM_OVERRIDE_AUDIT: Table = ClaimOverrideAuditRow.__table__  # type: ignore[attr-defined]


def one_of(column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    """``column`` is one of ``values``: ``= $1`` for one (the statement a single lookup
    always was), ``= ANY($1)`` for more: one statement text, prepared once, whatever the
    count (an expanding IN is rendered anew on every execution)."""
    wanted = sorted(set(values))
    if len(wanted) == 1:
        return column == wanted[0]  # type: ignore[no-any-return]
    return column == any_(literal(wanted, ARRAY(String)))  # type: ignore[no-any-return]
