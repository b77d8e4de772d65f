"""The suite on a real scenario: migrate, start the five services and the clearinghouse
sandbox (an SFTP server of ours that validates with pyx12 and answers with 999 and 277CA
files); feed a group therapy session through the scheduling feed, mark attendance and
finalize it through the HTTP API as a supervisor would; tell a residential stay through
the EHR feed; wait until the claims leave as 837P and 837I files over SFTP and come back
ACCEPTED; then show what each service holds and where the files are.

    bash scripts/demo.sh [--keep-running]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
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
from common.testing.scenarios import LeaveOfAbsence, eventually, run_group_session, run_stay
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
VAR = Path(os.environ.get("RCM_DEMO_VAR", ROOT / "var"))
# SPEC 12 vector 1's roster, split across the tenant's two payers (the Medicaid plan
# replaces HQ with HG): 4 ATTENDED, 1 LATE, 1 LEFT_EARLY, 1 ABSENT.
MARKS = ["ATTENDED", "ATTENDED", "ATTENDED", "ATTENDED", "LATE", "LEFT_EARLY", "ABSENT"]
PAYERS = ["acme-commercial", "il-medicaid"]


def shown(path: Path) -> Path:
    """A path as the reader finds it: relative to the checkout when it is inside it."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def say(text: str) -> None:
    print(text, flush=True)


async def reset_database(admin_url: str) -> str:
    await drop_database(admin_url, DEMO_DB)
    await create_database(admin_url, DEMO_DB)
    return with_database(admin_url, DEMO_DB)


async def publisher(amqp_url: str, topology: Topology, documents: Sequence[dict[str, Any]]) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        for d in documents:
            await publish_raw(
                channel, topology, json.dumps(d).encode(), d["type"], message_id=d["id"]
            )
            say(f"    published {d['type']:<48} id={d['id']}")


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


