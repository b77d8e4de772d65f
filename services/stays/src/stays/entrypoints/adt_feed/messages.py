"""HL7 v2 messages as the ADT feed reads and answers them: parsing (the ``hl7`` package),
field access by HL7 position (``PV1-45``), the coded refusals, and the original-mode
acknowledgment (``ACK`` with ``MSA`` and, for a refusal, ``ERR``). Pure, no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import hl7

__all__ = [
    "AckCode",
    "AdtRefusal",
    "Hl7Header",
    "Hl7Message",
    "Hl7Segment",
    "acknowledgment",
    "parse_message",
]

#: HL7 table 0357 (message error condition codes) used in ERR-3.
SEGMENT_SEQUENCE_ERROR = "100"
REQUIRED_FIELD_MISSING = "101"
DATA_TYPE_ERROR = "102"
TABLE_VALUE_NOT_FOUND = "103"
UNSUPPORTED_MESSAGE_TYPE = "200"
UNSUPPORTED_EVENT_CODE = "201"
UNKNOWN_KEY_IDENTIFIER = "204"
APPLICATION_RECORD_LOCKED = "206"
APPLICATION_INTERNAL_ERROR = "207"

_TABLE_0357 = {
    SEGMENT_SEQUENCE_ERROR: "Segment sequence error",
    REQUIRED_FIELD_MISSING: "Required field missing",
    DATA_TYPE_ERROR: "Data type error",
    TABLE_VALUE_NOT_FOUND: "Table value not found",
    UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    UNSUPPORTED_EVENT_CODE: "Unsupported event code",
    UNKNOWN_KEY_IDENTIFIER: "Unknown key identifier",
    APPLICATION_RECORD_LOCKED: "Application record locked",
    APPLICATION_INTERNAL_ERROR: "Application internal error",
}

# The feed's own refusal codes (ERR-5 / MSA-3); a stay rule's refusal carries the stay
# rule's code instead (``stays.domain.errors``).
HL7_UNPARSEABLE = "HL7_UNPARSEABLE"
HL7_UNSUPPORTED_MESSAGE = "HL7_UNSUPPORTED_MESSAGE"
HL7_REQUIRED_FIELD_MISSING = "HL7_REQUIRED_FIELD_MISSING"
HL7_INVALID_FIELD = "HL7_INVALID_FIELD"
HL7_CODE_NOT_MAPPED = "HL7_CODE_NOT_MAPPED"
HL7_SENDER_NOT_MAPPED = "HL7_SENDER_NOT_MAPPED"
HL7_FACILITY_NOT_MAPPED = "HL7_FACILITY_NOT_MAPPED"
HL7_INTERNAL_ERROR = "HL7_INTERNAL_ERROR"


class AckCode(StrEnum):
    """MSA-1 in original mode (HL7 table 0008)."""

    ACCEPT = "AA"  # applied (or applied before: a duplicate control id)
    ERROR = "AE"  # understood, but a stay rule refuses it
    REJECT = "AR"  # cannot be read, lacks what it needs, or is not ours to take


class AdtRefusal(Exception):
    """Why a message is not applied, as its acknowledgment says it: the MSA-1 code, a
    stable ``code``, a text without PHI, the table 0357 condition and where (``PV1-45``)."""

    def __init__(
        self,
        ack: AckCode,
        code: str,
        text: str,
        *,
        condition: str = APPLICATION_INTERNAL_ERROR,
        location: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {text}")
        self.ack = ack
        self.code = code
        self.text = text
        self.condition = condition
        self.location = location


def _hl7_null(value: str) -> str:
    # '""' is HL7's explicit null: for this feed, the same as absent.
    return "" if value == '""' else value


@dataclass(frozen=True)
class Hl7Segment:
    """One segment: its fields as sent (``fields[n]`` is field n; for MSH as numbered by
    the standard, MSH-1 the field separator)."""

    name: str
    fields: tuple[str, ...]
    repetition: str
    component: str
    subcomponent: str
    escape: str

    def field(self, number: int) -> str:
        return self.fields[number] if 0 < number < len(self.fields) else ""

    def repetitions(self, number: int) -> list[str]:
        raw = self.field(number)
        return [rep for rep in raw.split(self.repetition) if rep] if raw else []

    def component_of(self, value: str, component: int = 1, subcomponent: int = 1) -> str:
        """Component (and subcomponent) of one repetition ``value``, unescaped, trimmed."""
        parts = value.split(self.component)
        part = parts[component - 1] if component <= len(parts) else ""
        subparts = part.split(self.subcomponent)
        sub = subparts[subcomponent - 1] if subcomponent <= len(subparts) else ""
        return _hl7_null(unescape(sub, self)).strip()

    def value(self, number: int, component: int = 1, subcomponent: int = 1) -> str:
        """``SEG-number.component.subcomponent`` of the first repetition ('' when absent)."""
        reps = self.repetitions(number)
        return self.component_of(reps[0], component, subcomponent) if reps else ""


def unescape(text: str, segment: Hl7Segment) -> str:
    esc = segment.escape
    if not esc or esc not in text:
        return text
    replacements = {
        "F": "|",
        "S": segment.component,
        "T": segment.subcomponent,
        "R": segment.repetition,
        "E": esc,
    }
    out: list[str] = []
    pieces = text.split(esc)
    out.append(pieces[0])
    index = 1
    while index < len(pieces):
        # pieces alternate: escape sequence, text
        sequence = pieces[index]
        out.append(replacements.get(sequence, ""))
        if index + 1 < len(pieces):
            out.append(pieces[index + 1])
        index += 2
    return "".join(out)


def escape(text: str) -> str:
    """``text`` safe inside a field with the standard delimiters ``|^~\\&``."""
    return (
        text.replace("\\", "\\E\\")
        .replace("|", "\\F\\")
        .replace("^", "\\S\\")
        .replace("&", "\\T\\")
        .replace("~", "\\R\\")
        .replace("\r", " ")
        .replace("\n", " ")
    )


@dataclass(frozen=True)
class Hl7Header:
    """What MSH says about the message (never PHI)."""

    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    message_code: str
    trigger_event: str
    control_id: str
    processing_id: str
    version: str
    sent_at: str

    @property
    def message_type(self) -> str:
        return f"{self.message_code}^{self.trigger_event}"


@dataclass(frozen=True)
class Hl7Message:
    header: Hl7Header
    segments: tuple[Hl7Segment, ...]

    def all(self, name: str) -> list[Hl7Segment]:
        return [segment for segment in self.segments if segment.name == name]

    def first(self, name: str) -> Hl7Segment | None:
        return next((segment for segment in self.segments if segment.name == name), None)

    def required(self, name: str) -> Hl7Segment:
        segment = self.first(name)
        if segment is None:
            raise AdtRefusal(
                AckCode.REJECT,
                HL7_REQUIRED_FIELD_MISSING,
                f"the {self.header.trigger_event} message has no {name} segment",
                condition=SEGMENT_SEQUENCE_ERROR,
                location=name,
            )
        return segment


def _segments(parsed: Any) -> tuple[Hl7Segment, ...]:
    separators: str = parsed.separators  # segment, field, repetition, component, subcomponent
    escape_char: str = parsed.esc
    segments: list[Hl7Segment] = []
    for segment in parsed:
        raw = str(segment)
        fields = raw.split(separators[1])
        name = fields[0]
        if name == "MSH":
            # MSH-1 is the field separator itself: number MSH's fields as the standard does.
            fields = [name, separators[1], *fields[1:]]
        segments.append(
            Hl7Segment(
                name=name,
                fields=tuple(fields),
                repetition=separators[2],
                component=separators[3],
                subcomponent=separators[4],
                escape=escape_char,
            )
        )
    return tuple(segments)


def parse_message(text: str) -> Hl7Message:
    """One HL7 v2 message (segments separated by CR; LF and CRLF are taken too). Refused
    (AR, HL7_UNPARSEABLE) when it is not one, or its MSH lacks the type or control id."""
    normalised = text.replace("\r\n", "\r").replace("\n", "\r").strip("\r \x00")
    try:
        parsed = hl7.parse(normalised)
        segments = _segments(parsed)
    except Exception as exc:  # the parser raises ParseException, IndexError, ValueError...
        raise AdtRefusal(
            AckCode.REJECT,
            HL7_UNPARSEABLE,
            f"not an HL7 v2 message ({type(exc).__name__})",
            condition=SEGMENT_SEQUENCE_ERROR,
        ) from exc
    msh = segments[0]
    header = Hl7Header(
        sending_application=msh.value(3),
        sending_facility=msh.value(4),
        receiving_application=msh.value(5),
        receiving_facility=msh.value(6),
        message_code=msh.value(9, 1),
        trigger_event=msh.value(9, 2),
        control_id=msh.value(10),
        processing_id=msh.value(11) or "P",
        version=msh.value(12) or "2.5.1",
        sent_at=msh.value(7),
    )
    message = Hl7Message(header=header, segments=segments)
    for number, value in ((9, header.message_code), (10, header.control_id)):
        if not value:
            raise AdtRefusal(
                AckCode.REJECT,
                HL7_REQUIRED_FIELD_MISSING,
                f"MSH-{number} is empty",
                condition=REQUIRED_FIELD_MISSING,
                location=f"MSH-{number}",
            )
    return message


@dataclass(frozen=True)
class Receiver:
    """Who answers: MSH-3 / MSH-4 of the acknowledgments."""

    application: str = "RCM-STAYS"
    facility: str = "RCM"


def _ack_timestamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")


def acknowledgment(
    header: Hl7Header | None,
    ack: AckCode,
    *,
    receiver: Receiver,
    refusal: AdtRefusal | None = None,
    now: datetime | None = None,
) -> str:
    """The original-mode ACK of a message (``header`` None: a frame that could not be
    read, answered with an empty MSA-2)."""
    sent = _ack_timestamp(now or datetime.now(UTC))
    trigger = header.trigger_event if header else ""
    msh = "|".join(
        [
            "MSH",
            "^~\\&",
            escape(receiver.application),
            escape(receiver.facility),
            escape(header.sending_application) if header else "",
            escape(header.sending_facility) if header else "",
            sent,
            "",
            f"ACK^{escape(trigger)}^ACK" if trigger else "ACK",
            uuid.uuid4().hex[:20].upper(),
            escape(header.processing_id) if header else "P",
            escape(header.version) if header else "2.5.1",
        ]
    )
    control_id = escape(header.control_id) if header else ""
    segments = [msh]
    if refusal is None:
        segments.append(f"MSA|{ack.value}|{control_id}")
    else:
        text = escape(f"{refusal.code}: {refusal.text}")[:400]
        segments.append(f"MSA|{ack.value}|{control_id}|{text}")
        condition = refusal.condition
        location = ""
        if refusal.location:
            name, _, number = refusal.location.partition("-")
            location = f"{escape(name)}^1^{escape(number)}" if number else escape(name)
        segments.append(
            "|".join(
                [
                    "ERR",
                    "",
                    location,
                    f"{condition}^{_TABLE_0357.get(condition, '')}^HL70357",
                    "E",
                    f"{escape(refusal.code)}^{escape(refusal.text)[:200]}^L",
                ]
            )
        )
    return "\r".join(segments) + "\r"
