"""Claims schema: outbox, inbox, and the projections claims print from (member with its
coverages, provider, facility, stay context).

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
        sa.Column("first_name", sa.String(60), nullable=False),
        sa.Column("last_name", sa.String(60), nullable=False),
        sa.Column("middle_name", sa.String(60)),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("address", JSONB),
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
        sa.Column("subscriber_id", sa.String(80), nullable=False),
        sa.Column("relationship_to_subscriber", sa.String(2), nullable=False),
        sa.Column("is_primary", sa.Boolean, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("effective_to", sa.Date),
        sa.Column("group_number", sa.String(50)),
        sa.Column("subscriber", JSONB),
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
        "ix_member_coverage_payer",
        "member_coverage",
        ["tenant_id", "member_id", "payer_id", "effective_from"],
        schema=schema,
    )
    op.create_table(
        "provider",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("provider_id", sa.String(64), nullable=False),
        sa.Column("npi", sa.String(10), nullable=False),
        sa.Column("first_name", sa.String(60), nullable=False),
        sa.Column("last_name", sa.String(60), nullable=False),
        sa.Column("middle_name", sa.String(60)),
        sa.Column("credential", sa.String(20)),
        sa.Column("taxonomy_code", sa.String(10), nullable=False),
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
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("npi", sa.String(10), nullable=False),
        sa.Column("tax_id", sa.String(9), nullable=False),
        sa.Column("address", JSONB, nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("taxonomy_code", sa.String(10), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        *_source_stamp(),
        sa.UniqueConstraint("tenant_id", "facility_id", name="uq_facility_tenant_facility"),
        schema=schema,
    )
    op.create_table(
        "stay_context",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("stay_id", sa.String(64), nullable=False),
        sa.Column("stay_version", sa.Integer, nullable=False),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("facility_id", sa.String(64), nullable=False),
        sa.Column("program_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("admit_date", sa.Date, nullable=False),
        sa.Column("admit_hour", sa.SmallInteger, nullable=False),
        sa.Column("admission_type", sa.String(1), nullable=False),
        sa.Column("admission_source", sa.String(1), nullable=False),
        sa.Column("principal_diagnosis", sa.String(8), nullable=False),
        sa.Column("admitting_diagnosis", sa.String(8)),
        sa.Column("other_diagnoses", JSONB, nullable=False),
        sa.Column("drg", sa.String(3)),
        sa.Column("procedures", JSONB, nullable=False),
        sa.Column("leaves", JSONB, nullable=False),
        sa.Column("discharge_date", sa.Date),
        sa.Column("discharge_hour", sa.SmallInteger),
        sa.Column("patient_status", sa.String(2)),
        *_source_stamp(),
        sa.UniqueConstraint("tenant_id", "stay_id", name="uq_stay_context_tenant_stay"),
        schema=schema,
    )
    op.create_index(
        "ix_stay_context_member", "stay_context", ["tenant_id", "member_id"], schema=schema
    )


def downgrade() -> None:
    schema = target_schema()
    for table in (
        "stay_context",
        "facility",
        "provider",
        "member_coverage",
        "member",
        "inbox",
        "outbox",
    ):
        op.drop_table(table, schema=schema)
