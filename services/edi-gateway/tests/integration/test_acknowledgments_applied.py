"""Acknowledgments in (issue #5), against the real database and broker: claims go out to
the local-dev clearinghouse's folder, acknowledgment files come back into its
acknowledgment folder (or by hand through the API), and each claim hears what became of
it, once."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aio_pika.abc import AbstractChannel
from prometheus_client import REGISTRY
from sqlalchemy import text

from common.runtime import ServiceRuntime
from common.testing.messages import bearer, eventually, publish_event
from contracts.topology import Topology
from edi_gateway.adapters.acknowledgment_reader import Pyx12AcknowledgmentReader
from edi_gateway.bootstrap import build_runtime
from edi_gateway.domain.acknowledgments import AcknowledgmentUnreadable, ParsedAcknowledgment
from edi_gateway.service_layer.acknowledgments import AcknowledgmentPoller
from edi_gateway.settings import GatewaySettings

from ..acknowledgment_files import ClaimResult, SetResult, ack_277ca, ack_999, ta1
from ..claim_samples import TENANT, claim_data, submitted_event
from ..outbound import headers, transmissions_when_sent

ACKS = Path("var/clearinghouse/acknowledgments")
WRITE = "billing.claim.write"
READ = "billing.claim.read"


@pytest.fixture(scope="module")
def local_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("edi-ack-root")


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
        edi_batch_poll_seconds=0.3,
        edi_ack_poll_seconds=0.3,
    )


async def send_claims(
    count: int,
    channel: AbstractChannel,
    topology: Topology,
    client: httpx.AsyncClient,
    token: Callable[..., str],
) -> list[dict[str, Any]]:
    """``count`` claims in one batch, once their interchange is SENT: each with its place."""
    claims = [claim_data(pcn=f"PA{uuid.uuid4().hex[:10].upper()}{n}") for n in range(count)]
    for claim in claims:
        await publish_event(channel, topology, submitted_event(claim))
    for claim in claims:
        (claim["placed"],) = await transmissions_when_sent(client, token, claim["claim_id"])
    return claims


def drop(local_root: Path, name: str, content: str) -> None:
    folder = local_root / ACKS
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f".{name}.part").write_text(content)
    (folder / f".{name}.part").rename(folder / name)


async def events_about(
    runtime: ServiceRuntime, claim_ids: set[str], count: int | None = None
) -> list[dict[str, Any]]:
    schema = runtime.settings.db_schema
    """The acknowledgment events in the gateway's outbox about these claims, in order."""

    async def probe() -> list[dict[str, Any]] | None:
        async with runtime.sessionmaker() as session:
            rows = (
                await session.execute(
                    text(
                        f'SELECT payload FROM "{schema}".outbox WHERE event_type IN '
                        "('edi.claim.accepted.v1', 'edi.claim.rejected.v1') ORDER BY id"
                    )
                )
            ).scalars()
            found = [r for r in rows if r["data"]["claim_id"] in claim_ids]
        return found if count is None or len(found) >= count else None

    return await eventually(probe, 20)


