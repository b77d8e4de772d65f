"""The operators' override audit refuses TRUNCATE too (SPEC 10: append-only, whoever
connects); UPDATE and DELETE are refused since 0004.

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
        CREATE TRIGGER claim_override_audit_append_only_truncate
        BEFORE TRUNCATE ON "{schema}".claim_override_audit
        FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".claim_override_audit_append_only()
        """
    )


def downgrade() -> None:
    schema = target_schema()
    op.execute(
        f'DROP TRIGGER claim_override_audit_append_only_truncate ON "{schema}".claim_override_audit'
    )
