"""Acknowledgments (SPEC 7): TA1 (interchange), 999 (005010X231A1, transaction sets) and
277CA (005010X214, claims and lines), read into plain values, and the rules that decide
what each one means for a claim. Pure: segments in (as a reader split them, taking the
delimiters from the ISA), values out.

Nothing here keeps a patient's name: the 277CA's 2100D NM1 is skipped, IK404 (the bad
value a 999 quotes, which may be PHI) is dropped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Final

from common.errors import DomainError

# One segment as read: its id and its elements, each element a tuple of its components
# (a simple element is a 1-tuple). ``elements[0]`` is element 01.
Elements = tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class RawSegment:
    segment_id: str
    elements: Elements

    def value(self, position: int, component: int = 1) -> str:
        """Element ``position`` (1-based), component ``component`` (1-based); "" when absent."""
        if position < 1 or position > len(self.elements):
            return ""
        parts = self.elements[position - 1]
        return parts[component - 1].strip() if component <= len(parts) else ""

    def composite(self, position: int) -> tuple[str, ...]:
        if position < 1 or position > len(self.elements):
            return ()
        return tuple(p.strip() for p in self.elements[position - 1])


class AcknowledgmentKind(StrEnum):
    TA1 = "TA1"
    ACK_999 = "999"
    ACK_277CA = "277CA"
    UNKNOWN = "UNKNOWN"  # a file no one could read


class AcknowledgmentUnreadable(DomainError):
    """The file is not an acknowledgment the gateway can read (kept, never dropped)."""


UNREADABLE: Final = "ACKNOWLEDGMENT_UNREADABLE"
UNSUPPORTED: Final = "ACKNOWLEDGMENT_KIND_UNSUPPORTED"


class AcknowledgingParty(StrEnum):
    CLEARINGHOUSE = "CLEARINGHOUSE"
    PAYER = "PAYER"
    OTHER = "OTHER"


class ClaimOutcome(StrEnum):
    """What an acknowledgment item means for a claim version."""

    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    INFORMATIONAL = "INFORMATIONAL"  # recorded; the claim's state does not change


ACCEPTED_CATEGORIES: Final = frozenset({"A1", "A2"})
REJECTED_CATEGORIES: Final = frozenset({"A3", "A6", "A7", "A8"})
# IK501 / AK901 / TA104 codes that keep a set out of the payer's system.
REJECTING_ACK_CODES: Final = frozenset({"R", "M", "W", "X"})

TA1_NOTES: Final = {
    "000": "no error",
    "001": "ISA13 and IEA02 do not match",
    "006": "invalid interchange sender ID",
    "008": "invalid interchange receiver ID",
    "009": "unknown interchange receiver ID",
    "018": "invalid interchange control number",
    "020": "invalid test indicator",
    "021": "invalid number of included groups",
    "022": "invalid control structure",
    "023": "improper end of file",
    "024": "invalid interchange content",
    "025": "duplicate interchange control number",
}
IK502_TEXTS: Final = {
    "1": "transaction set not supported",
    "2": "transaction set trailer missing",
    "3": "ST02 and SE02 do not match",
    "4": "number of included segments does not match",
    "5": "one or more segments in error",
    "23": "transaction set control number not unique",
    "I5": "implementation: one or more segments in error",
    "I6": "implementation convention not supported",
}


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class InterchangeEnvelope:
    """The acknowledgment's own ISA: who sent it (the clearinghouse) to whom (us)."""

    sender_id: str  # ISA06
    receiver_id: str  # ISA08
    control_number: str  # ISA13
    usage_indicator: str  # ISA15


@dataclass(frozen=True)
class InterchangeAcknowledgment:
    """TA1: what the receiver said about one of our envelopes."""

    isa13: int  # TA101: our ISA13
    code: str  # TA104: A, E or R
    note_code: str  # TA105

    @property
    def outcome(self) -> ClaimOutcome:
        return ClaimOutcome.REJECTED if self.code == "R" else ClaimOutcome.INFORMATIONAL


@dataclass(frozen=True)
class ElementError:
    position: str  # IK401, e.g. "1" or "1:3"
    code: str  # IK403


@dataclass(frozen=True)
class SegmentError:
    segment_id: str  # IK301
    position: str  # IK302: the segment's position in the set
    loop: str  # IK303
    code: str  # IK304
    elements: tuple[ElementError, ...] = ()


