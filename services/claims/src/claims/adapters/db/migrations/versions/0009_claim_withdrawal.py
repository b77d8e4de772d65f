"""A submitted claim version that went STALE before it was sent is asked back from the
EDI gateway (``claims.claim.withdrawal_requested.v1``); the claim header keeps which
version is asked back until the gateway answers, so that no void or replacement is built
for a claim that may never have left.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from common.migrations import target_schema

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "claim",
        sa.Column("withdrawal_requested_version", sa.Integer, nullable=True),
        schema=target_schema(),
    )


def downgrade() -> None:
    op.drop_column("claim", "withdrawal_requested_version", schema=target_schema())
