"""A PHI scan for tests (SPEC 10: no PHI in logs or file names): given the member names,
birth dates and subscriber ids a scenario used, find every place a log line or a file
name holds one of them.

The values can be told directly, read from the member events a scenario published
(:meth:`ScenarioPhi.from_member_events`) or harvested from the 837 files the suite sent
(:meth:`ScenarioPhi.from_837`): an 837 carries exactly the PHI a claim needs, so what it
holds is what must appear nowhere else."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from common.testing.x12 import parse_interchange

# Names shorter than this match ordinary words and ids by chance; skip them.
MIN_NAME_LENGTH = 3


@dataclass(frozen=True)
class PhiHit:
    """Where a value turned up: ``source`` is ``log`` or ``file name``; ``location`` the
    log file and line number, or the path."""

    kind: str
    value: str
    source: str
    location: str

    def __str__(self) -> str:
        return f"{self.kind} {self.value!r} in {self.source} {self.location}"


@dataclass(frozen=True)
class ScenarioPhi:
    names: frozenset[str] = field(default_factory=frozenset)
    birth_dates: frozenset[date] = field(default_factory=frozenset)
    subscriber_ids: frozenset[str] = field(default_factory=frozenset)

    def __or__(self, other: ScenarioPhi) -> ScenarioPhi:
        return ScenarioPhi(
            self.names | other.names,
            self.birth_dates | other.birth_dates,
            self.subscriber_ids | other.subscriber_ids,
        )

    def __len__(self) -> int:
        return len(self.names) + len(self.birth_dates) + len(self.subscriber_ids)

    @classmethod
    def of(
        cls,
        *,
        names: Iterable[str] = (),
        birth_dates: Iterable[date | str] = (),
        subscriber_ids: Iterable[str] = (),
    ) -> ScenarioPhi:
        return cls(
            frozenset(n.strip() for n in names if n and len(n.strip()) >= MIN_NAME_LENGTH),
            frozenset(d if isinstance(d, date) else date.fromisoformat(d) for d in birth_dates),
            frozenset(s.strip() for s in subscriber_ids if s and s.strip()),
        )

    @classmethod
    def from_member_events(cls, events: Iterable[Mapping[str, Any]]) -> ScenarioPhi:
        """The PHI of ``ehr.member.upserted.v1`` documents: the member's and each
        subscriber's names and birth date, every coverage's subscriber id."""
        names: list[str] = []
        births: list[str] = []
        subscribers: list[str] = []
        for event in events:
            data = event.get("data", event)
            people = [data, *[c.get("subscriber") or {} for c in data.get("coverages", [])]]
            for person in people:
                names += [person.get(k) or "" for k in ("first_name", "middle_name", "last_name")]
                if person.get("birth_date"):
                    births.append(person["birth_date"])
            subscribers += [c.get("subscriber_id") or "" for c in data.get("coverages", [])]
        return cls.of(names=names, birth_dates=births, subscriber_ids=subscribers)

    @classmethod
    def from_837(cls, texts: Iterable[str]) -> ScenarioPhi:
        """The subscribers' and patients' names (NM1*IL / NM1*QC), member ids (NM109)
        and birth dates (DMG) of 837 interchanges."""
        names: list[str] = []
        births: list[str] = []
        subscribers: list[str] = []
        for text in texts:
            for segment in parse_interchange(text).segments_list:
                if segment[0] == "NM1" and len(segment) > 1 and segment[1] in ("IL", "QC"):
                    names += [segment[i] for i in (3, 4, 5) if len(segment) > i]
                    if len(segment) > 9 and segment[8] == "MI":
                        subscribers.append(segment[9])
                elif segment[0] == "DMG" and len(segment) > 2 and segment[1] == "D8":
                    raw = segment[2]
                    births.append(f"{raw[:4]}-{raw[4:6]}-{raw[6:8]}")
        return cls.of(names=names, birth_dates=births, subscriber_ids=subscribers)

    def patterns(self) -> list[tuple[str, str, re.Pattern[str]]]:
        """(kind, value, pattern): names as whole words in any case; birth dates as ISO,
        X12 (CCYYMMDD) and US (MM/DD/CCYY) dates; subscriber ids as whole tokens."""
        found: list[tuple[str, str, re.Pattern[str]]] = []
        for name in sorted(self.names):
            found.append(
                ("name", name, re.compile(rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])", re.I))
            )
        for born in sorted(self.birth_dates):
            shapes = [born.isoformat(), born.strftime("%Y%m%d"), born.strftime("%m/%d/%Y")]
            alternatives = "|".join(re.escape(s) for s in shapes)
            found.append(
                ("birth date", born.isoformat(), re.compile(rf"(?<!\d)(?:{alternatives})(?!\d)"))
            )
        for subscriber in sorted(self.subscriber_ids):
            found.append(
                (
                    "subscriber id",
                    subscriber,
                    re.compile(rf"(?<![A-Za-z0-9]){re.escape(subscriber)}(?![A-Za-z0-9])", re.I),
                )
            )
        return found


def _files(folder: Path) -> Iterable[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def sent_837s(*folders: Path) -> list[str]:
    """The text of every 837 interchange under ``folders`` (what a run sent, whose
    subscribers' names, birth dates and ids are PHI a scan must look for)."""
    texts: list[str] = []
    for folder in folders:
        for path in _files(folder):
            if path.read_bytes()[:3] == b"ISA":
                text = path.read_text(errors="replace")
                if "*837*" in text or "~ST*837" in text:
                    texts.append(text)
    return texts


def scan_phi(
    phi: ScenarioPhi,
    *,
    log_folders: Iterable[Path] = (),
    log_files: Iterable[Path] = (),
    named_folders: Iterable[Path] = (),
) -> list[PhiHit]:
    """Every hit of ``phi`` in the lines of the logs (``*.log`` under ``log_folders``, and
    ``log_files``) and in the names (each path part, relative to its folder) of every file
    under ``named_folders``. File contents there are not read: an 837 holds PHI by design."""
    patterns = phi.patterns()
    hits: list[PhiHit] = []
    logs = [*log_files, *(p for f in log_folders for p in _files(f) if p.suffix == ".log")]
    for log in logs:
        with log.open(errors="replace") as lines:
            for number, line in enumerate(lines, start=1):
                for kind, value, pattern in patterns:
                    if pattern.search(line):
                        hits.append(PhiHit(kind, value, "log", f"{log.name}:{number}"))
    for folder in named_folders:
        for path in _files(folder):
            relative = path.relative_to(folder).as_posix()
            for kind, value, pattern in patterns:
                if pattern.search(relative):
                    hits.append(PhiHit(kind, value, "file name", str(path)))
    return hits
