"""Group charges: the charge (current version), its append-only history, and what is kept
of each group session (last close priced, last reopen applied).

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


def _now(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    schema = target_schema()
    op.create_table(
        "group_session",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("closed_sequence", sa.Integer, nullable=False),
        sa.Column("reopened_sequence", sa.Integer, nullable=False),
        sa.Column("closed_event", JSONB, nullable=True),
        sa.Column("closed_event_id", sa.String(128), nullable=True),
        _now("updated_at"),
        sa.UniqueConstraint("tenant_id", "session_id", name="uq_group_session_tenant_session"),
        schema=schema,
    )
    op.create_table(
        "charge",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("charge_id", sa.String(64), nullable=False),
        sa.Column("charge_version", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("filing_type", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("issues", JSONB, nullable=False),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("program_id", sa.String(64), nullable=False),
        sa.Column("facility_id", sa.String(64), nullable=False),
        sa.Column("payer_id", sa.String(64), nullable=True),
        sa.Column("coverage_id", sa.String(64), nullable=True),
        sa.Column("date_of_service", sa.Date, nullable=False),
        sa.Column("procedure_code", sa.String(5), nullable=False),
        sa.Column("modifiers", JSONB, nullable=False),
        sa.Column("units", sa.Numeric(9, 3), nullable=False),
        sa.Column("rate", sa.Numeric(12, 2), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("rendering_provider_id", sa.String(64), nullable=True),
        sa.Column("place_of_service", sa.String(2), nullable=True),
        sa.Column("source_kind", sa.String(16), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("source_sequence", sa.Integer, nullable=True),
        sa.Column("group_context", JSONB, nullable=True),
        sa.Column("override_payer_id", sa.String(64), nullable=True),
        sa.Column("override_coverage_id", sa.String(64), nullable=True),
        sa.Column("override_rate", sa.Numeric(12, 2), nullable=True),
        sa.Column("override_reason", sa.String(300), nullable=True),
        sa.Column("claim_id", sa.String(64), nullable=True),
        sa.Column("claim_status", sa.String(16), nullable=True),
        sa.Column("claim_marks", JSONB, nullable=False),
        sa.Column("void_reason", sa.String(300), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        sa.UniqueConstraint("tenant_id", "charge_id", name="uq_charge_tenant_charge"),
        sa.CheckConstraint("charge_version >= 1", name="ck_charge_version"),
        schema=schema,
    )
    op.create_index(
        "ix_charge_source", "charge", ["tenant_id", "source_kind", "source_id"], schema=schema
    )
    op.create_index(
        "ix_charge_member", "charge", ["tenant_id", "member_id", "status"], schema=schema
    )
    op.create_index(
        "ix_charge_status_date",
        "charge",
        ["tenant_id", "status", "date_of_service"],
        schema=schema,
    )
    op.create_index("ix_charge_claim", "charge", ["tenant_id", "claim_id"], schema=schema)
    op.create_table(
        "charge_history",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("charge_id", sa.String(64), nullable=False),
        sa.Column("charge_version", sa.Integer, nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reason", sa.String(300), nullable=True),
        sa.Column("caused_by_event_id", sa.String(128), nullable=True),
        sa.Column("state", JSONB, nullable=False),
        _now("recorded_at"),
        sa.UniqueConstraint(
            "tenant_id", "charge_id", "charge_version", name="uq_charge_history_version"
        ),
        schema=schema,
    )
    # Append-only: the history is an audit record (SPEC 10), so the database refuses to
    # change or remove a row, whatever the code does.
    op.execute(
        f"""
        CREATE FUNCTION "{schema}".charge_history_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'charge_history is append-only';
        END $$;
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER charge_history_append_only
        BEFORE UPDATE OR DELETE ON "{schema}".charge_history
        FOR EACH ROW EXECUTE FUNCTION "{schema}".charge_history_append_only();
        """
    )


def downgrade() -> None:
    schema = target_schema()
    op.execute(f'DROP TRIGGER charge_history_append_only ON "{schema}".charge_history')
    op.execute(f'DROP FUNCTION "{schema}".charge_history_append_only()')
    for table in ("charge_history", "charge", "group_session"):
        op.drop_table(table, schema=schema)
