"""Claims like SPEC 12 vector 1 (a group session's five members, $50.00 each,
``HC:90853:HQ``) built from the golden sample, and a reader that parses a file back taking
its delimiters from the ISA, as any X12 reader must."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from common.testing.processes import SAMPLE_TENANTS
from contracts.envelope import CloudEvent
from contracts.events import CLAIM_SUBMITTED_V1, CLAIM_WITHDRAWAL_REQUESTED_V1
from contracts.events.claims import ClaimSubmitted, ClaimWithdrawalRequested, InstitutionalDetail
from edi_gateway.domain.envelope import (
    InterchangeParty,
    InterchangeRequest,
    KeyedClaim,
    Receiver,
    Submitter,
)
from edi_gateway.domain.model import UsageIndicator
from edi_gateway.domain.x12 import Delimiters

TENANT = "demo-bh"
CLEARINGHOUSE = "local-dev"
SAMPLE = SAMPLE_TENANTS.parent / "claims.claim.submitted.v1.json"
TEMPLATE: dict[str, Any] = json.loads(SAMPLE.read_text())["data"]


def claim_data(
    claim_id: str | None = None,
    *,
    pcn: str | None = None,
    first_name: str = "JANE",
    last_name: str = "DOE",
    **changes: Any,
) -> dict[str, Any]:
    """One member's claim for the group session of 2026-03-09: one line, 90853 with HQ,
    $50.00, rendered by the session's supervisor, to the local-dev clearinghouse."""
    claim_id = claim_id or f"clm-{uuid.uuid4().hex[:10]}"
    data = copy.deepcopy(TEMPLATE)
    data.update(
        claim_id=claim_id,
        clearinghouse_id=CLEARINGHOUSE,
        patient_control_number=pcn or f"P{uuid.uuid4().hex[:12].upper()}",
        total_charge="50.00",
    )
    data["subscriber"].update(first_name=first_name, last_name=last_name)
    line = data["service_lines"][0]
    line.update(modifiers=["HQ"], amount="50.00", line_control_number=f"{claim_id}-1")
    data.update(changes)
    return data


def submitted_event(
    data: dict[str, Any], *, tenant: str = TENANT, event_id: str | None = None
) -> CloudEvent:
    return CloudEvent.new(
        type=CLAIM_SUBMITTED_V1,
        source="rcm/claims",
        tenantid=tenant,
        subject=data["claim_id"],
        data=data,
        id=event_id,
    )


def withdrawal_data(claim: dict[str, Any]) -> dict[str, Any]:
    """The claims service asking ``claim`` (as submitted) back: it went STALE."""
    return {
        "claim_id": claim["claim_id"],
        "claim_version": claim["claim_version"],
        "patient_control_number": claim["patient_control_number"],
        "clearinghouse_id": claim["clearinghouse_id"],
        "transaction_type": claim["transaction_type"],
        "reason_codes": ["LEAVE_CHANGED"],
    }


def withdrawal_requested_event(
    claim: dict[str, Any], *, tenant: str = TENANT, event_id: str | None = None
) -> CloudEvent:
    return CloudEvent.new(
        type=CLAIM_WITHDRAWAL_REQUESTED_V1,
        source="rcm/claims",
        tenantid=tenant,
        subject=claim["claim_id"],
        data=withdrawal_data(claim),
        id=event_id,
    )


def withdrawal_request(claim: dict[str, Any]) -> ClaimWithdrawalRequested:
    return ClaimWithdrawalRequested.model_validate(withdrawal_data(claim))


def keyed(*claims: dict[str, Any]) -> list[KeyedClaim]:
    return [
        KeyedClaim(key=index, claim=ClaimSubmitted.model_validate(claim))
        for index, claim in enumerate(claims, start=1)
    ]


def demo_request(delimiters: Delimiters | None = None) -> InterchangeRequest:
    return InterchangeRequest(
        sender=InterchangeParty("ZZ", "HARBORBH"),
        receiver=InterchangeParty("ZZ", "LOCALCH"),
        application_sender_code="HARBORBH",
        application_receiver_code="LOCALCH",
        usage_indicator=UsageIndicator.TEST,
        acknowledgment_requested=False,
        created_at=datetime(2026, 3, 9, 16, 5),
        submitter=Submitter(
            name="HARBOR BEHAVIORAL HEALTH",
            identifier="HARBORBH",
            contact_name="BILLING OFFICE",
            contact_phone="2175550199",
        ),
        claim_receiver=Receiver(name="LOCAL CLEARINGHOUSE", identifier="LOCALCH"),
        delimiters=delimiters or Delimiters(),
    )


