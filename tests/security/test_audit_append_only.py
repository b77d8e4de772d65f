"""SPEC 10: overrides are audit-logged (who, when, what, why) and the log is append-only.
Each audit table, read from its service's tables module, refuses UPDATE, DELETE and
TRUNCATE through the application's own engine (the runtime ``build_runtime`` wires, on
its migrated schema): the database's triggers refuse, whatever the code or an operator
connected as the application tries."""

from __future__ import annotations

import importlib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Table
from sqlalchemy.exc import DBAPIError

from .conftest import BuiltService


@dataclass(frozen=True)
class AuditTable:
    service: str
    module: str
    table: str
    who: str
    when: str
    what: tuple[str, ...]
    why: str | None  # None: a log of changes, not of overrides (no reason is asked)

    def load(self) -> Table:
        found: Table = getattr(importlib.import_module(self.module), self.table)
        return found

    def __str__(self) -> str:
        return f"{self.service}.{self.table.lower()}"


AUDIT_TABLES = [
    # Overrides (SPEC 10): forced attendance, claim reverse / replace / fresh rebuild,
    # acknowledgments uploaded by hand.
    AuditTable(
        "attendance",
        "attendance.adapters.db.tables",
        "ATTENDANCE_OVERRIDE",
        who="actor",
        when="recorded_at",
        what=("session_id", "role", "subject_id", "from_status", "to_status"),
        why="reason",
    ),
    AuditTable(
        "claims",
        "claims.adapters.db.tables",
        "CLAIM_OVERRIDE_AUDIT",
        who="actor",
        when="recorded_at",
        what=("claim_id", "action", "from_status", "to_status", "from_version", "to_version"),
        why="reason",
    ),
    AuditTable(
        "edi-gateway",
        "edi_gateway.adapters.db.acknowledgment_tables",
        "MANUAL_ACKNOWLEDGMENT_AUDIT",
        who="subject",
        when="occurred_at",
        what=("clearinghouse_id", "acknowledgment_id", "file_id", "sha256"),
        why="reason",
    ),
    # Change logs kept as audit records.
    AuditTable(
        "charges",
        "charges.adapters.db.tables",
        "BILLING_CODE_GROUP_AUDIT",
        who="actor",
        when="recorded_at",
        what=("group_id", "action", "details"),
        why=None,
    ),
    AuditTable(
        "charges",
        "charges.adapters.db.tables",
        "CHARGE_HISTORY",
        who="actor",
        when="recorded_at",
        what=("charge_id", "charge_version", "change", "state"),
        why=None,
    ),
    AuditTable(
        "stays",
        "stays.adapters.db.tables",
        "STAY_CHANGE",
        who="recorded_by",
        when="recorded_at",
        what=("stay_id", "stay_version", "change", "detail"),
        why=None,
    ),
]
OVERRIDE_LOGS = [t for t in AUDIT_TABLES if t.why is not None]
TRUNCATE_GUARDED = AUDIT_TABLES


def _value(column: sa.Column[Any]) -> Any:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return 1
    if isinstance(kind, sa.Numeric):
        return Decimal("1.00")
    if isinstance(kind, sa.DateTime):
        return datetime.now(UTC)
    if isinstance(kind, sa.Date):
        return date(2026, 1, 5)
    if isinstance(kind, sa.String):  # Text included
        return f"sec-{uuid.uuid4().hex[:8]}"
    if column.name in ("lines", "details", "detail", "state", "items"):
        return {}
    return {}  # JSONB and the like


def a_row(table: Table) -> dict[str, Any]:
    """Every column the database needs a value for, with a plausible one."""
    return {
        c.name: _value(c)
        for c in table.columns
        if not c.primary_key and (not c.nullable) and c.server_default is None
    }


async def write_one(service: BuiltService, table: Table) -> tuple[int, dict[str, Any]]:
    row = a_row(table)
    async with service.runtime.engine.begin() as connection:
        inserted = await connection.execute(
            sa.insert(table).values(**row).returning(*table.primary_key.columns)
        )
        key = inserted.scalar_one()
    return int(key), row


async def refused(service: BuiltService, statement: Any) -> str:
    with pytest.raises(DBAPIError) as caught:
        async with service.runtime.engine.begin() as connection:
            await connection.execute(statement)
    return str(caught.value.orig)


async def rows_of(service: BuiltService, table: Table) -> list[dict[str, Any]]:
    async with service.runtime.engine.connect() as connection:
        result = await connection.execute(sa.select(table).order_by(*table.primary_key.columns))
        return [dict(r._mapping) for r in result]


@pytest.mark.parametrize("audit", OVERRIDE_LOGS, ids=str)
def test_an_override_log_says_who_when_what_and_why(audit: AuditTable) -> None:
    table = audit.load()
    for column in (audit.who, audit.when, *audit.what, audit.why):
        assert column in table.columns, f"{audit}: no {column} column"
    for required in (audit.who, audit.when, audit.why):
        assert not table.columns[required].nullable, f"{audit}: {required} may be empty"


@pytest.mark.parametrize("audit", AUDIT_TABLES, ids=str)
async def test_an_audit_row_cannot_be_updated_through_the_application_connection(
    built_services: dict[str, BuiltService], audit: AuditTable
) -> None:
    service, table = built_services[audit.service], audit.load()
    key, _ = await write_one(service, table)
    before = await rows_of(service, table)
    [pk] = table.primary_key.columns
    message = await refused(
        service, sa.update(table).where(pk == key).values({audit.who: "someone-else"})
    )
    assert "append-only" in message
    assert await rows_of(service, table) == before


@pytest.mark.parametrize("audit", AUDIT_TABLES, ids=str)
async def test_an_audit_row_cannot_be_deleted_through_the_application_connection(
    built_services: dict[str, BuiltService], audit: AuditTable
) -> None:
    service, table = built_services[audit.service], audit.load()
    key, _ = await write_one(service, table)
    before = await rows_of(service, table)
    [pk] = table.primary_key.columns
    assert "append-only" in await refused(service, sa.delete(table).where(pk == key))
    assert "append-only" in await refused(service, sa.delete(table))
    assert await rows_of(service, table) == before


@pytest.mark.parametrize("audit", TRUNCATE_GUARDED, ids=str)
async def test_an_audit_table_cannot_be_truncated_through_the_application_connection(
    built_services: dict[str, BuiltService], audit: AuditTable
) -> None:
    service, table = built_services[audit.service], audit.load()
    await write_one(service, table)
    before = await rows_of(service, table)
    truncate = sa.text(f'TRUNCATE "{service.schema}"."{table.name}"')
    assert "append-only" in await refused(service, truncate)
    assert await rows_of(service, table) == before
