"""The suite on a sample scenario: migrate, start the five services, publish every sample
message from contracts/samples, and show what each service stored.

    bash scripts/demo.sh [--keep-running]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

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
from common.testing.processes import PACKAGES, Suite
from common.testing.tokens import make_token
from contracts.topology import Topology

SERVICES = tuple(PACKAGES)
ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "contracts" / "samples"
DEMO_DB = "rcm_demo"
DEMO_SECRET = "demo-secret-change-me-0123456789abcdef"
# What the services handle so far (#2): reference data, a scheduled group session with
# one check-in mark, and a residential admission. Later issues extend the scenario.
SCENARIO = [
    "ehr.facility.upserted.v1",
    "ehr.provider.upserted.v1",
    "ehr.member.upserted.v1",
    "scheduling.group_session.scheduled.v1",
    "scheduling.group_session.attendance_marked.v1",
    "ehr.stay.admitted.v1",
]
SCOPES = [
    "clinical.group-session.read",
    "clinical.encounter.read",
    "billing.claim.read",
]


def say(text: str) -> None:
    print(text, flush=True)


async def reset_database(admin_url: str) -> str:
    await drop_database(admin_url, DEMO_DB)
    await create_database(admin_url, DEMO_DB)
    return with_database(admin_url, DEMO_DB)


async def publish_samples(amqp_url: str, topology: Topology) -> list[dict[str, Any]]:
    documents = [json.loads((SAMPLES / f"{t}.json").read_text()) for t in SCENARIO]
    # Reference data first (facilities, providers, members), then what happens.
    documents.sort(key=lambda d: (0 if ".upserted." in d["type"] else 1, d["time"]))
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(topology.events_exchange)
        for d in documents:
            await exchange.publish(
                aio_pika.Message(
                    json.dumps(d).encode(),
                    content_type="application/cloudevents+json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=d["id"],
                ),
                routing_key=d["type"],
            )
            say(f"    published {d['type']:<48} id={d['id']}")
    return documents


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
    suite = Suite(
        database_url=database_url,
        amqp_url=amqp_url,
        topology_prefix=topology.prefix,
        jwt_secret=DEMO_SECRET,
        log_dir=ROOT / "var" / "demo-logs",
    )
    say("==> migrating the five services (each into its own schema)")
    suite.migrate()
    say("==> starting the five services")
    suite.start()
    for name, p in suite.processes.items():
        say(f"    {name:<12} {p.base_url}   logs: {p.log_path.relative_to(ROOT)}")
    try:
        say("==> publishing the sample messages (contracts/samples)")
        documents = asyncio.run(publish_samples(amqp_url, topology))
        tenant = documents[0]["tenantid"]
        token = make_token(tenant=tenant, scopes=SCOPES, secret=DEMO_SECRET)
        headers = {"Authorization": f"Bearer {token}"}
        say("==> waiting for the services to apply them")
        deadline = time.monotonic() + 30
        sessions: list[Any] = []
        stays: list[Any] = []
        while time.monotonic() < deadline:
            sessions = (
                httpx.get(
                    f"{suite.url('attendance')}/v1/group-sessions",
                    params={"from": "2000-01-01", "to": "2100-01-01"},
                    headers=headers,
                    timeout=5,
                )
                .json()
                .get("items", [])
            )
            stays = (
                httpx.get(f"{suite.url('stays')}/v1/stays", headers=headers, timeout=5)
                .json()
                .get("items", [])
            )
            marked = any(s["attendance"].get("LATE") for s in sessions)
            if marked and stays:  # the check-in mark applied too
                break
            time.sleep(0.5)
        time.sleep(1.0)  # let the outbox relays and downstream projections settle
        say("==> what the APIs show")
        for s in sessions:
            say(
                f"    group session {s['session_id']} on {s['session_date']} "
                f"{s['start_time']}-{s['end_time']} roster={s['roster_size']} "
                f"status={s['status']} attendance={s['attendance']}"
            )
        for s in stays:
            say(
                f"    stay {s['stay_id']} member {s['member_id']} admitted "
                f"{s['admission']['admit_date']} status={s['status']} "
                f"LOS={s['length_of_stay_days']}d"
            )
        say("==> rows stored per service schema")
        say(f"    {'schema':<12} {'table':<28} rows")
        for schema, table, n in asyncio.run(stored_counts(database_url)):
            say(f"    {schema:<12} {table:<28} {n}")
        dead = asyncio.run(dead_letter_counts(amqp_url, topology))
        say("==> dead-letter queues: " + ", ".join(f"{k}={v}" for k, v in dead.items()))
        ok = bool(sessions) and bool(stays) and not any(dead.values())
        if args.keep_running:
            say("==> running; Ctrl-C stops")
            while True:
                time.sleep(3600)
        return 0 if ok else 1
    except KeyboardInterrupt:
        return 0
    finally:
        say("==> stopping (graceful)")
        codes = suite.stop()
        say("    exit codes: " + ", ".join(f"{k}={v}" for k, v in codes.items()))
        asyncio.run(delete_broker_names(amqp_url, topology))


if __name__ == "__main__":
    sys.exit(main())
