"""Attendance schema: outbox, inbox, group_session, participant, supervisor,
attendance_history.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from common.migrations import create_messaging_tables, target_schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = target_schema()
    create_messaging_tables()
    op.create_table(
        "group_session",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("facility_id", sa.String(64), nullable=False),
        sa.Column("facility_state", sa.String(2)),
        sa.Column("program_id", sa.String(64), nullable=False),
        sa.Column("session_date", sa.Date, nullable=False),
        sa.Column("start_time", sa.Time, nullable=False),
        sa.Column("end_time", sa.Time, nullable=False),
        sa.Column("group_type", sa.String(64), nullable=False),
        sa.Column("service_code", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("cancel_reason", sa.Text),
        sa.Column("schedule_revision", sa.BigInteger),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.UniqueConstraint("tenant_id", "session_id", name="uq_group_session_tenant_session"),
        schema=schema,
    )
    op.create_index(
        "ix_group_session_tenant_date",
        "group_session",
        ["tenant_id", "session_date"],
        schema=schema,
    )
    for table, subject in (("participant", "member_id"), ("supervisor", "provider_id")):
        op.create_table(
            table,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column(
                "session_pk",
                sa.Integer,
                sa.ForeignKey(f"{schema}.group_session.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("tenant_id", sa.String(64), nullable=False),
            sa.Column(subject, sa.String(64), nullable=False),
            sa.Column("position", sa.SmallInteger, nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.UniqueConstraint(
                "session_pk",
                subject,
                name=f"uq_{table}_session_{subject.removesuffix('_id')}",
            ),
            schema=schema,
        )
    op.create_table(
        "attendance_history",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "session_pk",
            sa.Integer,
            sa.ForeignKey(f"{schema}.group_session.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
    )
    op.create_index(
        "ix_attendance_history_session",
        "attendance_history",
        ["session_pk", "id"],
        schema=schema,
    )


def downgrade() -> None:
    schema = target_schema()
    op.drop_table("attendance_history", schema=schema)
    op.drop_table("supervisor", schema=schema)
    op.drop_table("participant", schema=schema)
    op.drop_table("group_session", schema=schema)
    op.drop_table("inbox", schema=schema)
    op.drop_table("outbox", schema=schema)
