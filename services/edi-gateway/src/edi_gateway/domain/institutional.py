"""The 837I (005010X223A2) claim: loop 2300 of an institutional per-diem claim with its
attending provider and SV2 service lines (SPEC 6 "How a cycle claim looks").

The claims service decides every value (``ClaimSubmitted.institutional``); this module
only writes it in the order of pyx12's map (``837Q3.I.5010.X223.A1.xml``, which serves
A2). SPEC 12 vector 2's January cycle comes out as::

    CLM*<pcn>*5700***86:A:2**A*Y*Y           CLM03, CLM04 and CLM06 are not used in 837I
    DTP*434*RD8*20260110-20260131            statement period (R)
    DTP*435*D8*20260110                      admission (DT CCYYMMDDHHMM with the hour)
    CL1*3*1*30                               admission type, source, patient status
    HI*ABK:F200                              principal diagnosis (R)
    HI*BI:74:RD8:20260120-20260122           occurrence spans (the leave)
    HI*BE:80:::19*BE:81:::3                  value codes: the amount is component 5
    LX*1  SV2*1001**5700*DA*19  DTP*472*RD8*20260110-20260131  REF*6R*<line control>
    LX*2  SV2*0183**0*DA*3      DTP*472*RD8*20260120-20260122  REF*6R*<line control>

The 2300 HI segments go in the map's order: principal (ABK), admitting (ABJ), DRG (DR),
other diagnoses (ABF), principal procedure (BBR), other procedures (BBQ), occurrence
spans (BI), occurrences (BH), value codes (BE); the repeatable ones hold at most 12
codes per segment in at most 2 segments (the contract caps each list at 24)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import ClassVar, Final

from contracts.events.claims import (
    ClaimSubmitted,
    FrequencyCode,
    InstitutionalDetail,
    InstitutionalLine,
    ProviderParty,
)
from edi_gateway.domain.claims837 import HierarchicalClaimRenderer
from edi_gateway.domain.model import TransactionType
from edi_gateway.domain.x12 import Composite, X12Writer, x12_amount, x12_date

CODES_PER_HI_SEGMENT: Final = 12
HI_SEGMENTS_MAX: Final = 2
INTERIM_FREQUENCIES: Final = frozenset(
    {FrequencyCode.INTERIM_FIRST, FrequencyCode.INTERIM_CONTINUING}
)


class InstitutionalClaimRenderer(HierarchicalClaimRenderer):
    transaction_type: ClassVar[TransactionType] = TransactionType.INSTITUTIONAL
    implementation: ClassVar[str] = "005010X223A2"

    def render_claim(self, w: X12Writer, claim: ClaimSubmitted) -> None:
        detail = claim.institutional
        if detail is None:
            raise w.refuse(
                "INSTITUTIONAL_DETAIL_MISSING", "an 837I claim carries its institutional detail"
            )
        check_institutional(w, claim, detail)
        w.segment(
            "2300",
            "CLM",
            claim.patient_control_number,
            x12_amount(claim.total_charge),
            None,  # CLM03 not used
            None,  # CLM04 not used
            (detail.type_of_bill, "A", claim.frequency_code.value),
            None,  # CLM06 not used
            "A",  # CLM07 assigned
            "Y",  # CLM08 benefits assigned to the provider
            "Y",  # CLM09 release of information on file
        )
        if detail.discharge_hour is not None:
            w.segment("2300", "DTP", "096", "TM", f"{detail.discharge_hour:02d}00")
        period = detail.statement_period
        w.segment("2300", "DTP", "434", "RD8", date_range(period.start, period.end))
        admitted = x12_date(detail.admission_date)
        if detail.admission_hour is None:
            w.segment("2300", "DTP", "435", "D8", admitted)
        else:
            w.segment("2300", "DTP", "435", "DT", f"{admitted}{detail.admission_hour:02d}00")
        w.segment(
            "2300", "CL1", detail.admission_type, detail.admission_source, detail.patient_status
        )
        if claim.original_reference:
            w.segment("2300", "REF", "F8", claim.original_reference)
        self.render_codes(w, detail)
        if detail.attending_provider is not None:
            self.render_attending_provider(w, detail.attending_provider)
        for number, line in enumerate(detail.service_lines, start=1):
            self.render_line(w, number, line)

    def render_codes(self, w: X12Writer, detail: InstitutionalDetail) -> None:
        """The 2300 HI segments, in the map's order."""
        w.segment("2300", "HI", ("ABK", detail.principal_diagnosis))
        if detail.admitting_diagnosis:
            w.segment("2300", "HI", ("ABJ", detail.admitting_diagnosis))
        if detail.drg:
            w.segment("2300", "HI", ("DR", detail.drg))
        hi_segments(w, [("ABF", code) for code in detail.other_diagnoses])
        if detail.principal_procedure is not None:
            procedure = detail.principal_procedure
            w.segment("2300", "HI", ("BBR", procedure.code, "D8", x12_date(procedure.performed_on)))
        hi_segments(
            w,
            [
                ("BBQ", procedure.code, "D8", x12_date(procedure.performed_on))
                for procedure in detail.other_procedures
            ],
        )
        hi_segments(
            w,
            [
                ("BI", span.code, "RD8", date_range(span.start, span.end))
                for span in detail.occurrence_spans
            ],
        )
        hi_segments(
            w,
            [
                ("BH", occurrence.code, "D8", x12_date(occurrence.date))
                for occurrence in detail.occurrences
            ],
        )
        # The amount (a day count for 80/81) is HIxx-05: three separators after the code.
        hi_segments(
            w,
            [
                ("BE", value.code, None, None, x12_amount(value.amount))
                for value in detail.value_codes
            ],
        )

    def render_attending_provider(self, w: X12Writer, provider: ProviderParty) -> None:
        w.segment(
            "2310A",
            "NM1",
            "71",
            "1",
            provider.last_name,
            provider.first_name,
            provider.middle_name,
            None,
            None,
            "XX",
            provider.npi,
        )
        if provider.taxonomy_code:
            w.segment("2310A", "PRV", "AT", "PXC", provider.taxonomy_code)

    def render_line(self, w: X12Writer, number: int, line: InstitutionalLine) -> None:
        w.segment("2400", "LX", str(number))
        procedure: Composite | None = None
        if line.procedure_code:
            procedure = ("HC", line.procedure_code, *line.modifiers)
        w.segment(
            "2400",
            "SV2",
            line.revenue_code,
            procedure,
            x12_amount(line.amount),
            line.unit_basis,
            x12_amount(line.units),
            None,  # SV206 not used
            None if line.non_covered_amount is None else x12_amount(line.non_covered_amount),
        )
        if line.service_from == line.service_to:
            w.segment("2400", "DTP", "472", "D8", x12_date(line.service_from))
        else:
            w.segment("2400", "DTP", "472", "RD8", date_range(line.service_from, line.service_to))
        w.segment("2400", "REF", "6R", line.line_control_number)


