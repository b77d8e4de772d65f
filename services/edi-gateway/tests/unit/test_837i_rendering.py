"""The 837I as rendered, read back with its own delimiters and run through pyx12 (SPEC 6
"How a cycle claim looks", SPEC 7, SPEC 12 vector 2)."""

from __future__ import annotations

from typing import Any

import pytest

from edi_gateway.adapters.x12_validator import Pyx12Validator
from edi_gateway.domain.envelope import ControlNumbers, refusals_of, render_interchange
from edi_gateway.domain.institutional import InstitutionalClaimRenderer
from edi_gateway.domain.validation import attribute_issues
from edi_gateway.domain.x12 import Delimiters

from ..claim_samples import X12File, demo_request, institutional_line, keyed, vector2_claim

RENDERER = InstitutionalClaimRenderer()
NUMBERS = ControlNumbers(interchange=201, group=201, transaction_sets=(201,))


@pytest.fixture(scope="module")
def validator() -> Pyx12Validator:
    return Pyx12Validator()


def render(
    *claims: dict[str, Any], delimiters: Delimiters | None = None
) -> tuple[X12File, list[str]]:
    """The file read back, and what pyx12 says about it (code, loop, description)."""
    rendered = render_interchange(demo_request(delimiters), NUMBERS, RENDERER, keyed(*claims))
    issues = Pyx12Validator().validate(rendered.text)
    return X12File.parse(rendered.text), [
        i.code_in(rendered.loop_of(i.segment_number or 0)) for i in issues
    ]


def claim_segments(x12: X12File, pcn: str) -> list[str]:
    """The segments of the claim ``pcn`` from its CLM to the next HL or SE, as text."""
    start = next(i for i, s in enumerate(x12.segments) if s[0] == "CLM" and s[1] == pcn)
    end = next(i for i in range(start + 1, len(x12.segments)) if x12.segments[i][0] in ("HL", "SE"))
    return [x12.element.join(s) for s in x12.segments[start:end]]


def test_vector_2_january_and_february_pass_pyx12_with_exactly_the_spec_segments() -> None:
    january = vector2_claim("january", "clm-v2-jan", pcn="V2JAN")
    february = vector2_claim("february", "clm-v2-feb", pcn="V2FEB")
    x12, issues = render(january, february)
    assert issues == []
    x12.assert_envelope_consistent()
    assert x12.one("GS")[1] == "HC" and x12.one("GS")[8] == "005010X223A2"
    assert x12.one("ST") == ["ST", "837", "0201", "005010X223A2"]
    assert claim_segments(x12, "V2JAN") == [
        "CLM*V2JAN*5700***86:A:2**A*Y*Y",
        "DTP*434*RD8*20260110-20260131",
        "DTP*435*D8*20260110",
        "CL1*3*1*30",
        "HI*ABK:F200",
        "HI*BI:74:RD8:20260120-20260122",
        "HI*BE:80:::19*BE:81:::3",
        "NM1*71*1*JONES*ANN****XX*1700000007",
        "PRV*AT*PXC*1041C0700X",
        "LX*1",
        "SV2*1001**5700*DA*19",
        "DTP*472*RD8*20260110-20260131",
        "REF*6R*clm-v2-jan-1",
        "LX*2",
        "SV2*0183**0*DA*3",
        "DTP*472*RD8*20260120-20260122",
        "REF*6R*clm-v2-jan-2",
    ]
    assert claim_segments(x12, "V2FEB") == [
        "CLM*V2FEB*600***86:A:4**A*Y*Y",
        "DTP*096*TM*1000",
        "DTP*434*RD8*20260201-20260203",
        "DTP*435*D8*20260110",
        "CL1*3*1*01",
        "HI*ABK:F200",
        "HI*BE:80:::2*BE:81:::0",
        "NM1*71*1*JONES*ANN****XX*1700000007",
        "PRV*AT*PXC*1041C0700X",
        "LX*1",
        "SV2*1001**600*DA*2",
        "DTP*472*RD8*20260201-20260202",
        "REF*6R*clm-v2-feb-1",
    ]
    # The billing provider level, as for 837P: PRV*BI*PXC, NM1*85, N3/N4, REF*EI, pay-to.
    assert [x12.element.join(s) for s in x12.segments[7:16]] == [
        "HL*1**20*1",
        "PRV*BI*PXC*261QM0801X",
        "NM1*85*2*HARBOR BEHAVIORAL HEALTH*****XX*1999999984",
        "N3*200 OAK AVE",
        "N4*SPRINGFIELD*IL*627020002",
        "REF*EI*371234568",
        "NM1*87*2",
        "N3*PO BOX 4410",
        "N4*SPRINGFIELD*IL*627054410",
    ]


def full_claim() -> dict[str, Any]:
    """Every 2300 HI group at its 24-code maximum, an admitting diagnosis, a DRG,
    procedures, an admission hour, a replacement with its original reference, and an
    ancillary line with a procedure, modifiers and a non-covered amount on one day."""
    claim = vector2_claim(
        "january",
        "clm-full",
        pcn="FULL1",
        frequency_code="7",
        original_reference="ICN2026000123",
        admission_hour=14,
        admitting_diagnosis="F20.0",
        drg="885",
        other_diagnoses=[f"F4{n:02d}" for n in range(10, 34)],
        principal_procedure={"code": "GZ3ZZZZ", "performed_on": "2026-01-11"},
        other_procedures=[
            {"code": "GZ56ZZZ", "performed_on": f"2026-01-{day:02d}"} for day in range(1, 25)
        ],
        occurrence_spans=[
            {"code": "74", "start": "2026-01-20", "end": "2026-01-22"},
            *({"code": "M0", "start": "2026-01-11", "end": "2026-01-12"} for _ in range(23)),
        ],
        occurrences=[{"code": f"{10 + n}", "date": "2026-01-15"} for n in range(24)],
        value_codes=[
            {"code": "80", "amount": "19"},
            {"code": "81", "amount": "3"},
            *({"code": f"{40 + n}", "amount": "12.50"} for n in range(22)),
        ],
    )
    ancillary = institutional_line("clm-full", 3, "0300", "45.00", 1, "2026-01-15", "2026-01-15")
    ancillary.update(
        procedure_code="80053", modifiers=["91", "QW"], unit_basis="UN", non_covered_amount="5"
    )
    claim["institutional"]["service_lines"].append(ancillary)
    claim["total_charge"] = "5745.00"
    return claim


