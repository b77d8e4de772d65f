"""What the sandbox remembers: its switches, the control numbers it has used (in the root
folder, so they never repeat across restarts), the interchanges it has seen, and the
record of every received file and every acknowledgment written."""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

STATE_FOLDER = ".sandbox"


@dataclass
class Switches:
    """Behaviour that tests and the demo change at runtime."""

    reject_pattern: str | None = None
    delay_seconds: float = 0.0
    payer_277ca: bool = False
    # Slow uploads: each SFTP write waits this long, so an upload is in flight long
    # enough to kill the uploader mid-way (the crash-during-upload test).
    upload_delay_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.reject_pattern:
            try:
                re.compile(self.reject_pattern)  # fail at the door, not on the first file
            except re.error as exc:
                raise ValueError(f"reject_pattern is not a regular expression: {exc}") from exc
        if self.delay_seconds < 0:
            raise ValueError("delay_seconds must not be negative")
        if self.upload_delay_seconds < 0:
            raise ValueError("upload_delay_seconds must not be negative")

    def rejects(self, patient_control_number: str) -> bool:
        return bool(self.reject_pattern) and (
            re.search(self.reject_pattern or "", patient_control_number) is not None
        )


class ControlNumbers:
    """Interchange control numbers (also used as GS06) from a counter in ``<root>/.sandbox``,
    written durably before a number is handed out; plus the interchanges already answered,
    for the duplicate-interchange check (TA1 note 025)."""

    def __init__(self, root: Path) -> None:
        self._path = root / STATE_FOLDER / "control-numbers.json"
        self._lock = threading.Lock()
        self._path.parent.mkdir(parents=True, exist_ok=True)
        state: dict[str, Any] = {}
        if self._path.exists():
            state = json.loads(self._path.read_text(encoding="utf-8"))
        self._last = int(state.get("last_interchange_control_number", 0))
        self._seen: set[str] = set(state.get("interchanges_seen", []))

    @property
    def last(self) -> int:
        return self._last

    def next(self) -> int:
        with self._lock:
            if self._last >= 999_999_999:
                raise RuntimeError("interchange control numbers exhausted")
            self._last += 1
            self._save()
            return self._last

    def first_sighting(self, sender_id: str, interchange_control_number: str) -> bool:
        """True the first time this sender's ISA13 is seen; remembered across restarts."""
        key = f"{sender_id}|{interchange_control_number}"
        with self._lock:
            if key in self._seen:
                return False
            self._seen.add(key)
            self._save()
            return True

    def _save(self) -> None:
        payload = {
            "last_interchange_control_number": self._last,
            "interchanges_seen": sorted(self._seen),
        }
        write_atomically(self._path, json.dumps(payload, indent=1).encode())


def write_atomically(target: Path, content: bytes) -> None:
    """Temporary name in the same folder, fsync, rename: readers see all of it or nothing."""
    temporary = target.with_name(f".{target.name}.tmp")
    with temporary.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)


@dataclass
class AcknowledgmentFile:
    name: str
    kind: str  # TA1, 999, 277CA, 277CA-PAYER
    control_number: str  # ISA13 of the acknowledgment
    acknowledges: str  # ISA13 of the 837 (or "unknown")
    source_file: str
    sha256: str
    size: int
    written_at: datetime

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["written_at"] = self.written_at.isoformat()
        return data


@dataclass
class ClaimOutcome:
    patient_control_number: str
    status: str  # STC01 given (A1:19, A2:20, A7:21), or 999:R when its set was rejected
    transaction_set: str  # ST02
    payer_status: str | None = None  # STC01 of the payer's 277CA, when sent


@dataclass
class ReceivedFile:
    name: str
    sha256: str
    size: int
    received_at: datetime
    isa13: str | None = None
    gs06: list[str] = field(default_factory=list)
    outcome: str = "pending"  # pending, answered, envelope_rejected, failed
    claims: list[ClaimOutcome] = field(default_factory=list)
    acknowledgments: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["received_at"] = self.received_at.isoformat()
        return data