@dataclass(frozen=True)
class X12File:
    """A file read back with the delimiters its ISA declares."""

    text: str
    element: str
    component: str
    terminator: str
    segments: list[list[str]]

    @classmethod
    def parse(cls, text: str) -> X12File:
        assert text.startswith("ISA")
        element, component, terminator = text[3], text[104], text[105]
        raw = [s for s in text.split(terminator) if s.strip()]
        return cls(
            text=text,
            element=element,
            component=component,
            terminator=terminator,
            segments=[s.strip().split(element) for s in raw],
        )

    @classmethod
    def read(cls, path: Path) -> X12File:
        return cls.parse(path.read_text(encoding="ascii"))

    @property
    def isa(self) -> str:
        return self.text[:106]

    def all(self, segment_id: str) -> list[list[str]]:
        return [s for s in self.segments if s[0] == segment_id]

    def one(self, segment_id: str) -> list[str]:
        found = self.all(segment_id)
        assert len(found) == 1, f"{len(found)} {segment_id} segments"
        return found[0]

    def assert_envelope_consistent(self) -> None:
        """SE01 counts ST through SE; SE02 = ST02; GE01 = transaction sets, GE02 = GS06;
        IEA01 = groups, IEA02 = ISA13; the ISA is 106 characters."""
        assert len(self.isa) == 106 and self.isa.endswith(self.terminator)
        isa13 = self.isa.split(self.element)[13]
        sets = 0
        start = None
        for index, segment in enumerate(self.segments):
            if segment[0] == "ST":
                start = index
            if segment[0] == "SE":
                assert start is not None
                assert int(segment[1]) == index - start + 1
                assert segment[2] == self.segments[start][2]
                sets += 1
        ge, gs, iea = self.one("GE"), self.one("GS"), self.one("IEA")
        assert int(ge[1]) == sets and ge[2] == gs[6]
        assert iea[1] == "1" and iea[2] == isa13


def vector2_claim(
    cycle: str,
    claim_id: str | None = None,
    *,
    pcn: str | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """SPEC 12 vector 2, a MONTHLY residential stay (TOB 86, 1001 at $300.00 a day, LOA
    0183 at $0) admitted 2026-01-10, on leave 01-20 back 01-23, discharged home (01) on
    2026-02-03: ``cycle`` "january" (frequency 2, 19 covered + 3 LOA days, span 74) or
    "february" (frequency 4, 2 covered days, discharge hour)."""
    claim_id = claim_id or f"clm-{uuid.uuid4().hex[:10]}"
    data = copy.deepcopy(TEMPLATE)
    data.update(
        claim_id=claim_id,
        transaction_type="837I",
        clearinghouse_id=CLEARINGHOUSE,
        patient_control_number=pcn or f"I{uuid.uuid4().hex[:12].upper()}",
        diagnoses=["F200"],
        place_of_service=None,
        service_lines=[],
        source={"session_ids": [], "stay_id": "stay-v2"},
    )
    detail: dict[str, Any] = {
        "type_of_bill": "86",
        "admission_date": "2026-01-10",
        "admission_hour": None,
        "admission_type": "3",
        "admission_source": "1",
        "principal_diagnosis": "F20.0",
        "attending_provider": copy.deepcopy(TEMPLATE["service_lines"][0]["rendering_provider"]),
    }
    if cycle == "january":
        data.update(frequency_code="2", total_charge="5700.00")
        detail.update(
            statement_period={"start": "2026-01-10", "end": "2026-01-31"},
            patient_status="30",
            occurrence_spans=[{"code": "74", "start": "2026-01-20", "end": "2026-01-22"}],
            value_codes=[{"code": "80", "amount": "19"}, {"code": "81", "amount": "3"}],
            service_lines=[
                institutional_line(claim_id, 1, "1001", "5700.00", 19, "2026-01-10", "2026-01-31"),
                institutional_line(claim_id, 2, "0183", "0.00", 3, "2026-01-20", "2026-01-22"),
            ],
        )
    elif cycle == "february":
        data.update(frequency_code="4", total_charge="600.00")
        detail.update(
            statement_period={"start": "2026-02-01", "end": "2026-02-03"},
            patient_status="01",
            discharge_hour=10,
            value_codes=[{"code": "80", "amount": "2"}, {"code": "81", "amount": "0"}],
            service_lines=[
                institutional_line(claim_id, 1, "1001", "600.00", 2, "2026-02-01", "2026-02-02")
            ],
        )
    else:
        raise ValueError(cycle)
    data["institutional"] = detail
    for key, value in changes.items():
        if key in InstitutionalDetail.model_fields:
            detail[key] = value
        else:
            data[key] = value
    return data


def institutional_line(
    claim_id: str,
    number: int,
    revenue_code: str,
    amount: str,
    days: int,
    start: str,
    end: str,
) -> dict[str, Any]:
    return {
        "line_number": number,
        "line_control_number": f"{claim_id}-{number}",
        "revenue_code": revenue_code,
        "amount": amount,
        "unit_basis": "DA",
        "units": str(days),
        "service_from": start,
        "service_to": end,
        "charge_ids": [f"ch-{claim_id}-{number}"],
    }
