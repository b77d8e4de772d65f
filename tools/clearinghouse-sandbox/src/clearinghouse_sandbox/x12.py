"""Reading and writing X12: delimiters from the ISA, segments, and envelopes whose counts add
up. Readers never assume ``*~:^``; the ISA is fixed width, so its 4th, 83rd, 105th and 106th
characters name the element, repetition, component and segment separators."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

ISA_LENGTH = 106
_ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)


@dataclass(frozen=True)
class Delimiters:
    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"

    def all(self) -> tuple[str, str, str, str]:
        return (self.element, self.component, self.repetition, self.segment)


class EnvelopeError(Exception):
    """The interchange envelope cannot be read; ``note_code`` is the TA105 to answer with."""

    def __init__(self, note_code: str, detail: str) -> None:
        super().__init__(detail)
        self.note_code = note_code
        self.detail = detail


@dataclass(frozen=True)
class Interchange:
    """The parts of an interchange the sandbox needs, read from the ISA's own delimiters."""

    delimiters: Delimiters
    isa: list[str]
    segments: list[list[str]]  # every segment after the ISA, split into elements

    @property
    def sender_qualifier(self) -> str:
        return self.isa[5]

    @property
    def sender_id(self) -> str:
        return self.isa[6].strip()

    @property
    def receiver_qualifier(self) -> str:
        return self.isa[7]

    @property
    def receiver_id(self) -> str:
        return self.isa[8].strip()

    @property
    def date(self) -> str:
        return self.isa[9]

    @property
    def time(self) -> str:
        return self.isa[10]

    @property
    def control_number(self) -> str:
        return self.isa[13]

    @property
    def acknowledgment_requested(self) -> bool:
        return self.isa[14] == "1"

    @property
    def usage(self) -> str:
        return self.isa[15]


def read_delimiters(text: str) -> Delimiters:
    if not text.startswith("ISA") or len(text) < ISA_LENGTH:
        raise EnvelopeError("022", "the file does not start with a complete ISA segment")
    element = text[3]
    if element.isalnum() or element.isspace():
        raise EnvelopeError("026", "invalid data element separator")
    component = text[104]
    if component.isalnum() or component in (" ", element):
        raise EnvelopeError("027", "invalid component element separator")
    segment = text[105]
    if segment.isalnum() or segment in (" ", element, component):
        raise EnvelopeError("004", "invalid segment terminator")
    repetition = text[82]
    return Delimiters(element=element, component=component, repetition=repetition, segment=segment)


def split_segments(text: str, delimiters: Delimiters) -> list[list[str]]:
    segments: list[list[str]] = []
    for raw in text.split(delimiters.segment):
        stripped = raw.strip("\r\n")
        if stripped.strip():
            segments.append(stripped.split(delimiters.element))
    return segments


def read_interchange(text: str) -> Interchange:
    """Reads and checks the ISA/IEA envelope; raises ``EnvelopeError`` with the TA1 note code."""
    delimiters = read_delimiters(text)
    isa_text = text[: ISA_LENGTH - 1]
    isa = isa_text.split(delimiters.element)
    if len(isa) != 17 or any(len(v) != w for v, w in zip(isa[1:], _ISA_WIDTHS, strict=True)):
        raise EnvelopeError("022", "the ISA segment is not 106 fixed-width characters")
    checks: Sequence[tuple[bool, str, str]] = (
        (isa[1] in ("00", "03"), "010", "invalid authorization information qualifier"),
        (isa[3] in ("00", "01"), "012", "invalid security information qualifier"),
        (bool(isa[6].strip()), "006", "invalid interchange sender id"),
        (bool(isa[8].strip()), "008", "invalid interchange receiver id"),
        (_is_date(isa[9], "%y%m%d"), "014", "invalid interchange date"),
        (_is_date(isa[10], "%H%M"), "015", "invalid interchange time"),
        (isa[12] == "00501", "017", "interchange control version not supported"),
        (isa[13].isdigit(), "018", "invalid interchange control number"),
        (isa[14] in ("0", "1"), "019", "invalid acknowledgment requested value"),
        (isa[15] in ("T", "P"), "020", "invalid test indicator"),
    )
    for ok, code, detail in checks:
        if not ok:
            raise EnvelopeError(code, detail)
    segments = split_segments(text[ISA_LENGTH:], delimiters)
    if not segments or segments[-1][0] != "IEA":
        raise EnvelopeError("023", "the interchange ends before its IEA trailer")
    iea = segments[-1]
    if len(iea) != 3:
        raise EnvelopeError("022", "the IEA trailer is malformed")
    if iea[2] != isa[13]:
        raise EnvelopeError("001", "IEA02 does not match ISA13")
    groups = sum(1 for segment in segments if segment[0] == "GS")
    if not iea[1].isdigit() or int(iea[1]) != groups:
        raise EnvelopeError("021", "IEA01 does not match the number of functional groups")
    ta1_only = groups == 0 and segments[0][0] == "TA1"  # an interchange acknowledgment
    if not ta1_only and (groups == 0 or segments[0][0] != "GS"):
        raise EnvelopeError("024", "the interchange holds no readable functional group")
    return Interchange(delimiters=delimiters, isa=isa, segments=segments)


