"""Benchmark (issue #10): a month of a behavioral-health tenant, end to end, on the real
suite. One command:

    uv run --frozen python bench/month_end.py --profile small|month \
        [--residents N --sessions-per-day G --days D]

What it does, in one run (a fresh database ``rcm_bench_<hex>`` and broker prefix
``b<hex>.``, both removed at the end, as the tests and the demo do):

1. Reference rates of this machine: raw FastStream publish+consume of 1 KB persistent
   messages on a quorum queue and asyncpg COPY of 300-byte rows (``reference_rates``).
2. Migrates and starts the five services as real processes (``common.testing.processes``)
   and the clearinghouse sandbox (``common.testing.clearinghouse``) on SFTP; samples each
   service's resident memory (psutil, itself and its children) through the whole run.
3. The month, through the broker (the EHR feed): N members and N residential stays (a
   MONTHLY per-diem program) admitted on the first day of the last complete month, a tenth
   with a leave of absence (3 nights), a tenth discharged mid-month. Waits until stays,
   charges and claims are idle: every day charge is written and known to claims.
4. Group sessions: G a day for D days (from tomorrow) with 6-12 participants
   (the scheduling feed, the roster's statuses marked by the scheduler); a supervisor
   marks themself and finalizes each through the attendance API, paced at
   ``--close-rate`` sessions/s. Latency of each 837P: session close -> its interchange
   landed in the sandbox (``interchange.sent_at``), minus the batch window.
5. The cycle close. The services have no clock setting (their clock is the system's; the
   ``clock=`` of ``build_runtime`` is for in-process tests), and a MONTHLY cycle closes
   at its period end (the charges sweep writes the last day, the claims sweep
   ``close_cycles_due`` and each stay's reconcile build it) or, when the month has
   already ended as here, as soon as its charges are in. The benchmark's tenant turns
   ``auto_build_on_cycle_close`` off for the program, so closed cycles wait with every day
   charge READY, and the close is the operator's "Build claim" for every stay at once
   (``POST /v1/stays/claims/build``, ``--stays-per-request`` stays a request, two requests
   at a time; the same ``reconcile_stay`` the time-driven close runs, the same chunks of
   ``STAYS_PER_TRANSACTION`` stays). Measured until every 837I claim has its 999/277CA.
6. pyx12 on the largest 837I file the sandbox received (claims/s), and the ratios.

Nothing asserts a timing; it exits 1 when a claim is missing or rejected."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aio_pika
import asyncpg
import httpx
import psutil
from reference_rates import Rate, broker_rate, copy_rate, generated_837i, pyx12_rate

from common.testing import isolation
from common.testing.clearinghouse import SandboxProcess, sandbox_tenant
from common.testing.messages import publish_raw
from common.testing.processes import PACKAGES, SAMPLE_TENANTS, Suite
from common.testing.scenarios import SUPERVISOR_SCOPES, member_event, retarget, sample
from common.testing.tokens import make_token
from contracts.tenant import load_tenant_config
from contracts.topology import Topology

ROOT = Path(__file__).resolve().parents[1]
TENANT = "demo-bh"
SECRET = "bench-secret-not-for-production-0123456789"
ZONE = ZoneInfo("America/Chicago")  # the sample facility's
PAYER = "acme-commercial"
PROGRAM = "residential"
SERVICES = tuple(PACKAGES)
CLAIM_WRITER = ("billing.claim.write",)
TERMINAL = ("ACCEPTED", "REJECTED")
PUBLISH_IN_FLIGHT = 200


@dataclass(frozen=True)
class Profile:
    residents: int
    sessions_per_day: int
    days: int


PROFILES = {
    "small": Profile(residents=20, sessions_per_day=2, days=2),
    "medium": Profile(residents=1_000, sessions_per_day=10, days=3),
    "month": Profile(residents=10_000, sessions_per_day=40, days=22),
}


def say(text: str) -> None:
    print(text, flush=True)


# --------------------------------------------------------------------------- the tenant


def bench_tenant(sandbox: SandboxProcess, window_seconds: int) -> str:
    """The sample tenant sending to the sandbox over SFTP, with the residential program's
    cycles waiting for the operator's build (the benchmark's cycle close)."""
    text = sandbox_tenant(
        (SAMPLE_TENANTS / f"{TENANT}.yaml").read_text(),
        tenant_id=TENANT,
        sender_id="HARBORBH",
        sandbox=sandbox,
        window_seconds=window_seconds,
    )
    head, residential = text.split(f"  - id: {PROGRAM}\n", 1)
    flag = "auto_build_on_cycle_close: true"
    if flag not in residential:
        raise ValueError(f"the sample tenant changed: {flag!r} not in the {PROGRAM} program")
    return f"{head}  - id: {PROGRAM}\n" + residential.replace(
        flag, "auto_build_on_cycle_close: false", 1
    )


# --------------------------------------------------------------------------- the month


@dataclass(frozen=True)
class Resident:
    member_id: str
    stay_id: str
    leave: tuple[date, date] | None  # (first night away, return day)
    discharged: date | None


@dataclass(frozen=True)
class GroupSession:
    session_id: str
    day: date
    roster: tuple[tuple[str, str], ...]  # (member, status)

    @property
    def billable(self) -> int:
        return sum(1 for _, status in self.roster if status in ("ATTENDED", "LATE"))


def last_complete_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def plan_residents(run: str, count: int, month: date) -> list[Resident]:
    residents = []
    for n in range(count):
        leave = (month.replace(day=10), month.replace(day=13)) if n % 10 == 3 else None
        discharged = month.replace(day=16) if n % 10 == 7 else None
        residents.append(Resident(f"m-{run}-{n:05d}", f"stay-{run}-{n:05d}", leave, discharged))
    return residents


def weekdays_from(first: date, count: int) -> list[date]:
    days: list[date] = []
    day = first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


#: The sample tenant's smallest size band starts at 3 billable participants; a session
#: with fewer cannot be finalized (GROUP_SIZE_BELOW_MINIMUM), so a supervisor would not
#: hold it. With 6 on the roster and a tenth absent, about one session in 800 would be.
MIN_BILLABLE = 3


def plan_sessions(
    run: str, residents: Sequence[Resident], per_day: int, days: Sequence[date]
) -> list[GroupSession]:
    rng = random.Random(run)  # a benchmark's mix, seeded by the run
    members = [r.member_id for r in residents]
    sessions = []
    for d, day in enumerate(days):
        for s in range(per_day):
            size = rng.randint(6, min(12, len(members)))
            chosen = rng.sample(members, size)
            session = GroupSession(f"gs-{run}-{d:02d}-{s:03d}", day, ())
            while session.billable < MIN_BILLABLE:
                statuses = rng.choices(["ATTENDED", "LATE", "ABSENT"], weights=[80, 10, 10], k=size)
                session = GroupSession(
                    session.session_id, day, tuple(zip(chosen, statuses, strict=True))
                )
            sessions.append(session)
    return sessions


def resident_events(run: str, residents: Sequence[Resident], month: date) -> list[list[Any]]:
    """The EHR feed, in waves that must not overtake each other: members, admissions,
    leaves out, leaves back, discharges."""
    facility = retarget(sample("ehr.facility.upserted.v1"), TENANT, f"{run}-fac")
    provider = retarget(sample("ehr.provider.upserted.v1"), TENANT, f"{run}-prov")
    members: list[Any] = [facility, provider]
    admissions: list[Any] = []
    out: list[Any] = []
    back: list[Any] = []
    discharges: list[Any] = []
    for r in residents:
        member = member_event(
            TENANT, r.member_id, f"{r.member_id}-m", payer_id=PAYER, diagnoses=["F332"]
        )
        member["data"]["program_enrollments"] = [
            {"program_id": PROGRAM, "enrolled_from": month.isoformat(), "enrolled_to": None}
        ]
        members.append(member)
        admission = retarget(sample("ehr.stay.admitted.v1"), TENANT, f"{r.stay_id}-adm")
        admission["data"].update(
            stay_id=r.stay_id,
            member_id=r.member_id,
            program_id=PROGRAM,
            facility_id=facility["data"]["facility_id"],
        )
        admission["data"]["admission"].update(
            admit_date=month.isoformat(),
            admit_hour=10,
            drg=None,
            procedures=[],
            admitting_diagnosis=None,
            other_diagnoses=[],
        )
        admissions.append(admission)
        if r.leave is not None:
            started = retarget(sample("ehr.stay.leave_started.v1"), TENANT, f"{r.stay_id}-loa")
            started["data"].update(
                stay_id=r.stay_id,
                leave_id="loa-1",
                start_date=r.leave[0].isoformat(),
                reason="THERAPEUTIC",
                expected_return_date=None,
                note=None,
            )
            ended = retarget(sample("ehr.stay.leave_ended.v1"), TENANT, f"{r.stay_id}-loa-e")
            ended["data"].update(
                stay_id=r.stay_id, leave_id="loa-1", return_date=r.leave[1].isoformat()
            )
            out.append(started)
            back.append(ended)
        if r.discharged is not None:
            discharge = retarget(sample("ehr.stay.discharged.v1"), TENANT, f"{r.stay_id}-dis")
            discharge["data"].update(
                stay_id=r.stay_id, discharge_date=r.discharged.isoformat(), patient_status="01"
            )
            discharges.append(discharge)
    return [members, admissions, out, back, discharges]


def session_event(run: str, session: GroupSession) -> dict[str, Any]:
    scheduled = retarget(
        sample("scheduling.group_session.scheduled.v1"), TENANT, f"{session.session_id}-s"
    )
    data = scheduled["data"]
    data["session_id"] = session.session_id
    data["session_date"] = session.day.isoformat()
    data["roster"] = [{"member_id": m, "initial_status": s} for m, s in session.roster]
    return scheduled


# --------------------------------------------------------------------------- the broker


async def publish_all(amqp_url: str, topology: Topology, documents: Sequence[Any]) -> None:
    """Publish with confirms, PUBLISH_IN_FLIGHT awaiting their confirm at once."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        for first in range(0, len(documents), PUBLISH_IN_FLIGHT):
            await asyncio.gather(
                *(
                    publish_raw(
                        channel, topology, json.dumps(d).encode(), d["type"], message_id=d["id"]
                    )
                    for d in documents[first : first + PUBLISH_IN_FLIGHT]
                )
            )


