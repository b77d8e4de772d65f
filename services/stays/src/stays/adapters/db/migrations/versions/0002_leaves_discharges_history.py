"""Leaves, the append-only change history behind every stay_version, and members' program
enrollment windows. Stays admitted before this revision get their admission as history
line 1.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from common.migrations import target_schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_GUARD = "stay_change_append_only"


def upgrade() -> None:
    schema = target_schema()
    op.create_table(
        "stay_leave",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("stay_id", sa.String(64), nullable=False),
        sa.Column("leave_id", sa.String(64), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("return_date", sa.Date),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("closed_by_discharge", sa.Boolean, nullable=False),
        sa.Column("cancelled", sa.Boolean, nullable=False),
        sa.UniqueConstraint("tenant_id", "stay_id", "leave_id", name="uq_stay_leave"),
        schema=schema,
    )

    op.create_table(
        "stay_change",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("stay_id", sa.String(64), nullable=False),
        sa.Column("stay_version", sa.Integer, nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("correction_kind", sa.String(32)),
        sa.Column("leave_id", sa.String(64)),
        sa.Column("affected_from", sa.Date),
        sa.Column("affected_through", sa.Date),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("event_id", sa.String(128)),
        sa.Column("note", sa.Text),
        sa.Column("detail", JSONB, nullable=False),
        sa.UniqueConstraint("tenant_id", "stay_id", "stay_version", name="uq_stay_change_version"),
        schema=schema,
    )
    op.execute(
        f"""
        CREATE FUNCTION "{schema}".{_GUARD}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'stay_change is append-only: % refused', TG_OP
                USING ERRCODE = 'restrict_violation';
        END
        $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER {_GUARD} BEFORE UPDATE OR DELETE ON "{schema}".stay_change
        FOR EACH ROW EXECUTE FUNCTION "{schema}".{_GUARD}()
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER {_GUARD}_truncate BEFORE TRUNCATE ON "{schema}".stay_change
        FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".{_GUARD}()
        """
    )
    # Stays recorded before the history existed: their admission is version 1 (the
    # migration runs with the service schema as its search_path).
    op.execute(
        """
        INSERT INTO stay_change
            (tenant_id, stay_id, stay_version, change, recorded_at, recorded_by, detail)
        SELECT tenant_id, stay_id, 1, 'ADMITTED', COALESCE(updated_at, now()), 'migration',
               jsonb_build_object('admission', admission)
        FROM stay
        """
    )

    op.create_table(
        "member_source",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("source_event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_event_id", sa.String(128), nullable=False),
        sa.UniqueConstraint("tenant_id", "member_id", name="uq_member_source_tenant_member"),
        schema=schema,
    )
    op.create_table(
        "enrollment_window",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("program_id", sa.String(64), nullable=False),
        sa.Column("enrolled_from", sa.Date, nullable=False),
        sa.Column("enrolled_to", sa.Date),
        schema=schema,
    )
    op.create_index(
        "ix_enrollment_window_member",
        "enrollment_window",
        ["tenant_id", "member_id", "program_id"],
        schema=schema,
    )


def downgrade() -> None:
    schema = target_schema()
    op.drop_table("enrollment_window", schema=schema)
    op.drop_table("member_source", schema=schema)
    op.drop_table("stay_change", schema=schema)
    op.execute(f'DROP FUNCTION "{schema}".{_GUARD}()')
    op.drop_table("stay_leave", schema=schema)
