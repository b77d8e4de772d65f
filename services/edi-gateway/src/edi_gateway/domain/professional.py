"""The 837P (005010X222A1) claim: loop 2300 with its rendering provider and service lines.

A group session's claim looks like ``CLM*P26030900001*50***11:B:1*Y*A*Y*Y``,
``HI*ABK:F332*ABF:F411``, then per line ``LX*1``, ``SV1*HC:90853:HQ*50*UN*1***1:2``,
``DTP*472*D8*20260309``, ``REF*6R*<line control number>`` (reference 6.3)."""

from __future__ import annotations

from typing import ClassVar, Final

from contracts.events.claims import ClaimSubmitted, FrequencyCode, ProviderParty
from edi_gateway.domain.claims837 import HierarchicalClaimRenderer
from edi_gateway.domain.model import TransactionType
from edi_gateway.domain.x12 import X12Writer, x12_amount, x12_date

PROFESSIONAL_FREQUENCIES: Final = frozenset(
    {FrequencyCode.ORIGINAL, FrequencyCode.REPLACEMENT, FrequencyCode.VOID}
)


class ProfessionalClaimRenderer(HierarchicalClaimRenderer):
    transaction_type: ClassVar[TransactionType] = TransactionType.PROFESSIONAL
    implementation: ClassVar[str] = "005010X222A1"

    def render_claim(self, w: X12Writer, claim: ClaimSubmitted) -> None:
        place_of_service = claim_place_of_service(claim)
        if place_of_service is None:
            raise w.refuse(
                "PLACE_OF_SERVICE_MISSING",
                "CLM05-01 needs a place of service on the claim or its first line",
            )
        if claim.frequency_code not in PROFESSIONAL_FREQUENCIES:
            raise w.refuse(
                "FREQUENCY_NOT_PROFESSIONAL",
                "CLM05-03 on an 837P is 1 (original), 7 (replacement) or 8 (void)",
            )
        w.segment(
            "2300",
            "CLM",
            claim.patient_control_number,
            x12_amount(claim.total_charge),
            None,
            None,
            (place_of_service, "B", claim.frequency_code.value),
            "Y",  # CLM06 provider signature on file
            "A",  # CLM07 assigned
            "Y",  # CLM08 benefits assigned to the provider
            "Y",  # CLM09 release of information on file
        )
        if claim.original_reference:
            w.segment("2300", "REF", "F8", claim.original_reference)
        diagnoses = [
            ("ABK" if index == 0 else "ABF", code) for index, code in enumerate(claim.diagnoses)
        ]
        w.segment("2300", "HI", *diagnoses)
        claim_rendering = claim_level_rendering_provider(claim)
        if claim_rendering is not None:
            self.render_rendering_provider(w, "2310B", claim_rendering)
        for number, line in enumerate(claim.service_lines, start=1):
            w.segment("2400", "LX", str(number))
            line_place = line.place_of_service
            w.segment(
                "2400",
                "SV1",
                ("HC", line.procedure_code, *line.modifiers),
                x12_amount(line.amount),
                line.unit_basis,
                x12_amount(line.units),
                line_place if line_place and line_place != place_of_service else None,
                None,
                tuple(str(pointer) for pointer in line.diagnosis_pointers),
            )
            w.segment("2400", "DTP", "472", "D8", x12_date(line.date_of_service))
            w.segment("2400", "REF", "6R", line.line_control_number)
            provider = line.rendering_provider
            if (
                claim_rendering is None
                and provider is not None
                and provider.npi != claim.billing_provider.npi
            ):
                self.render_rendering_provider(w, "2420A", provider)

    def render_rendering_provider(self, w: X12Writer, loop: str, provider: ProviderParty) -> None:
        w.segment(
            loop,
            "NM1",
            "82",
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
            w.segment(loop, "PRV", "PE", "PXC", provider.taxonomy_code)


def claim_place_of_service(claim: ClaimSubmitted) -> str | None:
    """CLM05-01: the claim's place of service, else its first line's."""
    return claim.place_of_service or claim.service_lines[0].place_of_service


def claim_level_rendering_provider(claim: ClaimSubmitted) -> ProviderParty | None:
    """2310B when every line names the same rendering provider (and it is not the billing
    provider itself); otherwise each line carries its own in 2420A."""
    first = claim.service_lines[0].rendering_provider
    if first is None or first.npi == claim.billing_provider.npi:
        return None
    if all(line.rendering_provider == first for line in claim.service_lines):
        return first
    return None
