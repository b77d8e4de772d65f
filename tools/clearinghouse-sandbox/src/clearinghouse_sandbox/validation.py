"""pyx12, the real validator, driven like its ``x12valid`` script (``x12n_document``) with the
error tree written as JSON, read here into the findings a 999 and a TA1 are built from.

pyx12 can write a 999 itself (``fd_997``), but with a time-based ISA13, a random GS06 and
the ``005010X231`` version, which would break our never-repeating control numbers; so the
999 is built from the same findings, mapped the way pyx12's ``error_999`` visitor maps them.
Synchronous and CPU bound: callers run it in a worker thread. pyx12's logger is silenced
below CRITICAL because its lines can quote values from the file."""

from __future__ import annotations

import functools
import io
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import pyx12.errors
import pyx12.map_if
import pyx12.params
import pyx12.x12n_document

_IK3_CODES = {"1", "2", "3", "4", "5", "6", "7", "8", "I4", "I6", "I7", "I8", "I9"}
_IK4_CODES = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13"} | {
    "I10",
    "I11",
    "I12",
    "I13",
    "I6",
    "I9",
}
_IK5_CODES = {str(n) for n in (*range(1, 14), 15, 16, 17, 18, 19, 23, 24, 25, 26, 27)} | {
    "I5",
    "I6",
}
_AK9_CODES = {str(n) for n in (1, 2, 3, 4, 5, 6, *range(10, 20), 23, 24, 25, 26)}


@dataclass(frozen=True)
class ElementError:
    """An IK4: position ``element[:component[:repeat]]``, data element number, code, value."""

    position: tuple[int, int | None, int | None]
    reference: str | None
    code: str
    bad_value: str | None


@dataclass(frozen=True)
class SegmentError:
    """An IK3 with its IK4s."""

    segment_id: str
    position_in_set: int
    loop_id: str | None
    codes: tuple[str, ...]
    elements: tuple[ElementError, ...]


@dataclass(frozen=True)
class TransactionSetFindings:
    set_id: str
    control_number: str
    version: str | None
    ack_code: str  # IK501: A, E or R
    codes: tuple[str, ...]  # IK502..IK506
    segments: tuple[SegmentError, ...]

    @property
    def accepted(self) -> bool:
        return self.ack_code in ("A", "E")


@dataclass(frozen=True)
class GroupFindings:
    functional_id: str
    control_number: str
    version: str
    sets_declared: int
    sets_received: int
    codes: tuple[str, ...]  # AK905..AK909
    transaction_sets: tuple[TransactionSetFindings, ...]

    @property
    def ack_code(self) -> str:
        """AK901: A all accepted, E accepted with errors, P some rejected, R none accepted."""
        accepted = [ts for ts in self.transaction_sets if ts.accepted]
        if self.codes or not accepted:
            return "R"
        if len(accepted) < len(self.transaction_sets) or self.sets_declared != len(accepted):
            return "P"
        return "E" if any(ts.ack_code == "E" for ts in accepted) else "A"

    @property
    def accepted_count(self) -> int:
        if self.codes:
            return 0
        return sum(1 for ts in self.transaction_sets if ts.accepted)


@dataclass(frozen=True)
class Findings:
    """What pyx12 found. ``interchange_codes`` non-empty means the envelope is broken (TA1 R)."""

    valid: bool
    interchange_codes: tuple[str, ...] = ()
    groups: tuple[GroupFindings, ...] = ()
    messages: tuple[str, ...] = field(default=())

    @property
    def error_count(self) -> int:
        count = len(self.interchange_codes)
        for group in self.groups:
            count += len(group.codes)
            for ts in group.transaction_sets:
                count += len(ts.codes) + len(ts.segments)
        return count


_parse_map = pyx12.map_if.load_map_file


@functools.cache
def _parsed_map(map_file: str, map_path: str | None) -> Any:
    return _parse_map(map_file, pyx12.params.params(), map_path)


def _keep_maps() -> None:
    """pyx12 parses its XML maps on every file (0.8 s for the 837P map); a clearinghouse
    answering a month-end's files keeps them. The sandbox always runs pyx12's default
    parameters, and pyx12 4 keeps a walk's state in its walker, not in the map (the
    gateway's ``common.x12_validation`` explains and tests this)."""
    if pyx12.map_if.load_map_file is _parse_map:
        pyx12.map_if.load_map_file = lambda map_file, _param, map_path=None: _parsed_map(
            map_file, map_path
        )


