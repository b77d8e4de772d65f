"""The sandbox keeps pyx12's parsed maps: each map is parsed once, and the findings of a
file do not depend on what was validated before it (valid and invalid, 837P and 837I)."""

from __future__ import annotations

from pathlib import Path

import pytest
import pyx12.map_if

from clearinghouse_sandbox import validation
from clearinghouse_sandbox.validation import Findings, validate

FIXTURES = Path(__file__).parent / "fixtures"


def files() -> dict[str, str]:
    professional = (FIXTURES / "837p_group_session.x12").read_text()
    institutional = (FIXTURES / "837i_icf_interim.x12").read_text()
    return {
        "837P": professional,
        "837P with a wrong segment count": professional.replace("\nSE*", "\nSE*9", 1),
        "837I": institutional,
        "837I with a claim segment cut short": institutional.replace("\nCLM*", "\nCLM**", 1),
    }


@pytest.fixture(scope="module")
def fresh() -> dict[str, Findings]:
    """Every file validated with its maps parsed anew, as pyx12 does alone."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(validation, "_keep_maps", lambda: None)
        patch.setattr(pyx12.map_if, "load_map_file", validation._parse_map)
        return {name: validate(text) for name, text in files().items()}


def test_the_files_differ_in_what_pyx12_finds(fresh: dict[str, Findings]) -> None:
    assert fresh["837P"].valid and fresh["837I"].valid
    assert not fresh["837P with a wrong segment count"].valid
    assert not fresh["837I with a claim segment cut short"].valid


def test_kept_maps_find_what_fresh_maps_find_file_after_file(fresh: dict[str, Findings]) -> None:
    texts = files()
    for name in [*texts, *reversed(texts), *texts]:
        assert validate(texts[name]) == fresh[name], name


def test_each_map_is_parsed_once(fresh: dict[str, Findings]) -> None:
    texts = files()
    for text in texts.values():
        validate(text)
    parsed = validation._parsed_map.cache_info().misses
    for text in texts.values():
        validate(text)
    assert validation._parsed_map.cache_info().misses == parsed
    assert validation._parsed_map.cache_info().hits > 0