def check_institutional(w: X12Writer, claim: ClaimSubmitted, detail: InstitutionalDetail) -> None:
    """What the contract lets through but no payer takes and pyx12 does not see (it reads
    an RD8 range's two dates, not their order)."""
    period = detail.statement_period
    if period.start > period.end:
        raise w.refuse("STATEMENT_PERIOD_REVERSED", "DTP*434 runs from a date after its end")
    if any(span.start > span.end for span in detail.occurrence_spans):
        raise w.refuse("OCCURRENCE_SPAN_REVERSED", "an occurrence span ends before it starts")
    if any(line.service_from > line.service_to for line in detail.service_lines):
        raise w.refuse("SERVICE_DATES_REVERSED", "a service line ends before it starts")
    if detail.discharge_hour is not None and claim.frequency_code in INTERIM_FREQUENCIES:
        raise w.refuse(
            "DISCHARGE_HOUR_ON_INTERIM_CLAIM",
            "DTP*096 (discharge hour) goes on final claims only, not on frequency 2 or 3",
        )


def hi_segments(w: X12Writer, codes: Sequence[Composite]) -> None:
    """One HI qualifier's codes, 12 to a segment, at most 2 segments."""
    if len(codes) > CODES_PER_HI_SEGMENT * HI_SEGMENTS_MAX:
        raise w.refuse(
            "TOO_MANY_HI_CODES",
            f"an 837I HI group holds at most {CODES_PER_HI_SEGMENT * HI_SEGMENTS_MAX} codes",
        )
    for start in range(0, len(codes), CODES_PER_HI_SEGMENT):
        w.segment("2300", "HI", *codes[start : start + CODES_PER_HI_SEGMENT])


def date_range(start: date, end: date) -> str:
    """An RD8 value, CCYYMMDD-CCYYMMDD."""
    return f"{x12_date(start)}-{x12_date(end)}"