async def queue_depths(amqp_url: str, topology: Topology) -> dict[str, int]:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        depths = {}
        for service in SERVICES:
            for name in (topology.service_queue(service), topology.dead_letter_queue(service)):
                queue = await channel.declare_queue(name, passive=True)
                depths[name] = queue.declaration_result.message_count or 0
        return depths


# --------------------------------------------------------------------------- the database


class Db:
    """Read-only looks at the services' schemas (one database, as the suite runs here)."""

    def __init__(self, database_url: str) -> None:
        self.dsn = isolation.asyncpg_dsn(database_url)
        self._pool: asyncpg.Pool | None = None

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=2)
        return self._pool

    async def value(self, sql: str, *args: Any) -> Any:
        return await (await self.pool()).fetchval(sql, *args)

    async def rows(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return list(await (await self.pool()).fetch(sql, *args))

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    async def unpublished(self) -> int:
        total = 0
        for schema in ("attendance", "stays", "charges", "claims", "edi_gateway"):
            total += int(
                await self.value(f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL")
            )
        return total


#: autovacuum's defaults: a table is analyzed once this many rows changed since the last
#: ANALYZE (50 + 10 % of its rows), checked every minute.
AUTOANALYZE_BASE, AUTOANALYZE_SCALE, AUTOVACUUM_NAPTIME = 50, 0.1, 60.0


async def stand_in_for_autoanalyze(db: Db, naptime: float = AUTOVACUUM_NAPTIME) -> None:
    """Analyzes each table as autovacuum would (its default thresholds, once a minute), for a
    server that runs without autovacuum, as this machine's CI Postgres does
    (``autovacuum = off``). Without it the feed's lookups are planned from tables analyzed
    empty, and the month feed's time grows faster than N."""
    while True:
        await asyncio.sleep(naptime)
        due = await db.rows(
            "SELECT schemaname, relname FROM pg_stat_user_tables "
            "WHERE n_mod_since_analyze > $1 + $2 * n_live_tup",
            AUTOANALYZE_BASE,
            AUTOANALYZE_SCALE,
        )
        for schema, table in due:
            await db.value(f'ANALYZE "{schema}"."{table}"')


async def until(
    probe: Callable[[], Awaitable[str | None]], seconds: float, every: float = 1.0
) -> None:
    """Waits until ``probe`` answers None (done); it answers what it still waits for."""
    deadline = time.monotonic() + seconds
    last_said = 0.0
    while True:
        try:
            waiting = await probe()
        except (asyncpg.PostgresError, aio_pika.exceptions.AMQPError, OSError) as exc:
            # A shared server may refuse a connection for a moment (too many clients).
            waiting = f"probe failed ({type(exc).__name__}), trying again"
        if waiting is None:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"still waiting after {seconds:.0f}s: {waiting}")
        if time.monotonic() - last_said > 15:
            say(f"    ... {waiting}")
            last_said = time.monotonic()
        await asyncio.sleep(every)


async def until_idle(
    db: Db, amqp_url: str, topology: Topology, extra: Callable[[], Awaitable[str | None]]
) -> None:
    """Queues empty, outboxes published, ``extra`` satisfied: twice in a row, 1 s apart."""
    calm = 0

    async def probe() -> str | None:
        nonlocal calm
        depths = await queue_depths(amqp_url, topology)
        queued = {k: v for k, v in depths.items() if v and "dead-letter" not in k}
        unpublished = await db.unpublished()
        more = await extra()
        if queued or unpublished or more:
            calm = 0
            return f"queued {queued or 0}, unpublished {unpublished}, {more or ''}"
        calm += 1
        return None if calm >= 2 else "settling"

    await until(probe, 7200)


# --------------------------------------------------------------------------- memory


@dataclass
class MemorySampler:
    """Peak resident memory of each service (the process and its children), sampled."""

    pids: dict[str, int]
    every: float = 0.5
    peak_mib: dict[str, float] = field(default_factory=dict)
    last_mib: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every)

    def sample(self) -> None:
        for name, pid in self.pids.items():
            try:
                process = psutil.Process(pid)
                rss = process.memory_info().rss
                rss += sum(c.memory_info().rss for c in process.children(recursive=True))
            except psutil.Error:
                continue
            mib = rss / 2**20
            self.last_mib[name] = mib
            self.peak_mib[name] = max(self.peak_mib.get(name, 0.0), mib)


