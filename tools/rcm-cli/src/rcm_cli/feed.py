"""Replay a feed (SPEC 11): a file of CloudEvents, one JSON object a line, published into a
running suite; then wait until the pipeline is idle and collect every 837 it produced.

Idle means: for ``idle_seconds`` nothing new or changed among the run's claims and
interchanges, no claim of the run still on its way (READY, or SUBMITTED without a
transmission) and no new interchange still without its archived file. The run's claims
and interchanges are those absent or different in a snapshot taken before publishing."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any

from pydantic import ValidationError

from common.x12_validation import pyx12_errors
from contracts.envelope import CloudEvent
from rcm_cli.api import RcmApi

# Claim statuses that will still change without anyone's action.
ON_ITS_WAY = frozenset({"READY"})
# Interchange statuses that never get a file.
WITHOUT_FILE = frozenset({"DISCARDED"})


@dataclass(frozen=True)
class FeedLine:
    line_number: int
    event: CloudEvent
    body: bytes


@dataclass
class Feed:
    events: list[FeedLine] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def tenants(self) -> list[str]:
        return sorted({line.event.tenantid for line in self.events})


def _validation_message(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(envelope)'}: {e['msg']}" for e in error.errors()
    )


def read_feed(path: Path) -> Feed:
    """Every line checked against the CloudEvents envelope; a problem names its line. Blank
    lines are skipped. The payload is never echoed (it may hold PHI)."""
    feed = Feed()
    seen: dict[str, int] = {}
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            body = raw.strip()
            if not body:
                continue
            try:
                document = json.loads(body)
            except (ValueError, UnicodeDecodeError) as error:
                feed.problems.append(f"line {number}: not JSON ({type(error).__name__})")
                continue
            if not isinstance(document, dict):
                feed.problems.append(f"line {number}: not a JSON object")
                continue
            try:
                event = CloudEvent.model_validate(document)
            except ValidationError as error:
                feed.problems.append(f"line {number}: {_validation_message(error)}")
                continue
            if event.id in seen:
                feed.problems.append(
                    f"line {number}: id {event.id} repeats line {seen[event.id]} "
                    "(the suite would ignore it as a duplicate)"
                )
                continue
            seen[event.id] = number
            feed.events.append(FeedLine(number, event, body))
    return feed


def _claim_mark(claim: Mapping[str, Any]) -> tuple[Any, ...]:
    return (claim.get("status"), claim.get("claim_version"), claim.get("updated_at"))


def _interchange_mark(interchange: Mapping[str, Any]) -> tuple[Any, ...]:
    return (interchange.get("status"), interchange.get("file_id"))


@dataclass
class TenantState:
    claims: dict[str, dict[str, Any]]
    interchanges: dict[str, dict[str, Any]]


async def tenant_state(api: RcmApi) -> TenantState:
    claims = await api.claims_list()
    interchanges = await api.interchanges()
    return TenantState(
        {c["claim_id"]: c for c in claims}, {i["interchange_id"]: i for i in interchanges}
    )


def run_part(before: TenantState, now: TenantState) -> TenantState:
    """What the run made or changed since ``before``."""
    claims = {
        k: c
        for k, c in now.claims.items()
        if k not in before.claims or _claim_mark(before.claims[k]) != _claim_mark(c)
    }
    interchanges = {k: i for k, i in now.interchanges.items() if k not in before.interchanges}
    return TenantState(claims, interchanges)


def still_moving(part: TenantState) -> list[str]:
    """Why the run is not finished yet (empty when it is)."""
    reasons = [
        f"claim {c['claim_id']} {c['status']}"
        for c in part.claims.values()
        if c.get("status") in ON_ITS_WAY
        or (c.get("status") == "SUBMITTED" and not c.get("transmissions"))
    ]
    reasons += [
        f"interchange {i['interchange_id']} {i['status']} without its file"
        for i in part.interchanges.values()
        if not i.get("file_id") and i.get("status") not in WITHOUT_FILE
    ]
    return reasons


def _signature(parts: Mapping[str, TenantState]) -> tuple[Any, ...]:
    return tuple(
        (
            tenant,
            tuple(sorted((k, _claim_mark(c)) for k, c in part.claims.items())),
            tuple(sorted((k, _interchange_mark(i)) for k, i in part.interchanges.items())),
        )
        for tenant, part in sorted(parts.items())
    )


@dataclass
class WaitResult:
    idle: bool
    parts: dict[str, TenantState]
    waiting_for: list[str]


async def wait_until_idle(
    apis: Mapping[str, RcmApi],
    before: Mapping[str, TenantState],
    *,
    idle_seconds: float,
    timeout_seconds: float,
    poll_seconds: float = 1.0,
    progress: Callable[[str], None] = lambda _: None,
    clock: Callable[[], float] = time.monotonic,
) -> WaitResult:
    deadline = clock() + timeout_seconds
    last_signature: tuple[Any, ...] | None = None
    quiet_since = clock()
    while True:
        parts = {
            tenant: run_part(before[tenant], await tenant_state(api))
            for tenant, api in apis.items()
        }
        signature = _signature(parts)
        if signature != last_signature:
            last_signature, quiet_since = signature, clock()
        waiting = [reason for part in parts.values() for reason in still_moving(part)]
        quiet = clock() - quiet_since
        if not waiting and quiet >= idle_seconds:
            return WaitResult(True, parts, [])
        if clock() >= deadline:
            return WaitResult(False, parts, waiting)
        claims = sum(len(p.claims) for p in parts.values())
        files = sum(len(p.interchanges) for p in parts.values())
        progress(
            f"{claims} claims, {files} interchanges, {len(waiting)} on their way, "
            f"quiet for {quiet:.0f}s"
        )
        await asyncio.sleep(poll_seconds)


def _safe_name(name: str, fallback: str) -> str:
    """A file name from the API, never a path out of the folder."""
    base = PurePath(name).name
    return base if base and base not in {".", ".."} else fallback


async def collect_interchanges(
    apis: Mapping[str, RcmApi], parts: Mapping[str, TenantState], out: Path
) -> list[dict[str, Any]]:
    """Download each new 837 into ``out``, check its hash, and run pyx12 on it."""
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    collected: list[dict[str, Any]] = []
    for tenant, part in sorted(parts.items()):
        for interchange in sorted(part.interchanges.values(), key=lambda i: i["interchange_id"]):
            entry: dict[str, Any] = {
                "tenant": tenant,
                "interchange_id": interchange["interchange_id"],
                "clearinghouse_id": interchange.get("clearinghouse_id"),
                "transaction_type": interchange.get("transaction_type"),
                "status": interchange.get("status"),
                "isa13": interchange.get("isa13"),
                "claim_count": interchange.get("claim_count"),
                "file_name": None,
                "sha256": None,
                "sha256_matches": None,
                "pyx12_errors": [],
                "validation_issues": interchange.get("validation_issues", []),
            }
            file_id = interchange.get("file_id")
            if file_id:
                content = await apis[tenant].file(file_id)
                name = _safe_name(str(interchange.get("file_name") or ""), f"{file_id}.x12")
                path = out / name
                await asyncio.to_thread(path.write_bytes, content)
                digest = hashlib.sha256(content).hexdigest()
                entry.update(
                    file_name=name,
                    sha256=digest,
                    sha256_matches=digest == interchange.get("file_sha256"),
                    pyx12_errors=await asyncio.to_thread(pyx12_errors, path),
                )
            collected.append(entry)
    return collected


def summary(
    *,
    feed_path: Path,
    feed: Feed,
    published: int,
    unroutable: list[str],
    started_at: datetime,
    wait: WaitResult,
    interchanges: list[dict[str, Any]],
) -> dict[str, Any]:
    claims = [c for part in wait.parts.values() for c in part.claims.values()]
    return {
        "feed": str(feed_path),
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "tenants": feed.tenants,
        "events_published": published,
        "events_skipped": feed.problems,
        "events_unroutable": unroutable,
        "idle": wait.idle,
        "waiting_for": wait.waiting_for,
        "claims_by_status": dict(sorted(Counter(str(c.get("status")) for c in claims).items())),
        "claims": sorted(
            (
                {
                    "claim_id": c["claim_id"],
                    "status": c.get("status"),
                    "claim_version": c.get("claim_version"),
                    "transaction_type": c.get("transaction_type"),
                }
                for c in claims
            ),
            key=lambda c: str(c["claim_id"]),
        ),
        "interchanges": interchanges,
        "pyx12_error_count": sum(len(i["pyx12_errors"]) for i in interchanges),
    }
