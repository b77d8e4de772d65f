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
from contracts.events import CLAIM_SUBMITTED_V1
from contracts.events.claims import ClaimSubmitted
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