# --------------------------------------------------------------------------- HTTP


async def run_bounded(
    jobs: Iterable[Callable[[], Awaitable[None]]], concurrency: int, rate: float | None = None
) -> None:
    """Runs ``jobs`` with at most ``concurrency`` at once; ``rate``: starts per second."""
    semaphore = asyncio.Semaphore(concurrency)
    started = time.monotonic()

    async def one(n: int, job: Callable[[], Awaitable[None]]) -> None:
        async with semaphore:
            await job()

    tasks = []
    for n, job in enumerate(jobs):
        if rate is not None:
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        tasks.append(asyncio.create_task(one(n, job)))
    await asyncio.gather(*tasks)


async def ok(response: Awaitable[httpx.Response]) -> httpx.Response:
    answer = await response
    if answer.status_code >= 300:
        raise RuntimeError(
            f"{answer.request.method} {answer.request.url.path}: {answer.status_code} "
            f"{answer.text[:300]}"
        )
    return answer


def bearer(scopes: Sequence[str]) -> dict[str, str]:
    token = make_token(
        tenant=TENANT, scopes=scopes, secret=SECRET, subject="bench", ttl_seconds=6 * 3600
    )
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------- figures


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def spread(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    return (
        f"p50 {percentile(values, 0.5):6.2f} s  p95 {percentile(values, 0.95):6.2f} s  "
        f"max {max(values):6.2f} s"
    )


def since(t0: datetime, t: datetime | None) -> str:
    return "n/a" if t is None else f"+{(t - t0).total_seconds():7.2f} s"


@dataclass
class Figures:
    """What the run measured, printed at the end."""

    cycle_claims: int = 0
    cycle_day_charges: int = 0
    cycle_wall: float = float("nan")
    cycle_requests: float = float("nan")
    cycle_timeline: list[tuple[str, str]] = field(default_factory=list)
    group_sessions: int = 0
    group_claims: int = 0
    latencies: list[float] = field(default_factory=list)
    latency_parts: dict[str, list[float]] = field(default_factory=dict)
    load_seconds: float = float("nan")
    load_day_charges: int = 0
    rates: list[Rate] = field(default_factory=list)
    rejected: int = 0
    build_failures: int = 0
    load_average: dict[str, float] = field(default_factory=dict)
    claim_messages: list[dict[str, Any]] = field(default_factory=list)  # 837I, for pyx12

    def note_load(self, moment: str) -> None:
        """The 1-minute load average now (the machine may be shared: read the figures
        with it)."""
        self.load_average[moment] = os.getloadavg()[0]


# --------------------------------------------------------------------------- phases


async def load_month(
    db: Db,
    amqp_url: str,
    topology: Topology,
    run: str,
    residents: Sequence[Resident],
    month: date,
) -> tuple[float, int]:
    started = time.monotonic()
    waves = resident_events(run, residents, month)
    for wave in waves:
        await publish_all(amqp_url, topology, wave)
        await asyncio.sleep(0.5)  # the next wave is about what this one told
    published = time.monotonic() - started
    say(f"    {sum(len(w) for w in waves):,} events published in {published:.1f} s")

    async def charges_known() -> str | None:
        stays = await db.value("SELECT count(*) FROM stays.stay")
        written = await db.value("SELECT count(*) FROM charges.charge WHERE kind = 'PER_DIEM'")
        known = await db.value("SELECT count(*) FROM claims.charge WHERE kind = 'PER_DIEM'")
        contexts = await db.value("SELECT count(*) FROM claims.stay_context")
        if stays < len(residents) or contexts < len(residents) or not written or known < written:
            return (
                f"stays {stays}/{len(residents)}, day charges written {written}, "
                f"known to claims {known}, stay contexts {contexts}"
            )
        return None

    await until_idle(db, amqp_url, topology, charges_known)
    day_charges = int(await db.value("SELECT count(*) FROM claims.charge WHERE kind = 'PER_DIEM'"))
    return time.monotonic() - started, day_charges


async def group_sessions(
    db: Db,
    suite: Suite,
    amqp_url: str,
    topology: Topology,
    run: str,
    sessions: Sequence[GroupSession],
    close_rate: float,
    within: float,
) -> None:
    await publish_all(amqp_url, topology, [session_event(run, s) for s in sessions])

    async def known() -> str | None:
        count = await db.value(
            "SELECT count(*) FROM attendance.group_session WHERE session_id LIKE $1", f"gs-{run}-%"
        )
        return None if count >= len(sessions) else f"sessions known {count}/{len(sessions)}"

    await until(known, within, every=0.5)
    supervisor = sample("scheduling.group_session.scheduled.v1")["data"]["supervisors"][0][
        "provider_id"
    ]
    writer = bearer(SUPERVISOR_SCOPES)
    limits = httpx.Limits(max_connections=8)
    async with httpx.AsyncClient(
        base_url=suite.url("attendance"), timeout=60, limits=limits
    ) as api:

        def close(session: GroupSession) -> Callable[[], Awaitable[None]]:
            async def job() -> None:
                path = f"/v1/group-sessions/{session.session_id}"
                await ok(
                    api.put(
                        f"{path}/supervisors/{supervisor}/status",
                        json={"status": "ATTENDED"},
                        headers=writer,
                    )
                )
                await ok(
                    api.post(
                        f"{path}/finalize",
                        json={"acknowledged_warnings": ["SUPERVISION_RATIO_BREACH"]},
                        headers=writer,
                    )
                )

            return job

        await run_bounded([close(s) for s in sessions], concurrency=8, rate=close_rate)
    expected = sum(s.billable for s in sessions)

    async def acknowledged() -> str | None:
        done = await db.value(
            "SELECT count(*) FROM claims.claim WHERE transaction_type = '837P' "
            "AND status = ANY($1::text[])",
            list(TERMINAL),
        )
        return None if done >= expected else f"837P acknowledged {done}/{expected}"

    await until(acknowledged, within)


async def group_latencies(db: Db, window: float, figures: Figures) -> None:
    """Per 837P claim: the session's close -> its interchange landed in the sandbox."""
    rows = await db.rows(
        """
        SELECT DISTINCT ON (c.claim_id) c.claim_id, c.status, gs.closed_at,
               submitted.changed_at AS submitted_at, s.received_at, i.created_at AS batched_at,
               i.sent_at
        FROM claims.claim c
        JOIN claims.claim_line l ON l.tenant_id = c.tenant_id AND l.claim_id = c.claim_id
        JOIN attendance.group_session gs ON gs.tenant_id = c.tenant_id
             AND gs.session_id = l.session_id
        JOIN edi_gateway.claim_submission s ON s.claim_id = c.claim_id
        JOIN edi_gateway.interchange i ON i.interchange_id = s.interchange_id
        LEFT JOIN LATERAL (
            SELECT min(changed_at) AS changed_at FROM claims.claim_status_change h
            WHERE h.claim_id = c.claim_id AND h.to_status = 'SUBMITTED') submitted ON true
        WHERE c.transaction_type = '837P'
        ORDER BY c.claim_id
        """
    )
    figures.group_claims = len(rows)
    parts: dict[str, list[float]] = {
        "close -> claim SUBMITTED": [],
        "SUBMITTED -> at the gateway": [],
        "at the gateway -> batched (the window)": [],
        "batched -> landed (render, pyx12, SFTP)": [],
    }
    for r in rows:
        if r["closed_at"] is None or r["sent_at"] is None:
            continue
        figures.latencies.append((r["sent_at"] - r["closed_at"]).total_seconds() - window)
        marks = [r["closed_at"], r["submitted_at"], r["received_at"], r["batched_at"], r["sent_at"]]
        for name, a, b in zip(parts, marks, marks[1:], strict=False):
            if a is not None and b is not None:
                parts[name].append((b - a).total_seconds())
    figures.latency_parts = parts


async def cycle_close(
    db: Db,
    suite: Suite,
    residents: Sequence[Resident],
    within: float,
    figures: Figures,
    stays_per_request: int,
) -> None:
    writer = bearer(CLAIM_WRITER)
    failures: list[str] = []
    retried: list[str] = []
    t0 = datetime.now(UTC)
    started = time.monotonic()
    async with httpx.AsyncClient(
        base_url=suite.url("claims"), timeout=600, limits=httpx.Limits(max_connections=8)
    ) as api:

        def build(stay_ids: list[str]) -> Callable[[], Awaitable[None]]:
            async def job() -> None:
                # As an operator would: a dropped connection or a 5xx is tried again.
                for attempt in range(1, 6):
                    try:
                        if len(stay_ids) == 1 and stays_per_request == 1:
                            answer = await api.post(
                                f"/v1/stays/{stay_ids[0]}/claims/build", headers=writer
                            )
                        else:
                            answer = await api.post(
                                "/v1/stays/claims/build",
                                json={"stay_ids": stay_ids},
                                headers=writer,
                            )
                    except httpx.TransportError as exc:
                        outcome = f"{stay_ids[0]}..: {type(exc).__name__}"
                    else:
                        if answer.status_code < 300:
                            if stays_per_request > 1:
                                failed = [r for r in answer.json()["results"] if r["error"]]
                                failures.extend(f"{r['stay_id']}: {r['error']}" for r in failed)
                            return
                        outcome = f"{stay_ids[0]}..: {answer.status_code} {answer.text[:200]}"
                        if answer.status_code < 500:
                            break
                    retried.append(outcome)
                    await asyncio.sleep(attempt)
                failures.append(outcome)

            return job

        stay_ids = [r.stay_id for r in residents]
        batches = [
            stay_ids[i : i + stays_per_request] for i in range(0, len(stay_ids), stays_per_request)
        ]
        await run_bounded(
            [build(b) for b in batches], concurrency=4 if stays_per_request == 1 else 2
        )
    figures.cycle_requests = time.monotonic() - started
    if retried:
        say(f"    {len(retried)} build request(s) tried again, the first: {retried[0]}")
    if failures:
        say(f"    {len(failures)} build request(s) failed, the first: {failures[0]}")
    say(
        f"    {len(residents):,} stays built by requests of {stays_per_request}, answered in "
        f"{figures.cycle_requests:.1f} s"
    )
    figures.build_failures = len(failures)
    expected = len(residents) - len(failures)

    async def acknowledged() -> str | None:
        rows = await db.rows(
            "SELECT status, count(*) AS n FROM claims.claim WHERE transaction_type = '837I' "
            "GROUP BY status"
        )
        by_status = {r["status"]: int(r["n"]) for r in rows}
        done = sum(by_status.get(s, 0) for s in TERMINAL)
        return None if done >= expected else f"837I claims {by_status}"

    await until(acknowledged, within)
    claims_sql = "SELECT claim_id FROM claims.claim WHERE transaction_type = '837I'"
    figures.cycle_claims = int(
        await db.value("SELECT count(*) FROM claims.claim WHERE transaction_type = '837I'")
    )
    figures.rejected += int(
        await db.value(
            "SELECT count(*) FROM claims.claim WHERE transaction_type = '837I' "
            "AND status = 'REJECTED'"
        )
    )
    figures.cycle_day_charges = int(
        await db.value(f"SELECT count(*) FROM claims.claim_charge WHERE claim_id IN ({claims_sql})")
    )
    last_ack = await db.value(
        "SELECT max(changed_at) FROM claims.claim_status_change "
        f"WHERE to_status = ANY($1::text[]) AND claim_id IN ({claims_sql})",
        list(TERMINAL),
    )
    figures.cycle_wall = (last_ack - t0).total_seconds()

    async def at(sql: str) -> datetime | None:
        value: datetime | None = await db.value(sql)
        return value

    marks = [
        (
            "first claim built",
            f"SELECT min(created_at) FROM claims.claim WHERE claim_id IN ({claims_sql})",
        ),
        (
            "last claim built",
            f"SELECT max(created_at) FROM claims.claim WHERE claim_id IN ({claims_sql})",
        ),
        (
            "last claim SUBMITTED",
            "SELECT max(changed_at) FROM claims.claim_status_change WHERE to_status = 'SUBMITTED' "
            f"AND claim_id IN ({claims_sql})",
        ),
        (
            "first at the gateway",
            "SELECT min(received_at) FROM edi_gateway.claim_submission "
            f"WHERE claim_id IN ({claims_sql})",
        ),
        (
            "last at the gateway",
            "SELECT max(received_at) FROM edi_gateway.claim_submission "
            f"WHERE claim_id IN ({claims_sql})",
        ),
        (
            "first 837I interchange landed",
            "SELECT min(sent_at) FROM edi_gateway.interchange WHERE transaction_type = '837I'",
        ),
        (
            "last 837I interchange landed",
            "SELECT max(sent_at) FROM edi_gateway.interchange WHERE transaction_type = '837I'",
        ),
        (
            "first 999/277CA applied",
            "SELECT min(changed_at) FROM claims.claim_status_change "
            f"WHERE to_status IN ('ACCEPTED', 'REJECTED') AND claim_id IN ({claims_sql})",
        ),
    ]
    figures.cycle_timeline = [(name, since(t0, await at(sql))) for name, sql in marks]
    for row in await db.rows(
        "SELECT payload FROM claims.outbox WHERE event_type = 'claims.claim.submitted.v1' "
        "ORDER BY id"
    ):
        payload = row["payload"]
        document = json.loads(payload) if isinstance(payload, str) else payload
        if document["data"].get("transaction_type") == "837I":
            figures.claim_messages.append(document["data"])
    figures.cycle_timeline.append(("last 999/277CA applied", since(t0, last_ack)))
    interchanges = await db.rows(
        "SELECT claim_count, created_at, sent_at FROM edi_gateway.interchange "
        "WHERE transaction_type = '837I' ORDER BY created_at"
    )
    figures.cycle_timeline.append(
        (
            "837I interchanges",
            f"{len(interchanges)} of "
            + ", ".join(str(r["claim_count"]) for r in interchanges[:12])
            + (" ..." if len(interchanges) > 12 else "")
            + " claims",
        )
    )


# --------------------------------------------------------------------------- the run


def print_figures(
    figures: Figures, memory: MemorySampler, profile: Profile, window: int, pyx12: Rate | None
) -> None:
    say("")
    say("=" * 78)
    say(
        f"RESULTS  N={profile.residents:,} residents, G={profile.sessions_per_day} sessions/day "
        f"x {profile.days} days, batch window {window} s"
    )
    say("-" * 78)
    say("cycle close (trigger: the operator's build of every stay, POST /v1/stays/claims/build;")
    say("no clock setting exists for the services: see the module docstring)")
    claims_rate = figures.cycle_claims / figures.cycle_wall
    charges_rate = figures.cycle_day_charges / figures.cycle_wall
    say(f"  wall time, close -> last 999/277CA   {figures.cycle_wall:8.2f} s")
    say(f"  837I claims                          {figures.cycle_claims:8,}  ({claims_rate:,.1f}/s)")
    say(
        f"  day charges on them                  {figures.cycle_day_charges:8,}  "
        f"({charges_rate:,.0f}/s)"
    )
    say(f"  build requests answered              {figures.cycle_requests:8.2f} s")
    for name, when in figures.cycle_timeline:
        say(f"    {name:<34} {when}")
    say("month feed (before the close, not in the figure above)")
    say(
        f"  stays fed, day charges written and known to claims: {figures.load_seconds:.1f} s, "
        f"{figures.load_day_charges:,} day charges"
    )
    say(
        f"group sessions: {figures.group_sessions} closed, {figures.group_claims} 837P claims; "
        f"close -> 837P landed in the sandbox, minus the {window} s window"
    )
    say(f"  {spread(figures.latencies)}")
    for name, values in figures.latency_parts.items():
        say(f"    {name:<40} {spread(values)}")
    say("peak resident memory (process + children, sampled every 0.5 s)")
    for name in SERVICES:
        say(
            f"  {name:<12} peak {memory.peak_mib.get(name, float('nan')):7.1f} MiB   "
            f"at the end {memory.last_mib.get(name, float('nan')):7.1f} MiB"
        )
    say("reference rates (same run, same machine) and our figures as ratios")
    rates = [*figures.rates, *([pyx12] if pyx12 else [])]
    for rate in rates:
        say(f"  {rate.line()}")
    broker, copy = figures.rates[0], figures.rates[1]
    say(
        f"  day charges/s over COPY rows/s        {charges_rate / copy.per_second:8.4f}  "
        f"({charges_rate:,.0f} vs {copy.per_second:,.0f})"
    )
    say(
        f"  claims/s over broker msg/s            {claims_rate / broker.per_second:8.4f}  "
        f"({claims_rate:,.1f} vs {broker.per_second:,.0f})"
    )
    if pyx12 is not None:
        say(
            f"  claims/s over pyx12 claims/s          {claims_rate / pyx12.per_second:8.4f}  "
            f"({claims_rate:,.1f} vs {pyx12.per_second:,.1f})"
        )
    say(f"rejected claims: {figures.rejected}, failed build requests: {figures.build_failures}")
    say(
        f"machine: {os.cpu_count()} CPUs, 1-minute load average "
        + ", ".join(f"{k} {v:.1f}" for k, v in figures.load_average.items())
    )
    say("=" * 78)


def pool_env(pool: int | None, prefetch: int | None) -> dict[str, str]:
    """The services' pools: the tests' small ones unless asked (a pool of ``prefetch`` or
    fewer opens a connection per transaction beyond it, from its overflow)."""
    env: dict[str, str] = {}
    if pool is not None:
        env |= {"DB_POOL_SIZE": str(pool), "DB_MAX_OVERFLOW": "0"}
    if prefetch is not None:
        env["PREFETCH"] = str(prefetch)
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="small")
    parser.add_argument("--residents", type=int, default=None)
    parser.add_argument("--sessions-per-day", type=int, default=None)
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--window", type=int, default=3, help="the batch window, seconds")
    parser.add_argument("--close-rate", type=float, default=4.0, help="session closes/s")
    parser.add_argument("--messages", type=int, default=5000, help="broker reference")
    parser.add_argument("--rows", type=int, default=200_000, help="COPY reference")
    parser.add_argument(
        "--pyx12-claims", type=int, default=1000, help="claims in the generated 837I"
    )
    parser.add_argument("--timeout", type=float, default=3600, help="per phase, seconds")
    parser.add_argument("--keep", action="store_true", help="keep var/bench-<run> (logs, files)")
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="skip the ANALYZE before the close (plans from stale statistics)",
    )
    parser.add_argument(
        "--db-pool",
        type=int,
        default=None,
        help="each service's connection pool, no overflow (default: the tests' 2 + 3 overflow)",
    )
    parser.add_argument(
        "--prefetch", type=int, default=None, help="unacked deliveries per consumer (default 4)"
    )
    parser.add_argument(
        "--no-pre-ping",
        action="store_true",
        help="the services' pools skip the round trip that tests a connection before use",
    )
    parser.add_argument(
        "--stays-per-request",
        type=int,
        default=250,
        help="stays in one POST /v1/stays/claims/build (1: one POST "
        "/v1/stays/{id}/claims/build per stay, as before the eleventh session)",
    )
    args = parser.parse_args()
    if not 1 <= args.stays_per_request <= 500:
        parser.error("--stays-per-request must be 1 to 500")
    base = PROFILES[args.profile]
    profile = Profile(
        residents=args.residents or base.residents,
        sessions_per_day=base.sessions_per_day
        if args.sessions_per_day is None
        else args.sessions_per_day,
        days=args.days or base.days,
    )
    return asyncio.run(bench(profile, args))


