"""Tables of the stays schema (placeholder schema translated to DB_SCHEMA at runtime)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Integer,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from common.db import SERVICE_SCHEMA


class StaysTable(SQLModel, registry=registry()):
    """Base of this service's tables: a metadata of its own, so that another service's
    table of the same name never collides with one of ours in a shared process."""


class StayRow(StaysTable, table=True):
    __tablename__ = "stay"
    __table_args__ = (
        UniqueConstraint("tenant_id", "stay_id", name="uq_stay_tenant_stay"),
        {"schema": SERVICE_SCHEMA},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    stay_id: str = Field(sa_column=Column(String(64), nullable=False))
    member_id: str = Field(sa_column=Column(String(64), nullable=False))
    facility_id: str = Field(sa_column=Column(String(64), nullable=False))
    program_id: str = Field(sa_column=Column(String(64), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    admit_date: date = Field(sa_column=Column(Date, nullable=False))
    admit_hour: int | None = Field(default=None, sa_column=Column(SmallInteger))
    admission: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    discharge_date: date | None = Field(default=None, sa_column=Column(Date))
    discharge_hour: int | None = Field(default=None, sa_column=Column(SmallInteger))
    discharge_status: str | None = Field(default=None, sa_column=Column(String(2)))
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now()),
    )


STAY: Table = StayRow.__table__  # type: ignore[attr-defined]
