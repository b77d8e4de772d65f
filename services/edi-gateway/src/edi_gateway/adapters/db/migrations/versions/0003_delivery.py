"""Delivery: the interchange's delivery attempts and last error, and the durable
per-interchange delivery record (``interchange_delivery``) written outside the
interchange's row lock (see ``edi_gateway.service_layer.delivery``).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from common.migrations import target_schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    for column in (
        sa.Column("delivery_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_delivery_error", sa.Text, nullable=True),
        sa.Column("last_delivery_attempt_at", sa.DateTime(timezone=True), nullable=True),
    ):
        op.add_column("interchange", column, schema=schema)
    op.create_table(
        "interchange_delivery",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("interchange_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("temporary_name", sa.String(220), nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploads", sa.Integer, nullable=False, server_default="0"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("tenant_id", "interchange_id", name="uq_interchange_delivery"),
        sa.CheckConstraint(
            "state IN ('UPLOADING', 'UPLOADED', 'RENAMED')", name="ck_interchange_delivery_state"
        ),
        schema=schema,
    )


def downgrade() -> None:
    schema = target_schema()
    op.drop_table("interchange_delivery", schema=schema)
    for name in ("last_delivery_attempt_at", "last_delivery_error", "delivery_attempts"):
        op.drop_column("interchange", name, schema=schema)