def _is_date(value: str, pattern: str) -> bool:
    try:
        datetime.strptime(value, pattern)  # noqa: DTZ007 - a format check, no zone involved
    except ValueError:
        return False
    return True


_UNSAFE = re.compile(r"[^A-Za-z0-9 .,\-:/()&'#@!?+=%$]")


def clean_text(value: str, delimiters: Delimiters, *, limit: int = 80) -> str:
    """Free text made safe to embed: no delimiter, no control character."""
    cleaned = "".join(" " if ch in delimiters.all() else ch for ch in value)
    cleaned = _UNSAFE.sub(" ", cleaned)
    return " ".join(cleaned.split())[:limit]


class InterchangeWriter:
    """Collects segments and renders an interchange whose trailers count what they close."""

    def __init__(
        self,
        delimiters: Delimiters,
        *,
        sender_qualifier: str,
        sender_id: str,
        receiver_qualifier: str,
        receiver_id: str,
        control_number: int,
        usage: str,
        now: datetime,
    ) -> None:
        self._d = delimiters
        self._control = f"{control_number:09d}"
        self._now = now
        isa = [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            sender_qualifier,
            sender_id[:15].ljust(15),
            receiver_qualifier,
            receiver_id[:15].ljust(15),
            now.strftime("%y%m%d"),
            now.strftime("%H%M"),
            delimiters.repetition,
            "00501",
            self._control,
            "0",
            usage,
            delimiters.component,
        ]
        self._lines: list[str] = [delimiters.element.join(isa)]
        self._groups = 0
        self._group_sets = 0
        self._group_control = ""
        self._set_start = 0
        self._set_control = ""

    @property
    def control_number(self) -> str:
        return self._control

    def segment(self, *elements: str) -> None:
        values = list(elements)
        while len(values) > 1 and values[-1] == "":
            values.pop()  # trailing empty elements are not sent
        self._lines.append(self._d.element.join(values))

    def begin_group(
        self, functional_id: str, sender: str, receiver: str, control: int, version: str
    ) -> None:
        self._groups += 1
        self._group_sets = 0
        self._group_control = str(control)
        self.segment(
            "GS",
            functional_id,
            sender,
            receiver,
            self._now.strftime("%Y%m%d"),
            self._now.strftime("%H%M"),
            self._group_control,
            "X",
            version,
        )

    def end_group(self) -> None:
        self.segment("GE", str(self._group_sets), self._group_control)

    def begin_set(self, set_id: str, control: int, version: str) -> None:
        self._group_sets += 1
        self._set_control = f"{control:04d}"
        self._set_start = len(self._lines)
        self.segment("ST", set_id, self._set_control, version)

    def end_set(self) -> None:
        count = len(self._lines) - self._set_start + 1
        self.segment("SE", str(count), self._set_control)

    def render(self) -> str:
        self.segment("IEA", str(self._groups), self._control)
        # A line break after each terminator reads well, unless the terminator is one.
        newline = "" if self._d.segment in "\r\n" else "\n"
        return "".join(line + self._d.segment + newline for line in self._lines)

    def components(self, *parts: str) -> str:
        values = list(parts)
        while len(values) > 1 and values[-1] == "":
            values.pop()
        return self._d.component.join(values)
