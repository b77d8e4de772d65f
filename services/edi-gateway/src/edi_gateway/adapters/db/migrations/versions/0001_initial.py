"""EDI gateway schema: outbox, inbox, control_number_sequence, interchange.

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


def upgrade() -> None:
    schema = target_schema()
    create_messaging_tables()
    op.create_table(
        "control_number_sequence",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("sender_id", sa.String(15), nullable=False),
        sa.Column("kind", sa.String(3), nullable=False),
        sa.Column("last_value", sa.BigInteger, nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "sender_id", "kind", name="pk_control_number_sequence"
        ),
        sa.CheckConstraint("kind IN ('ISA', 'GS', 'ST')", name="ck_control_number_kind"),
        sa.CheckConstraint(
            "last_value BETWEEN 0 AND 999999999", name="ck_control_number_last_value"
        ),
        schema=schema,
    )
    op.create_table(
        "interchange",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("interchange_id", sa.String(64), nullable=False),
        sa.Column("clearinghouse_id", sa.String(64), nullable=False),
        sa.Column("sender_id", sa.String(15), nullable=False),
        sa.Column("transaction_type", sa.String(4), nullable=False),
        sa.Column("usage_indicator", sa.String(1), nullable=False),
        sa.Column("isa13", sa.BigInteger, nullable=False),
        sa.Column("gs06", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("tenant_id", "interchange_id", name="uq_interchange_tenant_id"),
        schema=schema,
    )
    op.create_index(
        "ix_interchange_isa13", "interchange", ["tenant_id", "sender_id", "isa13"], schema=schema
    )
    op.create_index(
        "ix_interchange_gs06", "interchange", ["tenant_id", "sender_id", "gs06"], schema=schema
    )
    op.create_index(
        "ix_interchange_listing", "interchange", ["tenant_id", "created_at"], schema=schema
    )


def downgrade() -> None:
    schema = target_schema()
    op.drop_table("interchange", schema=schema)
    op.drop_table("control_number_sequence", schema=schema)
    op.drop_table("inbox", schema=schema)
    op.drop_table("outbox", schema=schema)
