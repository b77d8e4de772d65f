"""The claims inside an 837 transaction set, read far enough to answer them in a 277CA:
who billed, who the patient and payer are, the patient control number, the charge, the
service dates and the lines with their line control numbers (REF*6R)."""

from __future__ import annotations

from dataclasses import dataclass, field

from clearinghouse_sandbox.x12 import Delimiters


@dataclass
class Party:
    entity_type: str = "2"
    last_or_organization: str = ""
    first: str = ""
    id_qualifier: str = ""
    identifier: str = ""


@dataclass
class ServiceLine:
    number: int
    procedure: list[str] = field(default_factory=list)  # qualifier, code, modifiers
    revenue_code: str = ""
    charge: str = "0"
    units: str = ""
    service_date: tuple[str, str] | None = None  # (D8|RD8, value)
    line_control_number: str = ""


@dataclass
class Claim:
    patient_control_number: str
    charge: str
    billing_provider: Party
    subscriber: Party
    patient: Party
    payer: Party
    facility_code: list[str] = field(default_factory=list)
    service_period: tuple[str, str] | None = None
    lines: list[ServiceLine] = field(default_factory=list)

    @property
    def bill_type(self) -> str | None:
        """Facility type and frequency (REF*BLT) for institutional claims."""
        if len(self.facility_code) >= 3 and self.facility_code[1] == "A":
            return f"{self.facility_code[0]}{self.facility_code[2]}"
        return None

    def service_dates(self) -> tuple[str, str]:
        if self.service_period:
            return self.service_period
        dates = sorted(
            d for line in self.lines if line.service_date for d in _span(line.service_date[1])
        )
        if not dates:
            return ("D8", "")
        if dates[0] == dates[-1]:
            return ("D8", dates[0])
        return ("RD8", f"{dates[0]}-{dates[-1]}")


@dataclass
class ClaimTransactionSet:
    """One 837 ST..SE."""

    group_control_number: str  # GS06 of the group holding it
    control_number: str
    version: str
    originator_reference: str  # BHT03
    submitter: Party
    claims: list[Claim]


def _span(value: str) -> list[str]:
    return [part for part in value.split("-") if part]


def _get(segment: list[str], index: int) -> str:
    return segment[index] if len(segment) > index else ""


def read_claim_sets(segments: list[list[str]], delimiters: Delimiters) -> list[ClaimTransactionSet]:
    """Every 837 transaction set in ``segments`` (an interchange's segments after the ISA)."""
    sets: list[ClaimTransactionSet] = []
    group_control_number = ""
    current: ClaimTransactionSet | None = None
    provider = Party()
    subscriber = Party()
    patient = Party()
    payer = Party()
    claim: Claim | None = None
    line: ServiceLine | None = None
    for segment in segments:
        tag = segment[0]
        if tag == "GS":
            group_control_number = _get(segment, 6)
            continue
        if tag == "ST":
            current = ClaimTransactionSet(
                group_control_number=group_control_number,
                control_number=_get(segment, 2),
                version=_get(segment, 3),
                originator_reference="",
                submitter=Party(),
                claims=[],
            )
            provider, subscriber, patient, payer = Party(), Party(), Party(), Party()
            claim, line = None, None
            continue
        if current is None:
            continue
        if tag == "SE":
            sets.append(current)
            current = None
        elif tag == "BHT":
            current.originator_reference = _get(segment, 3)
        elif tag == "HL":
            claim, line = None, None
            level = _get(segment, 3)
            if level == "20":
                provider = Party()
            elif level == "22":
                subscriber, payer = Party(), Party()
                patient = subscriber
            elif level == "23":
                patient = Party(entity_type="1")
        elif tag == "NM1" and claim is None:
            party = Party(
                entity_type=_get(segment, 2),
                last_or_organization=_get(segment, 3),
                first=_get(segment, 4),
                id_qualifier=_get(segment, 8),
                identifier=_get(segment, 9),
            )
            entity = _get(segment, 1)
            if entity == "41":
                current.submitter = party
            elif entity == "85":
                provider = party
            elif entity == "IL":
                _copy(party, subscriber)
            elif entity == "PR":
                payer = party
            elif entity == "QC":
                _copy(party, patient)
        elif tag == "CLM":
            claim = Claim(
                patient_control_number=_get(segment, 1),
                charge=_get(segment, 2) or "0",
                billing_provider=provider,
                subscriber=subscriber,
                patient=patient,
                payer=payer,
                facility_code=_get(segment, 5).split(delimiters.component),
            )
            line = None
            current.claims.append(claim)
        elif claim is not None and tag == "LX":
            line = ServiceLine(number=len(claim.lines) + 1)
            claim.lines.append(line)
        elif line is not None and tag == "SV1":
            line.procedure = _get(segment, 1).split(delimiters.component)
            line.charge = _get(segment, 2) or "0"
            line.units = _get(segment, 4)
        elif line is not None and tag == "SV2":
            line.revenue_code = _get(segment, 1)
            composite = _get(segment, 2)
            line.procedure = composite.split(delimiters.component) if composite else []
            line.charge = _get(segment, 3) or "0"
            line.units = _get(segment, 5)
        elif claim is not None and tag == "DTP" and _get(segment, 1) in ("434", "472"):
            period = (_get(segment, 2), _get(segment, 3))
            if line is not None:
                line.service_date = period
            elif _get(segment, 1) == "434" or claim.service_period is None:
                claim.service_period = period
        elif line is not None and tag == "REF" and _get(segment, 1) == "6R":
            line.line_control_number = _get(segment, 2)
    return sets


def _copy(source: Party, target: Party) -> None:
    target.entity_type = source.entity_type
    target.last_or_organization = source.last_or_organization
    target.first = source.first
    target.id_qualifier = source.id_qualifier
    target.identifier = source.identifier