@dataclass(frozen=True)
class TransactionSetAcknowledgment:
    """999 AK2 loop: one of our transaction sets (ST02) and what became of it (IK5)."""

    st02: int  # AK202
    code: str  # IK501: A, E, R, M, W, X
    reasons: tuple[str, ...] = ()  # IK502 .. IK506
    segment_errors: tuple[SegmentError, ...] = ()

    @property
    def outcome(self) -> ClaimOutcome:
        return (
            ClaimOutcome.REJECTED
            if self.code in REJECTING_ACK_CODES
            else ClaimOutcome.INFORMATIONAL
        )

    def codes(self) -> list[str]:
        codes = [f"IK501:{self.code}", *(f"IK502:{r}" for r in self.reasons)]
        for error in self.segment_errors:
            codes.append(f"IK304:{error.code}@{error.segment_id}")
            codes.extend(f"IK403:{e.code}@{error.segment_id}{e.position}" for e in error.elements)
        return list(dict.fromkeys(codes))

    def message(self) -> str:
        verdict = "rejected" if self.outcome is ClaimOutcome.REJECTED else "acknowledged"
        parts = [f"transaction set {self.st02:04d} {verdict} by the 999 (IK501 {self.code})"]
        parts += [IK502_TEXTS.get(r, f"IK502 {r}") for r in self.reasons]
        parts += [
            f"{e.segment_id} at segment {e.position}: IK304 {e.code}"
            + "".join(f", element {x.position} IK403 {x.code}" for x in e.elements)
            for e in self.segment_errors
        ]
        return "; ".join(parts)


@dataclass(frozen=True)
class GroupAcknowledgment:
    """999 for one of our functional groups (AK1 .. AK9)."""

    functional_id: str  # AK101: HC
    gs06: int  # AK102
    version: str  # AK103
    code: str  # AK901: A, E, P, R, M, W, X
    reasons: tuple[str, ...]  # AK905 ..
    sets_included: int | None  # AK902
    sets_received: int | None  # AK903
    sets_accepted: int | None  # AK904
    transaction_sets: tuple[TransactionSetAcknowledgment, ...]

    def codes(self) -> list[str]:
        return [f"AK901:{self.code}", *(f"AK905:{r}" for r in self.reasons)]


@dataclass(frozen=True)
class StatusCode:
    """One STC composite: category (A2), status (20), entity (PR)."""

    category: str
    status: str
    entity: str = ""

    def __str__(self) -> str:
        return ":".join(p for p in (self.category, self.status, self.entity) if p)


@dataclass(frozen=True)
class StatusReport:
    """One STC segment: its composites (STC01, STC10, STC11), date, amount and text."""

    statuses: tuple[StatusCode, ...]
    status_date: date | None  # STC02
    action: str  # STC03
    amount: Decimal | None  # STC04
    message: str | None  # STC12


def outcome_of(statuses: Sequence[StatusCode]) -> ClaimOutcome:
    """A3/A6/A7/A8 anywhere rejects; else A1/A2 accepts; anything else informs (SPEC 7)."""
    categories = {s.category for s in statuses}
    if categories & REJECTED_CATEGORIES:
        return ClaimOutcome.REJECTED
    if categories & ACCEPTED_CATEGORIES:
        return ClaimOutcome.ACCEPTED
    return ClaimOutcome.INFORMATIONAL


@dataclass(frozen=True)
class LineStatus:
    """277CA 2220D: one service line, by its line control number (REF*FJ)."""

    line_control_number: str | None
    reports: tuple[StatusReport, ...]
    service_date_from: date | None = None
    service_date_to: date | None = None

    @property
    def statuses(self) -> tuple[StatusCode, ...]:
        return tuple(s for r in self.reports for s in r.statuses)

    @property
    def outcome(self) -> ClaimOutcome:
        return outcome_of(self.statuses)

    @property
    def message(self) -> str | None:
        texts = [r.message for r in self.reports if r.message]
        return "; ".join(texts) if texts else None


@dataclass(frozen=True)
class ClaimStatus:
    """277CA 2200D: one claim, by its patient control number (TRN02 = our CLM01)."""

    patient_control_number: str
    party: AcknowledgingParty
    reports: tuple[StatusReport, ...]
    payer_claim_control_number: str | None = None  # REF*1K
    clearinghouse_trace_number: str | None = None  # REF*D9
    bill_type: str | None = None  # REF*BLT
    service_date_from: date | None = None  # DTP*472
    service_date_to: date | None = None
    lines: tuple[LineStatus, ...] = ()

    @property
    def statuses(self) -> tuple[StatusCode, ...]:
        return tuple(s for r in self.reports for s in r.statuses)

    @property
    def outcome(self) -> ClaimOutcome:
        return outcome_of(self.statuses)

    @property
    def status_date(self) -> date | None:
        return next((r.status_date for r in self.reports if r.status_date), None)

    @property
    def total_charge(self) -> Decimal | None:
        return next((r.amount for r in self.reports if r.amount is not None), None)

    @property
    def message(self) -> str | None:
        texts = [r.message for r in self.reports if r.message]
        return "; ".join(texts) if texts else None

    def codes(self) -> list[str]:
        return list(dict.fromkeys(str(s) for s in self.statuses))