async def claim_view(
    client: httpx.AsyncClient, token: Callable[..., str], claim_id: str
) -> dict[str, Any]:
    response = await client.get(f"/v1/claims/{claim_id}/acknowledgments", headers=headers(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def writer(token: Callable[..., str], tenant: str = TENANT) -> dict[str, str]:
    return bearer(token(tenant=tenant, scopes=[READ, WRITE])) | {
        "Content-Type": "application/edi-x12"
    }


async def test_a_277ca_rejecting_one_claim_and_accepting_the_others(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
    local_root: Path,
) -> None:
    claims = await send_claims(3, channel, topology, client, token)
    first, second, third = claims
    file = ack_277ca(
        [
            ClaimResult(
                first["patient_control_number"], lines=((f"{first['claim_id']}-1", "A2:20"),)
            ),
            ClaimResult(second["patient_control_number"], "A7:21:77", message="PATIENT ID INVALID"),
            ClaimResult(third["patient_control_number"], "A2:20:PR"),
        ],
        isa13=700000001,
    )
    drop(local_root, "277ca-1.x12", file)
    ids = {c["claim_id"] for c in claims}
    events = await events_about(runtime, ids, 3)
    by_claim = {e["data"]["claim_id"]: e for e in events}
    assert by_claim[second["claim_id"]]["type"] == "edi.claim.rejected.v1"
    rejected = by_claim[second["claim_id"]]["data"]
    assert rejected["stage"] == "277CA" and rejected["codes"] == ["A7:21:77"]
    assert rejected["message"] == "PATIENT ID INVALID" and rejected["party"] == "PAYER"
    accepted = by_claim[first["claim_id"]]
    assert accepted["type"] == "edi.claim.accepted.v1"
    assert accepted["data"]["payer_claim_control_number"] == "PAYERCLM1"
    assert accepted["data"]["lines"] == [
        {
            "line_control_number": f"{first['claim_id']}-1",
            "accepted": True,
            "codes": ["A2:20"],
            "message": None,
        }
    ]
    assert by_claim[third["claim_id"]]["type"] == "edi.claim.accepted.v1"
    # The file is moved to processed/ after its events are published: wait for the move.
    processed = local_root / ACKS / "processed" / "277ca-1.x12"

    async def moved() -> bool | None:
        return True if processed.exists() else None

    assert await eventually(moved)

    # The same file again: applied once, no second event.
    drop(local_root, "277ca-1-again.x12", file)
    await eventually(lambda: _exists(local_root / ACKS / "processed" / "277ca-1-again.x12"), 20)
    assert len(await events_about(runtime, ids)) == 3
    listed = await client.get("/v1/acknowledgments?kind=277CA", headers=headers(token))
    sha = hashlib.sha256(file.encode()).hexdigest()
    assert [a["sha256"] for a in listed.json()["items"]].count(sha) == 1

    # Two more 277CAs for the third claim: a payer rejection, then a clearinghouse A1.
    drop(
        local_root,
        "277ca-2.x12",
        ack_277ca([ClaimResult(third["patient_control_number"], "A8:562:PR")], isa13=700000002),
    )
    await events_about(runtime, ids, 4)
    drop(
        local_root,
        "277ca-3.x12",
        ack_277ca(
            [ClaimResult(third["patient_control_number"], "A1:19:AY")], party="AY", isa13=700000003
        ),
    )
    await eventually(lambda: _exists(local_root / ACKS / "processed" / "277ca-3.x12"), 20)
    view = await claim_view(client, token, third["claim_id"])
    (standing,) = view["transmissions"]
    assert standing["ack_status"] == "REJECTED"
    assert [s["codes"] for s in view["statuses"]] == [["A2:20:PR"], ["A8:562:PR"], ["A1:19:AY"]]
    assert len(await events_about(runtime, ids)) == 4  # the late A1 tells no one


async def test_an_acceptance_after_a_rejection_leaves_the_claim_rejected_either_order(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
    local_root: Path,
) -> None:
    (claim,) = await send_claims(1, channel, topology, client, token)
    pcn = claim["patient_control_number"]
    for number, (status, party) in enumerate((("A1:19:AY", "AY"), ("A7:21:PR", "PR"))):
        response = await client.post(
            "/v1/acknowledgments?clearinghouse_id=local-dev&reason=resent+by+support",
            content=ack_277ca([ClaimResult(pcn, status)], party=party, isa13=710000001 + number),
            headers=writer(token),
        )
        assert response.status_code == 201, response.text
    view = await claim_view(client, token, claim["claim_id"])
    assert view["transmissions"][0]["ack_status"] == "REJECTED"
    assert view["transmissions"][0]["claim_ack_status"] == "REJECTED"


async def test_a_999_rejecting_a_set_rejects_its_claims_only(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
    local_root: Path,
) -> None:
    rejected_batch = await send_claims(2, channel, topology, client, token)
    other_batch = await send_claims(1, channel, topology, client, token)
    placed = rejected_batch[0]["placed"]
    drop(
        local_root,
        "999-1.x12",
        ack_999(placed["gs06"], [SetResult(placed["st02"], "R", ("IK3*CLM*23**8",))]),
    )
    ids = {c["claim_id"] for c in rejected_batch + other_batch}
    events = await events_about(runtime, ids, 2)
    assert {e["data"]["claim_id"] for e in events} == {c["claim_id"] for c in rejected_batch}
    assert {e["data"]["stage"] for e in events} == {"999"}
    assert "IK304:8@CLM" in events[0]["data"]["codes"]
    view = await claim_view(client, token, other_batch[0]["claim_id"])
    assert view["transmissions"] == []  # nothing was said about the other interchange


async def test_a_ta1_rejection_uploaded_by_hand_rejects_the_whole_interchange(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
) -> None:
    claims = await send_claims(2, channel, topology, client, token)
    isa13 = claims[0]["placed"]["isa13"]
    file = ta1(isa13, "R", "025", isa13=720000001)
    response = await client.post(
        "/v1/acknowledgments?clearinghouse_id=local-dev&reason=portal+download",
        content=file,
        headers=writer(token),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    (item,) = body["items"]
    assert item["match_status"] == "MATCHED" and item["outcome"] == "REJECTED"
    assert {c["claim_id"] for c in item["claims"]} == {c["claim_id"] for c in claims}
    events = await events_about(runtime, {c["claim_id"] for c in claims}, 2)
    assert {e["data"]["stage"] for e in events} == {"TA1"}
    assert all("TA105:025" in e["data"]["codes"] for e in events)

    again = await client.post(
        "/v1/acknowledgments?clearinghouse_id=local-dev&reason=again",
        content=file,
        headers=writer(token),
    )
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["acknowledgment_id"] == body["acknowledgment_id"]
    assert len(await events_about(runtime, {c["claim_id"] for c in claims})) == 2
    async with runtime.sessionmaker() as session:
        audit = (
            await session.execute(
                text(
                    "SELECT subject, reason, duplicate, sha256 FROM "
                    f'"{runtime.settings.db_schema}".manual_acknowledgment_audit '
                    "WHERE acknowledgment_id = :id ORDER BY id"
                ),
                {"id": body["acknowledgment_id"]},
            )
        ).all()
    assert [(a.reason, a.duplicate) for a in audit] == [("portal download", False), ("again", True)]
    assert audit[0].sha256 == body["sha256"]


async def test_an_unreadable_upload_is_refused_but_archived(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    content = b"this is not X12 " + uuid.uuid4().hex.encode()
    response = await client.post(
        "/v1/acknowledgments?clearinghouse_id=local-dev&reason=test",
        content=content,
        headers=writer(token),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "ACKNOWLEDGMENT_UNREADABLE"
    download = await client.get(f"/v1/files/{response.json()['file_id']}", headers=headers(token))
    assert download.status_code == 200 and download.content == content


async def test_an_upload_needs_a_reason_and_the_write_scope(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    no_reason = await client.post(
        "/v1/acknowledgments?clearinghouse_id=local-dev", content=ta1(1), headers=writer(token)
    )
    assert no_reason.json()["code"] == "REASON_REQUIRED"
    read_only = await client.post(
        "/v1/acknowledgments?clearinghouse_id=local-dev&reason=x",
        content=ta1(1),
        headers=headers(token) | {"Content-Type": "application/edi-x12"},
    )
    assert read_only.status_code == 403


async def test_an_unmatched_277ca_is_kept_and_listed(
    client: httpx.AsyncClient, token: Callable[..., str], local_root: Path
) -> None:
    pcn = f"NOSUCH{uuid.uuid4().hex[:8].upper()}"
    drop(local_root, "277ca-unknown.x12", ack_277ca([ClaimResult(pcn)], isa13=730000001))

    async def listed() -> list[dict[str, Any]] | None:
        response = await client.get("/v1/acknowledgments/unmatched", headers=headers(token))
        items = [i for i in response.json()["items"] if i["patient_control_number"] == pcn]
        return items or None

    (item,) = await eventually(listed, 20)
    assert item["item_kind"] == "277CA_CLAIM" and item["claims"] == []
    detail = await client.get(
        f"/v1/acknowledgments/{item['acknowledgment_id']}", headers=headers(token)
    )
    assert detail.json()["status"] == "UNMATCHED"


async def test_the_archive_lists_files_both_ways_with_hashes_and_serves_them(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    for direction in ("INBOUND", "OUTBOUND"):
        response = await client.get(f"/v1/files?direction={direction}", headers=headers(token))
        files = response.json()["items"]
        assert files and {f["direction"] for f in files} == {direction}
        download = await client.get(files[0]["download"], headers=headers(token))
        assert hashlib.sha256(download.content).hexdigest() == files[0]["sha256"]
        assert len(download.content) == files[0]["size_bytes"]


async def test_another_tenant_sees_no_acknowledgment_and_no_file(
    client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    mine = (await client.get("/v1/acknowledgments", headers=headers(token))).json()["items"]
    files = (await client.get("/v1/files", headers=headers(token))).json()["items"]
    other = headers(token, tenant="tenant-b")
    assert (await client.get("/v1/acknowledgments", headers=other)).json()["items"] == []
    assert (await client.get("/v1/files", headers=other)).json()["items"] == []
    assert (await client.get("/v1/acknowledgments/unmatched", headers=other)).json()["items"] == []
    detail = await client.get(f"/v1/acknowledgments/{mine[0]['acknowledgment_id']}", headers=other)
    assert detail.status_code == 404 and detail.json()["code"] == "ACKNOWLEDGMENT_NOT_FOUND"
    download = await client.get(f"/v1/files/{files[0]['file_id']}", headers=other)
    assert download.status_code == 404


async def test_a_late_acceptance_after_a_rejection_is_shown_but_tells_no_one(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
) -> None:
    (claim,) = await send_claims(1, channel, topology, client, token)
    pcn = claim["patient_control_number"]
    bodies = []
    for number, (status, party) in enumerate((("A7:21:PR", "PR"), ("A1:19:AY", "AY"))):
        response = await client.post(
            "/v1/acknowledgments?clearinghouse_id=local-dev&reason=resent+by+support",
            content=ack_277ca([ClaimResult(pcn, status)], party=party, isa13=750000001 + number),
            headers=writer(token),
        )
        assert response.status_code == 201, response.text
        bodies.append(response.json())
    (rejection,), (acceptance,) = (b["items"] for b in bodies)
    assert (rejection["outcome"], rejection["effect"]) == ("REJECTED", "ANNOUNCED")
    assert acceptance["match_status"] == "MATCHED"
    assert (acceptance["outcome"], acceptance["effect"]) == ("ACCEPTED", "REJECTION_STANDS")
    detail = await client.get(
        f"/v1/acknowledgments/{bodies[1]['acknowledgment_id']}", headers=headers(token)
    )
    assert detail.json()["items"][0]["effect"] == "REJECTION_STANDS"
    events = await events_about(runtime, {claim["claim_id"]})
    assert [e["type"] for e in events] == ["edi.claim.rejected.v1"]


async def test_the_transmissions_view_shows_each_stage_and_the_overall_status(
    channel: AbstractChannel,
    topology: Topology,
    client: httpx.AsyncClient,
    token: Callable[..., str],
) -> None:
    (claim,) = await send_claims(1, channel, topology, client, token)
    url = f"/v1/claims/{claim['claim_id']}/transmissions"
    (before,) = (await client.get(url, headers=headers(token))).json()["items"]
    assert before["acknowledgment"] is None
    for file in (
        ta1(claim["placed"]["isa13"], "A", "000", isa13=760000001),
        ack_277ca([ClaimResult(claim["patient_control_number"], "A7:21:77")], isa13=760000002),
    ):
        response = await client.post(
            "/v1/acknowledgments?clearinghouse_id=local-dev&reason=portal",
            content=file,
            headers=writer(token),
        )
        assert response.status_code == 201, response.text
    (after,) = (await client.get(url, headers=headers(token))).json()["items"]
    standing = after["acknowledgment"]
    assert standing["ta1_status"] == "A" and standing["ack_999_status"] is None
    assert standing["claim_ack_status"] == "REJECTED"
    assert standing["claim_ack_codes"] == ["A7:21:77"]
    assert standing["ack_status"] == "REJECTED"


async def test_a_999_accepting_a_set_shows_on_each_of_its_claims(
    channel: AbstractChannel,
    topology: Topology,
    client: httpx.AsyncClient,
    token: Callable[..., str],
) -> None:
    claims = await send_claims(2, channel, topology, client, token)
    placed = claims[0]["placed"]
    response = await client.post(
        "/v1/acknowledgments?clearinghouse_id=local-dev&reason=portal",
        content=ack_999(placed["gs06"], [SetResult(placed["st02"], "A")], isa13=770000001),
        headers=writer(token),
    )
    assert response.status_code == 201, response.text
    for claim in claims:
        url = f"/v1/claims/{claim['claim_id']}/transmissions"
        (after,) = (await client.get(url, headers=headers(token))).json()["items"]
        standing = after["acknowledgment"]
        assert standing["ack_999_status"] == "A", standing
        assert standing["ack_status"] is None  # a 999 accepts the set; the 277CA decides


async def test_both_claim_views_are_documented(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "/v1/claims/{claim_id}/transmissions" in spec["paths"]
    assert "/v1/claims/{claim_id}/acknowledgments" in spec["paths"]
    schemas = spec["components"]["schemas"]
    assert "acknowledgment" in schemas["TransmissionOut"]["properties"]
    assert {"ta1_status", "ack_999_status", "claim_ack_status", "ack_status"} <= set(
        schemas["AcknowledgmentStandingOut"]["properties"]
    )
    assert "effect" in schemas["AcknowledgmentItemOut"]["properties"]


class CountingReader:
    def __init__(self) -> None:
        self.reads = 0
        self._inner = Pyx12AcknowledgmentReader()

    def read(self, content: bytes) -> ParsedAcknowledgment:
        self.reads += 1
        return self._inner.read(content)


async def test_a_277ca_heard_before_its_claim_was_sent_matches_once_it_is(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
) -> None:
    claim = claim_data(pcn=f"EARLY{uuid.uuid4().hex[:10].upper()}")
    response = await client.post(
        "/v1/acknowledgments?clearinghouse_id=local-dev&reason=early+277CA",
        content=ack_277ca([ClaimResult(claim["patient_control_number"])], isa13=770000001),
        headers=writer(token),
    )
    assert response.status_code == 201, response.text
    acknowledgment_id = response.json()["acknowledgment_id"]
    assert response.json()["items"][0]["match_status"] == "UNMATCHED"

    await publish_event(channel, topology, submitted_event(claim))
    await transmissions_when_sent(client, token, claim["claim_id"])

    async def matched() -> dict[str, Any] | None:
        detail = await client.get(
            f"/v1/acknowledgments/{acknowledgment_id}", headers=headers(token)
        )
        (item,) = detail.json()["items"]
        return item if item["match_status"] == "MATCHED" else None

    item = await eventually(matched, 20)  # the running poller retried it
    assert item["effect"] == "ANNOUNCED"
    assert [c["claim_id"] for c in item["claims"]] == [claim["claim_id"]]
    (event,) = await events_about(runtime, {claim["claim_id"]}, 1)
    assert event["type"] == "edi.claim.accepted.v1"

    # Tried again, it is matched now: nothing new is told.
    poller = AcknowledgmentPoller(
        unit_of_work=runtime.unit_of_work,
        tenants=runtime.tenants,
        sources={},
        reader=CountingReader(),
    )

    async def retried() -> bool | None:
        # False while the running poller holds the lock: try again, as a replica would.
        return True if await poller.retry_unmatched() else None

    await eventually(retried, 20)
    assert len(await events_about(runtime, {claim["claim_id"]})) == 1


async def test_unmatched_items_are_read_again_only_after_an_interchange_moved(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
) -> None:
    response = await client.post(
        "/v1/acknowledgments?clearinghouse_id=local-dev&reason=never+sent",
        content=ack_277ca([ClaimResult(f"NEVER{uuid.uuid4().hex[:8].upper()}")], isa13=780000001),
        headers=writer(token),
    )
    assert response.json()["status"] == "UNMATCHED"
    reader = CountingReader()
    poller = AcknowledgmentPoller(
        unit_of_work=runtime.unit_of_work, tenants=runtime.tenants, sources={}, reader=reader
    )
    await poller.tick()
    await poller.tick()  # finishes what another replica's lock may have held up
    first = reader.reads
    assert first >= 1
    await poller.tick()
    assert reader.reads == first  # nothing was recorded or sent: nothing can match now
    await send_claims(1, channel, topology, client, token)

    async def read_again() -> bool | None:
        # A tick the running poller's lock held up tries again, as a replica would.
        await poller.tick()
        return True if reader.reads >= first + 1 else None

    await eventually(read_again, 20)


class RefusingReader:
    def __init__(self, code: str) -> None:
        self.code = code

    def read(self, content: bytes) -> ParsedAcknowledgment:
        raise AcknowledgmentUnreadable(self.code, "refused by the test")


async def test_two_runtimes_in_one_process_upload_with_their_own_reader(
    settings: GatewaySettings, token: Callable[..., str]
) -> None:
    codes = []
    for code in ("READ_BY_FIRST", "READ_BY_SECOND"):
        built = build_runtime(settings, acknowledgment_reader=RefusingReader(code))
        codes.append((built, code))
    try:
        for built, code in codes:
            transport = httpx.ASGITransport(app=built.create_app())
            async with httpx.AsyncClient(transport=transport, base_url="http://edi") as one:
                response = await one.post(
                    "/v1/acknowledgments?clearinghouse_id=local-dev&reason=test",
                    content=ta1(1, isa13=790000001) + uuid.uuid4().hex,
                    headers=writer(token),
                )
            assert response.status_code == 422
            assert response.json()["reason_code"] == code
    finally:
        for built, _ in codes:
            await built.engine.dispose()


async def _exists(path: Path) -> bool | None:
    return True if path.exists() else None


async def test_metrics_count_files_sent_control_numbers_and_acknowledgments(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
    local_root: Path,
) -> None:
    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    files = sample("rcm_edi_files_sent_total", transaction_type="837P")
    interchanges = sample("rcm_edi_control_numbers_allocated_total", kind="ISA")
    acknowledgments = sample("rcm_edi_acknowledgments_total", kind="277CA", result="APPLIED")
    accepted = sample(
        "rcm_edi_acknowledgment_items_total", item_kind="277CA_CLAIM", outcome="ACCEPTED"
    )
    (claim,) = await send_claims(1, channel, topology, client, token)
    drop(
        local_root,
        "277ca-metrics.x12",
        ack_277ca([ClaimResult(claim["patient_control_number"], "A2:20")], isa13=700000091),
    )
    await events_about(runtime, {claim["claim_id"]}, 1)

    assert sample("rcm_edi_files_sent_total", transaction_type="837P") == files + 1
    assert sample("rcm_edi_control_numbers_allocated_total", kind="ISA") == interchanges + 1
    assert (
        sample("rcm_edi_acknowledgments_total", kind="277CA", result="APPLIED")
        == acknowledgments + 1
    )
    assert (
        sample("rcm_edi_acknowledgment_items_total", item_kind="277CA_CLAIM", outcome="ACCEPTED")
        == accepted + 1
    )
    text = (await client.get("/metrics")).text
    assert 'rcm_edi_files_sent_total{transaction_type="837P"}' in text
    assert 'rcm_edi_control_numbers_allocated_total{kind="ST"}' in text
    assert (
        'rcm_messages_consumed_total{event_type="claims.claim.submitted.v1",'
        'outcome="applied",service="edi-gateway"}' in text
    )


async def test_the_file_and_the_acknowledgment_continue_each_claims_trace(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
    local_root: Path,
) -> None:
    """The batcher and the acknowledgment poller run outside any consumer span; the
    transmitted and accepted events still carry the trace the claim came with (issue #8:
    scheduling event -> charge -> claim -> file -> acknowledgment is one trace)."""
    traces = {}
    claims = [claim_data(pcn=f"PT{uuid.uuid4().hex[:10].upper()}{n}") for n in range(2)]
    for claim in claims:
        trace_id = uuid.uuid4().hex
        traces[claim["claim_id"]] = trace_id
        event = submitted_event(claim).model_copy(
            update={"traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"}
        )
        await publish_event(channel, topology, event)
    for claim in claims:
        await transmissions_when_sent(client, token, claim["claim_id"])
    drop(
        local_root,
        "277ca-traced.x12",
        ack_277ca(
            [ClaimResult(c["patient_control_number"], "A2:20") for c in claims], isa13=700000090
        ),
    )
    await events_about(runtime, set(traces), 2)
    schema = runtime.settings.db_schema
    async with runtime.sessionmaker() as session:
        rows = (
            await session.execute(
                text(
                    f'SELECT event_type, payload FROM "{schema}".outbox WHERE event_type IN '
                    "('edi.claim.transmitted.v1', 'edi.claim.accepted.v1')"
                )
            )
        ).all()
    seen = {
        (r[0], r[1]["data"]["claim_id"]): r[1]["traceparent"].split("-")[1]
        for r in rows
        if r[1]["data"]["claim_id"] in traces
    }
    assert seen == {
        (kind, claim_id): trace_id
        for claim_id, trace_id in traces.items()
        for kind in ("edi.claim.transmitted.v1", "edi.claim.accepted.v1")
    }
