"""Stays schema: outbox, inbox, stay.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from common.migrations import create_messaging_tables, target_schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    create_messaging_tables()
    op.create_table(
        "stay",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("stay_id", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("facility_id", sa.String(64), nullable=False),
        sa.Column("program_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("admit_date", sa.Date, nullable=False),
        sa.Column("admit_hour", sa.SmallInteger),
        sa.Column("admission", JSONB, nullable=False),
        sa.Column("discharge_date", sa.Date),
        sa.Column("discharge_hour", sa.SmallInteger),
        sa.Column("discharge_status", sa.String(2)),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.UniqueConstraint("tenant_id", "stay_id", name="uq_stay_tenant_stay"),
        schema=schema,
    )
    op.create_index("ix_stay_tenant_id", "stay", ["tenant_id"], schema=schema)


def downgrade() -> None:
    schema = target_schema()
    op.drop_table("stay", schema=schema)
    op.drop_table("inbox", schema=schema)
    op.drop_table("outbox", schema=schema)
