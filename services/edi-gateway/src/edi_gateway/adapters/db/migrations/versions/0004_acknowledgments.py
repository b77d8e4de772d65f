"""Acknowledgments: inbound acknowledgment files and their items, the acknowledgment
state per interchange and per transmission, and the append-only audit of hand uploads.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from common.migrations import target_schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _stamp(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    schema = target_schema()
    op.create_table(
        "acknowledgment",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("acknowledgment_id", sa.String(64), nullable=False),
        sa.Column("clearinghouse_id", sa.String(64), nullable=False),
        sa.Column("file_id", sa.String(64), nullable=False),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("sender_id", sa.String(15), nullable=True),
        sa.Column("control_number", sa.String(9), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_detail", sa.Text, nullable=True),
        sa.Column("validation_issues", JSONB, nullable=True),
        sa.Column("item_count", sa.Integer, nullable=False),
        sa.Column("unmatched_count", sa.Integer, nullable=False),
        _stamp("received_at"),
        sa.UniqueConstraint("tenant_id", "acknowledgment_id", name="uq_acknowledgment_id"),
        sa.UniqueConstraint("tenant_id", "sha256", name="uq_acknowledgment_sha256"),
        schema=schema,
    )
    op.create_index(
        "ix_acknowledgment_listing", "acknowledgment", ["tenant_id", "received_at"], schema=schema
    )
    op.create_table(
        "acknowledgment_item",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("acknowledgment_id", sa.String(64), nullable=False),
        sa.Column("clearinghouse_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("item_kind", sa.String(16), nullable=False),
        sa.Column("match_status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("code", sa.String(16), nullable=True),
        sa.Column("codes", JSONB, nullable=False),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("party", sa.String(16), nullable=True),
        sa.Column("isa13", sa.BigInteger, nullable=True),
        sa.Column("gs06", sa.BigInteger, nullable=True),
        sa.Column("st02", sa.BigInteger, nullable=True),
        sa.Column("patient_control_number", sa.String(50), nullable=True),
        sa.Column("payer_claim_control_number", sa.String(50), nullable=True),
        sa.Column("clearinghouse_trace_number", sa.String(50), nullable=True),
        sa.Column("status_date", sa.Date, nullable=True),
        sa.Column("interchange_id", sa.String(64), nullable=True),
        sa.Column("claims", JSONB, nullable=False),
        sa.Column("lines", JSONB, nullable=False),
        _stamp("created_at"),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("acknowledgment_id", "position", name="uq_acknowledgment_item"),
        schema=schema,
    )
    op.create_index(
        "ix_acknowledgment_item_unmatched",
        "acknowledgment_item",
        ["tenant_id", "id"],
        schema=schema,
        postgresql_where=sa.text("match_status = 'UNMATCHED'"),
    )
    op.create_index(
        "ix_acknowledgment_item_interchange",
        "acknowledgment_item",
        ["tenant_id", "interchange_id"],
        schema=schema,
    )
    op.create_table(
        "interchange_acknowledgment",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("interchange_id", sa.String(64), nullable=False),
        sa.Column("ta1_status", sa.String(1), nullable=True),
        sa.Column("ta1_note_code", sa.String(3), nullable=True),
        sa.Column("ack_999_status", sa.String(1), nullable=True),
        sa.Column("ack_999_codes", JSONB, nullable=True),
        _stamp("updated_at"),
        sa.PrimaryKeyConstraint(
            "tenant_id", "interchange_id", name="pk_interchange_acknowledgment"
        ),
        schema=schema,
    )
    op.create_table(
        "transmission_acknowledgment",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("interchange_id", sa.String(64), nullable=False),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("claim_version", sa.Integer, nullable=False),
        sa.Column("ta1_status", sa.String(1), nullable=True),
        sa.Column("ack_999_status", sa.String(1), nullable=True),
        sa.Column("ack_999_codes", JSONB, nullable=True),
        sa.Column("claim_ack_status", sa.String(16), nullable=True),
        sa.Column("claim_ack_codes", JSONB, nullable=True),
        sa.Column("payer_claim_control_number", sa.String(50), nullable=True),
        sa.Column("clearinghouse_trace_number", sa.String(50), nullable=True),
        sa.Column("ack_status", sa.String(16), nullable=True),
        _stamp("updated_at"),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "interchange_id",
            "claim_id",
            "claim_version",
            name="pk_transmission_acknowledgment",
        ),
        schema=schema,
    )
    op.create_index(
        "ix_transmission_acknowledgment_claim",
        "transmission_acknowledgment",
        ["tenant_id", "claim_id"],
        schema=schema,
    )
    op.create_table(
        "manual_acknowledgment_audit",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        _stamp("occurred_at"),
        sa.Column("clearinghouse_id", sa.String(64), nullable=False),
        sa.Column("acknowledgment_id", sa.String(64), nullable=False),
        sa.Column("file_id", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("duplicate", sa.Boolean, nullable=False),
        schema=schema,
    )
    op.create_index(
        "ix_manual_acknowledgment_audit",
        "manual_acknowledgment_audit",
        ["tenant_id", "occurred_at"],
        schema=schema,
    )
    # The audit is append-only (SPEC 10): the database refuses to change or remove a row.
    op.execute(
        f"""
        CREATE FUNCTION "{schema}".refuse_audit_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'manual_acknowledgment_audit is append-only';
        END;
        $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER manual_acknowledgment_audit_append_only
        BEFORE UPDATE OR DELETE ON "{schema}".manual_acknowledgment_audit
        FOR EACH ROW EXECUTE FUNCTION "{schema}".refuse_audit_change()
        """
    )


def downgrade() -> None:
    schema = target_schema()
    op.execute(
        f"DROP TRIGGER IF EXISTS manual_acknowledgment_audit_append_only "
        f'ON "{schema}".manual_acknowledgment_audit'
    )
    op.execute(f'DROP FUNCTION IF EXISTS "{schema}".refuse_audit_change()')
    for table in (
        "manual_acknowledgment_audit",
        "transmission_acknowledgment",
        "interchange_acknowledgment",
        "acknowledgment_item",
        "acknowledgment",
    ):
        op.drop_table(table, schema=schema)