@dataclass(frozen=True)
class ParsedAcknowledgment:
    envelope: InterchangeEnvelope
    interchange_acknowledgments: tuple[InterchangeAcknowledgment, ...] = ()
    group_acknowledgments: tuple[GroupAcknowledgment, ...] = ()
    claim_statuses: tuple[ClaimStatus, ...] = ()
    validation_issues: tuple[str, ...] = field(default=())

    @property
    def kind(self) -> AcknowledgmentKind:
        if self.claim_statuses:
            return AcknowledgmentKind.ACK_277CA
        if self.group_acknowledgments:
            return AcknowledgmentKind.ACK_999
        return AcknowledgmentKind.TA1


# --------------------------------------------------------------------------- parsing


def addressed_to(content: bytes) -> str | None:
    """The interchange receiver id (ISA08, unpadded) of an inbound file: whose answer it
    is. The ISA is fixed-width and names its own element separator (its fourth byte), so
    the header is read without the rest; None when the file does not start with an ISA."""
    head = content.lstrip(b"\xef\xbb\xbf \r\n\t")[:106]
    if len(head) < 106 or not head.startswith(b"ISA"):
        return None
    elements = head.decode("ascii", errors="replace").split(head[3:4].decode("ascii", "replace"))
    if len(elements) < 9:
        return None
    return elements[8].strip() or None


def parse_acknowledgment(
    segments: Sequence[RawSegment], validation_issues: Sequence[str] = ()
) -> ParsedAcknowledgment:
    """Read TA1s, 999 groups and 277CA claims from one interchange's segments.
    Raises :class:`AcknowledgmentUnreadable` when there is none of them."""
    if not segments or segments[0].segment_id != "ISA":
        raise AcknowledgmentUnreadable(UNREADABLE, "the file does not start with an ISA")
    isa = segments[0]
    envelope = InterchangeEnvelope(
        sender_id=isa.value(6),
        receiver_id=isa.value(8),
        control_number=isa.value(13),
        usage_indicator=isa.value(15),
    )
    ta1s: list[InterchangeAcknowledgment] = []
    groups: list[GroupAcknowledgment] = []
    claims: list[ClaimStatus] = []
    index = 1
    while index < len(segments):
        segment = segments[index]
        if segment.segment_id == "TA1":
            ta1s.append(
                InterchangeAcknowledgment(
                    isa13=_int(segment.value(1), "TA101"),
                    code=segment.value(4),
                    note_code=segment.value(5),
                )
            )
        elif segment.segment_id == "ST":
            end = _end_of_set(segments, index)
            body = segments[index + 1 : end]
            set_id = segment.value(1)
            if set_id == "999":
                groups.extend(_parse_999(body))
            elif set_id == "277":
                claims.extend(_parse_277ca(body))
            else:
                raise AcknowledgmentUnreadable(
                    UNSUPPORTED, f"transaction set {set_id or '?'} is not an acknowledgment"
                )
            index = end
        index += 1
    if not (ta1s or groups or claims):
        raise AcknowledgmentUnreadable(UNREADABLE, "the file holds no TA1, 999 or 277CA")
    return ParsedAcknowledgment(
        envelope=envelope,
        interchange_acknowledgments=tuple(ta1s),
        group_acknowledgments=tuple(groups),
        claim_statuses=tuple(claims),
        validation_issues=tuple(validation_issues),
    )


def _end_of_set(segments: Sequence[RawSegment], start: int) -> int:
    for position in range(start + 1, len(segments)):
        if segments[position].segment_id == "SE":
            return position
    raise AcknowledgmentUnreadable(UNREADABLE, "a transaction set has no SE")


