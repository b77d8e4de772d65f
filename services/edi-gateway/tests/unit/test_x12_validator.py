"""pyx12 with its maps parsed once per process: the same issues as a fresh parse, file
after file (valid and invalid, 837P and 837I, one after another and at once)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import pyx12.map_if

from common.x12_validation import map_cache
from edi_gateway.adapters.x12_validator import Pyx12Validator
from edi_gateway.domain.envelope import ControlNumbers, render_interchange
from edi_gateway.domain.institutional import InstitutionalClaimRenderer
from edi_gateway.domain.professional import ProfessionalClaimRenderer
from edi_gateway.domain.validation import ValidationIssue

from ..claim_samples import claim_data, demo_request, keyed, vector2_claim

NUMBERS = ControlNumbers(interchange=7, group=7, transaction_sets=(7,))


def files() -> dict[str, str]:
    professional = render_interchange(
        demo_request(), NUMBERS, ProfessionalClaimRenderer(), keyed(claim_data("a"))
    ).text
    too_long = render_interchange(
        demo_request(),
        NUMBERS,
        ProfessionalClaimRenderer(),
        keyed(claim_data("a"), claim_data("b", first_name="ALEXANDRIA" * 4)),
    ).text
    institutional = render_interchange(
        demo_request(),
        NUMBERS,
        InstitutionalClaimRenderer(),
        keyed(vector2_claim("january", "clm-v2-jan", pcn="V2JAN")),
    ).text
    return {
        "837P valid": professional,
        "837P with a name too long": too_long,
        "837P with a wrong segment count": professional.replace("~SE*", "~SE*9", 1),
        "837I valid": institutional,
        "837I with a claim segment cut short": institutional.replace("~CLM*", "~CLM**", 1),
    }


@pytest.fixture(scope="module")
def fresh_issues() -> dict[str, list[ValidationIssue]]:
    """What pyx12 finds with every map parsed anew, as ``x12n_document`` alone does."""
    cache = map_cache()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pyx12.map_if, "load_map_file", cache.load)
        validator = Pyx12Validator()
        return {name: validator.validate(text) for name, text in files().items()}


def test_the_files_of_this_test_differ_in_what_pyx12_finds(
    fresh_issues: dict[str, list[ValidationIssue]],
) -> None:
    assert fresh_issues["837P valid"] == [] and fresh_issues["837I valid"] == []
    assert all(fresh_issues[name] for name in fresh_issues if "valid" not in name.split())


def test_cached_maps_find_what_fresh_maps_find_file_after_file(
    fresh_issues: dict[str, list[ValidationIssue]],
) -> None:
    validator = Pyx12Validator()
    texts = files()
    order = [*texts, *reversed(texts), *texts]  # each file after each kind of other
    for name in order:
        assert validator.validate(texts[name]) == fresh_issues[name], name


def test_each_map_is_parsed_once_however_many_files(
    fresh_issues: dict[str, list[ValidationIssue]],
) -> None:
    validator = Pyx12Validator()
    texts = files()
    for text in texts.values():
        validator.validate(text)
    parsed = map_cache().loads
    for _ in range(3):
        for text in texts.values():
            validator.validate(text)
    assert map_cache().loads == parsed
    assert pyx12.map_if.load_map_file is map_cache()


def test_threads_sharing_the_maps_each_get_their_own_files_issues(
    fresh_issues: dict[str, list[ValidationIssue]],
) -> None:
    validator = Pyx12Validator()
    texts = files()
    names = list(texts) * 4
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = list(pool.map(lambda name: validator.validate(texts[name]), names))
    assert found == [fresh_issues[name] for name in names]
