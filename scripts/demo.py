"""The suite on a realistic scenario: migrate, start the five services and the
clearinghouse sandbox (an SFTP server of ours that validates with pyx12 and answers with
999 and 277CA files); feed a week of group therapy sessions for three dozen members of two
payers through the scheduling feed, mark each roster and finalize it through the HTTP API
as a supervisor would; tell three residential stays over the last two months (leaves, two
discharges, one still in house) through the EHR feed; wait, showing progress, until every
claim has left as 837P or 837I over SFTP and come back ACCEPTED; then print what happened:
sessions, charges and claims by status, the files and the acknowledgments.

    bash scripts/demo.sh [--keep-running] [--seed N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aio_pika
import asyncpg
import httpx

from common.testing.clearinghouse import SandboxProcess, sandbox_tenant
from common.testing.isolation import (
    asyncpg_dsn,
    create_database,
    default_amqp_url,
    default_database_url,
    delete_broker_names,
    drop_database,
    with_database,
)
from common.testing.messages import publish_raw
from common.testing.processes import PACKAGES, SAMPLE_TENANTS, Suite
from common.testing.scenarios import (
    GroupSessionRun,
    LeaveOfAbsence,
    eventually,
    run_group_session,
    run_stay,
)
from common.testing.tokens import make_token
from common.testing.x12 import parse_interchange, pyx12_errors
from contracts.topology import Topology

SERVICES = tuple(PACKAGES)
ROOT = Path(__file__).resolve().parents[1]
# A run of its own (the end-to-end test of this demo sets all three).
DEMO_DB = os.environ.get("RCM_DEMO_DATABASE", "rcm_demo")
DEMO_PREFIX = os.environ.get("RCM_DEMO_PREFIX", "demo.")
DEMO_SECRET = "demo-secret-change-me-0123456789abcdef"
TENANT = "demo-bh"
ZONE = ZoneInfo("America/Chicago")  # the demo facility's time zone
VAR = Path(os.environ.get("RCM_DEMO_VAR", ROOT / "var"))
PAYERS = ("acme-commercial", "il-medicaid")
MEMBERS = 36
SESSIONS_PER_DAY = 2
# Rosters stay within the Medicaid plan's ratio (10 per supervisor, tenant file).
ROSTER = (6, 10)
# How a roster turns out, roughly: most attend, some late, a few leave early or miss it.
MARK_WEIGHTS = {"ATTENDED": 70, "LATE": 10, "LEFT_EARLY": 8, "ABSENT": 12}
BILLABLE = {"ATTENDED", "LATE"}  # the tenant's billable statuses
ACK_WAIT_SECONDS = float(os.environ.get("RCM_DEMO_ACK_WAIT_SECONDS", "240"))
PROGRESS_EVERY = 5.0
READ = ("billing.claim.read", "clinical.group-session.read")
Headers = dict[str, str]


def shown(path: Path) -> Path:
    """A path as the reader finds it: relative to the checkout when it is inside it."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def say(text: str) -> None:
    print(text, flush=True)


# --------------------------------------------------------------------------- scenario


@dataclass(frozen=True)
class PlannedSession:
    run: str  # the session's own id part: gs-<run>
    day: date
    members: tuple[str, ...]
    payers: tuple[str, ...]
    marks: tuple[str, ...]


@dataclass(frozen=True)
class PlannedStay:
    run: str  # stay-<run>, member m-<run>
    story: str
    payer_id: str
    admitted: date
    leaves: tuple[LeaveOfAbsence, ...]
    discharged: date | None
    expected_claims: int


def member_ids(run_id: str) -> list[str]:
    return [f"m-{run_id}-{n:02d}" for n in range(1, MEMBERS + 1)]


def payer_of(member_id: str) -> str:
    return PAYERS[int(member_id.rsplit("-", 1)[1]) % len(PAYERS)]


