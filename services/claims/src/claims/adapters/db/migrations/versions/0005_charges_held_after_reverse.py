"""A charge held after its claim's void (SPEC 3, 6): the claim voided and the charge version
it billed. No automatic build bills a held charge until a newer version bills it
differently (or, for a day charge, its stay changes) or an operator rebuilds the claim.

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
    schema = target_schema()
    op.add_column("charge", sa.Column("held_after_reverse_of", sa.String(64)), schema=schema)
    op.add_column("charge", sa.Column("held_at_version", sa.Integer), schema=schema)


def downgrade() -> None:
    schema = target_schema()
    op.drop_column("charge", "held_at_version", schema=schema)
    op.drop_column("charge", "held_after_reverse_of", schema=schema)
