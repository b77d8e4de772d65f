"""A submitted claim version asked back (claims.claim.withdrawal_requested.v1), through the
real broker and database: withdrawn while it waits for its batch (the demo tenant's
local-dev clearinghouse, window 3 s), or before it arrives; too late once it left. Every
request is answered with edi.claim.withdrawal_answered.v1."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aio_pika.abc import AbstractChannel, AbstractQueue
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.outbox import OUTBOX
from common.runtime import ServiceRuntime
from common.testing.messages import publish_event, wait_until_in_inbox
from contracts.topology import Topology
from edi_gateway.adapters.db.tables import CLAIM_SUBMISSION
from edi_gateway.settings import GatewaySettings

from ..claim_samples import (
    X12File,
    claim_data,
    submitted_event,
    withdrawal_requested_event,
)
from ..outbound import (
    UPLOAD,
    headers,
    outbound_events,
    submissions_when,
    transmissions_when_sent,
)

SERVICE = "edi-gateway"
ANSWERED = "edi.claim.withdrawal_answered.v1"
REJECTED = "edi.claim.rejected.v1"


@pytest.fixture(scope="module")
def local_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("edi-withdrawal-root")


@pytest.fixture(scope="module")
def settings(
    service_settings: Callable[..., GatewaySettings],
    schema: str,
    topology: Topology,
    local_root: Path,
) -> GatewaySettings:
    return service_settings(
        GatewaySettings,
        db_schema=schema,
        topology_prefix=topology.prefix,
        edi_local_root=local_root,
        edi_batch_poll_seconds=0.5,
    )


async def answer_to(edi_out: AbstractQueue, claim: dict[str, Any]) -> dict[str, Any]:
    """The gateway's answer about the claim, as it reached the broker."""
    (event,) = await outbound_events(
        edi_out,
        lambda e: e["type"] == ANSWERED and e["data"]["claim_id"] == claim["claim_id"],
        1,
    )
    return event


async def written(
    sessions: async_sessionmaker[AsyncSession], event_type: str, claim_id: str
) -> list[dict[str, Any]]:
    """The events of the type about the claim the gateway wrote to its outbox."""
    async with sessions() as session:
        payloads = (
            await session.execute(select(OUTBOX.c.payload).where(OUTBOX.c.event_type == event_type))
        ).scalars()
        return [p for p in payloads if p["subject"] == claim_id]


async def stored_row(sessions: async_sessionmaker[AsyncSession], claim_id: str) -> dict[str, Any]:
    async with sessions() as session:
        row = (
            (
                await session.execute(
                    select(CLAIM_SUBMISSION).where(CLAIM_SUBMISSION.c.claim_id == claim_id)
                )
            )
            .mappings()
            .one()
        )
        return dict(row)


async def test_a_pending_version_withdrawn_is_answered_withdrawn_and_never_sent(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
    edi_out: AbstractQueue,
    local_root: Path,
) -> None:
    claims = [claim_data(pcn=f"PW{uuid.uuid4().hex[:10].upper()}") for _ in range(3)]
    stale = claims[1]
    for claim in claims:
        await publish_event(channel, topology, submitted_event(claim))
    await submissions_when(client, token, stale["claim_id"], "PENDING")

    await publish_event(channel, topology, withdrawal_requested_event(stale))

    answer = (await answer_to(edi_out, stale))["data"]
    assert answer["outcome"] == "WITHDRAWN" and answer["submission_status"] == "WITHDRAWN"
    assert answer["claim_version"] == 1
    assert answer["patient_control_number"] == stale["patient_control_number"]
    # The window closes: the group's other two claims go, in one file without it.
    kept = [claims[0], claims[2]]
    sent = [await transmissions_when_sent(client, token, c["claim_id"]) for c in kept]
    (file_name,) = {items[0]["file_name"] for items in sent}
    clms = X12File.read(local_root / UPLOAD / file_name).all("CLM")
    assert sorted(c[1] for c in clms) == sorted(c["patient_control_number"] for c in kept)
    history = (
        await client.get(f"/v1/claims/{stale['claim_id']}/transmissions", headers=headers(token))
    ).json()
    assert history["items"] == []
    assert [s["status"] for s in history["submissions"]] == ["WITHDRAWN"]