def _parse_999(body: Sequence[RawSegment]) -> list[GroupAcknowledgment]:
    groups: list[GroupAcknowledgment] = []
    ak1: RawSegment | None = None
    sets: list[TransactionSetAcknowledgment] = []
    current: dict[str, object] | None = None
    segment_errors: list[SegmentError] = []

    def close_set() -> None:
        nonlocal current, segment_errors
        if current is not None:
            raise AcknowledgmentUnreadable(UNREADABLE, "an AK2 loop has no IK5")
        segment_errors = []

    for segment in body:
        sid = segment.segment_id
        if sid == "AK1":
            ak1 = segment
            sets = []
        elif sid == "AK2":
            close_set()
            current = {"st02": _int(segment.value(2), "AK202")}
        elif sid == "IK3" and current is not None:
            segment_errors.append(
                SegmentError(
                    segment_id=segment.value(1),
                    position=segment.value(2),
                    loop=segment.value(3),
                    code=segment.value(4),
                )
            )
        elif sid == "IK4" and current is not None and segment_errors:
            last = segment_errors[-1]
            position = ":".join(p for p in segment.composite(1) if p)
            segment_errors[-1] = SegmentError(
                segment_id=last.segment_id,
                position=last.position,
                loop=last.loop,
                code=last.code,
                elements=(*last.elements, ElementError(position=position, code=segment.value(3))),
            )
        elif sid == "IK5" and current is not None:
            st02 = current["st02"]
            assert isinstance(st02, int)
            sets.append(
                TransactionSetAcknowledgment(
                    st02=st02,
                    code=segment.value(1),
                    reasons=tuple(v for v in (segment.value(i) for i in range(2, 7)) if v),
                    segment_errors=tuple(segment_errors),
                )
            )
            current = None
            segment_errors = []
        elif sid == "AK9":
            if ak1 is None:
                raise AcknowledgmentUnreadable(UNREADABLE, "an AK9 without its AK1")
            close_set()
            groups.append(
                GroupAcknowledgment(
                    functional_id=ak1.value(1),
                    gs06=_int(ak1.value(2), "AK102"),
                    version=ak1.value(3),
                    code=segment.value(1),
                    reasons=tuple(v for v in (segment.value(i) for i in range(5, 10)) if v),
                    sets_included=_optional_int(segment.value(2)),
                    sets_received=_optional_int(segment.value(3)),
                    sets_accepted=_optional_int(segment.value(4)),
                    transaction_sets=tuple(sets),
                )
            )
            ak1 = None
            sets = []
    if ak1 is not None:
        raise AcknowledgmentUnreadable(UNREADABLE, "a 999 group has no AK9")
    return groups


_PARTIES: Final = {"PR": AcknowledgingParty.PAYER, "AY": AcknowledgingParty.CLEARINGHOUSE}


@dataclass
class _ClaimBuilder:
    patient_control_number: str
    party: AcknowledgingParty
    reports: list[StatusReport] = field(default_factory=list)
    references: dict[str, str] = field(default_factory=dict)
    dates: tuple[date | None, date | None] = (None, None)
    lines: list[_LineBuilder] = field(default_factory=list)

    def build(self) -> ClaimStatus:
        return ClaimStatus(
            patient_control_number=self.patient_control_number,
            party=self.party,
            reports=tuple(self.reports),
            payer_claim_control_number=self.references.get("1K"),
            clearinghouse_trace_number=self.references.get("D9"),
            bill_type=self.references.get("BLT"),
            service_date_from=self.dates[0],
            service_date_to=self.dates[1],
            lines=tuple(line.build() for line in self.lines),
        )


@dataclass
class _LineBuilder:
    reports: list[StatusReport] = field(default_factory=list)
    line_control_number: str | None = None
    dates: tuple[date | None, date | None] = (None, None)

    def build(self) -> LineStatus:
        return LineStatus(
            line_control_number=self.line_control_number,
            reports=tuple(self.reports),
            service_date_from=self.dates[0],
            service_date_to=self.dates[1],
        )


def _parse_277ca(body: Sequence[RawSegment]) -> list[ClaimStatus]:
    """Walks the HL tree: 20 information source (2000A), 21 receiver (2000B), 19 billing
    provider (2000C), PT patient (2000D: 2200D claim, 2220D lines from each SVC)."""
    claims: list[ClaimStatus] = []
    party = AcknowledgingParty.OTHER
    level = ""
    claim: _ClaimBuilder | None = None
    line: _LineBuilder | None = None

    def flush() -> None:
        nonlocal claim, line
        if claim is not None:
            claims.append(claim.build())
        claim, line = None, None

    for segment in body:
        sid = segment.segment_id
        if sid == "HL":
            flush()
            level = segment.value(3)
        elif sid == "NM1" and level == "20":
            party = _PARTIES.get(segment.value(1), AcknowledgingParty.OTHER)
        elif level == "PT":
            if sid == "TRN" and claim is None:
                claim = _ClaimBuilder(patient_control_number=segment.value(2), party=party)
            elif claim is None:
                pass  # 2100D NM1 (the patient's name): never read
            elif sid == "SVC":
                line = _LineBuilder()
                claim.lines.append(line)
            elif sid == "STC":
                (line.reports if line is not None else claim.reports).append(_status(segment))
            elif sid == "REF":
                qualifier, value = segment.value(1), segment.value(2)
                if line is not None and qualifier == "FJ":
                    line.line_control_number = value
                elif line is None:
                    claim.references.setdefault(qualifier, value)
            elif sid == "DTP" and segment.value(1) == "472":
                dates = _period(segment.value(2), segment.value(3))
                if line is not None:
                    line.dates = dates
                else:
                    claim.dates = dates
    flush()
    return claims


