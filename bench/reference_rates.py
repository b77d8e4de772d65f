"""Reference rates of the machine the benchmark runs on, measured in the same run so the
suite's figures can be read as ratios to what its building blocks do bare:

- the broker: raw FastStream publish + consume of 1 KB persistent messages on a quorum
  queue (publisher confirms on, 8 unacked deliveries per consumer as the services use);
- the database: asyncpg ``COPY`` of 300-byte rows into a plain table;
- the validator: pyx12 on one 837I file (claims per second), the same check the gateway
  runs on every file before it leaves; ``generated_837i`` renders that file with the
  gateway's own renderer from the run's claim messages, so it holds as many claims as
  asked (a file the sandbox received holds what one batch window gathered).

    uv run --frozen python bench/reference_rates.py [--messages 5000] [--rows 100000] [--x12 FILE]

``bench/month_end.py`` calls these with its own database, broker prefix and a file the
run produced."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
from faststream.rabbit import Channel, QueueType, RabbitBroker, RabbitQueue

from common.testing import isolation
from common.testing.clearinghouse import SANDBOX_CLEARINGHOUSE
from common.testing.x12 import parse_interchange, pyx12_errors
from contracts.events.claims import ClaimSubmitted
from contracts.tenant import TenantConfig
from edi_gateway.domain.envelope import (
    ControlNumbers,
    KeyedClaim,
    render_interchange,
    transaction_sets_needed,
)
from edi_gateway.domain.institutional import InstitutionalClaimRenderer
from edi_gateway.domain.model import UsageIndicator
from edi_gateway.domain.x12 import Delimiters
from edi_gateway.service_layer.batching import interchange_request

MESSAGE_BYTES = 1024
ROW_BYTES = 300
COPY_BATCH = 10_000
IN_FLIGHT = 200  # publishes awaiting their confirm at once
PREFETCH = 8  # the services' default (common.settings.ServiceSettings.prefetch)


@dataclass(frozen=True)
class Rate:
    what: str
    count: int
    seconds: float
    unit: str

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("inf")

    def line(self) -> str:
        return (
            f"{self.what:<44} {self.count:>8,} {self.unit} in {self.seconds:7.2f} s "
            f"= {self.per_second:>10,.0f} {self.unit}/s"
        )


async def broker_rate(amqp_url: str, queue_name: str, messages: int) -> Rate:
    """Publish ``messages`` 1 KB persistent messages to a quorum queue and consume them all
    with one FastStream subscriber; seconds from the first publish to the last delivery
    handled (and acknowledged). The queue is deleted at the end."""
    broker = RabbitBroker(amqp_url, logger=None)
    queue = RabbitQueue(queue_name, queue_type=QueueType.QUORUM, durable=True)
    received = 0
    done = asyncio.Event()

    @broker.subscriber(queue, channel=Channel(prefetch_count=PREFETCH))
    async def consume(body: bytes) -> None:
        nonlocal received
        received += 1
        if received >= messages:
            done.set()

    payload = b"x" * MESSAGE_BYTES
    await broker.start()
    try:
        started = time.perf_counter()
        for first in range(0, messages, IN_FLIGHT):
            await asyncio.gather(
                *(
                    broker.publish(payload, queue=queue, persist=True)
                    for _ in range(first, min(first + IN_FLIGHT, messages))
                )
            )
        await asyncio.wait_for(done.wait(), timeout=600)
        seconds = time.perf_counter() - started
    finally:
        await broker.stop()
        await delete_queue(amqp_url, queue_name)
    return Rate("FastStream 1 KB persistent, quorum queue", messages, seconds, "msg")


async def delete_queue(amqp_url: str, name: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)


async def copy_rate(database_url: str, rows: int) -> Rate:
    """COPY ``rows`` rows of 300 bytes (a bigint and a 292-character text) into a fresh
    table, 10,000 rows per COPY; the table is dropped at the end."""
    conn = await asyncpg.connect(isolation.asyncpg_dsn(database_url))
    table = "bench_copy_reference"
    try:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, payload text NOT NULL)")
        filler = "y" * (ROW_BYTES - 8)
        started = time.perf_counter()
        for first in range(0, rows, COPY_BATCH):
            records = [(n, filler) for n in range(first, min(first + COPY_BATCH, rows))]
            await conn.copy_records_to_table(table, records=records, columns=["id", "payload"])
        seconds = time.perf_counter() - started
        await conn.execute(f"DROP TABLE {table}")
    finally:
        await conn.close()
    return Rate("asyncpg COPY, 300-byte rows", rows, seconds, "row")


def pyx12_rate(path: Path) -> Rate:
    """pyx12 on one file, as the gateway runs it (every error collected); claims/s."""
    claims = len(parse_interchange(path.read_text()).segments("CLM"))
    started = time.perf_counter()
    errors = pyx12_errors(path)
    seconds = time.perf_counter() - started
    kind = "837I" if "005010X223A2" in path.read_text()[:2000] else "837"
    note = "" if not errors else f" ({len(errors)} errors)"
    return Rate(f"pyx12, one {kind} file of {claims} claims{note}", claims, seconds, "claim")


def generated_837i(
    tenant: TenantConfig, messages: Sequence[Mapping[str, Any]], count: int, path: Path
) -> Path:
    """One 837I interchange to the sandbox clearinghouse of ``count`` claims, rendered as
    the gateway renders: the claims of ``messages`` (``claims.claim.submitted.v1`` data)
    in turn, each copy under a patient control number of its own (P + 9 digits)."""
    claims = []
    for n in range(1, count + 1):
        message = dict(messages[(n - 1) % len(messages)])
        message["claim_id"] = f"clm-bench-{n}"
        message["patient_control_number"] = f"P{n:09d}"
        claims.append(KeyedClaim(key=n, claim=ClaimSubmitted.model_validate(message)))
    request = interchange_request(
        tenant,
        tenant.clearinghouse(SANDBOX_CLEARINGHOUSE),
        UsageIndicator.TEST,
        datetime.now(UTC),
        Delimiters(),
    )
    sets = transaction_sets_needed(len(claims))
    numbers = ControlNumbers(
        interchange=900_000_001, group=1, transaction_sets=tuple(range(1, sets + 1))
    )
    rendered = render_interchange(request, numbers, InstitutionalClaimRenderer(), claims)
    path.write_text(rendered.text)
    return path


async def _main(messages: int, rows: int, x12: Path | None) -> None:
    admin_url, amqp_url = isolation.default_database_url(), isolation.default_amqp_url()
    run = isolation.run_id()
    database = f"rcm_bench_{run}"
    await isolation.create_database(admin_url, database)
    try:
        rates = [
            await broker_rate(amqp_url, f"b{run}.reference", messages),
            await copy_rate(isolation.with_database(admin_url, database), rows),
        ]
        if x12 is not None:
            rates.append(pyx12_rate(x12))
    finally:
        await isolation.drop_database(admin_url, database)
    for rate in rates:
        print(rate.line())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--x12", type=Path, default=None, help="an 837 file for pyx12")
    args = parser.parse_args()
    asyncio.run(_main(args.messages, args.rows, args.x12))


if __name__ == "__main__":
    main()