async def test_a_request_before_its_submission_holds_the_version_withdrawn_unsent(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
    edi_out: AbstractQueue,
    sessions: async_sessionmaker[AsyncSession],
    local_root: Path,
) -> None:
    late, other = claim_data(), claim_data()
    await publish_event(channel, topology, withdrawal_requested_event(late))
    answer = (await answer_to(edi_out, late))["data"]
    assert (answer["outcome"], answer["submission_status"]) == ("WITHDRAWN", "WITHDRAWN")

    arrived = submitted_event(late)
    await publish_event(channel, topology, arrived)
    await publish_event(channel, topology, submitted_event(other))
    await wait_until_in_inbox(runtime, SERVICE, arrived)

    # The group's batch went (the other claim of the same window), without it.
    (placed,) = await transmissions_when_sent(client, token, other["claim_id"])
    clms = X12File.read(local_root / UPLOAD / placed["file_name"]).all("CLM")
    assert late["patient_control_number"] not in [c[1] for c in clms]
    history = (
        await client.get(f"/v1/claims/{late['claim_id']}/transmissions", headers=headers(token))
    ).json()
    assert history["items"] == []
    assert [(s["claim_version"], s["status"]) for s in history["submissions"]] == [(1, "WITHDRAWN")]
    assert await written(sessions, REJECTED, late["claim_id"]) == []


async def test_a_submission_refused_on_arrival_after_its_withdrawal_is_not_rejected(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
    edi_out: AbstractQueue,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Without the withdrawal, a clearinghouse the tenant lacks is rejected at once.
    late = claim_data(clearinghouse_id="nowhere")
    await publish_event(channel, topology, withdrawal_requested_event(late))
    assert (await answer_to(edi_out, late))["data"]["outcome"] == "WITHDRAWN"

    arrived = submitted_event(late)
    await publish_event(channel, topology, arrived)
    await wait_until_in_inbox(runtime, SERVICE, arrived)

    assert await written(sessions, REJECTED, late["claim_id"]) == []
    submissions = await submissions_when(client, token, late["claim_id"], "WITHDRAWN")
    assert [s["rejection_codes"] for s in submissions] == [[]]


async def test_a_transmitted_version_is_answered_too_late_and_stays_transmitted(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
    edi_out: AbstractQueue,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    claim = claim_data()
    await publish_event(channel, topology, submitted_event(claim))
    (placed,) = await transmissions_when_sent(client, token, claim["claim_id"])
    await submissions_when(client, token, claim["claim_id"], "TRANSMITTED")
    before = await stored_row(sessions, claim["claim_id"])

    request = withdrawal_requested_event(claim)
    await publish_event(channel, topology, request)

    answer = (await answer_to(edi_out, claim))["data"]
    assert (answer["outcome"], answer["submission_status"]) == ("TOO_LATE", "TRANSMITTED")
    await wait_until_in_inbox(runtime, SERVICE, request)
    after = await stored_row(sessions, claim["claim_id"])
    assert after == before
    assert after["interchange_id"] == placed["interchange_id"]


async def test_a_repeated_request_is_answered_alike_once_and_changes_nothing(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
    edi_out: AbstractQueue,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    claim = claim_data()
    await publish_event(channel, topology, submitted_event(claim))
    await submissions_when(client, token, claim["claim_id"], "PENDING")
    first = withdrawal_requested_event(claim)
    await publish_event(channel, topology, first)
    await wait_until_in_inbox(runtime, SERVICE, first)
    answered = await written(sessions, ANSWERED, claim["claim_id"])
    before = await stored_row(sessions, claim["claim_id"])

    again = withdrawal_requested_event(claim)  # the same request under a new event id
    await publish_event(channel, topology, again)
    await wait_until_in_inbox(runtime, SERVICE, again)  # applied, not failing and retried

    assert await written(sessions, ANSWERED, claim["claim_id"]) == answered
    assert [a["data"]["outcome"] for a in answered] == ["WITHDRAWN"]
    assert await stored_row(sessions, claim["claim_id"]) == before
    assert before["status"] == "WITHDRAWN"
