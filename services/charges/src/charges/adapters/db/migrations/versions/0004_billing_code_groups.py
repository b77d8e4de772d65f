"""Billing code groups (seed 004): the groups (soft-deleted, one live name per tenant), the
codes each holds, the code assignments to clients and staff (never deleted, only ended),
and an append-only audit of every group change and assign / end action.

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


def _now(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    schema = target_schema()
    op.create_table(
        "billing_code_group",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("group_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_key", sa.String(100), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("default_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("group_version", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        _now("created_at"),
        sa.Column("updated_by", sa.String(128), nullable=False),
        _now("updated_at"),
        sa.Column("deleted_by", sa.String(128), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("tenant_id", "group_id", name="uq_billing_code_group_tenant_group"),
        sa.CheckConstraint("group_version >= 1", name="ck_billing_code_group_version"),
        schema=schema,
    )
    op.create_index(
        "uq_billing_code_group_name",
        "billing_code_group",
        ["tenant_id", "name_key"],
        unique=True,
        schema=schema,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "billing_code_group_code",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("group_id", sa.String(64), nullable=False),
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("added_by", sa.String(128), nullable=False),
        _now("added_at"),
        sa.UniqueConstraint(
            "tenant_id", "group_id", "code", name="uq_billing_code_group_code_group_code"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "group_id"],
            [f"{schema}.billing_code_group.tenant_id", f"{schema}.billing_code_group.group_id"],
            name="fk_billing_code_group_code_group",
        ),
        schema=schema,
    )
    op.create_table(
        "code_assignment",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("assignee_kind", sa.String(8), nullable=False),
        sa.Column("assignee_id", sa.String(64), nullable=False),
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("effective_through", sa.Date, nullable=True),
        sa.Column("group_id", sa.String(64), nullable=True),
        sa.Column("assigned_by", sa.String(128), nullable=False),
        _now("assigned_at"),
        sa.Column("ended_by", sa.String(128), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint(
            "tenant_id",
            "assignee_kind",
            "assignee_id",
            "code",
            "effective_from",
            "effective_through",
            name="uq_code_assignment_period",
            postgresql_nulls_not_distinct=True,
        ),
        sa.CheckConstraint(
            "effective_through IS NULL OR effective_through >= effective_from - 1",
            name="ck_code_assignment_dates",
        ),
        sa.CheckConstraint("assignee_kind IN ('CLIENT', 'STAFF')", name="ck_code_assignment_kind"),
        schema=schema,
    )
    op.create_index(
        "ix_code_assignment_group", "code_assignment", ["tenant_id", "group_id"], schema=schema
    )
    op.create_table(
        "billing_code_group_audit",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("group_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("details", JSONB, nullable=False),
        _now("recorded_at"),
        schema=schema,
    )
    op.create_index(
        "ix_billing_code_group_audit_group",
        "billing_code_group_audit",
        ["tenant_id", "group_id"],
        schema=schema,
    )


def downgrade() -> None:
    schema = target_schema()
    op.drop_table("billing_code_group_audit", schema=schema)
    op.drop_table("code_assignment", schema=schema)
    op.drop_table("billing_code_group_code", schema=schema)
    op.drop_table("billing_code_group", schema=schema)
