"""The five services as real processes on this run's database and broker names."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from common.testing.processes import Suite
from common.testing.tokens import TEST_JWT_SECRET
from contracts.topology import Topology

SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "samples"


@pytest.fixture(scope="session")
def suite(
    rcm_database_url: str, rcm_amqp_url: str, rcm_topology: Topology, tmp_path_factory: Any
) -> Iterator[Suite]:
    running = Suite(
        database_url=rcm_database_url,
        amqp_url=rcm_amqp_url,
        topology_prefix=rcm_topology.prefix,
        jwt_secret=TEST_JWT_SECRET,
        log_dir=tmp_path_factory.mktemp("suite-logs"),
    )
    running.migrate()
    try:
        running.start()
        yield running
    finally:
        codes = running.stop()
        running.exit_codes = codes  # type: ignore[attr-defined]


def sample(event_type: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SAMPLES / f"{event_type}.json").read_text())
    return document


async def publish(amqp_url: str, topology: Topology, *documents: dict[str, Any]) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(topology.events_exchange)
        for document in documents:
            await exchange.publish(
                aio_pika.Message(
                    json.dumps(document).encode(),
                    content_type="application/cloudevents+json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=document.get("id"),
                ),
                routing_key=document["type"],
            )
