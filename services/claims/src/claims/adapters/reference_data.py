"""The reference tables (SPEC 2): revenue codes with their category and the DRG master.

Each ships with the package as a data file (``claims/reference_data/``), loaded and
checked at start. A refresh (``claims refresh-reference NAME FILE`` or the reference API)
stores the new file as a numbered version in the ``reference_table`` table, so every
replica sees it: each build asks the database which version is in force (one small query)
and parses a new one once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from claims.adapters.db.tables import REFERENCE_TABLE
from claims.domain.reference import (
    DrgMaster,
    ReferenceTables,
    RevenueCodeTable,
    parse_drg_master,
    parse_revenue_codes,
)
from common.errors import DomainError

PACKAGED = Path(__file__).resolve().parents[1] / "reference_data"
REVENUE_CODES = "revenue-codes"
DRG_MASTER = "drg-master"
FILES = {REVENUE_CODES: "revenue_codes.csv", DRG_MASTER: "ms_drg.csv"}
PACKAGED_VERSION = 0


class UnknownReferenceTable(DomainError):
    def __init__(self, name: str) -> None:
        super().__init__(
            "REFERENCE_TABLE_NOT_FOUND",
            "no such reference table",
            table=name,
            tables=sorted(FILES),
        )


@dataclass(frozen=True)
class ReferenceTableInfo:
    name: str
    version: int  # 0: the file packaged with this release
    source: str
    rows: int
    refreshed_at: datetime | None


def _parse(name: str, text: str) -> RevenueCodeTable | DrgMaster:
    if name == REVENUE_CODES:
        return parse_revenue_codes(text)
    if name == DRG_MASTER:
        return parse_drg_master(text)
    raise UnknownReferenceTable(name)


class ReferenceCatalog:
    def __init__(self, revenue_codes: RevenueCodeTable, drg_master: DrgMaster) -> None:
        self._packaged: dict[str, RevenueCodeTable | DrgMaster] = {
            REVENUE_CODES: revenue_codes,
            DRG_MASTER: drg_master,
        }
        self._refreshed: dict[str, tuple[int, RevenueCodeTable | DrgMaster]] = {}

    @classmethod
    def load_packaged(cls, folder: Path = PACKAGED) -> ReferenceCatalog:
        """Parse the packaged files (a bad one fails the start, with its line numbers)."""
        return cls(
            parse_revenue_codes((folder / FILES[REVENUE_CODES]).read_text()),
            parse_drg_master((folder / FILES[DRG_MASTER]).read_text()),
        )

    def packaged(self) -> ReferenceTables:
        revenue, drg = self._packaged[REVENUE_CODES], self._packaged[DRG_MASTER]
        assert isinstance(revenue, RevenueCodeTable) and isinstance(drg, DrgMaster)
        return ReferenceTables(revenue, drg)

    async def current(self, session: AsyncSession) -> ReferenceTables:
        """The tables in force: the newest refreshed version of each, else the packaged."""
        versions = {
            row.name: row.version
            for row in (
                await session.execute(select(REFERENCE_TABLE.c.name, REFERENCE_TABLE.c.version))
            ).all()
        }
        tables = dict(self._packaged)
        for name, version in versions.items():
            if name not in tables:
                continue
            cached = self._refreshed.get(name)
            if cached is None or cached[0] != version:
                content = (
                    await session.execute(
                        select(REFERENCE_TABLE.c.content).where(REFERENCE_TABLE.c.name == name)
                    )
                ).scalar_one()
                cached = (version, _parse(name, content))
                self._refreshed[name] = cached
            tables[name] = cached[1]
        revenue, drg = tables[REVENUE_CODES], tables[DRG_MASTER]
        assert isinstance(revenue, RevenueCodeTable) and isinstance(drg, DrgMaster)
        return ReferenceTables(revenue, drg)

    async def refresh(
        self, session: AsyncSession, name: str, text: str, source: str
    ) -> ReferenceTableInfo:
        """Check ``text`` whole (ReferenceDataInvalid lists every bad line, nothing is
        applied) and store it as the table's next version."""
        table = _parse(name, text)
        statement = insert(REFERENCE_TABLE).values(
            name=name, version=1, source=source[:200], row_count=len(table), content=text
        )
        statement = statement.on_conflict_do_update(
            index_elements=[REFERENCE_TABLE.c.name],
            set_={
                "version": REFERENCE_TABLE.c.version + 1,
                "source": statement.excluded.source,
                "row_count": statement.excluded.row_count,
                "content": statement.excluded.content,
                "refreshed_at": func.now(),
            },
        )
        row = (
            await session.execute(
                statement.returning(REFERENCE_TABLE.c.version, REFERENCE_TABLE.c.refreshed_at)
            )
        ).one()
        return ReferenceTableInfo(name, row.version, source[:200], len(table), row.refreshed_at)

    async def describe(self, session: AsyncSession) -> list[ReferenceTableInfo]:
        stored = {
            row.name: row
            for row in (
                await session.execute(
                    select(
                        REFERENCE_TABLE.c.name,
                        REFERENCE_TABLE.c.version,
                        REFERENCE_TABLE.c.source,
                        REFERENCE_TABLE.c.row_count,
                        REFERENCE_TABLE.c.refreshed_at,
                    )
                )
            ).all()
        }
        found: list[ReferenceTableInfo] = []
        for name in sorted(FILES):
            row = stored.get(name)
            if row is None:
                found.append(
                    ReferenceTableInfo(
                        name,
                        PACKAGED_VERSION,
                        f"packaged {FILES[name]}",
                        len(self._packaged[name]),
                        None,
                    )
                )
            else:
                found.append(
                    ReferenceTableInfo(
                        name, row.version, row.source, row.row_count, row.refreshed_at
                    )
                )
        return found