def summary(suite: Suite, headers: dict[str, str], session_id: str, stay_id: str) -> None:
    def get(service: str, path: str, **params: str) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{suite.url(service)}{path}", params=params, headers=headers, timeout=10
        )
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    charges = get("charges", "/v1/charges", session_id=session_id)
    by_status: dict[str, int] = {}
    for c in charges:
        by_status[c["status"]] = by_status.get(c["status"], 0) + 1
    say(f"    group charges {len(charges)}: " + ", ".join(f"{k}={v}" for k, v in by_status.items()))
    for c in charges:
        say(
            f"      {c['member_id']:<16} {c['procedure_code']}:{':'.join(c['modifiers'])}"
            f"  ${c['amount']:>6}  payer={c['payer_id']:<16} {c['status']}"
        )
    claims = get("claims", "/v1/claims", session_id=session_id) + get(
        "claims", "/v1/claims", stay_id=stay_id
    )
    say(f"    claims {len(claims)}:")
    for c in claims:
        say(
            f"      {c['patient_control_number']:<12} {c['transaction_type']}  "
            f"{c['period_from']}..{c['period_to']}  ${c['total_charge']:>8}  {c['status']}"
        )
    interchanges = get("edi-gateway", "/v1/interchanges")
    say(f"    interchanges {len(interchanges)}:")
    for i in interchanges:
        say(
            f"      ISA13 {i['isa13']:09d} {i['transaction_type']} {i['claim_count']} claim(s) "
            f"{i['status']}  {i['file_name']}"
        )
    acknowledgments = get("edi-gateway", "/v1/acknowledgments")
    say(f"    acknowledgments received {len(acknowledgments)}:")
    for a in acknowledgments:
        say(f"      {a.get('kind')} {a.get('file_name')} {a.get('status')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--keep-running", action="store_true", help="leave the services up until Ctrl-C"
    )
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

        def bearer(scopes: Sequence[str]) -> dict[str, str]:
            token = make_token(
                tenant=TENANT, scopes=scopes, secret=DEMO_SECRET, subject="supervisor-demo"
            )
            return {"Authorization": f"Bearer {token}"}

        async def publish(*documents: dict[str, Any]) -> None:
            await publisher(amqp_url, topology, documents)

        day = datetime.now(ZoneInfo("America/Chicago")).date() + timedelta(days=1)
        say(
            f"==> a group therapy session on {day}: feeds in, supervisor marks "
            f"{', '.join(MARKS)} and finalizes; waiting for the 837P to leave"
        )
        started = time.monotonic()
        run_id = uuid.uuid4().hex[:6]
        run = asyncio.run(
            run_group_session(
                attendance_url=suite.url("attendance"),
                claims_url=suite.url("claims"),
                publish=publish,
                bearer=bearer,
                tenant=TENANT,
                run=run_id,
                day=day,
                marks=MARKS,
                payers=PAYERS,
            )
        )
        preview = run.preview
        say(
            f"    preview: {preview['billable_count']} billable, band "
            f"{preview['band']['name']} at ${preview['band']['rate']}, issues "
            f"{[i['code'] for i in preview['issues']] or 'none'}"
        )
        say(f"    claims transmitted in {time.monotonic() - started:.1f}s")
        say(
            "==> a residential stay (SPEC 12 vector 2): admitted 2026-01-10, therapeutic leave "
            "01-20..01-23, discharged 02-03; waiting for the 837I to leave"
        )
        stay_claims = asyncio.run(
            run_stay(
                claims_url=suite.url("claims"),
                publish=publish,
                bearer=bearer,
                tenant=TENANT,
                run=run_id,
                program_id="residential",
                admitted=date(2026, 1, 10),
                admit_hour=14,
                leaves=[LeaveOfAbsence("loa-1", date(2026, 1, 20), date(2026, 1, 23))],
                discharged=date(2026, 2, 3),
                discharge_status="01",
                expected_claims=2,
            )
        )
        say(f"    {len(stay_claims)} cycle claims transmitted")
        say("==> waiting for the clearinghouse's 999 and 277CA to come back")
        statuses = asyncio.run(
            until_acknowledged(suite, bearer(["billing.claim.read"]), run.session_id, run_id)
        )
        say(f"    {len(statuses)} claim(s) acknowledged in {time.monotonic() - started:.1f}s")
        say("==> summary")
        summary(suite, bearer(["billing.claim.read"]), run.session_id, f"stay-{run_id}")
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
        say(f"==> acknowledgments it wrote ({shown(sandbox.outbound)}): " + ", ".join(answers))
        dead = asyncio.run(dead_letter_counts(amqp_url, topology))
        say("==> dead-letter queues: " + ", ".join(f"{k}={v}" for k, v in dead.items()))
        say("==> rows stored per service schema")
        for schema, table, n in asyncio.run(stored_counts(database_url)):
            if n:
                say(f"    {schema:<12} {table:<28} {n}")
        ok = bool(files) and valid and not any(dead.values())
        ok = ok and all(status == "ACCEPTED" for status in statuses)
        by_status = {k: statuses.count(k) for k in sorted(set(statuses))}
        say(
            f"==> result: {'OK' if ok else 'FAILED'}: {len(files)} file(s), pyx12 "
            f"{'clean' if valid else 'ERRORS'}, claims "
            + ", ".join(f"{k}={v}" for k, v in by_status.items())
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


async def until_acknowledged(
    suite: Suite, headers: dict[str, str], session_id: str, run_id: str
) -> list[str]:
    """Waits until every claim of the run reads ACCEPTED or REJECTED; returns their statuses."""
    done = {"ACCEPTED", "REJECTED"}

    async def probe() -> list[str] | None:
        async with httpx.AsyncClient(base_url=suite.url("claims"), timeout=10) as api:
            claims = []
            for params in ({"session_id": session_id}, {"stay_id": f"stay-{run_id}"}):
                response = await api.get("/v1/claims", params=params, headers=headers)
                claims += response.json()["items"]
        statuses = [str(c["status"]) for c in claims]
        return statuses if statuses and all(s in done for s in statuses) else None

    return await eventually(probe, 120)


if __name__ == "__main__":
    sys.exit(main())
