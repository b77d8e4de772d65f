"""rcm dead-letters list / replay against the real RabbitMQ, on names of this test's own."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import pytest
from typer.testing import CliRunner

from common.messaging import declare_topology
from common.testing import isolation
from contracts import topology as names
from contracts.topology import Topology
from rcm_cli.app import app

runner = CliRunner()
SERVICE = "claims"
EVENT_TYPE = "edi.claim.accepted.v1"


@pytest.fixture
def topology(rcm_amqp_url: str) -> Iterator[Topology]:
    topology = Topology(prefix=f"t{uuid.uuid4().hex[:10]}.")
    asyncio.run(_declare(rcm_amqp_url, topology))
    try:
        yield topology
    finally:
        asyncio.run(isolation.delete_broker_names(rcm_amqp_url, topology, [SERVICE]))


async def _declare(amqp_url: str, topology: Topology) -> None:
    async with await aio_pika.connect(amqp_url) as connection:
        await declare_topology(await connection.channel(), topology, SERVICE, [EVENT_TYPE])


async def _dead_letter(amqp_url: str, topology: Topology, event_id: str) -> None:
    """What the consumer writes on a permanent failure (common.messaging._dead_letter)."""
    body = json.dumps(
        {"id": event_id, "type": EVENT_TYPE, "tenantid": "tenant-a", "data": {"pcn": "SECRET"}}
    ).encode()
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel()
        dlx = await channel.get_exchange(topology.dead_letter_exchange)
        await dlx.publish(
            aio_pika.Message(
                body,
                message_id=event_id,
                headers={
                    names.HEADER_ERROR_CODE: "CLAIM_NOT_FOUND",
                    names.HEADER_ERROR_REASON: "no claim for the acknowledgment",
                    names.HEADER_ORIGINAL_ROUTING_KEY: EVENT_TYPE,
                    names.HEADER_SERVICE: SERVICE,
                    names.HEADER_ATTEMPTS: 1,
                    names.HEADER_TENANT: "tenant-a",
                },
            ),
            routing_key=topology.service_queue(SERVICE),
        )


async def _counts(amqp_url: str, topology: Topology) -> tuple[int, int]:
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel()
        dlq = await channel.declare_queue(topology.dead_letter_queue(SERVICE), passive=True)
        queue = await channel.declare_queue(topology.service_queue(SERVICE), passive=True)
        return (
            dlq.declaration_result.message_count or 0,
            queue.declaration_result.message_count or 0,
        )


def _broker_options(amqp_url: str, topology: Topology) -> list[str]:
    return ["--amqp-url", amqp_url, "--prefix", topology.prefix]


def test_list_shows_type_id_tenant_code_and_reason_and_leaves_the_letters(
    rcm_amqp_url: str, topology: Topology
) -> None:
    asyncio.run(_dead_letter(rcm_amqp_url, topology, "evt-1"))
    asyncio.run(_dead_letter(rcm_amqp_url, topology, "evt-2"))
    result = runner.invoke(
        app,
        ["dead-letters", "list", "--service", SERVICE, *_broker_options(rcm_amqp_url, topology)],
    )
    assert result.exit_code == 1  # dead letters found
    lines = [line for line in result.stdout.splitlines() if line.startswith(SERVICE)]
    assert lines == [
        f"claims\t{EVENT_TYPE}\tevt-{n}\ttenant-a\tCLAIM_NOT_FOUND\tno claim for the acknowledgment"
        for n in (1, 2)
    ]
    assert "SECRET" not in result.output
    assert asyncio.run(_counts(rcm_amqp_url, topology)) == (2, 0)


def test_an_empty_dead_letter_queue_lists_nothing_and_exits_0(
    rcm_amqp_url: str, topology: Topology
) -> None:
    result = runner.invoke(
        app,
        ["dead-letters", "list", "--service", SERVICE, *_broker_options(rcm_amqp_url, topology)],
    )
    assert result.exit_code == 0, result.output


def test_replay_republishes_removes_the_letter_and_writes_the_audit_line(
    rcm_amqp_url: str, topology: Topology, tmp_path: Path
) -> None:
    asyncio.run(_dead_letter(rcm_amqp_url, topology, "evt-1"))
    asyncio.run(_dead_letter(rcm_amqp_url, topology, "evt-2"))
    audit = tmp_path / "audit" / "rcm-audit.jsonl"
    result = runner.invoke(
        app,
        [
            "dead-letters", "replay", "--service", SERVICE, "--id", "evt-2",
            "--reason", "claim loaded after the fix", "--actor", "ops-ana",
            "--audit-log", str(audit), *_broker_options(rcm_amqp_url, topology),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # evt-2 went back to the service's queue through the events exchange; evt-1 stayed.
    assert asyncio.run(_counts(rcm_amqp_url, topology)) == (1, 1)
    (written,) = audit.read_text().splitlines()
    record = json.loads(written)
    assert record["id"] == "evt-2"
    assert record["actor"] == "ops-ana"
    assert record["reason"] == "claim loaded after the fix"
    assert record["routing_key"] == EVENT_TYPE
    assert record["error_code"] == "CLAIM_NOT_FOUND"
    assert record["at"]
    assert written in result.stdout


def test_replay_all_empties_the_dead_letter_queue(
    rcm_amqp_url: str, topology: Topology, tmp_path: Path
) -> None:
    asyncio.run(_dead_letter(rcm_amqp_url, topology, "evt-1"))
    asyncio.run(_dead_letter(rcm_amqp_url, topology, "evt-2"))
    audit = tmp_path / "audit.jsonl"
    result = runner.invoke(
        app,
        [
            "dead-letters", "replay", "--service", SERVICE, "--all", "--reason", "fixed",
            "--audit-log", str(audit), *_broker_options(rcm_amqp_url, topology),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert asyncio.run(_counts(rcm_amqp_url, topology)) == (0, 2)
    assert len(audit.read_text().splitlines()) == 2


def test_replay_of_an_unknown_id_fails_and_changes_nothing(
    rcm_amqp_url: str, topology: Topology, tmp_path: Path
) -> None:
    asyncio.run(_dead_letter(rcm_amqp_url, topology, "evt-1"))
    result = runner.invoke(
        app,
        [
            "dead-letters", "replay", "--service", SERVICE, "--id", "evt-9", "--reason", "x",
            "--audit-log", str(tmp_path / "a.jsonl"), *_broker_options(rcm_amqp_url, topology),
        ],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "evt-9" in result.output
    assert asyncio.run(_counts(rcm_amqp_url, topology)) == (1, 0)


def test_replay_needs_an_id_or_all(tmp_path: Path) -> None:
    result = runner.invoke(app, ["dead-letters", "replay", "--service", SERVICE, "--reason", "x"])
    assert result.exit_code == 2