def plan_sessions(run_id: str, today: date, rng: random.Random) -> list[PlannedSession]:
    """The last five weekdays before today (services are billed once rendered: no date
    of service in the future), two groups a day with rosters drawn from the members; each
    roster has at least three billable members (the smallest size band). A past session
    whose rows are all marked may be closed by the auto-close sweep before the
    supervisor's finalize, which then answers it as closed (SPEC 3)."""
    days: list[date] = []
    day = today
    while len(days) < 5:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    days.reverse()
    pool = member_ids(run_id)
    sessions = []
    for d in days:
        rng.shuffle(pool)
        taken = 0
        for k in range(SESSIONS_PER_DAY):
            size = rng.randint(*ROSTER)
            roster = tuple(sorted(pool[taken : taken + size]))
            taken += size
            while True:
                marks = tuple(
                    rng.choices(list(MARK_WEIGHTS), weights=list(MARK_WEIGHTS.values()))[0]
                    for _ in roster
                )
                if sum(m in BILLABLE for m in marks) >= 3:
                    break
            sessions.append(
                PlannedSession(
                    run=f"{run_id}-{d:%m%d}{'ab'[k]}",
                    day=d,
                    members=roster,
                    payers=tuple(payer_of(m) for m in roster),
                    marks=marks,
                )
            )
    return sessions


def plan_stays(run_id: str, today: date) -> list[PlannedStay]:
    """Three stays over the two months before this one (their MONTHLY cycles are closed,
    so their claims go out now; the current month's cycle stays open)."""
    this_month = today.replace(day=1)
    m2 = (this_month - timedelta(days=1)).replace(day=1)
    m1 = (m2 - timedelta(days=1)).replace(day=1)
    return [
        PlannedStay(
            run=f"{run_id}-a",
            story="therapeutic leave, discharged home the next month",
            payer_id="acme-commercial",
            admitted=m1 + timedelta(days=7),
            leaves=(LeaveOfAbsence("loa-1", m1 + timedelta(days=19), m1 + timedelta(days=22)),),
            discharged=m2 + timedelta(days=16),
            expected_claims=2,
        ),
        PlannedStay(
            run=f"{run_id}-b",
            story="therapeutic leave, still in house",
            payer_id="acme-commercial",
            admitted=m1 + timedelta(days=20),
            leaves=(LeaveOfAbsence("loa-1", m2 + timedelta(days=8), m2 + timedelta(days=11)),),
            discharged=None,
            expected_claims=2,
        ),
        PlannedStay(
            run=f"{run_id}-c",
            story="hospitalization leave (Medicaid bed-hold), discharged",
            payer_id="il-medicaid",
            admitted=m2 + timedelta(days=4),
            leaves=(
                LeaveOfAbsence(
                    "loa-1", m2 + timedelta(days=12), m2 + timedelta(days=14), "HOSPITALIZATION"
                ),
            ),
            discharged=m2 + timedelta(days=25),
            expected_claims=1,
        ),
    ]


# --------------------------------------------------------------------------- plumbing


async def reset_database(admin_url: str) -> str:
    await drop_database(admin_url, DEMO_DB)
    await create_database(admin_url, DEMO_DB)
    return with_database(admin_url, DEMO_DB)


