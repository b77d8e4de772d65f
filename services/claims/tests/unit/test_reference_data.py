"""The reference tables shipped with the project (SPEC 2, seed 002): revenue codes with
their category and accommodation subtype, the DRG master; a bad refresh file is refused
whole with its line numbers."""

from __future__ import annotations

import pytest

from claims.adapters.reference_data import ReferenceCatalog
from claims.domain.reference import (
    ReferenceDataInvalid,
    RevenueCategory,
    parse_drg_master,
    parse_revenue_codes,
)


def test_the_packaged_tables_load_with_seed_002s_categories() -> None:
    tables = ReferenceCatalog.load_packaged().packaged()
    codes = tables.revenue_codes
    assert codes.category_of("1001") is RevenueCategory.ACCOMMODATION
    loa = codes.get("0183")
    assert loa is not None and loa.leave_of_absence
    assert codes.category_of("0250") is RevenueCategory.ANCILLARY
    assert codes.category_of("0999") is RevenueCategory.OTHER
    assert codes.category_of("0559") is RevenueCategory.OTHER  # unknown: never rolled up
    assert "885" in tables.drg_master and "000" not in tables.drg_master
    assert len(tables.drg_master) == 766  # MS-DRG v38.1


def test_a_revenue_code_file_with_bad_lines_is_refused_whole() -> None:
    text = (
        "# a comment\n"
        "code,category,accommodation_subtype,description\n"
        "1001,ACCOMMODATION,BEHAVIORAL_HEALTH,Residential\n"
        "101,ACCOMMODATION,,too short\n"
        "0250,PHARMACY,,no such category\n"
        "0251,ANCILLARY,LEAVE_OF_ABSENCE,subtype on an ancillary code\n"
        "1001,ACCOMMODATION,,twice\n"
    )
    with pytest.raises(ReferenceDataInvalid) as refused:
        parse_revenue_codes(text)
    assert refused.value.details["errors"] == [
        "line 4: a revenue code is 4 digits",
        "line 5: category is ACCOMMODATION, ANCILLARY or OTHER",
        "line 6: an accommodation subtype (an upper-case word) is for ACCOMMODATION codes only",
        "line 7: revenue code 1001 is listed twice",
    ]


def test_a_drg_file_needs_its_header_and_a_row() -> None:
    with pytest.raises(ReferenceDataInvalid, match="1 error"):
        parse_drg_master("code,title\n885,Psychoses\n")
    assert "885" in parse_drg_master("drg,mdc,description\n885,19,Psychoses\n")
