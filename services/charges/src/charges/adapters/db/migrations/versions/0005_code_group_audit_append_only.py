"""The billing code group audit is append-only in the database too (SPEC 10): a trigger
refuses UPDATE, DELETE and TRUNCATE, whoever connects (the code only inserts); the charge
history, guarded against UPDATE and DELETE since 0002, refuses TRUNCATE as well.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from common.migrations import target_schema

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_GUARD = "billing_code_group_audit_append_only"


def upgrade() -> None:
    schema = target_schema()
    op.execute(
        f"""
        CREATE FUNCTION "{schema}".{_GUARD}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'billing_code_group_audit is append-only: % refused', TG_OP
                USING ERRCODE = 'restrict_violation';
        END
        $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER {_GUARD} BEFORE UPDATE OR DELETE ON "{schema}".billing_code_group_audit
        FOR EACH ROW EXECUTE FUNCTION "{schema}".{_GUARD}()
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER {_GUARD}_truncate BEFORE TRUNCATE ON "{schema}".billing_code_group_audit
        FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".{_GUARD}()
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER charge_history_append_only_truncate
        BEFORE TRUNCATE ON "{schema}".charge_history
        FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".charge_history_append_only()
        """
    )


def downgrade() -> None:
    schema = target_schema()
    op.execute(f'DROP TRIGGER charge_history_append_only_truncate ON "{schema}".charge_history')
    op.execute(f'DROP TRIGGER {_GUARD}_truncate ON "{schema}".billing_code_group_audit')
    op.execute(f'DROP TRIGGER {_GUARD} ON "{schema}".billing_code_group_audit')
    op.execute(f'DROP FUNCTION "{schema}".{_GUARD}()')
