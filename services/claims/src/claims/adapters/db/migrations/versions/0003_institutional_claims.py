"""Institutional (837I) cycle claims: what a day charge adds (covered, its stay, its fix
reasons), members' program enrollments (admit-date resolution), the cycle claim's columns
(stay, cycle, frequency, context edits, the reverse mark), its SV2 lines, the stay billing
record the cycle-close sweep reads, and refreshed reference tables.

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


def _tenant() -> sa.Column[str]:
    return sa.Column("tenant_id", sa.String(64), nullable=False)


def _now(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    schema = target_schema()
    op.add_column(
        "charge",
        sa.Column("covered", sa.Boolean, nullable=False, server_default=sa.text("true")),
        schema=schema,
    )
    op.add_column("charge", sa.Column("source_kind", sa.String(16)), schema=schema)
    op.add_column("charge", sa.Column("source_id", sa.String(64)), schema=schema)
    op.add_column(
        "charge",
        sa.Column("issue_codes", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        schema=schema,
    )
    op.create_index(
        "ix_charge_source",
        "charge",
        ["tenant_id", "source_id", "date_of_service"],
        schema=schema,
    )

    op.create_table(
        "member_program_enrollment",
        sa.Column("id", sa.Integer, primary_key=True),
        _tenant(),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("program_id", sa.String(64), nullable=False),
        sa.Column("enrolled_from", sa.Date, nullable=False),
        sa.Column("enrolled_to", sa.Date),
        sa.ForeignKeyConstraint(
            ["tenant_id", "member_id"],
            [f"{schema}.member.tenant_id", f"{schema}.member.member_id"],
            name="fk_member_program_enrollment_member",
            ondelete="CASCADE",
        ),
        schema=schema,
    )
    op.create_index(
        "ix_member_program_enrollment",
        "member_program_enrollment",
        ["tenant_id", "member_id", "program_id"],
        schema=schema,
    )

    op.add_column("claim", sa.Column("stay_id", sa.String(64)), schema=schema)
    op.add_column("claim", sa.Column("cycle_from", sa.Date), schema=schema)
    op.add_column("claim", sa.Column("cycle_to", sa.Date), schema=schema)
    op.add_column("claim", sa.Column("frequency_code", sa.String(1)), schema=schema)
    op.add_column("claim", sa.Column("institutional_edits", JSONB), schema=schema)
    op.add_column(
        "claim",
        sa.Column("reversal_needed", sa.Boolean, nullable=False, server_default=sa.text("false")),
        schema=schema,
    )
    op.create_index("ix_claim_stay", "claim", ["tenant_id", "stay_id", "cycle_from"], schema=schema)

    op.create_table(
        "claim_institutional_line",
        sa.Column("id", sa.Integer, primary_key=True),
        _tenant(),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("line_number", sa.SmallInteger, nullable=False),
        sa.Column("line_control_number", sa.String(30), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("revenue_code", sa.String(4), nullable=False),
        sa.Column("procedure_code", sa.String(5)),
        sa.Column("modifiers", JSONB, nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("unit_basis", sa.String(2), nullable=False),
        sa.Column("units", sa.Numeric(12, 3), nullable=False),
        sa.Column("service_from", sa.Date, nullable=False),
        sa.Column("service_to", sa.Date, nullable=False),
        sa.Column("charge_ids", JSONB, nullable=False),
        sa.UniqueConstraint(
            "tenant_id", "claim_id", "version", "line_number", name="uq_claim_institutional_line"
        ),
        sa.UniqueConstraint(
            "tenant_id", "line_control_number", name="uq_claim_institutional_line_control"
        ),
        schema=schema,
    )

    op.create_table(
        "stay_billing",
        sa.Column("id", sa.Integer, primary_key=True),
        _tenant(),
        sa.Column("stay_id", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("billing_period_override", sa.String(8)),
        sa.Column("explicit_cycles", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("closes_on", sa.Date),
        sa.Column("time_zone", sa.String(64), nullable=False),
        _now("updated_at"),
        sa.UniqueConstraint("tenant_id", "stay_id", name="uq_stay_billing_tenant_stay"),
        schema=schema,
    )
    op.create_index("ix_stay_billing_closes_on", "stay_billing", ["closes_on"], schema=schema)

    op.create_table(
        "reference_table",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("row_count", sa.Integer, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        _now("refreshed_at"),
        schema=schema,
    )


def downgrade() -> None:
    schema = target_schema()
    for table in (
        "reference_table",
        "stay_billing",
        "claim_institutional_line",
        "member_program_enrollment",
    ):
        op.drop_table(table, schema=schema)
    op.drop_index("ix_claim_stay", table_name="claim", schema=schema)
    for column in (
        "reversal_needed",
        "institutional_edits",
        "frequency_code",
        "cycle_to",
        "cycle_from",
        "stay_id",
    ):
        op.drop_column("claim", column, schema=schema)
    op.drop_index("ix_charge_source", table_name="charge", schema=schema)
    for column in ("issue_codes", "source_id", "source_kind", "covered"):
        op.drop_column("charge", column, schema=schema)
