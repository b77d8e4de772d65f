"""How far the charges service has brought each stay's day charges
(``charges.stay.charged.v1``, #10). Stays known before this revision are taken as brought
in line with the version this service holds: their day charges came before the message
existed, and a cycle must not wait for a message that was never going to be sent.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from common.migrations import target_schema

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    op.create_table(
        "stay_charging",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("stay_id", sa.String(64), nullable=False),
        sa.Column("stay_version", sa.Integer, nullable=False),
        sa.Column("awaited", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.UniqueConstraint("tenant_id", "stay_id", name="uq_stay_charging_tenant_stay"),
        schema=schema,
    )
    columns = ("tenant_id", "stay_id", "stay_version")
    known = sa.table("stay_context", *map(sa.column, columns), schema=schema)
    charging = sa.table("stay_charging", *map(sa.column, columns), schema=schema)
    op.execute(
        charging.insert().from_select(list(columns), sa.select(*(known.c[c] for c in columns)))
    )


def downgrade() -> None:
    op.drop_table("stay_charging", schema=target_schema())
