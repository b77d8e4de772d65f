"""The manual acknowledgment audit refuses TRUNCATE too (SPEC 10: append-only); UPDATE and
DELETE are refused since 0004.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

from common.migrations import target_schema

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    op.execute(
        f"""
        CREATE TRIGGER manual_acknowledgment_audit_append_only_truncate
        BEFORE TRUNCATE ON "{schema}".manual_acknowledgment_audit
        FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".refuse_audit_change()
        """
    )


def downgrade() -> None:
    schema = target_schema()
    op.execute(
        "DROP TRIGGER manual_acknowledgment_audit_append_only_truncate "
        f'ON "{schema}".manual_acknowledgment_audit'
    )