async def bench(profile: Profile, args: argparse.Namespace) -> int:
    admin_url, amqp_url = isolation.default_database_url(), isolation.default_amqp_url()
    run = isolation.run_id()
    database = f"rcm_bench_{run}"
    topology = Topology(prefix=f"b{run}.")
    var = ROOT / "var" / f"bench-{run}"
    today = datetime.now(ZONE).date()
    month = last_complete_month(today)
    residents = plan_residents(run[:6], profile.residents, month)
    session_days = weekdays_from(today + timedelta(days=1), profile.days)
    sessions = plan_sessions(run[:6], residents, profile.sessions_per_day, session_days)
    say(
        f"==> run {run}: database {database}, broker prefix {topology.prefix}, files {var}\n"
        f"    {profile.residents:,} residents in '{PROGRAM}' (MONTHLY) for {month:%Y-%m}, "
        f"{sum(1 for r in residents if r.leave)} with a leave, "
        f"{sum(1 for r in residents if r.discharged)} discharged mid-month; "
        f"{len(sessions)} group sessions ({profile.sessions_per_day}/day x {profile.days} days)"
    )
    figures = Figures(group_sessions=len(sessions))
    await isolation.create_database(admin_url, database)
    database_url = isolation.with_database(admin_url, database)
    figures.note_load("at start")
    say("==> reference rates (before the suite starts)")
    figures.rates = [
        await broker_rate(amqp_url, f"{topology.prefix}reference", args.messages),
        await copy_rate(database_url, args.rows),
    ]
    for rate in figures.rates:
        say(f"    {rate.line()}")

    sandbox = SandboxProcess(folder=var / "sandbox")
    tenants = var / "tenants"
    tenants.mkdir(parents=True, exist_ok=True)
    (tenants / f"{TENANT}.yaml").write_text(bench_tenant(sandbox, args.window))
    suite = Suite(
        database_url=database_url,
        amqp_url=amqp_url,
        topology_prefix=topology.prefix,
        jwt_secret=SECRET,
        log_dir=var / "logs",
        extra_env={
            "TENANT_CONFIG_DIR": str(tenants),
            "EDI_LOCAL_ROOT": str(ROOT),
            "EDI_ACK_POLL_SECONDS": "1",
            "EDI_RETRY_MAX_SECONDS": "5",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
            **pool_env(args.db_pool, args.prefetch),
            **({"DB_POOL_PRE_PING": "false"} if args.no_pre_ping else {}),
        },
    )
    db = Db(database_url)
    memory: MemorySampler | None = None
    autoanalyze: asyncio.Task[None] | None = None
    pyx12: Rate | None = None
    status = 1
    try:
        sandbox.start(timeout=300)  # slow to come up on a busy machine
        say("==> migrating and starting the five services and the sandbox")
        for attempt in range(1, 4):  # each migration may take 120 s: a busy box times out
            try:
                suite.migrate()
                break
            except subprocess.TimeoutExpired:
                if attempt == 3:
                    raise
                say(f"    a migration timed out (load average {os.getloadavg()[0]:.0f}): again")
        suite.start(timeout=300)  # the claims service loads its code sets: slow on a busy box
        memory = MemorySampler(
            {n: p.process.pid for n, p in suite.processes.items() if p.process is not None}
        )
        memory.start()
        if await db.value("SHOW autovacuum") == "off":
            say("==> autovacuum is off on this server: the benchmark analyzes as it would")
            autoanalyze = asyncio.create_task(stand_in_for_autoanalyze(db))
        figures.note_load("feed")
        say("==> the month: members and stays through the EHR feed")
        figures.load_seconds, figures.load_day_charges = await load_month(
            db, amqp_url, topology, run[:6], residents, month
        )
        say(
            f"    idle after {figures.load_seconds:.1f} s: {figures.load_day_charges:,} day "
            "charges written and known to claims, every cycle closed and waiting"
        )
        if sessions:
            figures.note_load("sessions")
            say(f"==> {len(sessions)} group sessions closed at {args.close_rate}/s")
            await group_sessions(
                db, suite, amqp_url, topology, run[:6], sessions, args.close_rate, args.timeout
            )
            await group_latencies(db, args.window, figures)
            say(f"    close -> 837P landed, minus the window: {spread(figures.latencies)}")
        if not args.no_analyze:
            # A real month's feed spans 30 days, and autovacuum analyzes the tables many
            # times over; here it is compressed into minutes, and a table that grew from
            # empty since its last ANALYZE gets plans that scan the whole tenant for a
            # lookup by id (Postgres guesses one row for tenant_id = $1).
            started = time.monotonic()
            await db.value("ANALYZE")
            took = time.monotonic() - started
            say(f"==> ANALYZE, as autovacuum would have by month-end: {took:.1f} s")
        figures.note_load("close")
        say("==> cycle close: 'Build claim' on every stay")
        await cycle_close(db, suite, residents, args.timeout, figures, args.stays_per_request)
        figures.rejected += int(
            await db.value(
                "SELECT count(*) FROM claims.claim WHERE transaction_type = '837P' "
                "AND status = 'REJECTED'"
            )
        )
        memory.sample()
        figures.note_load("end")
        status = 0 if figures.rejected == 0 and figures.cycle_claims == len(residents) else 1
        if status:
            say(
                f"==> not every claim made it: {figures.cycle_claims} of {len(residents)} 837I, "
                f"{figures.rejected} rejected, {figures.build_failures} build requests failed"
            )
    finally:
        if autoanalyze is not None:
            autoanalyze.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await autoanalyze
        if memory is not None:
            memory.stop()
        say("==> stopping")
        suite.stop()
        sandbox.stop()
        await db.close()
        await isolation.delete_broker_names(amqp_url, topology)
        await isolation.drop_database(admin_url, database)
    if figures.claim_messages:
        generated = generated_837i(
            load_tenant_config(tenants / f"{TENANT}.yaml"),
            figures.claim_messages,
            args.pyx12_claims,
            var / "reference-837I.x12",
        )
        say(
            f"==> pyx12 on one generated 837I of {args.pyx12_claims} claims (the run's "
            f"{len(figures.claim_messages)} 837I claim messages in turn), after the suite stopped"
        )
        pyx12 = pyx12_rate(generated)
    if memory is not None and figures.cycle_claims:
        print_figures(figures, memory, profile, args.window, pyx12)
    if not args.keep and status == 0:
        shutil.rmtree(var, ignore_errors=True)
    else:
        say(f"logs and files kept in {var}")
    return status


if __name__ == "__main__":
    sys.exit(main())
