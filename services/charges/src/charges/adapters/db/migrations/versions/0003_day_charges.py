"""Day charges of stays: the charge gains the institutional columns (revenue code, unit
basis, covered) and who voided it; the newest stay version seen (its dates and leaves,
no diagnosis) and how far its day charges are written are kept per stay.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from common.migrations import target_schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    op.alter_column("charge", "procedure_code", nullable=True, schema=schema)
    op.add_column("charge", sa.Column("revenue_code", sa.String(4), nullable=True), schema=schema)
    # Every charge before this revision is a group charge: units, covered.
    op.add_column(
        "charge",
        sa.Column("unit_basis", sa.String(2), nullable=False, server_default="UN"),
        schema=schema,
    )
    op.add_column(
        "charge",
        sa.Column("covered", sa.Boolean, nullable=False, server_default=sa.true()),
        schema=schema,
    )
    op.alter_column("charge", "unit_basis", server_default=None, schema=schema)
    op.alter_column("charge", "covered", server_default=None, schema=schema)
    op.add_column("charge", sa.Column("void_cause", sa.String(16), nullable=True), schema=schema)
    op.create_table(
        "stay",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("stay_id", sa.String(64), nullable=False),
        sa.Column("stay_version", sa.Integer, nullable=False),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("facility_id", sa.String(64), nullable=False),
        sa.Column("program_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("admit_date", sa.Date, nullable=False),
        sa.Column("discharge_date", sa.Date, nullable=True),
        sa.Column("leaves", JSONB, nullable=False),
        sa.Column("source_event_id", sa.String(128), nullable=False),
        sa.Column("written_through", sa.Date, nullable=True),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("tenant_id", "stay_id", name="uq_stay_tenant_stay"),
        sa.CheckConstraint("stay_version >= 1", name="ck_stay_version"),
        schema=schema,
    )
    op.create_index("ix_stay_next_due_at", "stay", ["next_due_at"], schema=schema)


def downgrade() -> None:
    schema = target_schema()
    op.drop_table("stay", schema=schema)
    charge = sa.table("charge", sa.column("source_kind"), schema=schema)
    op.execute(charge.delete().where(charge.c.source_kind == "STAY"))
    for column in ("void_cause", "covered", "unit_basis", "revenue_code"):
        op.drop_column("charge", column, schema=schema)
    op.alter_column("charge", "procedure_code", nullable=False, schema=schema)
