"""The operator's append-only audit trail: one JSON line per action, who, when and why."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

DEFAULT_AUDIT_LOG = Path("var/rcm-audit.jsonl")


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's arbitrary uid)
        return "unknown"


def audit_line(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, default=str)


def append_audit(path: Path, record: dict[str, Any]) -> str:
    """Append ``record`` to ``path`` (created with its folder) and return the line written."""
    line = audit_line(record)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as log:
        log.write(line + "\n")
        log.flush()
    return line
