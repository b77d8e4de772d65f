"""Independent checks of the X12 files the suite produces, for tests: pyx12 (the real
validator) and a small reader that takes its delimiters from the ISA, never hard-coded."""

from __future__ import annotations

from dataclasses import dataclass

from common.x12_validation import pyx12_errors

__all__ = ["Interchange", "parse_interchange", "pyx12_errors"]


@dataclass(frozen=True)
class Interchange:
    segments_list: list[list[str]]
    element_separator: str
    component_separator: str
    segment_terminator: str

    def segments(self, segment_id: str) -> list[list[str]]:
        return [s for s in self.segments_list if s and s[0] == segment_id]


def parse_interchange(text: str) -> Interchange:
    if not text.startswith("ISA") or len(text) < 106:
        raise ValueError("not an X12 interchange (no ISA)")
    element, component, terminator = text[3], text[104], text[105]
    segments = [
        raw.strip("\r\n").split(element) for raw in text.split(terminator) if raw.strip("\r\n")
    ]
    return Interchange(segments, element, component, terminator)
