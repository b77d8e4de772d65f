"""rcm claims show and rcm feed replay against a mocked HTTP API (httpx.MockTransport); the
feed is published to the real RabbitMQ on names of this test's own."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
from typer.testing import CliRunner

from common.messaging import declare_topology
from common.testing import isolation
from common.testing.tokens import make_token
from contracts.topology import Topology
from rcm_cli.app import CliContext, app

runner = CliRunner()
X12 = (Path(__file__).parent / "fixtures" / "837p_group_session.x12").read_bytes()
EVENT_TYPE = "scheduling.group_session.scheduled.v1"

CLAIM = {
    "claim_id": "clm-1",
    "claim_version": 2,
    "patient_control_number": "PCN0001",
    "transaction_type": "837P",
    "status": "ACCEPTED",
    "member_id": "m-1",
    "payer_id": "payer-a",
    "period_from": "2025-03-03",
    "period_to": "2025-03-07",
    "total_charge": "300.00",
    "line_count": 2,
    "updated_at": "2025-03-10T10:00:00Z",
    "versions": [
        {"version": 1, "scrubbed_status": "DRAFT", "reason": "BUILT", "total_charge": "150.00"},
        {"version": 2, "scrubbed_status": "READY", "reason": "CHARGE_CHANGED",
         "total_charge": "300.00"},
    ],
    "issues": [{"code": "MISSING_DX", "severity": "warning", "message": "x", "line_number": 2}],
    "transmissions": [{"claim_version": 2, "interchange_control_number": "000000007",
                       "file_name": "f.x12", "transmitted_at": "2025-03-10T09:00:00Z"}],
    "acknowledgments": [{"claim_version": 2, "stage": "277CA", "outcome": "ACCEPTED",
                         "codes": ["A1:20"], "effect": "APPLIED", "message": None}],
}  # fmt: skip


def _claims_api(request: httpx.Request) -> httpx.Response:
    assert request.headers["Authorization"] == "Bearer tok"
    path = request.url.path
    if request.url.host == "claims" and path == "/v1/claims/clm-1":
        return httpx.Response(200, json=CLAIM)
    if request.url.host == "claims" and path == "/v1/claims/clm-1/edi":
        return httpx.Response(200, json={"claim_id": "clm-1"})
    if request.url.host == "gateway" and path == "/v1/claims/clm-1/transmissions":
        return httpx.Response(200, json={"items": [{"file_id": "file-7", "file_name": "f.x12"}]})
    if request.url.host == "gateway" and path == "/v1/files/file-7":
        return httpx.Response(200, content=X12)
    return httpx.Response(404, json={"code": "CLAIM_NOT_FOUND", "title": "No such claim"})


def _show(*args: str) -> Any:
    return runner.invoke(
        app,
        ["claims", "show", *args, "--claims-url", "http://claims", "--gateway-url",
         "http://gateway", "--token", "tok"],
        obj=CliContext(transport=httpx.MockTransport(_claims_api)),
    )  # fmt: skip


def test_claims_show_prints_status_versions_issues_and_acknowledgments() -> None:
    result = _show("clm-1")
    assert result.exit_code == 0, result.output
    assert "claim clm-1 v2 ACCEPTED 837P PCN PCN0001" in result.output
    assert "v2 READY CHARGE_CHANGED" in result.output
    assert "warning MISSING_DX line 2: x" in result.output
    assert "v2 277CA ACCEPTED A1:20 (APPLIED)" in result.output


def test_claims_show_edi_prints_the_837_the_gateway_serves() -> None:
    result = _show("clm-1", "--edi")
    assert result.exit_code == 0, result.output
    assert X12.decode().strip() in result.stdout


def test_an_unknown_claim_exits_1_with_the_problem_code() -> None:
    result = _show("clm-404")
    assert result.exit_code == 1
    assert "CLAIM_NOT_FOUND" in result.output


def test_claims_show_needs_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RCM_TOKEN", raising=False)
    result = runner.invoke(app, ["claims", "show", "clm-1"])
    assert result.exit_code == 2


# --------------------------------------------------------------------------- feed replay


@pytest.fixture
def topology(rcm_amqp_url: str) -> Iterator[Topology]:
    topology = Topology(prefix=f"t{uuid.uuid4().hex[:10]}.")

    async def declare() -> None:
        async with await aio_pika.connect(rcm_amqp_url) as connection:
            await declare_topology(await connection.channel(), topology, "attendance", [EVENT_TYPE])

    asyncio.run(declare())
    try:
        yield topology
    finally:
        asyncio.run(isolation.delete_broker_names(rcm_amqp_url, topology, ["attendance"]))


class SuiteAfterTheFeed:
    """Before the feed: one old claim and interchange. After: a new claim SUBMITTED and
    transmitted, and a new interchange with its file."""

    def __init__(self) -> None:
        self.polls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, host = request.url.path, request.url.host
        old_claim = {**CLAIM, "claim_id": "old", "status": "DRAFT"}
        old_file = {"interchange_id": "ic-old", "status": "SENT", "file_id": "file-old"}
        if host == "claims" and path == "/v1/claims":
            self.polls += 1
            if self.polls == 1:
                return httpx.Response(200, json={"items": [old_claim]})
            new = {**CLAIM, "claim_id": "clm-1", "status": "SUBMITTED"}
            return httpx.Response(200, json={"items": [old_claim, new]})
        if host == "gateway" and path == "/v1/interchanges":
            new_file = {
                "interchange_id": "ic-1", "status": "SENT", "file_id": "file-7",
                "file_name": "demo_837P_000000007.x12", "transaction_type": "837P",
                "file_sha256": hashlib.sha256(X12).hexdigest(), "claim_count": 1,
            }  # fmt: skip
            items = [old_file] if self.polls <= 1 else [new_file, old_file]
            return httpx.Response(200, json={"items": items})
        if host == "gateway" and path == "/v1/files/file-7":
            return httpx.Response(200, content=X12)
        return httpx.Response(404, json={"code": "NOT_FOUND"})


def test_feed_replay_publishes_waits_and_writes_the_837s_and_summary(
    rcm_amqp_url: str, topology: Topology, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        "".join(
            json.dumps(
                {"specversion": "1.0", "id": f"evt-{n}", "source": "ehr/test", "type": EVENT_TYPE,
                 "time": "2025-03-03T09:00:00Z", "tenantid": "tenant-a", "data": {"n": n}}
            ) + "\n"
            for n in (1, 2, 3)
        )
    )  # fmt: skip
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["feed", "replay", str(feed), "--out", str(out), "--amqp-url", rcm_amqp_url,
         "--prefix", topology.prefix, "--claims-url", "http://claims", "--gateway-url",
         "http://gateway", "--token", make_token(tenant="tenant-a", scopes=["billing.claim.read"]),
         "--idle-seconds", "0.3", "--timeout", "20", "--poll-seconds", "0.1"],
        obj=CliContext(transport=httpx.MockTransport(SuiteAfterTheFeed())),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["events_published"] == 3
    assert summary["idle"] is True
    assert summary["claims_by_status"] == {"SUBMITTED": 1}
    (interchange,) = summary["interchanges"]
    assert interchange["file_name"] == "demo_837P_000000007.x12"
    assert interchange["sha256"] == hashlib.sha256(X12).hexdigest()
    assert interchange["sha256_matches"] is True
    assert interchange["pyx12_errors"] == []
    assert (out / "demo_837P_000000007.x12").read_bytes() == X12

    async def queued() -> int:
        async with await aio_pika.connect(rcm_amqp_url) as connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(topology.service_queue("attendance"), passive=True)
            return queue.declaration_result.message_count or 0

    assert asyncio.run(queued()) == 3


def test_feed_replay_needs_a_token_for_each_tenant_of_the_feed(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        json.dumps({"id": "e1", "source": "s", "type": EVENT_TYPE, "time": "2025-03-03T09:00:00Z",
                    "tenantid": "tenant-b", "data": {}}) + "\n"
    )  # fmt: skip
    result = runner.invoke(
        app,
        ["feed", "replay", str(feed), "--out", str(tmp_path / "o"),
         "--token", make_token(tenant="tenant-a", scopes=[])],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "tenant-b" in result.output