def _status(segment: RawSegment) -> StatusReport:
    statuses = [_status_code(segment.composite(1))]
    statuses += [_status_code(segment.composite(p)) for p in (10, 11) if segment.composite(p)]
    return StatusReport(
        statuses=tuple(s for s in statuses if s.category),
        status_date=_date(segment.value(2)),
        action=segment.value(3),
        amount=_amount(segment.value(4)),
        message=segment.value(12)[:500] or None,
    )


def _status_code(parts: tuple[str, ...]) -> StatusCode:
    padded = (*parts, "", "", "")
    return StatusCode(category=padded[0], status=padded[1], entity=padded[2])


def _period(qualifier: str, value: str) -> tuple[date | None, date | None]:
    if qualifier == "RD8" and "-" in value:
        start, end = value.split("-", 1)
        return _date(start), _date(end)
    day = _date(value)
    return day, day


def _date(value: str) -> date | None:
    if len(value) != 8 or not value.isdigit():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def _amount(value: str) -> Decimal | None:
    if not value:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def _int(value: str, name: str) -> int:
    if not value.isdigit():
        raise AcknowledgmentUnreadable(UNREADABLE, f"{name} is not a control number")
    return int(value)


def _optional_int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


# --------------------------------------------------------------------------- records


class AcknowledgmentStatus(StrEnum):
    """Where an inbound acknowledgment file stands."""

    RECEIVED = "RECEIVED"  # archived, being applied (never seen after commit)
    APPLIED = "APPLIED"  # every item mapped
    PARTLY_MATCHED = "PARTLY_MATCHED"  # some items mapped to nothing (listed)
    UNMATCHED = "UNMATCHED"  # no item mapped
    UNREADABLE = "UNREADABLE"  # kept, with the code saying why


class ItemKind(StrEnum):
    TA1 = "TA1"
    GROUP_999 = "999_GROUP"
    SET_999 = "999_SET"
    CLAIM_277CA = "277CA_CLAIM"


class MatchStatus(StrEnum):
    MATCHED = "MATCHED"
    UNMATCHED = "UNMATCHED"


class ItemEffect(StrEnum):
    """What applying an item did besides recording it."""

    ANNOUNCED = "ANNOUNCED"  # an edi.claim.accepted / edi.claim.rejected event went out
    RECORDED = "RECORDED"  # kept, nothing to tell (a notice, an acceptance, no match yet)
    REJECTION_STANDS = "REJECTION_STANDS"  # an acceptance after a rejection: kept, not told


_RANK: Final = {None: 0, "INFORMATIONAL": 1, "ACCEPTED": 2, "REJECTED": 3}


def settled_outcome(current: str | None, received: ClaimOutcome) -> str | None:
    """The claim version's standing after one more status: a rejection from any party
    wins over an acceptance, an acceptance over a mere notice. Commutative and idempotent,
    so statuses may arrive in any order, and twice."""
    return current if _RANK.get(current, 0) >= _RANK[received.value] else received.value


def claim_status_effect(standing: str | None, received: ClaimOutcome) -> ItemEffect:
    """What a 277CA status of a matched claim version tells: a rejection always, an
    acceptance unless a rejection was heard before (it wins, ``settled_outcome``), a
    notice nothing."""
    if received is ClaimOutcome.REJECTED:
        return ItemEffect.ANNOUNCED
    if received is ClaimOutcome.ACCEPTED:
        if standing == ClaimOutcome.REJECTED.value:
            return ItemEffect.REJECTION_STANDS
        return ItemEffect.ANNOUNCED
    return ItemEffect.RECORDED


def status_from_counts(items: int, unmatched: int) -> AcknowledgmentStatus:
    if unmatched == 0:
        return AcknowledgmentStatus.APPLIED
    return (
        AcknowledgmentStatus.UNMATCHED
        if unmatched == items
        else AcknowledgmentStatus.PARTLY_MATCHED
    )
