"""The demo feed against a running suite (docker-compose's ``demo`` profile).

Feeds a group therapy session through the scheduling feed and marks it through the
attendance API as a supervisor would (SPEC 12 vector 1), tells a residential stay through
the EHR feed (SPEC 12 vector 2), waits until every claim is ACCEPTED or REJECTED by the
clearinghouse, and prints the claims. Run as ``rcm-run demo-feed --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aio_pika
import httpx

from common.testing.messages import publish_raw
from common.testing.scenarios import LeaveOfAbsence, eventually, run_group_session, run_stay
from common.testing.tokens import make_token
from contracts.topology import Topology

MARKS = ["ATTENDED", "ATTENDED", "ATTENDED", "ATTENDED", "LATE", "LEFT_EARLY", "ABSENT"]
PAYERS = ["acme-commercial", "il-medicaid"]
FINAL = {"ACCEPTED", "REJECTED"}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="demo-feed", description=__doc__)
    p.add_argument("--amqp-url", required=True)
    p.add_argument("--topology-prefix", default="")
    p.add_argument("--attendance-url", required=True)
    p.add_argument("--claims-url", required=True)
    p.add_argument("--jwt-secret-file", type=Path, required=True)
    p.add_argument("--tenant", default="demo-bh")
    p.add_argument("--timeout-seconds", type=float, default=300)
    return p


async def feed(args: argparse.Namespace) -> int:
    secret = args.jwt_secret_file.read_text().strip()
    topology = Topology(prefix=args.topology_prefix)
    run_id = uuid.uuid4().hex[:6]

    def bearer(scopes: Sequence[str]) -> dict[str, str]:
        token = make_token(tenant=args.tenant, scopes=scopes, secret=secret, subject="demo")
        return {"Authorization": f"Bearer {token}"}

    connection = await aio_pika.connect_robust(args.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)

        async def publish(*documents: dict[str, Any]) -> None:
            for d in documents:
                body = json.dumps(d).encode()
                await publish_raw(channel, topology, body, d["type"], message_id=d["id"])
                print(f"published {d['type']:<48} id={d['id']}", flush=True)

        print(f"==> group session gs-{run_id}: {', '.join(MARKS)}", flush=True)
        session = await run_group_session(
            attendance_url=args.attendance_url,
            claims_url=args.claims_url,
            publish=publish,
            bearer=bearer,
            tenant=args.tenant,
            run=run_id,
            day=datetime.now(ZoneInfo("America/Chicago")).date() + timedelta(days=1),
            marks=MARKS,
            payers=PAYERS,
            within_seconds=args.timeout_seconds,
        )
        print(f"==> residential stay stay-{run_id}: 2026-01-10..02-03, a leave", flush=True)
        await run_stay(
            claims_url=args.claims_url,
            publish=publish,
            bearer=bearer,
            tenant=args.tenant,
            run=run_id,
            program_id="residential",
            admitted=date(2026, 1, 10),
            admit_hour=14,
            leaves=[LeaveOfAbsence("loa-1", date(2026, 1, 20), date(2026, 1, 23))],
            discharged=date(2026, 2, 3),
            discharge_status="01",
            expected_claims=2,
            within_seconds=args.timeout_seconds,
        )

    reader = bearer(["billing.claim.read"])
    queries = ({"session_id": session.session_id}, {"stay_id": f"stay-{run_id}"})
    async with httpx.AsyncClient(base_url=args.claims_url, timeout=10) as api:

        async def acknowledged() -> list[dict[str, Any]] | None:
            claims: list[dict[str, Any]] = []
            for params in queries:
                response = await api.get("/v1/claims", params=params, headers=reader)
                response.raise_for_status()
                claims += response.json()["items"]
            return claims if claims and all(c["status"] in FINAL for c in claims) else None

        print("==> waiting for the clearinghouse's 999 and 277CA", flush=True)
        claims = await eventually(acknowledged, args.timeout_seconds)
    for c in claims:
        print(
            f"{c['patient_control_number']:<12} {c['transaction_type']}  "
            f"{c['period_from']}..{c['period_to']}  ${c['total_charge']:>8}  {c['status']}"
        )
    return 0 if all(c["status"] == "ACCEPTED" for c in claims) else 1


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(feed(parser().parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
