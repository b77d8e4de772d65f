"""Closing, locking and overrides: the closing columns of group_session, the append-only
attendance_override audit (a trigger refuses UPDATE, DELETE and TRUNCATE), and the
projections the billing preview and the lock need (member_source, member_coverage,
facility, session_claim, session_charge).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

from common.migrations import target_schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_GUARD = "attendance_override_append_only"


def upgrade() -> None:
    schema = target_schema()
    for column in (
        sa.Column("locked", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("close_sequence", sa.Integer, nullable=False, server_default="0"),
        sa.Column("closure", sa.String(16)),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("closed_by", sa.String(200)),
        sa.Column("closed_billable_statuses", ARRAY(sa.String(16))),
        sa.Column("closed_billable_count", sa.Integer),
        sa.Column("closed_band_name", sa.String(40)),
        sa.Column("closed_band_rate", sa.Numeric(9, 2)),
        sa.Column("acknowledged_warnings", ARRAY(sa.String(64))),
        sa.Column("auto_close_checked_version", sa.Integer),
    ):
        op.add_column("group_session", column, schema=schema)
    # The auto-close sweep looks only at sessions not closed or cancelled.
    op.create_index(
        "ix_group_session_open",
        "group_session",
        ["session_date", "end_time"],
        schema=schema,
        postgresql_where=sa.text("status IN ('SCHEDULED', 'OPEN')"),
    )

    op.create_table(
        "attendance_override",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=False),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("reopened", sa.Boolean, nullable=False),
        sa.Column("close_sequence", sa.Integer, nullable=False),
        schema=schema,
    )
    op.create_index(
        "ix_attendance_override_session",
        "attendance_override",
        ["tenant_id", "session_id", "id"],
        schema=schema,
    )
    op.execute(
        f"""
        CREATE FUNCTION "{schema}".{_GUARD}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'attendance_override is append-only: % refused', TG_OP
                USING ERRCODE = 'restrict_violation';
        END
        $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER {_GUARD} BEFORE UPDATE OR DELETE ON "{schema}".attendance_override
        FOR EACH ROW EXECUTE FUNCTION "{schema}".{_GUARD}()
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER {_GUARD}_truncate BEFORE TRUNCATE ON "{schema}".attendance_override
        FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".{_GUARD}()
        """
    )

    op.create_table(
        "member_source",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("source_event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_event_id", sa.String(128), nullable=False),
        sa.UniqueConstraint("tenant_id", "member_id", name="uq_member_source_tenant_member"),
        schema=schema,
    )
    op.create_table(
        "member_coverage",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("coverage_id", sa.String(64), nullable=False),
        sa.Column("payer_id", sa.String(64), nullable=False),
        sa.Column("is_primary", sa.Boolean, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("effective_to", sa.Date),
        sa.UniqueConstraint(
            "tenant_id", "member_id", "coverage_id", name="uq_member_coverage_member_coverage"
        ),
        schema=schema,
    )
    op.create_table(
        "facility",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("facility_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(2)),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("source_event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_event_id", sa.String(128), nullable=False),
        sa.UniqueConstraint("tenant_id", "facility_id", name="uq_facility_tenant_facility"),
        schema=schema,
    )
    op.create_table(
        "session_claim",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("claim_version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("previous_status", sa.String(16)),
        sa.Column("source_event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_event_id", sa.String(128), nullable=False),
        sa.UniqueConstraint("tenant_id", "session_id", "claim_id", name="uq_session_claim"),
        schema=schema,
    )
    op.create_table(
        "session_charge",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("charge_id", sa.String(64), nullable=False),
        sa.UniqueConstraint("tenant_id", "charge_id", name="uq_session_charge_tenant_charge"),
        schema=schema,
    )
    op.create_index(
        "ix_session_charge_session",
        "session_charge",
        ["tenant_id", "session_id"],
        schema=schema,
    )


def downgrade() -> None:
    schema = target_schema()
    for table in ("session_charge", "session_claim", "facility", "member_coverage"):
        op.drop_table(table, schema=schema)
    op.drop_table("member_source", schema=schema)
    op.drop_table("attendance_override", schema=schema)
    op.execute(f'DROP FUNCTION "{schema}".{_GUARD}()')
    op.drop_index("ix_group_session_open", "group_session", schema=schema)
    for name in (
        "auto_close_checked_version",
        "acknowledged_warnings",
        "closed_band_rate",
        "closed_band_name",
        "closed_billable_count",
        "closed_billable_statuses",
        "closed_by",
        "closed_at",
        "closure",
        "close_sequence",
        "locked",
    ):
        op.drop_column("group_session", name, schema=schema)
