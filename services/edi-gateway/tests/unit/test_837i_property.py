"""SPEC issue #4, "every file validates": any per-diem stay, cut into cycle claims the way
the claims service bills it (SPEC 6 "How a cycle claim looks", SPEC 12 vector 2), renders
into an 837I file that pyx12 passes with zero errors, whose CLM02 is the claim total and
whose HI*BE 80/81 day counts add up to the days the statement period bills."""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from common.testing.x12 import pyx12_errors
from contracts.events.claims import ClaimSubmitted, FrequencyCode
from edi_gateway.domain.envelope import (
    ControlNumbers,
    KeyedClaim,
    render_interchange,
    transaction_sets_needed,
)
from edi_gateway.domain.institutional import InstitutionalClaimRenderer

from ..claim_samples import TEMPLATE, X12File, demo_request, institutional_line

RENDERER = InstitutionalClaimRenderer()
DAY_RATE = Decimal("300.00")
DISCHARGE_STATUSES = ("01", "02", "03", "06", "20", "51")
STILL_A_PATIENT = "30"
CYCLES: tuple[str | int, ...] = ("monthly", 7, 14, 30)  # calendar months or N days


@dataclass(frozen=True)
class Stay:
    """``nights`` billable days from ``admitted`` (night 0 is the admission day); leaves
    are half-open night ranges [start, end); ``discharge_status`` None = still a patient,
    otherwise discharged on the day after the last night."""

    admitted: date
    nights: int
    leaves: tuple[tuple[int, int], ...]
    discharge_status: str | None
    discharge_hour: int | None
    cycle: str | int  # "monthly" (calendar months) or a fixed number of days

    def night(self, index: int) -> date:
        return self.admitted + timedelta(days=index)

    def on_leave(self, index: int) -> bool:
        return any(start <= index < end for start, end in self.leaves)

    def cycles(self) -> list[tuple[int, int]]:
        """The nights each cycle bills, as half-open [first, end) index ranges."""
        cuts: list[tuple[int, int]] = []
        first = 0
        while first < self.nights:
            if self.cycle == "monthly":
                day = self.night(first)
                next_month = date(day.year + day.month // 12, day.month % 12 + 1, 1)
                end = min(self.nights, (next_month - self.admitted).days)
            else:
                assert isinstance(self.cycle, int)
                end = min(self.nights, first + self.cycle)
            cuts.append((first, end))
            first = end
        return cuts


@st.composite
def stays(draw: st.DrawFn) -> Stay:
    admitted = draw(st.dates(date(2026, 1, 1), date(2026, 12, 31)))
    nights = draw(st.integers(1, 60))
    leaves: tuple[tuple[int, int], ...] = ()
    if nights >= 3:
        # 2k distinct sorted points in 1..nights-1: leaves of >= 1 night, after the
        # admission night, back before the last night, with a night at the facility between.
        points = sorted(
            draw(st.lists(st.integers(1, nights - 1), unique=True, max_size=min(6, nights - 1)))
        )
        points = points[: len(points) // 2 * 2]
        leaves = tuple(zip(points[::2], points[1::2], strict=True))
    discharged = draw(st.booleans())
    return Stay(
        admitted=admitted,
        nights=nights,
        leaves=leaves,
        discharge_status=draw(st.sampled_from(DISCHARGE_STATUSES)) if discharged else None,
        discharge_hour=draw(st.none() | st.integers(0, 23)) if discharged else None,
        cycle=draw(st.sampled_from(CYCLES)),
    )


@dataclass(frozen=True)
class CycleClaim:
    claim: ClaimSubmitted
    billed_days: int  # what 80 + 81 must add up to


def frequency(index: int, count: int, discharged: bool) -> FrequencyCode:
    last = index == count - 1
    if discharged and count == 1:
        return FrequencyCode.ORIGINAL
    if index == 0:
        return FrequencyCode.INTERIM_FIRST
    if discharged and last:
        return FrequencyCode.INTERIM_LAST
    return FrequencyCode.INTERIM_CONTINUING


def cycle_claim(stay: Stay, index: int, count: int, first: int, end: int) -> CycleClaim:
    """The claim for nights [first, end) of ``stay``, as the claims service builds it."""
    discharged = stay.discharge_status is not None
    final = discharged and index == count - 1
    claim_id = f"clm-pd-{index + 1}"
    period_end = stay.night(end) if final else stay.night(end - 1)  # through the discharge day
    leave_nights = [n for n in range(first, end) if stay.on_leave(n)]
    covered = (end - first) - len(leave_nights)
    spans = []
    for start, stop in stay.leaves:
        clipped = (max(start, first), min(stop, end))
        if clipped[0] < clipped[1]:
            spans.append(
                {
                    "code": "74",
                    "start": stay.night(clipped[0]).isoformat(),
                    "end": stay.night(clipped[1] - 1).isoformat(),
                }
            )
    lines: list[dict[str, Any]] = []
    if covered:
        lines.append(
            institutional_line(
                claim_id,
                len(lines) + 1,
                "1001",
                str(DAY_RATE * covered),
                covered,
                stay.night(first).isoformat(),
                stay.night(end - 1).isoformat(),
            )
        )
    if leave_nights:
        lines.append(
            institutional_line(
                claim_id,
                len(lines) + 1,
                "0183",
                "0.00",
                len(leave_nights),
                stay.night(leave_nights[0]).isoformat(),
                stay.night(leave_nights[-1]).isoformat(),
            )
        )
    data = copy.deepcopy(TEMPLATE)
    data.update(
        claim_id=claim_id,
        transaction_type="837I",
        patient_control_number=f"PD{index + 1:03d}",
        frequency_code=frequency(index, count, discharged).value,
        diagnoses=["F200"],
        place_of_service=None,
        service_lines=[],
        total_charge=str(sum((Decimal(line["amount"]) for line in lines), Decimal("0.00"))),
        source={"session_ids": [], "stay_id": "stay-prop"},
    )
    data["institutional"] = {
        "type_of_bill": "86",
        "statement_period": {
            "start": stay.night(first).isoformat(),
            "end": period_end.isoformat(),
        },
        "admission_date": stay.admitted.isoformat(),
        "admission_type": "3",
        "admission_source": "1",
        "patient_status": stay.discharge_status if final else STILL_A_PATIENT,
        "discharge_hour": stay.discharge_hour if final else None,
        "principal_diagnosis": "F20.0",
        "occurrence_spans": spans,
        "value_codes": [
            {"code": "80", "amount": str(covered)},
            {"code": "81", "amount": str(len(leave_nights))},
        ],
        "attending_provider": copy.deepcopy(TEMPLATE["service_lines"][0]["rendering_provider"]),
        "service_lines": lines,
    }
    return CycleClaim(ClaimSubmitted.model_validate(data), billed_days=end - first)


def claim_segments(x12: X12File, pcn: str) -> list[list[str]]:
    """The segments of the claim ``pcn``, from its CLM to the next HL or SE."""
    segments: list[list[str]] = x12.segments
    start = next(i for i, s in enumerate(segments) if s[0] == "CLM" and s[1] == pcn)
    end = next(i for i in range(start + 1, len(segments)) if segments[i][0] in ("HL", "SE"))
    return segments[start:end]


@settings(max_examples=25, deadline=None)
@given(stays())
def test_every_cycle_claim_of_any_per_diem_stay_renders_a_file_pyx12_passes(stay: Stay) -> None:
    cuts = stay.cycles()
    cycle_claims = [
        cycle_claim(stay, index, len(cuts), first, end) for index, (first, end) in enumerate(cuts)
    ]
    keyed = [KeyedClaim(key=n, claim=c.claim) for n, c in enumerate(cycle_claims, start=1)]
    sets = tuple(range(1, transaction_sets_needed(len(keyed)) + 1))
    numbers = ControlNumbers(interchange=401, group=401, transaction_sets=sets)
    rendered = render_interchange(demo_request(), numbers, RENDERER, keyed)

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "claims.837i.x12"
        path.write_bytes(rendered.content)
        assert pyx12_errors(path) == []
        x12 = X12File.read(path)

    x12.assert_envelope_consistent()
    assert len(x12.all("CLM")) == len(cycle_claims)
    for cycle in cycle_claims:
        claim = cycle.claim
        segments = claim_segments(x12, claim.patient_control_number)
        clm = segments[0]
        assert Decimal(clm[2]) == claim.total_charge
        assert clm[5].split(x12.component)[2] == claim.frequency_code.value
        value_codes: dict[str, Decimal] = {}
        for hi in (s for s in segments if s[0] == "HI"):
            for element in hi[1:]:
                parts = element.split(x12.component)
                if parts[0] == "BE":
                    value_codes[parts[1]] = Decimal(parts[4])
        assert set(value_codes) == {"80", "81"}
        assert value_codes["80"] + value_codes["81"] == cycle.billed_days
        # Days in the statement period: every day of it, less the discharge day if any.
        assert claim.institutional is not None
        period = claim.institutional.statement_period
        discharge_day = 1 if claim.frequency_code in ("1", "4") else 0
        assert cycle.billed_days == (period.end - period.start).days + 1 - discharge_day
