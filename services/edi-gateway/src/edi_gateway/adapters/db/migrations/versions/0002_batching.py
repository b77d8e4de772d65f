"""Batching and transmission: claim_submission, transmission, archived_file; the
interchange's file, claim count, transaction set numbers and delivery.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from common.migrations import target_schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _now() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def upgrade() -> None:
    schema = target_schema()
    for column in (
        sa.Column("receiver_id", sa.String(15), nullable=True),
        sa.Column("claim_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column(
            "transaction_set_control_numbers",
            ARRAY(sa.BigInteger),
            nullable=False,
            server_default="{}",
        ),
        sa.Column("file_id", sa.String(64), nullable=True),
        sa.Column("file_name", sa.String(200), nullable=True),
        sa.Column("file_sha256", sa.String(64), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("validation_issues", JSONB, nullable=True),
    ):
        op.add_column("interchange", column, schema=schema)
    op.create_index(
        "ix_interchange_unsent",
        "interchange",
        ["id"],
        schema=schema,
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.create_table(
        "claim_submission",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("claim_version", sa.Integer, nullable=False),
        sa.Column("patient_control_number", sa.String(20), nullable=False),
        sa.Column("clearinghouse_id", sa.String(64), nullable=False),
        sa.Column("transaction_type", sa.String(4), nullable=False),
        sa.Column("usage_indicator", sa.String(1), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("correlation_id", sa.String(128), nullable=True),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("interchange_id", sa.String(64), nullable=True),
        sa.Column("rejection_codes", JSONB, nullable=True),
        sa.Column("rejection_message", sa.Text, nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint(
            "tenant_id", "claim_id", "claim_version", name="uq_claim_submission_version"
        ),
        schema=schema,
    )
    op.create_index(
        "ix_claim_submission_pending",
        "claim_submission",
        ["tenant_id", "clearinghouse_id", "transaction_type", "usage_indicator", "received_at"],
        schema=schema,
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.create_index(
        "ix_claim_submission_interchange", "claim_submission", ["interchange_id"], schema=schema
    )
    op.create_table(
        "transmission",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("interchange_id", sa.String(64), nullable=False),
        sa.Column("clearinghouse_id", sa.String(64), nullable=False),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("claim_version", sa.Integer, nullable=False),
        sa.Column("patient_control_number", sa.String(20), nullable=False),
        sa.Column("isa13", sa.BigInteger, nullable=False),
        sa.Column("gs06", sa.BigInteger, nullable=False),
        sa.Column("st02", sa.BigInteger, nullable=False),
        sa.Column("line_control_numbers", JSONB, nullable=False),
        _now(),
        sa.UniqueConstraint(
            "interchange_id", "claim_id", "claim_version", name="uq_transmission_claim"
        ),
        schema=schema,
    )
    op.create_index(
        "ix_transmission_claim", "transmission", ["tenant_id", "claim_id"], schema=schema
    )
    op.create_index(
        "ix_transmission_pcn",
        "transmission",
        ["tenant_id", "patient_control_number"],
        schema=schema,
    )
    op.create_table(
        "archived_file",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("file_id", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("clearinghouse_id", sa.String(64), nullable=False),
        sa.Column("interchange_id", sa.String(64), nullable=True),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        _now(),
        sa.UniqueConstraint("tenant_id", "file_id", name="uq_archived_file_id"),
        sa.CheckConstraint(
            "direction IN ('OUTBOUND', 'INBOUND')", name="ck_archived_file_direction"
        ),
        schema=schema,
    )


def downgrade() -> None:
    schema = target_schema()
    op.drop_table("archived_file", schema=schema)
    op.drop_table("transmission", schema=schema)
    op.drop_table("claim_submission", schema=schema)
    op.drop_index("ix_interchange_unsent", table_name="interchange", schema=schema)
    for name in (
        "validation_issues",
        "sent_at",
        "file_sha256",
        "file_name",
        "file_id",
        "transaction_set_control_numbers",
        "claim_count",
        "receiver_id",
    ):
        op.drop_column("interchange", name, schema=schema)
