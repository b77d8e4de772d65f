"""A day charge's stay version: the version of the stay the charges service wrote it from
(the charge's ``source.sequence``). Claims does not auto-build a cycle from day charges
written from a newer stay than the one it knows (#10): the stay's change is on its way.

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
    op.add_column("charge", sa.Column("stay_version", sa.Integer), schema=target_schema())


def downgrade() -> None:
    op.drop_column("charge", "stay_version", schema=target_schema())
