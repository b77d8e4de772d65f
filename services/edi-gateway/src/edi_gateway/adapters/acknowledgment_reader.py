"""pyx12 reads acknowledgment files: its ``X12Reader`` splits the segments (taking the
delimiters from the ISA) and its validator checks the file against the 999 / 277CA maps.
A file pyx12 cannot read at all is unreadable; one it reads with validation errors is
still applied (the errors are kept with it, as codes without values)."""

from __future__ import annotations

import io
import logging

import pyx12.errors
import pyx12.segment
import pyx12.x12file

from edi_gateway.adapters.x12_validator import Pyx12Validator
from edi_gateway.domain.acknowledgments import (
    UNREADABLE,
    AcknowledgmentUnreadable,
    ParsedAcknowledgment,
    RawSegment,
    parse_acknowledgment,
)


class Pyx12AcknowledgmentReader:
    """``read(content)`` -> the parsed acknowledgment, or raises AcknowledgmentUnreadable.
    Synchronous and CPU bound: callers run it in a worker thread."""

    def __init__(self, validator: Pyx12Validator | None = None) -> None:
        self._validator = validator or Pyx12Validator()
        logging.getLogger("pyx12").setLevel(logging.CRITICAL)

    def read(self, content: bytes) -> ParsedAcknowledgment:
        try:
            text = content.decode("ascii")
        except UnicodeDecodeError as exc:
            raise AcknowledgmentUnreadable(UNREADABLE, "the file is not ASCII text") from exc
        text = text.lstrip("\ufeff \r\n\t")
        segments = read_segments(text)
        issues = [
            f"{i.level.value}:{i.code}" + (f"@{i.segment_id}" if i.segment_id else "")
            for i in self._validator.validate(text)
        ]
        return parse_acknowledgment(segments, issues[:100])


def read_segments(text: str) -> list[RawSegment]:
    try:
        with pyx12.x12file.X12Reader(io.StringIO(text)) as reader:
            return [_raw(segment) for segment in reader]
    except pyx12.errors.X12Error as exc:
        raise AcknowledgmentUnreadable(UNREADABLE, "pyx12 cannot read the envelope") from exc
    except (ValueError, IndexError, AttributeError) as exc:
        raise AcknowledgmentUnreadable(UNREADABLE, "pyx12 cannot split the segments") from exc


def _raw(segment: pyx12.segment.Segment) -> RawSegment:
    segment_id = segment.get_seg_id() or ""
    elements: list[tuple[str, ...]] = []
    for position in range(1, len(segment) + 1):
        value = segment.get(f"{segment_id}{position:02d}")
        if value is None:
            elements.append(("",))
        elif value.is_composite():
            composite = value
            elements.append(tuple(composite[i].get_value() for i in range(len(composite))))
        else:
            elements.append((value.get_value(),))
    return RawSegment(segment_id=segment_id, elements=tuple(elements))