class Publisher:
    """One connection for the whole feed, publisher confirms on."""

    def __init__(self, amqp_url: str, topology: Topology) -> None:
        self._url, self._topology = amqp_url, topology
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self.count: Counter[str] = Counter()

    async def __aenter__(self) -> Publisher:
        self._connection = await aio_pika.connect_robust(self._url)
        self._channel = await self._connection.channel(publisher_confirms=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._connection is not None:
            await self._connection.close()

    async def __call__(self, *documents: dict[str, Any]) -> None:
        assert self._channel is not None
        for d in documents:
            await publish_raw(
                self._channel, self._topology, json.dumps(d).encode(), d["type"], message_id=d["id"]
            )
            self.count[d["type"]] += 1


async def paged(
    api: httpx.AsyncClient, path: str, headers: Headers, **params: str
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        response = await api.get(
            path, params={**params, "limit": "500", "offset": str(len(items))}, headers=headers
        )
        response.raise_for_status()
        page: list[dict[str, Any]] = response.json()["items"]
        items += page
        if len(page) < 500:
            return items


async def all_claims(suite: Suite, headers: Headers) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=suite.url("claims"), timeout=15) as api:
        return await paged(api, "/v1/claims", headers)


def counted(values: Sequence[str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(Counter(values).items())) or "none"


async def stored_counts(database_url: str) -> list[tuple[str, str, int]]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        tables = await conn.fetch(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname IN "
            "('attendance','stays','charges','claims','edi_gateway') "
            "AND tablename <> 'alembic_version' ORDER BY 1, 2"
        )
        rows = []
        for t in tables:
            n = await conn.fetchval(f'SELECT count(*) FROM "{t[0]}"."{t[1]}"')
            rows.append((t[0], t[1], int(n)))
        return rows
    finally:
        await conn.close()


async def dead_letter_counts(amqp_url: str, topology: Topology) -> dict[str, int]:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        counts = {}
        for service in SERVICES:
            queue = await channel.declare_queue(topology.dead_letter_queue(service), passive=True)
            counts[service] = queue.declaration_result.message_count or 0
        return counts


# --------------------------------------------------------------------------- phases


async def feed_sessions(
    suite: Suite,
    publish: Publisher,
    bearer: Callable[[Sequence[str]], Headers],
    planned: Sequence[PlannedSession],
) -> list[GroupSessionRun]:
    """Every session through the feed and the supervisor's API calls, four at a time (as
    four group rooms would), each line printed when its claims have left."""
    gate = asyncio.Semaphore(4)

    async def one(p: PlannedSession) -> GroupSessionRun:
        async with gate:
            done = await run_group_session(
                attendance_url=suite.url("attendance"),
                claims_url=suite.url("claims"),
                publish=publish,
                bearer=bearer,
                tenant=TENANT,
                run=p.run,
                day=p.day,
                marks=p.marks,
                payers=p.payers,
                members=p.members,
                within_seconds=180,
            )
        preview = done.preview
        marks = Counter(p.marks)
        say(
            f"    {done.session_id:<18} {p.day:%a %m-%d}  roster {len(p.members):>2} "
            f"({', '.join(f'{k.lower()} {v}' for k, v in sorted(marks.items()))})  "
            f"billable {preview['billable_count']:>2}, band {preview['band']['name']:<6} "
            f"${preview['band']['rate']}  issues "
            f"{','.join(i['code'] for i in preview['issues']) or 'none'}  "
            f"-> {len(done.claims)} 837P claim(s) sent"
        )
        return done

    return list(await asyncio.gather(*(one(p) for p in planned)))


async def feed_stays(
    suite: Suite,
    publish: Publisher,
    bearer: Callable[[Sequence[str]], Headers],
    planned: Sequence[PlannedStay],
) -> list[dict[str, Any]]:
    async def one(p: PlannedStay) -> list[dict[str, Any]]:
        claims = await run_stay(
            claims_url=suite.url("claims"),
            publish=publish,
            bearer=bearer,
            tenant=TENANT,
            run=p.run,
            program_id="residential",
            admitted=p.admitted,
            admit_hour=14,
            leaves=p.leaves,
            discharged=p.discharged,
            discharge_status="01",
            expected_claims=p.expected_claims,
            payer_id=p.payer_id,
            within_seconds=180,
        )
        leaves = "; ".join(f"{x.reason.lower()} leave {x.start}..{x.back}" for x in p.leaves)
        say(
            f"    stay-{p.run:<14} {p.payer_id:<16} admitted {p.admitted}, {leaves}, "
            f"{'discharged ' + str(p.discharged) if p.discharged else 'in house'} "
            f"-> {len(claims)} 837I cycle claim(s) sent"
        )
        return claims

    return [c for claims in await asyncio.gather(*(one(p) for p in planned)) for c in claims]


async def until_acknowledged(
    suite: Suite, sandbox: SandboxProcess, headers: Headers, expected: int, seconds: float
) -> list[dict[str, Any]]:
    """Waits until every claim reads ACCEPTED or REJECTED, printing the count by status
    every few seconds; on time-out prints what is still waiting and why, then raises."""
    done = {"ACCEPTED", "REJECTED"}
    started = time.monotonic()
    last_shown = 0.0
    latest: list[dict[str, Any]] = []

    async def probe() -> list[dict[str, Any]] | None:
        nonlocal last_shown, latest
        latest = await all_claims(suite, headers)
        statuses = [str(c["status"]) for c in latest]
        if time.monotonic() - last_shown >= PROGRESS_EVERY:
            last_shown = time.monotonic()
            elapsed = time.monotonic() - started
            say(f"    {elapsed:5.0f}s  {len(latest)} claims: {counted(statuses)}")
        finished = len(latest) >= expected and all(s in done for s in statuses)
        return latest if finished else None

    try:
        return await eventually(probe, seconds)
    except TimeoutError:
        await explain_waiting(suite, sandbox, headers, latest)
        raise


async def explain_waiting(
    suite: Suite, sandbox: SandboxProcess, headers: Headers, claims: list[dict[str, Any]]
) -> None:
    """What a stuck run needs to be understood: the claims not acknowledged, the gateway's
    interchanges and acknowledgments, and the warnings and errors the services logged."""
    say("==> not acknowledged in time; what is waiting:")
    for c in claims:
        if c["status"] not in {"ACCEPTED", "REJECTED"}:
            say(
                f"    claim {c['claim_id']} {c['transaction_type']} {c['status']} "
                f"transmissions {len(c.get('transmissions') or [])}"
            )
    async with httpx.AsyncClient(base_url=suite.url("edi-gateway"), timeout=15) as api:
        for path in ("/v1/interchanges", "/v1/acknowledgments"):
            try:
                items = await paged(api, path, headers)
            except httpx.HTTPError as exc:
                say(f"    {path}: {type(exc).__name__}")
                continue
            say(f"    {path}: " + counted([str(i.get("status")) for i in items]))
            for i in items:
                if i.get("status") not in {"SENT", "ACCEPTED", "APPLIED"}:
                    say(f"      {json.dumps(i, default=str)[:300]}")
    for log in [*sorted(suite.log_dir.glob("*.log")), sandbox.log_path]:
        lines = [
            line
            for line in log.read_text(errors="replace").splitlines()
            if '"level": "error"' in line or '"level": "warning"' in line
        ]
        for line in lines[-8:]:
            say(f"    {log.stem}: {line[:400]}")


def summary(
    suite: Suite,
    headers: Headers,
    planned: Sequence[PlannedSession],
    claims: Sequence[dict[str, Any]],
) -> None:
    async def charges_and_sessions() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with httpx.AsyncClient(base_url=suite.url("charges"), timeout=15) as api:
            charges = await paged(api, "/v1/charges", headers)
        async with httpx.AsyncClient(base_url=suite.url("attendance"), timeout=15) as api:
            days = sorted({s.day for s in planned})
            listed = await paged(
                api,
                "/v1/group-sessions",
                headers,
                **{"from": days[0].isoformat(), "to": days[-1].isoformat()},
            )
        return charges, listed

    charges, listed = asyncio.run(charges_and_sessions())
    say(f"    {'group sessions':<16} {len(planned)}: {counted([s['status'] for s in listed])}")
    for kind in sorted({str(c["kind"]) for c in charges}):
        mine = [c for c in charges if c["kind"] == kind]
        live = [c for c in mine if c["status"] != "VOID"]
        total = sum((Decimal(c["amount"]) for c in live), Decimal("0"))
        voided = len(mine) - len(live)
        say(
            f"    {kind.lower() + ' charges':<16} {len(mine)}: "
            f"{counted([c['status'] for c in mine])}  (${total:,.2f} not void)"
        )
        if voided and kind == "PER_DIEM":
            say(
                f"      {voided} VOID: days charged as they completed, before the stay's later"
                " leave or discharge was heard (the feed tells them at once)"
            )
    for kind in ("837P", "837I"):
        mine = [c for c in claims if c["transaction_type"] == kind]
        total = sum((Decimal(c["total_charge"]) for c in mine), Decimal("0"))
        say(
            f"    {'claims ' + kind:<16} {len(mine)}: {counted([c['status'] for c in mine])}"
            f"  (billed ${total:,.2f})"
        )
    for c in sorted(
        (c for c in claims if c["transaction_type"] == "837I"), key=lambda c: c["period_from"]
    ):
        say(
            f"      {c['patient_control_number']:<14} {c['period_from']}..{c['period_to']}  "
            f"${c['total_charge']:>9}  {c['status']}"
        )
    interchanges = httpx.get(
        f"{suite.url('edi-gateway')}/v1/interchanges", headers=headers, timeout=15
    ).json()["items"]
    say(
        f"    {'interchanges':<16} {len(interchanges)}: "
        + counted([f"{i['transaction_type']} {i['status']}" for i in interchanges])
    )
    acknowledgments = httpx.get(
        f"{suite.url('edi-gateway')}/v1/acknowledgments", headers=headers, timeout=15
    ).json()["items"]
    say(
        f"    {'acknowledgments':<16} {len(acknowledgments)}: "
        + counted([f"{a.get('kind')} {a.get('status')}" for a in acknowledgments])
    )


def _interrupted(signum: int, frame: object) -> None:
    # A SIGTERM (a test's timeout, a container stop) stops the demo: the `finally` of
    # main stops the five services and the sandbox instead of orphaning them.
    raise SystemExit(128 + signum)


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupted)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--keep-running", action="store_true", help="leave the services up until Ctrl-C"
    )
    parser.add_argument("--seed", type=int, default=None, help="the rosters' random seed")
    args = parser.parse_args()
    admin_url, amqp_url = default_database_url(), default_amqp_url()
    topology = Topology(prefix=DEMO_PREFIX)
    say(f"==> database {DEMO_DB} (fresh), broker prefix '{topology.prefix}'")
    database_url = asyncio.run(reset_database(admin_url))
    asyncio.run(delete_broker_names(amqp_url, topology))

    # A fresh database restarts the control numbers: the sandbox would refuse them as
    # duplicates of an earlier run's (TA1 note 025), so it starts from an empty folder too.
    sandbox = SandboxProcess(folder=VAR / "sandbox")
    shutil.rmtree(sandbox.root, ignore_errors=True)
    sandbox.root.mkdir(parents=True)
    tenants = VAR / "demo-tenants"
    tenants.mkdir(parents=True, exist_ok=True)
    (tenants / f"{TENANT}.yaml").write_text(
        sandbox_tenant(
            (SAMPLE_TENANTS / f"{TENANT}.yaml").read_text(),
            tenant_id=TENANT,
            sender_id="HARBORBH",
            sandbox=sandbox,
        )
    )
    say(
        f"==> clearinghouse sandbox: SFTP 127.0.0.1:{sandbox.sftp_port} (host key pinned: "
        f"{sandbox.host_key_line[:32]}...), control {sandbox.control_url}"
    )
    sandbox.start()
    suite = Suite(
        database_url=database_url,
        amqp_url=amqp_url,
        topology_prefix=topology.prefix,
        jwt_secret=DEMO_SECRET,
        log_dir=VAR / "demo-logs",
        extra_env={
            "TENANT_CONFIG_DIR": str(tenants),
            "EDI_LOCAL_ROOT": str(ROOT),
            "EDI_ACK_POLL_SECONDS": "1",
            "EDI_RETRY_MAX_SECONDS": "5",
        },
    )
    try:
        say("==> migrating the five services (each into its own schema)")
        suite.migrate()
        say("==> starting the five services")
        suite.start()
        for name, p in suite.processes.items():
            say(f"    {name:<12} {p.base_url}   logs: {shown(p.log_path)}")

        def bearer(scopes: Sequence[str]) -> Headers:
            token = make_token(
                tenant=TENANT, scopes=scopes, secret=DEMO_SECRET, subject="supervisor-demo"
            )
            return {"Authorization": f"Bearer {token}"}

        run_id = uuid.uuid4().hex[:6]
        seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
        today = datetime.now(ZONE).date()
        planned = plan_sessions(run_id, today, random.Random(seed))
        stays = plan_stays(run_id, today)
        started = time.monotonic()

        async def feed() -> tuple[list[GroupSessionRun], list[dict[str, Any]]]:
            async with Publisher(amqp_url, topology) as publish:
                say(
                    f"==> a week of group therapy ({len(planned)} sessions, "
                    f"{planned[0].day}..{planned[-1].day}, {MEMBERS} members "
                    f"of {' and '.join(PAYERS)}, rosters seed {seed}): feeds in, supervisors "
                    "mark and finalize; each line when its 837P claims have left"
                )
                sessions = await feed_sessions(suite, publish, bearer, planned)
                say(
                    f"==> three residential stays over {stays[0].admitted:%B} and "
                    f"{stays[-1].admitted:%B} (MONTHLY cycles, $300/day): each line when its "
                    "837I cycle claims have left"
                )
                stay_claims = await feed_stays(suite, publish, bearer, stays)
                say(
                    f"    {sum(publish.count.values())} feed events published: "
                    + counted(list(publish.count.elements()))
                )
                return sessions, stay_claims

        sessions, stay_claims = asyncio.run(feed())
        expected = sum(len(s.claims) for s in sessions) + len(stay_claims)
        say(f"    {expected} claims sent in {time.monotonic() - started:.1f}s")
        say("==> waiting for the clearinghouse's 999 and 277CA to come back")
        claims = asyncio.run(
            until_acknowledged(suite, sandbox, bearer(READ), expected, ACK_WAIT_SECONDS)
        )
        statuses = [str(c["status"]) for c in claims]
        say(f"    {len(claims)} claims acknowledged, {time.monotonic() - started:.1f}s in all")
        say("==> summary")
        summary(suite, bearer(READ), planned, claims)
        files = sorted(sandbox.inbound.glob("*.x12"))
        say(f"==> 837 files the clearinghouse received ({shown(sandbox.inbound)})")
        valid = True
        for f in files:
            errors = pyx12_errors(f)
            valid = valid and not errors
            clms = parse_interchange(f.read_text()).segments("CLM")
            say(
                f"    {f.name}  {len(clms)} claims  pyx12: "
                f"{'0 errors' if not errors else errors[:3]}"
            )
        answers = sorted(p.name for p in sandbox.outbound.rglob("*.x12"))
        say(f"==> acknowledgments it wrote ({shown(sandbox.outbound)}): {len(answers)} files")
        for kind in ("TA1", "999", "277CA"):
            mine = [a for a in answers if kind in a]
            if mine:
                say(f"    {kind:<6} {len(mine):>3}  e.g. {mine[0]}")
        dead = asyncio.run(dead_letter_counts(amqp_url, topology))
        say("==> dead-letter queues: " + ", ".join(f"{k}={v}" for k, v in dead.items()))
        say("==> rows stored per service schema")
        for schema, table, n in asyncio.run(stored_counts(database_url)):
            if n:
                say(f"    {schema:<12} {table:<28} {n}")
        ok = bool(files) and valid and not any(dead.values()) and len(claims) == expected
        ok = ok and all(status == "ACCEPTED" for status in statuses)
        say(
            f"==> result: {'OK' if ok else 'FAILED'}: {len(files)} file(s), pyx12 "
            f"{'clean' if valid else 'ERRORS'}, expected {expected} claims, claims "
            + counted(statuses)
            + f", dead letters {sum(dead.values())}"
        )
        if args.keep_running:
            say("==> running; Ctrl-C stops")
            while True:
                time.sleep(3600)
        return 0 if ok else 1
    except KeyboardInterrupt:
        return 0
    finally:
        say("==> stopping (graceful)")
        suite.stop()
        sandbox.stop()
        asyncio.run(delete_broker_names(amqp_url, topology))


if __name__ == "__main__":
    sys.exit(main())
