"""Professional claims: the member's diagnoses, the newest version of each charge, claims
with their versions, lines, scrub issues, status changes and transmissions, and the
per-tenant patient control number sequence.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from common.migrations import target_schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, primary_key=True)


def _tenant() -> sa.Column[str]:
    return sa.Column("tenant_id", sa.String(64), nullable=False)


def _now(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    schema = target_schema()
    op.add_column(
        "member",
        sa.Column("diagnoses", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        schema=schema,
    )
    op.create_table(
        "charge",
        _id(),
        _tenant(),
        sa.Column("charge_id", sa.String(64), nullable=False),
        sa.Column("charge_version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("filing_type", sa.String(16), nullable=False),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("program_id", sa.String(64), nullable=False),
        sa.Column("facility_id", sa.String(64), nullable=False),
        sa.Column("payer_id", sa.String(64)),
        sa.Column("coverage_id", sa.String(64)),
        sa.Column("date_of_service", sa.Date, nullable=False),
        sa.Column("procedure_code", sa.String(5)),
        sa.Column("modifiers", JSONB, nullable=False),
        sa.Column("revenue_code", sa.String(4)),
        sa.Column("units", sa.Numeric(12, 3), nullable=False),
        sa.Column("unit_basis", sa.String(2), nullable=False),
        sa.Column("rate", sa.Numeric(12, 2), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("rendering_provider_id", sa.String(64)),
        sa.Column("place_of_service", sa.String(2)),
        sa.Column("session_id", sa.String(64)),
        sa.Column("group_context", JSONB),
        sa.Column("source_event_id", sa.String(128), nullable=False),
        _now("updated_at"),
        sa.UniqueConstraint("tenant_id", "charge_id", name="uq_charge_tenant_charge"),
        schema=schema,
    )
    op.create_index(
        "ix_charge_member", "charge", ["tenant_id", "member_id", "date_of_service"], schema=schema
    )
    op.create_index(
        "ix_charge_provider", "charge", ["tenant_id", "rendering_provider_id"], schema=schema
    )
    op.create_table(
        "patient_control_number_sequence",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("last_value", sa.BigInteger, nullable=False),
        schema=schema,
    )
    op.create_table(
        "claim",
        _id(),
        _tenant(),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("patient_control_number", sa.String(20), nullable=False),
        sa.Column("transaction_type", sa.String(4), nullable=False),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("payer_id", sa.String(64), nullable=False),
        sa.Column("billing_provider_npi", sa.String(10), nullable=False),
        sa.Column("period_from", sa.Date, nullable=False),
        sa.Column("period_to", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("total_charge", sa.Numeric(12, 2), nullable=False),
        sa.Column("line_count", sa.Integer, nullable=False),
        sa.Column("stale_reason", sa.Text),
        _now("created_at"),
        _now("updated_at"),
        sa.UniqueConstraint("tenant_id", "claim_id", name="uq_claim_tenant_claim"),
        sa.UniqueConstraint("tenant_id", "patient_control_number", name="uq_claim_tenant_pcn"),
        sa.CheckConstraint("period_to >= period_from", name="ck_claim_period"),
        schema=schema,
    )
    op.create_index(
        "ix_claim_key",
        "claim",
        ["tenant_id", "member_id", "payer_id", "billing_provider_npi", "period_from", "status"],
        schema=schema,
    )
    op.create_table(
        "claim_charge",
        _tenant(),
        sa.Column("charge_id", sa.String(64), nullable=False),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "charge_id", name="pk_claim_charge"),
        schema=schema,
    )
    op.create_index(
        "ix_claim_charge_claim", "claim_charge", ["tenant_id", "claim_id"], schema=schema
    )
    op.create_table(
        "claim_version",
        _id(),
        _tenant(),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("scrubbed_status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("content", JSONB, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("total_charge", sa.Numeric(12, 2), nullable=False),
        _now("built_at"),
        sa.UniqueConstraint("tenant_id", "claim_id", "version", name="uq_claim_version"),
        schema=schema,
    )
    op.create_table(
        "claim_line",
        _id(),
        _tenant(),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("line_number", sa.SmallInteger, nullable=False),
        sa.Column("line_control_number", sa.String(30), nullable=False),
        sa.Column("charge_id", sa.String(64), nullable=False),
        sa.Column("charge_version", sa.Integer, nullable=False),
        sa.Column("session_id", sa.String(64)),
        sa.Column("procedure_code", sa.String(5)),
        sa.Column("modifiers", JSONB, nullable=False),
        sa.Column("units", sa.Numeric(12, 3), nullable=False),
        sa.Column("unit_basis", sa.String(2), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("date_of_service", sa.Date, nullable=False),
        sa.Column("place_of_service", sa.String(2)),
        sa.Column("diagnosis_pointers", JSONB, nullable=False),
        sa.Column("rendering_provider", JSONB),
        sa.UniqueConstraint(
            "tenant_id", "claim_id", "version", "line_number", name="uq_claim_line"
        ),
        sa.UniqueConstraint("tenant_id", "line_control_number", name="uq_claim_line_control"),
        schema=schema,
    )
    op.create_index(
        "ix_claim_line_session", "claim_line", ["tenant_id", "session_id"], schema=schema
    )
    op.create_index(
        "ix_claim_line_claim", "claim_line", ["tenant_id", "claim_id", "version"], schema=schema
    )
    op.create_table(
        "claim_issue",
        _id(),
        _tenant(),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("line_number", sa.SmallInteger),
        sa.Column("charge_id", sa.String(64)),
        schema=schema,
    )
    op.create_index(
        "ix_claim_issue_claim", "claim_issue", ["tenant_id", "claim_id", "version"], schema=schema
    )
    op.create_table(
        "claim_status_change",
        _id(),
        _tenant(),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("reason_codes", JSONB, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("stage", sa.String(32)),
        sa.Column("actor", sa.String(128)),
        _now("changed_at"),
        schema=schema,
    )
    op.create_index(
        "ix_claim_status_change_claim",
        "claim_status_change",
        ["tenant_id", "claim_id"],
        schema=schema,
    )
    op.create_table(
        "claim_transmission",
        _id(),
        _tenant(),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("claim_version", sa.Integer, nullable=False),
        sa.Column("patient_control_number", sa.String(20), nullable=False),
        sa.Column("clearinghouse_id", sa.String(64), nullable=False),
        sa.Column("interchange_control_number", sa.String(9), nullable=False),
        sa.Column("group_control_number", sa.String(9), nullable=False),
        sa.Column("transaction_set_control_number", sa.String(9), nullable=False),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("transmitted_at", sa.DateTime(timezone=True), nullable=False),
        _now("recorded_at"),
        sa.UniqueConstraint(
            "tenant_id",
            "claim_id",
            "claim_version",
            "interchange_control_number",
            name="uq_claim_transmission",
        ),
        schema=schema,
    )


def downgrade() -> None:
    schema = target_schema()
    for table in (
        "claim_transmission",
        "claim_status_change",
        "claim_issue",
        "claim_line",
        "claim_version",
        "claim_charge",
        "claim",
        "patient_control_number_sequence",
        "charge",
    ):
        op.drop_table(table, schema=schema)
    op.drop_column("member", "diagnoses", schema=schema)
