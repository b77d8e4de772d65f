"""pyx12 as the gateway's X12 validator (SPEC 7: every file passes a real validator).

Driven the way its ``x12valid`` script drives it (``x12n_document``), with the file in
memory and the error tree written as JSON, which gives every error with the position of
its segment in the file. Synchronous and CPU bound: callers run it in a worker thread.
pyx12's own log lines can quote values from the file, so its logger is silenced below
CRITICAL.

Maps are parsed once per process (``common.x12_validation``): ``x12n_document`` alone parses
its implementation maps (the 837P map takes about 0.8 s) on every call, which was most of
the cost of a small file (a group session's 837P, an acknowledgment).
``tests/unit/test_x12_validator.py`` checks that a cached map gives the same issues as a
fresh one, file after file, valid and invalid, in turn and from several threads."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pyx12.params
import pyx12.x12n_document

from common.x12_validation import map_cache
from edi_gateway.domain.validation import IssueLevel, ValidationIssue


class Pyx12Validator:
    """``validate(text)`` -> the issues found; an empty list means zero errors."""

    def __init__(self, *, map_path: str | None = None) -> None:
        self._map_path = map_path
        logging.getLogger("pyx12").setLevel(logging.CRITICAL)
        map_cache()

    def validate(self, text: str) -> list[ValidationIssue]:
        report = io.StringIO()
        params = pyx12.params.params()
        try:
            ok = pyx12.x12n_document.x12n_document(
                param=params,
                src_file=io.StringIO(text),
                fd_997=None,
                fd_html=None,
                fd_json=report,
                map_path=self._map_path,
            )
        except Exception as exc:  # pyx12 raises on a file it cannot walk at all
            return [
                ValidationIssue(
                    level=IssueLevel.INTERCHANGE,
                    code="ENGINE",
                    detail=f"the validator could not read the file ({type(exc).__name__})",
                )
            ]
        issues = list(_issues(json.loads(report.getvalue() or "{}")))
        if not ok and not issues:
            issues.append(
                ValidationIssue(
                    level=IssueLevel.INTERCHANGE,
                    code="UNSPECIFIED",
                    detail="the validator refused the file without naming an error",
                )
            )
        return issues


def _issues(report: dict[str, Any]) -> Iterator[ValidationIssue]:
    for interchange in report.get("interchanges", []):
        yield from _envelope(IssueLevel.INTERCHANGE, interchange)
        for group in interchange.get("groups", []):
            yield from _envelope(IssueLevel.GROUP, group)
            for transaction_set in group.get("transactions", []):
                yield from _envelope(IssueLevel.TRANSACTION_SET, transaction_set)
                for segment in transaction_set.get("segments", []):
                    yield from _segment(segment)


def _envelope(level: IssueLevel, node: dict[str, Any]) -> Iterator[ValidationIssue]:
    for error in node.get("errors", []):
        yield ValidationIssue(
            level=level,
            code=str(error.get("err_cde")),
            segment_number=node.get("cur_line"),
            # Envelope texts speak of counts and control numbers, never of claim data.
            detail=str(error.get("err_str") or "")[:300] or None,
        )


def _segment(segment: dict[str, Any]) -> Iterator[ValidationIssue]:
    segment_id = str(segment.get("seg_id") or "")
    number = segment.get("cur_line")
    for error in segment.get("errors", []):
        yield ValidationIssue(
            level=IssueLevel.SEGMENT,
            code=str(error.get("err_cde")),
            segment_number=number,
            segment_id=segment_id,
            name=segment.get("name"),
        )
    for element in segment.get("elements", []):
        position = element.get("ele_pos")
        sub = element.get("subele_pos")
        reference = f"{segment_id}{int(position):02d}" if position is not None else segment_id
        if sub is not None:
            reference += f"-{int(sub):02d}"
        for error in element.get("errors", []):
            yield ValidationIssue(
                level=IssueLevel.ELEMENT,
                code=str(error.get("err_cde")),
                segment_number=number,
                segment_id=segment_id,
                element=reference,
                name=element.get("name"),
            )
