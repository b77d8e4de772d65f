"""Reference data the institutional claims read (SPEC 2, seed 002): revenue codes with
their billing category, and the DRG master table. Both ship with the project as data files
and can be refreshed; this module parses and answers, it does not read files.

A revenue code's category decides how its charges print (SPEC 6): ACCOMMODATION charges
roll up into one line per (cycle, revenue code), ANCILLARY and OTHER ones are one line per
charge, and a code the table does not know is OTHER (never silently rolled up)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from common.errors import DomainError

LEAVE_OF_ABSENCE = "LEAVE_OF_ABSENCE"
_REVENUE_CODE = re.compile(r"^[0-9]{4}$")
_DRG = re.compile(r"^[0-9]{3}$")
_SUBTYPE = re.compile(r"^[A-Z][A-Z_]{0,39}$")
MAX_ERRORS_REPORTED = 20


class RevenueCategory(StrEnum):
    ACCOMMODATION = "ACCOMMODATION"
    ANCILLARY = "ANCILLARY"
    OTHER = "OTHER"


class ReferenceDataInvalid(DomainError):
    """A reference file that cannot be used; nothing of it is applied."""

    def __init__(self, name: str, errors: list[str]) -> None:
        super().__init__(
            "REFERENCE_DATA_INVALID",
            f"the {name} file has {len(errors)} error(s)",
            table=name,
            errors=errors[:MAX_ERRORS_REPORTED],
        )


@dataclass(frozen=True)
class RevenueCode:
    code: str
    category: RevenueCategory
    accommodation_subtype: str | None
    description: str

    @property
    def leave_of_absence(self) -> bool:
        return self.accommodation_subtype == LEAVE_OF_ABSENCE


class RevenueCodeTable:
    def __init__(self, codes: Iterable[RevenueCode]) -> None:
        self._codes: Mapping[str, RevenueCode] = {c.code: c for c in codes}

    def __len__(self) -> int:
        return len(self._codes)

    def get(self, code: str | None) -> RevenueCode | None:
        return None if code is None else self._codes.get(code)

    def category_of(self, code: str | None) -> RevenueCategory:
        known = self.get(code)
        return RevenueCategory.OTHER if known is None else known.category

    def rows(self) -> list[RevenueCode]:
        return [self._codes[code] for code in sorted(self._codes)]


@dataclass(frozen=True)
class Drg:
    code: str
    mdc: str | None
    description: str


class DrgMaster:
    def __init__(self, drgs: Iterable[Drg]) -> None:
        self._drgs: Mapping[str, Drg] = {d.code: d for d in drgs}

    def __len__(self) -> int:
        return len(self._drgs)

    def __contains__(self, code: object) -> bool:
        return code in self._drgs

    def rows(self) -> list[Drg]:
        return [self._drgs[code] for code in sorted(self._drgs)]


@dataclass(frozen=True)
class ReferenceTables:
    """The reference data in force for one build."""

    revenue_codes: RevenueCodeTable
    drg_master: DrgMaster


# --------------------------------------------------------------------------- parsing


def _records(
    text: str, required: tuple[str, ...]
) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """CSV rows after ``#`` comment lines, keyed by the header; with their line numbers."""
    lines = text.splitlines()
    kept = [
        (n, line)
        for n, line in enumerate(lines, start=1)
        if line.strip() and not line.startswith("#")
    ]
    if not kept:
        return [], ["the file holds no header and no rows"]
    reader = csv.reader(io.StringIO("\n".join(line for _, line in kept)))
    header = [h.strip().lower() for h in next(reader)]
    missing = [name for name in required if name not in header]
    if missing:
        return [], [f"line {kept[0][0]}: the header lacks {', '.join(missing)}"]
    records: list[tuple[int, dict[str, str]]] = []
    for (number, _), values in zip(kept[1:], reader, strict=False):
        if len(values) != len(header):
            records.append((number, {"__width__": str(len(values))}))
            continue
        records.append((number, {k: v.strip() for k, v in zip(header, values, strict=True)}))
    return records, []


def parse_revenue_codes(text: str) -> RevenueCodeTable:
    """``code,category,accommodation_subtype,description``; raises ReferenceDataInvalid with
    every bad line (by number) and applies nothing when any line is bad."""
    records, errors = _records(text, ("code", "category", "accommodation_subtype", "description"))
    codes: list[RevenueCode] = []
    seen: set[str] = set()
    for number, row in records:
        if "__width__" in row:
            errors.append(f"line {number}: expected 4 columns, found {row['__width__']}")
            continue
        code, category, subtype = row["code"], row["category"].upper(), row["accommodation_subtype"]
        if not _REVENUE_CODE.fullmatch(code):
            errors.append(f"line {number}: a revenue code is 4 digits")
        elif code in seen:
            errors.append(f"line {number}: revenue code {code} is listed twice")
        if category not in RevenueCategory.__members__:
            errors.append(f"line {number}: category is ACCOMMODATION, ANCILLARY or OTHER")
            continue
        if subtype and (
            category != RevenueCategory.ACCOMMODATION or not _SUBTYPE.fullmatch(subtype)
        ):
            errors.append(
                f"line {number}: an accommodation subtype (an upper-case word) is for "
                "ACCOMMODATION codes only"
            )
        seen.add(code)
        codes.append(
            RevenueCode(code, RevenueCategory(category), subtype or None, row["description"])
        )
    if not codes and not errors:
        errors.append("the file lists no revenue code")
    if errors:
        raise ReferenceDataInvalid("revenue-codes", errors)
    return RevenueCodeTable(codes)


def parse_drg_master(text: str) -> DrgMaster:
    """``drg,mdc,description`` (MS-DRG, 3 digits); raises ReferenceDataInvalid as above."""
    records, errors = _records(text, ("drg", "description"))
    drgs: list[Drg] = []
    seen: set[str] = set()
    for number, row in records:
        if "__width__" in row:
            errors.append(f"line {number}: a row has as many columns as the header")
            continue
        code = row["drg"]
        if not _DRG.fullmatch(code):
            errors.append(f"line {number}: a DRG is 3 digits")
            continue
        if code in seen:
            errors.append(f"line {number}: DRG {code} is listed twice")
            continue
        seen.add(code)
        drgs.append(Drg(code, row.get("mdc") or None, row["description"]))
    if not drgs and not errors:
        errors.append("the file lists no DRG")
    if errors:
        raise ReferenceDataInvalid("drg-master", errors)
    return DrgMaster(drgs)
