"""The interchange around the claims (SPEC 7): ISA/GS/ST ... SE/GE/IEA with counts that
add up and control numbers that match, for any claim transaction type.

What goes between ST and SE is the renderer's business (:class:`TransactionSetRenderer`:
837P or 837I, one transaction type per functional group); this module splits the claims
into transaction sets of at most 5,000, numbers them, and keeps where every claim landed
(ST02 and segment span)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Protocol

from contracts.events.claims import ClaimSubmitted
from edi_gateway.domain.model import TransactionType, UsageIndicator
from edi_gateway.domain.x12 import ClaimSpan, Delimiters, RenderRefusal, X12Writer, x12_date

X12_VERSION: Final = "00501"
MAX_CLAIMS_PER_TRANSACTION_SET: Final = 5000
"""TR3 note on the 2000A/2300 loops: at most 5,000 CLM segments per ST-SE."""

ENVELOPE_LOOP: Final = "ENVELOPE"
HEADER_LOOP: Final = "HEADER"


@dataclass(frozen=True)
class InterchangeParty:
    qualifier: str  # ISA05 / ISA07
    identifier: str  # ISA06 / ISA08, unpadded


@dataclass(frozen=True)
class Submitter:
    """1000A: who sends the claims, as the receiver knows them."""

    name: str
    identifier: str
    contact_name: str
    contact_phone: str
    contact_email: str | None = None


@dataclass(frozen=True)
class Receiver:
    """1000B: who receives the file."""

    name: str
    identifier: str


@dataclass(frozen=True)
class InterchangeRequest:
    """Everything about one interchange except its control numbers and claims."""

    sender: InterchangeParty
    receiver: InterchangeParty
    application_sender_code: str  # GS02
    application_receiver_code: str  # GS03
    usage_indicator: UsageIndicator  # ISA15
    acknowledgment_requested: bool  # ISA14
    created_at: datetime  # facility-local wall clock: ISA09/10, GS04/05, BHT04/05
    submitter: Submitter
    claim_receiver: Receiver
    delimiters: Delimiters = field(default_factory=Delimiters)


@dataclass(frozen=True)
class ControlNumbers:
    interchange: int  # ISA13 / IEA02
    group: int  # GS06 / GE02
    transaction_sets: tuple[int, ...]  # ST02 / SE02, one per transaction set


@dataclass(frozen=True)
class KeyedClaim:
    """A claim and the key the caller knows it by (its stored row)."""

    key: int
    claim: ClaimSubmitted


@dataclass(frozen=True)
class TransactionSetHeader:
    control_number: str  # ST02 as written
    reference: str  # BHT03
    created_at: datetime
    submitter: Submitter
    receiver: Receiver


class TransactionSetRenderer(Protocol):
    """Writes one transaction set's body (BHT through the last claim) for one claim
    transaction type, each claim inside ``writer.claim(key)``."""

    @property
    def transaction_type(self) -> TransactionType: ...

    @property
    def implementation(self) -> str:
        """GS08 / ST03, e.g. 005010X222A1."""
        ...

    def render_body(
        self, writer: X12Writer, header: TransactionSetHeader, claims: Sequence[KeyedClaim]
    ) -> None: ...


@dataclass(frozen=True)
class RenderedInterchange:
    text: str
    control_numbers: ControlNumbers
    claim_spans: tuple[ClaimSpan, ...]
    transaction_set_of: dict[int, int]  # claim key -> ST02
    segment_loops: tuple[str, ...]

    @property
    def content(self) -> bytes:
        return self.text.encode("ascii")

    @property
    def claim_keys(self) -> tuple[int, ...]:
        return tuple(span.key for span in self.claim_spans)

    def loop_of(self, segment_number: int) -> str | None:
        if 1 <= segment_number <= len(self.segment_loops):
            return self.segment_loops[segment_number - 1]
        return None


def line_control_numbers(claim: ClaimSubmitted) -> tuple[str, ...]:
    """The claim's REF*6R values in line order: the 837P lines, or the 837I's SV2 lines."""
    if claim.institutional is not None:
        return tuple(line.line_control_number for line in claim.institutional.service_lines)
    return tuple(line.line_control_number for line in claim.service_lines)


def transaction_sets_needed(claim_count: int, per_set: int = MAX_CLAIMS_PER_TRANSACTION_SET) -> int:
    return max(1, math.ceil(claim_count / per_set))


def interchange_header(request: InterchangeRequest, interchange_control_number: int) -> str:
    """The ISA segment: fixed width, 106 characters with its terminator."""
    d = request.delimiters
    fields = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        request.sender.qualifier,
        _padded(request.sender.identifier, 15),
        request.receiver.qualifier,
        _padded(request.receiver.identifier, 15),
        request.created_at.strftime("%y%m%d"),
        request.created_at.strftime("%H%M"),
        d.repetition,
        X12_VERSION,
        f"{interchange_control_number:09d}",
        "1" if request.acknowledgment_requested else "0",
        request.usage_indicator.value,
        d.component,
    ]
    return d.element.join(fields) + d.segment


def _padded(identifier: str, width: int) -> str:
    if not identifier or len(identifier) > width:
        raise ValueError(f"an interchange id is 1 to {width} characters")
    return identifier.ljust(width)


def render_interchange(
    request: InterchangeRequest,
    numbers: ControlNumbers,
    renderer: TransactionSetRenderer,
    claims: Sequence[KeyedClaim],
    *,
    per_set: int = MAX_CLAIMS_PER_TRANSACTION_SET,
) -> RenderedInterchange:
    """One interchange with one functional group holding ``claims`` in transaction sets
    of at most ``per_set`` claims. ``numbers`` holds one ST02 per transaction set."""
    if not claims:
        raise ValueError("an interchange holds at least one claim")
    chunks = [claims[i : i + per_set] for i in range(0, len(claims), per_set)]
    if len(numbers.transaction_sets) != len(chunks):
        raise ValueError(f"{len(chunks)} transaction sets need as many ST02 numbers")
    writer = X12Writer(request.delimiters)
    writer.raw(ENVELOPE_LOOP, interchange_header(request, numbers.interchange))
    moment = request.created_at
    writer.segment(
        ENVELOPE_LOOP,
        "GS",
        "HC",
        request.application_sender_code,
        request.application_receiver_code,
        x12_date(moment.date()),
        moment.strftime("%H%M"),
        str(numbers.group),
        "X",
        renderer.implementation,
    )
    transaction_set_of: dict[int, int] = {}
    for chunk, st02 in zip(chunks, numbers.transaction_sets, strict=True):
        control = f"{st02:04d}"
        first = writer.count + 1
        writer.segment(HEADER_LOOP, "ST", "837", control, renderer.implementation)
        header = TransactionSetHeader(
            control_number=control,
            reference=f"{numbers.interchange:09d}{control}",
            created_at=moment,
            submitter=request.submitter,
            receiver=request.claim_receiver,
        )
        renderer.render_body(writer, header, chunk)
        writer.segment(HEADER_LOOP, "SE", str(writer.count + 2 - first), control)
        transaction_set_of.update({claim.key: st02 for claim in chunk})
    writer.segment(ENVELOPE_LOOP, "GE", str(len(chunks)), str(numbers.group))
    writer.segment(ENVELOPE_LOOP, "IEA", "1", f"{numbers.interchange:09d}")
    spans = writer.claim_spans
    if sorted(span.key for span in spans) != sorted(claim.key for claim in claims):
        raise ValueError("the renderer must write every claim exactly once")
    return RenderedInterchange(
        text=writer.text(),
        control_numbers=numbers,
        claim_spans=spans,
        transaction_set_of=transaction_set_of,
        segment_loops=writer.loops,
    )


def refusals_of(
    request: InterchangeRequest,
    renderer: TransactionSetRenderer,
    claims: Sequence[KeyedClaim],
) -> dict[int, RenderRefusal]:
    """The claims that cannot be written at all (e.g. a delimiter inside a name), found by
    writing each one alone, before any control number is spent on them. A refusal outside
    any claim (the envelope or header: configuration) is raised, not blamed on a claim."""
    refused: dict[int, RenderRefusal] = {}
    probe = ControlNumbers(interchange=1, group=1, transaction_sets=(1,))
    for claim in claims:
        try:
            render_interchange(request, probe, renderer, [claim])
        except RenderRefusal as refusal:
            if refusal.claim_key is None:
                raise
            refused[claim.key] = refusal
    return refused