def validate(text: str) -> Findings:
    """Runs pyx12 over one interchange."""
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    _keep_maps()
    report = io.StringIO()
    try:
        ok = pyx12.x12n_document.x12n_document(
            param=pyx12.params.params(),
            src_file=io.StringIO(text),
            fd_997=None,
            fd_html=None,
            fd_json=report,
        )
    except (pyx12.errors.X12Error, pyx12.errors.EngineError, KeyError, ValueError) as exc:
        return Findings(
            valid=False, interchange_codes=("024",), messages=(f"pyx12: {type(exc).__name__}",)
        )
    tree: dict[str, Any] = json.loads(report.getvalue() or "{}")
    interchanges = tree.get("interchanges", [])
    if not interchanges:
        return Findings(valid=False, interchange_codes=("022",), messages=("no interchange",))
    interchange = interchanges[0]
    codes = tuple(_ta1_code(str(error.get("err_cde"))) for error in interchange.get("errors", []))
    messages = [str(error.get("err_str")) for error in interchange.get("errors", [])]
    groups = tuple(_group(group, messages) for group in interchange.get("groups", []))
    return Findings(valid=ok, interchange_codes=codes, groups=groups, messages=tuple(messages))


def error_lines(text: str) -> list[str]:
    """Every error pyx12 finds, one readable line each; empty means the file is clean."""
    findings = validate(text)
    lines = [f"interchange {code}" for code in findings.interchange_codes]
    for group in findings.groups:
        lines += [f"group {group.control_number} {code}" for code in group.codes]
        for ts in group.transaction_sets:
            lines += [f"set {ts.control_number} {code}" for code in ts.codes]
            for segment in ts.segments:
                lines.append(
                    f"set {ts.control_number} {segment.segment_id}#{segment.position_in_set} "
                    f"{','.join(segment.codes)} "
                    + " ".join(f"{e.position[0]}:{e.code}" for e in segment.elements)
                )
    if not findings.valid and not lines:
        lines.append("pyx12 refused the file without naming an error")
    return lines


def _ta1_code(code: str) -> str:
    return code if len(code) == 3 and code.isdigit() else "022"


def _group(group: dict[str, Any], messages: list[str]) -> GroupFindings:
    codes = _unique(str(e.get("err_cde")) for e in group.get("errors", []))
    messages += [str(e.get("err_str")) for e in group.get("errors", [])]
    sets = tuple(_transaction_set(ts) for ts in group.get("transactions", []))
    return GroupFindings(
        functional_id=str(group.get("fic") or ""),
        control_number=str(group.get("gs_control_num") or ""),
        version=str(group.get("vriic") or ""),
        sets_declared=int(group.get("st_count_orig") or 0),
        sets_received=int(group.get("st_count_recv") or len(sets)),
        codes=tuple(c for c in codes if c in _AK9_CODES)[:5],
        transaction_sets=sets,
    )


def _transaction_set(ts: dict[str, Any]) -> TransactionSetFindings:
    segments = tuple(s for s in (_segment(seg) for seg in ts.get("segments", [])) if s)
    codes = [str(e.get("err_cde")) for e in ts.get("errors", [])]
    if segments:
        codes.append("5")
    ik5 = tuple(c for c in sorted(_unique(codes)) if c in _IK5_CODES)[:5]
    rejected = bool(segments) or bool(ts.get("errors")) or ts.get("ack_code") == "R"
    return TransactionSetFindings(
        set_id=str(ts.get("trn_set_id") or ""),
        control_number=str(ts.get("trn_set_control_num") or "").strip(),
        version=ts.get("vriic"),
        ack_code="R" if rejected else "A",
        codes=ik5,
        segments=segments,
    )


def _segment(segment: dict[str, Any]) -> SegmentError | None:
    codes = [str(e.get("err_cde")) for e in segment.get("errors", [])]
    codes = ["8" if c == "SEG1" else c for c in codes]
    elements: list[ElementError] = []
    for element in segment.get("elements", []):
        for error in element.get("errors", []):
            code = str(error.get("err_cde"))
            if code not in _IK4_CODES:
                continue
            value = error.get("err_val")
            elements.append(
                ElementError(
                    position=(
                        int(element.get("ele_pos") or 0),
                        element.get("subele_pos"),
                        element.get("repeat_pos"),
                    ),
                    reference=element.get("ele_ref_num"),
                    code=code,
                    bad_value=str(value) if value not in (None, "") else None,
                )
            )
    if elements and "8" not in codes:
        codes.append("8")
    kept = tuple(c for c in _unique(codes) if c in _IK3_CODES)
    if not kept and not elements:
        return None
    return SegmentError(
        segment_id=str(segment.get("seg_id") or ""),
        position_in_set=int(segment.get("seg_count") or 0),
        loop_id=segment.get("ls_id"),
        codes=kept or ("8",),
        elements=tuple(elements),
    )


def _unique(values: Any) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen
