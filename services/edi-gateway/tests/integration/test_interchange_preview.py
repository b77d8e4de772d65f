"""The dry run of the 837 (issue #8): POST /v1/interchanges/preview renders claim documents
as the batcher would, runs pyx12, and answers with the text and the findings; it stores
nothing and takes no control number. Against the real database and broker: the same
claims, sent for real afterwards, go out in a file with the same claim segments."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aio_pika.abc import AbstractChannel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.testing.messages import bearer, eventually, publish_event
from contracts.topology import Topology
from edi_gateway.adapters.db.tables import (
    ARCHIVED_FILE,
    CLAIM_SUBMISSION,
    CONTROL_NUMBER_SEQUENCE,
    INTERCHANGE,
    TRANSMISSION,
)
from edi_gateway.settings import GatewaySettings

from ..claim_samples import TENANT, X12File, claim_data, submitted_event
from ..outbound import UPLOAD, transmissions_when_sent

READ = "billing.claim.read"
ENVELOPE = {"ISA", "GS", "ST", "BHT", "SE", "GE", "IEA"}


@pytest.fixture(scope="module")
def local_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("edi-preview-root")


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


async def preview(
    client: httpx.AsyncClient, token: Callable[..., str], claims: list[dict[str, Any]]
) -> httpx.Response:
    return await client.post(
        "/v1/interchanges/preview",
        json={"claims": claims},
        headers=bearer(token(tenant=TENANT, scopes=[READ])),
    )


async def row_counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    tables = (CONTROL_NUMBER_SEQUENCE, INTERCHANGE, CLAIM_SUBMISSION, TRANSMISSION, ARCHIVED_FILE)
    async with sessions() as session:
        return {
            table.name: int(
                (await session.execute(select(func.count()).select_from(table))).scalar_one()
            )
            for table in tables
        }


def claim_segments(x12: X12File) -> list[str]:
    """Every segment but the envelope's and the header's (numbers, dates and times)."""
    return [x12.element.join(s) for s in x12.segments if s[0] not in ENVELOPE]


async def test_the_preview_is_the_file_the_batcher_sends_and_spends_no_number(
    runtime: Any,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
    sessions: async_sessionmaker[AsyncSession],
    local_root: Path,
) -> None:
    claims = [claim_data(pcn=f"PRV{uuid.uuid4().hex[:8].upper()}{n}") for n in range(3)]
    before = await row_counts(sessions)

    response = await preview(client, token, claims)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["preview"] is True and body["refused"] == []
    (file,) = body["files"]
    assert file["valid"] is True and file["errors"] == []
    assert file["claim_ids"] == [c["claim_id"] for c in claims]
    assert file["transaction_type"] == "837P" and file["usage_indicator"] == "T"
    previewed = X12File.parse(file["text"])
    previewed.assert_envelope_consistent()
    assert previewed.isa.split(previewed.element)[13] == "999999999"
    assert previewed.one("GS")[6] == "999999999"
    assert [c[1] for c in previewed.all("CLM")] == [c["patient_control_number"] for c in claims]
    assert await row_counts(sessions) == before  # no number taken, nothing stored

    # One at a time: the batcher puts claims in a file in the order they reached it, and
    # a consumer with several deliveries in hand may store three at once in any order.
    stored_before = before[CLAIM_SUBMISSION.name]
    for n, claim in enumerate(claims, start=1):
        await publish_event(channel, topology, submitted_event(claim))

        async def stored(count: int = stored_before + n) -> bool | None:
            return (await row_counts(sessions))[CLAIM_SUBMISSION.name] >= count or None

        await eventually(stored)
    sent = [await transmissions_when_sent(client, token, c["claim_id"]) for c in claims]
    (file_name,) = {items[0]["file_name"] for items in sent}
    assert {items[0]["isa13"] for items in sent} == {1}  # the sequence's first number
    real = X12File.read(local_root / UPLOAD / file_name)
    assert real.all("CLM") == previewed.all("CLM")
    assert claim_segments(real) == claim_segments(previewed)


async def test_the_preview_reports_pyx12_errors_and_refusals_by_claim(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    # 40 characters: a valid name for our contract (up to 60), too long for NM104 (35).
    too_long = claim_data(first_name="MAXIMILIANA" + "X" * 29)
    good = claim_data()
    with_delimiter = claim_data(last_name="O*BRIEN")

    response = await preview(client, token, [good, too_long, with_delimiter])

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refused"] == [
        {
            "claim_id": with_delimiter["claim_id"],
            "code": "X12_RESERVED_CHARACTER",
            "message": body["refused"][0]["message"],
        }
    ]
    assert "BRIEN" not in body["refused"][0]["message"]
    (file,) = body["files"]
    assert file["claim_ids"] == [good["claim_id"], too_long["claim_id"]]
    assert file["valid"] is False
    assert [(e["code"], e["claim_id"]) for e in file["errors"]] == [
        ("2010BA/NM104:5", too_long["claim_id"])
    ]
    assert file["errors"][0]["description"] == "NM104 (Subscriber First Name): too long"


async def test_a_claim_for_a_clearinghouse_the_tenant_lacks_is_refused(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    claim = claim_data(clearinghouse_id="nowhere")

    body = (await preview(client, token, [claim])).json()

    assert body["files"] == []
    assert [(r["claim_id"], r["code"]) for r in body["refused"]] == [
        (claim["claim_id"], "CLEARINGHOUSE_NOT_CONFIGURED")
    ]


async def test_the_preview_needs_claim_documents_and_the_read_scope(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    refused = await client.post(
        "/v1/interchanges/preview",
        json={"claims": [claim_data()]},
        headers=bearer(token(tenant=TENANT, scopes=["clinical.group-session.read"])),
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "INSUFFICIENT_SCOPE"
    malformed = await preview(client, token, [{"claim_id": "clm-1"}])
    assert malformed.status_code == 422
