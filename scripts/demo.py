"""The suite on a real scenario: migrate, start the five services, feed a group therapy
session through the scheduling feed, mark attendance and finalize it through the HTTP
API as a supervisor would, and wait until its claims leave as 837P files; then show what
each service holds and where the files are.

    bash scripts/demo.sh [--keep-running]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aio_pika
import asyncpg
import httpx

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
from common.testing.processes import PACKAGES, Suite
from common.testing.scenarios import run_group_session
from common.testing.tokens import make_token
from common.testing.x12 import parse_interchange, pyx12_errors
from contracts.topology import Topology

SERVICES = tuple(PACKAGES)
ROOT = Path(__file__).resolve().parents[1]
DEMO_DB = "rcm_demo"
DEMO_SECRET = "demo-secret-change-me-0123456789abcdef"
TENANT = "demo-bh"
UPLOAD = ROOT / "var" / "clearinghouse" / "upload"
# SPEC 12 vector 1's roster, split across the tenant's two payers (the Medicaid plan
# replaces HQ with HG): 4 ATTENDED, 1 LATE, 1 LEFT_EARLY, 1 ABSENT.
MARKS = ["ATTENDED", "ATTENDED", "ATTENDED", "ATTENDED", "LATE", "LEFT_EARLY", "ABSENT"]
PAYERS = ["acme-commercial", "il-medicaid"]


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


def summary(suite: Suite, headers: dict[str, str], session_id: str) -> None:
    charges = httpx.get(
        f"{suite.url('charges')}/v1/charges",
        params={"session_id": session_id},
        headers=headers,
        timeout=10,
    ).json()["items"]
    claims = httpx.get(
        f"{suite.url('claims')}/v1/claims",
        params={"session_id": session_id},
        headers=headers,
        timeout=10,
    ).json()["items"]
    interchanges = httpx.get(
        f"{suite.url('edi-gateway')}/v1/interchanges", headers=headers, timeout=10
    ).json()["items"]
    by_status: dict[str, int] = {}
    for c in charges:
        by_status[c["status"]] = by_status.get(c["status"], 0) + 1
    say(f"    charges  {len(charges)}: " + ", ".join(f"{k}={v}" for k, v in by_status.items()))
    for c in charges:
        say(
            f"      {c['member_id']:<16} {c['procedure_code']}:{':'.join(c['modifiers'])}"
            f"  ${c['amount']:>6}  payer={c['payer_id']:<16} {c['status']}"
        )
    claim_status: dict[str, int] = {}
    for c in claims:
        claim_status[c["status"]] = claim_status.get(c["status"], 0) + 1
    say(f"    claims   {len(claims)}: " + ", ".join(f"{k}={v}" for k, v in claim_status.items()))
    say(
        f"    interchanges {len(interchanges)}: "
        + ", ".join(
            f"ISA13 {i.get('interchange_control_number')} {i.get('status')}" for i in interchanges
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--keep-running", action="store_true", help="leave the services up until Ctrl-C"
    )
    args = parser.parse_args()
    admin_url, amqp_url = default_database_url(), default_amqp_url()
    topology = Topology(prefix="demo.")
    say(f"==> database {DEMO_DB} (fresh), broker prefix '{topology.prefix}'")
    database_url = asyncio.run(reset_database(admin_url))
    asyncio.run(delete_broker_names(amqp_url, topology))
    UPLOAD.mkdir(parents=True, exist_ok=True)
    # A fresh database restarts the control numbers: files of an earlier run would share
    # their names (the gateway never overwrites a different file), so set them aside.
    earlier = sorted(UPLOAD.glob("*.x12"))
    if earlier:
        keep = ROOT / "var" / "clearinghouse" / f"earlier-{time.strftime('%Y%m%dT%H%M%S')}"
        keep.mkdir(parents=True)
        for f in earlier:
            f.rename(keep / f.name)
        say(f"    moved {len(earlier)} file(s) of an earlier run to {keep.relative_to(ROOT)}")
    before: set[Path] = set()
    suite = Suite(
        database_url=database_url,
        amqp_url=amqp_url,
        topology_prefix=topology.prefix,
        jwt_secret=DEMO_SECRET,
        log_dir=ROOT / "var" / "demo-logs",
        extra_env={"EDI_LOCAL_ROOT": str(ROOT)},
    )
    say("==> migrating the five services (each into its own schema)")
    suite.migrate()
    say("==> starting the five services")
    suite.start()
    for name, p in suite.processes.items():
        say(f"    {name:<12} {p.base_url}   logs: {p.log_path.relative_to(ROOT)}")
    try:

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
            f"{', '.join(MARKS)} and finalizes; waiting for the 837P"
        )
        started = time.monotonic()
        run = asyncio.run(
            run_group_session(
                attendance_url=suite.url("attendance"),
                claims_url=suite.url("claims"),
                publish=publish,
                bearer=bearer,
                tenant=TENANT,
                run=uuid.uuid4().hex[:6],
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
        say("==> summary")
        summary(suite, bearer(["billing.claim.read"]), run.session_id)
        files = sorted(p for p in UPLOAD.glob("*.x12") if p not in before)
        say("==> 837 files")
        valid = True
        for f in files:
            errors = pyx12_errors(f)
            valid = valid and not errors
            clms = parse_interchange(f.read_text()).segments("CLM")
            say(
                f"    {f.relative_to(ROOT)}  {len(clms)} claims  pyx12: "
                f"{'0 errors' if not errors else errors[:3]}"
            )
        dead = asyncio.run(dead_letter_counts(amqp_url, topology))
        say("==> dead-letter queues: " + ", ".join(f"{k}={v}" for k, v in dead.items()))
        say("==> rows stored per service schema")
        for schema, table, n in asyncio.run(stored_counts(database_url)):
            if n:
                say(f"    {schema:<12} {table:<28} {n}")
        ok = bool(files) and valid and not any(dead.values())
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
        asyncio.run(delete_broker_names(amqp_url, topology))


if __name__ == "__main__":
    sys.exit(main())
