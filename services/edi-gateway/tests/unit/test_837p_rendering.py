"""The 837P as rendered, read back and run through pyx12 (SPEC 7, SPEC 12 vector 1)."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from edi_gateway.adapters.x12_validator import Pyx12Validator
from edi_gateway.domain.envelope import (
    ControlNumbers,
    interchange_header,
    refusals_of,
    render_interchange,
)
from edi_gateway.domain.professional import ProfessionalClaimRenderer
from edi_gateway.domain.validation import IssueLevel, attribute_issues
from edi_gateway.domain.x12 import Delimiters, x12_amount

from ..claim_samples import X12File, claim_data, demo_request, keyed

RENDERER = ProfessionalClaimRenderer()
NUMBERS = ControlNumbers(interchange=101, group=101, transaction_sets=(101,))


@pytest.fixture(scope="module")
def validator() -> Pyx12Validator:
    return Pyx12Validator()


def five_members() -> list[dict[str, object]]:
    return [claim_data(f"clm-{n}", pcn=f"P2603090000{n}") for n in range(1, 6)]


def render(*claims: dict[str, object], numbers: ControlNumbers = NUMBERS) -> X12File:
    rendered = render_interchange(demo_request(), numbers, RENDERER, keyed(*claims))
    return X12File.parse(rendered.text)


def test_five_members_of_a_group_session_are_one_file_pyx12_accepts_with_zero_errors(
    validator: Pyx12Validator,
) -> None:
    x12 = render(*five_members())
    assert validator.validate(x12.text) == []
    assert [c[1:3] for c in x12.all("CLM")] == [[f"P2603090000{n}", "50"] for n in range(1, 6)]
    assert {x12.element.join(s) for s in x12.all("SV1")} == {"SV1*HC:90853:HQ*50*UN*1***1:2"}


def test_each_claim_sits_under_a_subscriber_level_of_its_own() -> None:
    x12 = render(*five_members())
    kinds = [s[0] if s[0] != "HL" else f"HL{s[3]}" for s in x12.segments]
    assert kinds.count("HL20") == 1
    assert kinds.count("HL22") == 5
    # Every CLM follows its own subscriber level (no two claims share one).
    subscriber_levels = [i for i, k in enumerate(kinds) if k == "HL22"]
    claims = [i for i, k in enumerate(kinds) if k == "CLM"]
    assert all(
        a < c < b
        for a, c, b in zip(subscriber_levels, claims, [*subscriber_levels[1:], 10**6], strict=True)
    )
    assert [s[1:5] for s in x12.all("HL")][:3] == [
        ["1", "", "20", "1"],
        ["2", "1", "22", "0"],
        ["3", "1", "22", "0"],
    ]


def test_counts_and_control_numbers_add_up_and_the_isa_is_106_characters() -> None:
    x12 = render(*five_members(), numbers=ControlNumbers(123456789, 77, (4321,)))
    x12.assert_envelope_consistent()
    assert x12.isa.split("*")[13] == "123456789"
    assert x12.one("GS")[6] == "77" and x12.one("GS")[8] == "005010X222A1"
    assert x12.one("ST") == ["ST", "837", "4321", "005010X222A1"]
    # ST and SE, 4 header and 9 billing provider segments, 5 claims of 15 segments.
    assert x12.one("SE") == ["SE", str(2 + 4 + 9 + 5 * 15), "4321"]


def test_the_isa_is_fixed_width_with_padded_ids_and_usage_and_ack_flags() -> None:
    isa = interchange_header(demo_request(), 7)
    assert len(isa) == 106
    assert isa == (
        "ISA*00*          *00*          *ZZ*HARBORBH       *ZZ*LOCALCH        "
        "*260309*1605*^*00501*000000007*0*T*:~"
    )


def test_delimiters_are_configurable_and_readers_take_them_from_the_isa(
    validator: Pyx12Validator,
) -> None:
    delimiters = Delimiters(element="|", component=">", repetition="!", segment="'")
    rendered = render_interchange(
        demo_request(delimiters), NUMBERS, RENDERER, keyed(*five_members())
    )
    x12 = X12File.parse(rendered.text)
    assert (x12.element, x12.component, x12.terminator) == ("|", ">", "'")
    assert x12.isa.split("|")[11] == "!"
    assert x12.all("SV1")[0][1] == "HC>90853>HQ"
    x12.assert_envelope_consistent()
    assert validator.validate(rendered.text) == []


def test_more_claims_than_a_transaction_set_holds_split_into_several(
    validator: Pyx12Validator,
) -> None:
    rendered = render_interchange(
        demo_request(),
        ControlNumbers(9, 9, (21, 22, 23)),
        RENDERER,
        keyed(*five_members()),
        per_set=2,
    )
    x12 = X12File.parse(rendered.text)
    assert [s[2] for s in x12.all("ST")] == ["0021", "0022", "0023"]
    assert x12.one("GE")[1] == "3"
    assert [len(x12.all("CLM"))] == [5]
    assert rendered.transaction_set_of == {1: 21, 2: 21, 3: 22, 4: 22, 5: 23}
    x12.assert_envelope_consistent()
    assert validator.validate(rendered.text) == []


def test_a_patient_who_is_not_the_subscriber_gets_a_patient_level(
    validator: Pyx12Validator,
) -> None:
    child = claim_data("clm-child")
    child["subscriber"]["relationship_to_subscriber"] = "19"
    child["patient"] = {
        "member_id": "m-20001",
        "first_name": "SAM",
        "last_name": "DOE",
        "birth_date": "2012-06-01",
        "sex": "M",
        "address": child["subscriber"]["address"],
    }
    x12 = render(child)
    assert [s[1:5] for s in x12.all("HL")] == [
        ["1", "", "20", "1"],
        ["2", "1", "22", "1"],
        ["3", "2", "23", "0"],
    ]
    assert x12.one("SBR")[1:3] == ["P", ""]  # SBR02 only for self
    assert x12.one("PAT") == ["PAT", "19"]
    assert validator.validate(x12.text) == []


def test_one_rendering_provider_for_every_line_goes_once_at_claim_level() -> None:
    claim = claim_data("clm-2310b")
    second = copy.deepcopy(claim["service_lines"][0])
    second.update(line_number=2, line_control_number="clm-2310b-2", date_of_service="2026-03-10")
    claim["service_lines"].append(second)
    claim["total_charge"] = "100.00"
    x12 = render(claim)
    rendering = [s for s in x12.segments if s[:2] == ["NM1", "82"]]
    assert len(rendering) == 1
    assert x12.segments.index(rendering[0]) < x12.segments.index(x12.all("LX")[0])


def test_lines_with_different_rendering_providers_each_carry_their_own(
    validator: Pyx12Validator,
) -> None:
    claim = claim_data("clm-2420a")
    second = copy.deepcopy(claim["service_lines"][0])
    second.update(line_number=2, line_control_number="clm-2420a-2")
    second["rendering_provider"] = {
        "provider_id": "prov-bob-lee",
        "npi": "1333333338",
        "first_name": "BOB",
        "last_name": "LEE",
    }
    claim["service_lines"].append(second)
    claim["total_charge"] = "100.00"
    x12 = render(claim)
    kinds = [s[0] + (s[1] if s[0] == "NM1" else "") for s in x12.segments]
    lx = [i for i, k in enumerate(kinds) if k == "LX"]
    rendering = [i for i, k in enumerate(kinds) if k == "NM182"]
    assert len(rendering) == 2 and lx[0] < rendering[0] < lx[1] < rendering[1]
    assert validator.validate(x12.text) == []


def test_a_rendering_provider_that_is_the_billing_provider_is_not_repeated() -> None:
    claim = claim_data("clm-self")
    claim["service_lines"][0]["rendering_provider"]["npi"] = claim["billing_provider"]["npi"]
    x12 = render(claim)
    assert not [s for s in x12.segments if s[:2] == ["NM1", "82"]]


def test_pay_to_address_only_when_it_differs_from_the_billing_address() -> None:
    differs = render(claim_data("clm-payto"))
    assert [s for s in differs.segments if s[:2] == ["NM1", "87"]] == [["NM1", "87", "2"]]
    same = claim_data("clm-same")
    same["pay_to_address"] = same["billing_provider"]["address"]
    assert not [s for s in render(same).segments if s[:2] == ["NM1", "87"]]


def test_a_replacement_claim_carries_the_original_reference() -> None:
    claim = claim_data("clm-7", frequency_code="7", original_reference="PAYERICN123")
    x12 = render(claim)
    assert x12.one("CLM")[5] == "11:B:7"
    assert ["REF", "F8", "PAYERICN123"] in x12.segments


@pytest.mark.parametrize(
    ("amount", "written"),
    [("50.00", "50"), ("45.50", "45.5"), ("0.00", "0"), ("1200.00", "1200"), ("0.05", "0.05")],
)
def test_amounts_are_written_without_trailing_zeros(amount: str, written: str) -> None:
    assert x12_amount(Decimal(amount)) == written


def test_a_name_holding_a_delimiter_refuses_that_claim_only() -> None:
    claims = keyed(claim_data("clm-ok"), claim_data("clm-star", last_name="O*BRIEN"))
    refused = refusals_of(demo_request(), RENDERER, claims)
    assert list(refused) == [2]
    assert refused[2].code == "X12_RESERVED_CHARACTER"
    assert "O*BRIEN" not in refused[2].message and "NM103" in refused[2].message


def test_a_character_outside_the_x12_set_refuses_that_claim_only() -> None:
    claims = keyed(claim_data("clm-ok"), claim_data("clm-accent", first_name="JOSÉ"))
    refused = refusals_of(demo_request(), RENDERER, claims)
    assert list(refused) == [2]
    assert refused[2].code == "X12_CHARACTER_NOT_ALLOWED"
    assert "JOS" not in refused[2].message and "NM104" in refused[2].message


def test_a_validator_error_inside_a_claim_is_that_claims_and_names_no_value(
    validator: Pyx12Validator,
) -> None:
    # 40 characters pass the contract (a name is up to 60) but not NM104 (at most 35).
    long_name = "ALEXANDRIA" * 4
    claims = keyed(claim_data("a"), claim_data("b", first_name=long_name), claim_data("c"))
    rendered = render_interchange(demo_request(), NUMBERS, RENDERER, claims)
    issues = validator.validate(rendered.text)
    assert [(i.level, i.element, i.code) for i in issues] == [(IssueLevel.ELEMENT, "NM104", "5")]
    attribution = attribute_issues(issues, rendered.claim_spans)
    assert list(attribution.by_claim) == [2] and attribution.unattributed == []
    issue = attribution.by_claim[2][0]
    assert issue.code_in(rendered.loop_of(issue.segment_number or 0)) == "2010BA/NM104:5"
    assert issue.describe() == "NM104 (Subscriber First Name): too long"
    assert long_name not in issue.describe()


def test_an_envelope_error_belongs_to_no_claim(validator: Pyx12Validator) -> None:
    rendered = render_interchange(demo_request(), NUMBERS, RENDERER, keyed(claim_data("a")))
    broken = rendered.text.replace("~SE*", "~SE*9", 1)  # a wrong segment count
    attribution = attribute_issues(validator.validate(broken), rendered.claim_spans)
    assert attribution.by_claim == {}
    assert [i.level for i in attribution.unattributed] == [IssueLevel.TRANSACTION_SET]
