"""Charges schema: outbox, inbox, and the projections pricing reads (member with its
coverage periods, provider, facility).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from common.migrations import create_messaging_tables, target_schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _source_stamp() -> list[sa.Column[object]]:
    return [
        sa.Column("source_event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_event_id", sa.String(128), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    ]


def upgrade() -> None:
    schema = target_schema()
    create_messaging_tables()
    op.create_table(
        "member",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        *_source_stamp(),
        sa.UniqueConstraint("tenant_id", "member_id", name="uq_member_tenant_member"),
        schema=schema,
    )
    op.create_table(
        "member_coverage",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("coverage_id", sa.String(64), nullable=False),
        sa.Column("payer_id", sa.String(64), nullable=False),
        sa.Column("relationship_to_subscriber", sa.String(2), nullable=False),
        sa.Column("is_primary", sa.Boolean, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("effective_to", sa.Date, nullable=True),
        sa.UniqueConstraint(
            "tenant_id", "member_id", "coverage_id", name="uq_member_coverage_tenant_member_cov"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "member_id"],
            [f"{schema}.member.tenant_id", f"{schema}.member.member_id"],
            name="fk_member_coverage_member",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "effective_to IS NULL OR effective_to >= effective_from",
            name="ck_member_coverage_dates",
        ),
        schema=schema,
    )
    op.create_index(
        "ix_member_coverage_in_force",
        "member_coverage",
        ["tenant_id", "member_id", "is_primary", "effective_from"],
        schema=schema,
    )
    op.create_table(
        "provider",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("provider_id", sa.String(64), nullable=False),
        sa.Column("npi", sa.String(10), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        *_source_stamp(),
        sa.UniqueConstraint("tenant_id", "provider_id", name="uq_provider_tenant_provider"),
        schema=schema,
    )
    op.create_table(
        "facility",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("facility_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(2), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        *_source_stamp(),
        sa.UniqueConstraint("tenant_id", "facility_id", name="uq_facility_tenant_facility"),
        schema=schema,
    )


def downgrade() -> None:
    schema = target_schema()
    for table in ("facility", "provider", "member_coverage", "member", "inbox", "outbox"):
        op.drop_table(table, schema=schema)
