"""pyx12, the independent X12 validator, run on a downloaded 837."""

from __future__ import annotations

import io
import json
import logging
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
