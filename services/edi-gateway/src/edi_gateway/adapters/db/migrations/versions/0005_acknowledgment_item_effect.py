"""Acknowledgment items say what applying them did: ANNOUNCED (an event went out),
RECORDED (kept, nothing to tell) or REJECTION_STANDS (an acceptance after a rejection of
the same claim version: kept, not told). Items applied before stay None.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from common.migrations import target_schema

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "acknowledgment_item",
        sa.Column("effect", sa.String(24), nullable=True),
        schema=target_schema(),
    )


def downgrade() -> None:
    op.drop_column("acknowledgment_item", "effect", schema=target_schema())
