"""After submission (#5): every acknowledgment received per claim version, the audit log of
operators' overrides (append-only, enforced by a trigger), the frequency and original
reference of a void or replacement version, and a claim's release for a fresh rebuild.

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


def _tenant() -> sa.Column[str]:
    return sa.Column("tenant_id", sa.String(64), nullable=False)


def _now(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    schema = target_schema()
    op.add_column(
        "claim",
        sa.Column("released", sa.Boolean, nullable=False, server_default=sa.text("false")),
        schema=schema,
    )
    op.add_column("claim", sa.Column("superseded_by", sa.String(64)), schema=schema)
    op.add_column("claim_version", sa.Column("frequency_code", sa.String(1)), schema=schema)
    op.add_column("claim_version", sa.Column("original_reference", sa.String(50)), schema=schema)

    op.create_table(
        "claim_acknowledgment",
        sa.Column("id", sa.Integer, primary_key=True),
        _tenant(),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("claim_version", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("party", sa.String(16)),
        sa.Column("codes", JSONB, nullable=False),
        sa.Column("message", sa.Text),
        sa.Column("payer_claim_control_number", sa.String(50)),
        sa.Column("clearinghouse_trace_number", sa.String(50)),
        sa.Column("status_date", sa.Date),
        sa.Column("acknowledgment_file_id", sa.String(64)),
        sa.Column("lines", JSONB, nullable=False),
        sa.Column("effect", sa.String(24), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=False),
        _now("received_at"),
        sa.UniqueConstraint("tenant_id", "event_id", name="uq_claim_acknowledgment_event"),
        schema=schema,
    )
    op.create_index(
        "ix_claim_acknowledgment_claim",
        "claim_acknowledgment",
        ["tenant_id", "claim_id", "claim_version"],
        schema=schema,
    )

    op.create_table(
        "claim_override_audit",
        sa.Column("id", sa.Integer, primary_key=True),
        _tenant(),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("from_status", sa.String(16), nullable=False),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("from_version", sa.Integer, nullable=False),
        sa.Column("to_version", sa.Integer, nullable=False),
        sa.Column("details", JSONB, nullable=False),
        _now("recorded_at"),
        schema=schema,
    )
    op.create_index(
        "ix_claim_override_audit_claim",
        "claim_override_audit",
        ["tenant_id", "claim_id"],
        schema=schema,
    )
    # Append-only: the audit log refuses to be rewritten, whoever connects.
    op.execute(
        f"""
        CREATE FUNCTION "{schema}".claim_override_audit_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'claim_override_audit is append-only';
        END;
        $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER claim_override_audit_append_only
        BEFORE UPDATE OR DELETE ON "{schema}".claim_override_audit
        FOR EACH ROW EXECUTE FUNCTION "{schema}".claim_override_audit_append_only()
        """
    )


def downgrade() -> None:
    schema = target_schema()
    op.drop_table("claim_override_audit", schema=schema)
    op.execute(f'DROP FUNCTION IF EXISTS "{schema}".claim_override_audit_append_only()')
    op.drop_table("claim_acknowledgment", schema=schema)
    for column in ("original_reference", "frequency_code"):
        op.drop_column("claim_version", column, schema=schema)
    for column in ("superseded_by", "released"):
        op.drop_column("claim", column, schema=schema)
