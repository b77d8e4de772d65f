"""Independent checks of the X12 files the suite produces, for tests: pyx12 (the real
validator) and a small reader that takes its delimiters from the ISA, never hard-coded."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyx12.params
import pyx12.x12n_document


def pyx12_errors(path: Path) -> list[str]:
    """Every error pyx12 finds in the file, at any level; empty means valid."""
    report = io.StringIO()
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    valid = pyx12.x12n_document.x12n_document(
        param=pyx12.params.params(),
        src_file=str(path),
        fd_997=None,
        fd_html=None,
        fd_json=report,
    )
    errors: list[str] = []
    _collect(json.loads(report.getvalue() or "{}"), errors)
    if not valid and not errors:
        errors.append("pyx12 rejected the file without a located error")
    return errors


def _collect(node: Any, errors: list[str]) -> None:
    if isinstance(node, dict):
        for error in node.get("errors") or []:
            where = node.get("seg_id") or node.get("trn_set_id") or node.get("gs_control_num")
            errors.append(f"{where}: {error.get('err_cde')} {error.get('err_str')}")
        for value in node.values():
            if isinstance(value, list | dict):
                _collect(value, errors)
    elif isinstance(node, list):
        for item in node:
            _collect(item, errors)


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