def test_every_hi_group_at_its_maximum_goes_in_the_maps_order_and_passes_pyx12() -> None:
    x12, issues = render(full_claim())
    assert issues == []
    segments = claim_segments(x12, "FULL1")
    assert segments[:5] == [
        "CLM*FULL1*5745***86:A:7**A*Y*Y",
        "DTP*434*RD8*20260110-20260131",
        "DTP*435*DT*202601101400",
        "CL1*3*1*30",
        "REF*F8*ICN2026000123",
    ]
    his = [s.split("*") for s in segments if s.startswith("HI*")]
    qualifiers = [[element.split(":")[0] for element in hi[1:]] for hi in his]
    assert [(q[0], len(q)) for q in qualifiers] == [
        ("ABK", 1),
        ("ABJ", 1),
        ("DR", 1),
        ("ABF", 12),
        ("ABF", 12),
        ("BBR", 1),
        ("BBQ", 12),
        ("BBQ", 12),
        ("BI", 12),
        ("BI", 12),
        ("BH", 12),
        ("BH", 12),
        ("BE", 12),
        ("BE", 12),
    ]
    assert all(len(set(q)) == 1 for q in qualifiers)
    assert "HI*DR:885" in segments and "HI*BBR:GZ3ZZZZ:D8:20260111" in segments
    assert his[10][1] == "BH:10:D8:20260115" and his[12][3] == "BE:40:::12.5"
    assert segments[-4:] == [
        "LX*3",
        "SV2*0300*HC:80053:91:QW*45*UN*1**5",
        "DTP*472*D8*20260115",
        "REF*6R*clm-full-3",
    ]


def test_a_patient_who_is_not_the_subscriber_has_a_patient_level_and_passes_pyx12() -> None:
    claim = vector2_claim("february", pcn="CHILD1", attending_provider=None)
    claim["subscriber"]["relationship_to_subscriber"] = "19"
    claim["patient"] = {
        "first_name": "JIM",
        "last_name": "DOE",
        "birth_date": "2010-05-05",
        "sex": "M",
        "member_id": "m-20002",
        "address": claim["subscriber"]["address"],
    }
    x12, issues = render(claim)
    assert issues == []
    assert [s[1:5] for s in x12.all("HL")] == [
        ["1", "", "20", "1"],
        ["2", "1", "22", "1"],
        ["3", "2", "23", "0"],
    ]
    assert x12.one("PAT") == ["PAT", "19"]
    assert x12.one("SBR") == ["SBR", "P", "", "", "", "", "", "", "", "MC"]
    assert x12.all("NM1")[-1][:2] == ["NM1", "QC"]  # no 2310A without an attending provider


def test_other_delimiters_come_from_the_isa_and_pyx12_still_accepts() -> None:
    delimiters = Delimiters(element="|", component=">", repetition="!", segment="'")
    x12, issues = render(vector2_claim("january", pcn="DELIM1"), delimiters=delimiters)
    assert issues == []
    assert (x12.element, x12.component, x12.terminator) == ("|", ">", "'")
    assert x12.all("HI")[1] == ["HI", "BI>74>RD8>20260120-20260122"]
    assert x12.all("HI")[2] == ["HI", "BE>80>>>19", "BE>81>>>3"]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"statement_period": {"start": "2026-02-03", "end": "2026-02-01"}}, "REVERSED"),
        ({"frequency_code": "3"}, "DISCHARGE_HOUR_ON_INTERIM_CLAIM"),
    ],
)
def test_what_pyx12_cannot_see_is_refused_before_any_number_is_spent(
    changes: dict[str, Any], code: str
) -> None:
    good = vector2_claim("january")
    bad = vector2_claim("february", **changes)
    refused = refusals_of(demo_request(), RENDERER, keyed(good, bad))
    assert list(refused) == [2]
    assert code in refused[2].code


def test_an_attending_name_the_map_refuses_is_blamed_on_its_claim_alone(
    validator: Pyx12Validator,
) -> None:
    # 40 characters: the contract takes up to 60, 2310A NM104 at most 35.
    claim = vector2_claim("february")
    claim["institutional"]["attending_provider"]["first_name"] = "MAXIMILIANA" + "X" * 29
    rendered = render_interchange(
        demo_request(), NUMBERS, RENDERER, keyed(vector2_claim("january"), claim)
    )
    attribution = attribute_issues(validator.validate(rendered.text), rendered.claim_spans)
    assert attribution.unattributed == []
    (issue,) = attribution.by_claim[2]
    assert list(attribution.by_claim) == [2]
    assert issue.code_in(rendered.loop_of(issue.segment_number or 0)) == "2310A/NM104:5"
    assert issue.describe() == "NM104 (Attending Provider First Name): too long"
