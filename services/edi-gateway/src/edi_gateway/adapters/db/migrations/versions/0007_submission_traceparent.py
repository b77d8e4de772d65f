"""Each claim submission keeps the W3C ``traceparent`` of the event that brought it, so the
batcher and the acknowledgment poller (background jobs, outside any consumer span) carry
the claim's trace on: scheduling event -> charge -> claim -> file -> acknowledgment.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from common.migrations import target_schema

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "claim_submission",
        sa.Column("traceparent", sa.String(55), nullable=True),
        schema=target_schema(),
    )


def downgrade() -> None:
    op.drop_column("claim_submission", "traceparent", schema=target_schema())
