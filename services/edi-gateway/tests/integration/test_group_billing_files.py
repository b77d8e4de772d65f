"""Submitted claims in, 837P files out (issue #3), against the real database and broker:
the demo tenant's local-dev clearinghouse (window 3 s) writes into a folder of the test's
own; pyx12 checks every file; outcomes come back as edi.claim.* events."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aio_pika.abc import AbstractChannel, AbstractQueue

from common.runtime import ServiceRuntime
from common.testing.messages import bearer, publish_event
from common.testing.x12 import pyx12_errors
from contracts.topology import Topology
from edi_gateway.settings import GatewaySettings

from ..claim_samples import TENANT, X12File, claim_data, submitted_event
from ..outbound import UPLOAD, headers, outbound_events, transmissions_when_sent


@pytest.fixture(scope="module")
def local_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("edi-local-root")


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


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def five_claims_sent(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
    edi_out: AbstractQueue,
) -> dict[str, Any]:
    """SPEC 12 vector 1: a session's five billable members, five $50.00 claims with
    HC:90853:HQ, submitted within one batch window."""
    claims = [claim_data(pcn=f"PV1{uuid.uuid4().hex[:8].upper()}{n}") for n in range(5)]
    for claim in claims:
        await publish_event(channel, topology, submitted_event(claim))
    placed = {
        c["claim_id"]: await transmissions_when_sent(client, token, c["claim_id"]) for c in claims
    }
    ids = {c["claim_id"] for c in claims}
    events = await outbound_events(
        edi_out,
        lambda e: e["type"] == "edi.claim.transmitted.v1" and e["data"]["claim_id"] in ids,
        5,
    )
    return {"claims": claims, "placed": placed, "events": events}


async def test_five_claims_in_one_window_make_one_file_pyx12_accepts(
    five_claims_sent: dict[str, Any], local_root: Path
) -> None:
    placed = five_claims_sent["placed"]
    assert all(len(items) == 1 for items in placed.values())
    assert len({items[0]["interchange_id"] for items in placed.values()}) == 1
    (file_name,) = {items[0]["file_name"] for items in placed.values()}
    isa13 = next(iter(placed.values()))[0]["isa13"]
    assert file_name == f"demo-bh_local-dev_837P_{isa13:09d}.x12"
    path = local_root / UPLOAD / file_name
    assert pyx12_errors(path) == []
    x12 = X12File.read(path)
    x12.assert_envelope_consistent()
    pcns = {c["patient_control_number"] for c in five_claims_sent["claims"]}
    clms = x12.all("CLM")
    assert {c[1] for c in clms} == pcns and len(clms) == 5
    assert {c[2] for c in clms} == {"50"}
    assert len([s for s in x12.segments if s[0] == "HL" and s[3] == "22"]) == 5
    assert {x12.element.join(s) for s in x12.all("SV1")} == {"SV1*HC:90853:HQ*50*UN*1***1:2"}
    assert x12.isa.split("*")[13] == f"{isa13:09d}"
    assert not [p for p in (local_root / UPLOAD).iterdir() if p.name.startswith(".")]


async def test_each_claim_is_told_where_it_went(five_claims_sent: dict[str, Any]) -> None:
    events = five_claims_sent["events"]
    placed = five_claims_sent["placed"]
    for event in events:
        data = event["data"]
        where = placed[data["claim_id"]][0]
        assert data["interchange_control_number"] == f"{where['isa13']:09d}"
        assert data["group_control_number"] == str(where["gs06"])
        assert data["transaction_set_control_number"] == f"{where['st02']:04d}"
        assert data["file_name"] == where["file_name"]
        assert data["file_sha256"] == where["file_sha256"]
        assert event["tenantid"] == TENANT


async def test_the_interchange_shows_its_claims_status_and_file(
    five_claims_sent: dict[str, Any], client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    where = next(iter(five_claims_sent["placed"].values()))[0]
    response = await client.get(
        f"/v1/interchanges/{where['interchange_id']}", headers=headers(token)
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "SENT" and body["claim_count"] == 5
    assert body["file_name"] == where["file_name"] and body["sent_at"]
    assert body["file_sha256"] == where["file_sha256"] and body["file_size_bytes"] > 1000
    assert body["transaction_set_control_numbers"] == [where["st02"]]
    assert {c["claim_id"] for c in body["claims"]} == set(five_claims_sent["placed"])
    listed = await client.get("/v1/interchanges", params={"status": "SENT"}, headers=headers(token))
    assert where["interchange_id"] in [i["interchange_id"] for i in listed.json()["items"]]


async def test_the_download_serves_the_archived_bytes_with_their_hash(
    five_claims_sent: dict[str, Any],
    client: httpx.AsyncClient,
    token: Callable[..., str],
    local_root: Path,
) -> None:
    where = next(iter(five_claims_sent["placed"].values()))[0]
    on_disk = (local_root / UPLOAD / where["file_name"]).read_bytes()
    response = await client.get(f"/v1/files/{where['file_id']}", headers=headers(token))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/edi-x12"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="{where["file_name"]}"'
    )
    assert response.content == on_disk
    assert hashlib.sha256(response.content).hexdigest() == where["file_sha256"]
    assert response.headers["x-content-sha256"] == where["file_sha256"]


async def test_a_claim_the_validator_refuses_goes_back_and_the_rest_goes(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
    edi_out: AbstractQueue,
    local_root: Path,
) -> None:
    # 40 characters: a valid name for our contract (up to 60), too long for NM104 (35).
    long_name = "MAXIMILIANA" + "X" * 29
    good = [claim_data(), claim_data()]
    too_long = claim_data(first_name=long_name)
    with_delimiter = claim_data(last_name="O*BRIEN")
    for claim in [good[0], too_long, with_delimiter, good[1]]:
        await publish_event(channel, topology, submitted_event(claim))
    refused_ids = {too_long["claim_id"], with_delimiter["claim_id"]}
    rejected = await outbound_events(
        edi_out,
        lambda e: e["type"] == "edi.claim.rejected.v1" and e["data"]["claim_id"] in refused_ids,
        2,
    )
    by_claim = {e["data"]["claim_id"]: e["data"] for e in rejected}
    validator_said = by_claim[too_long["claim_id"]]
    assert validator_said["stage"] == "PRE_SEND_VALIDATION"
    assert validator_said["codes"] == ["2010BA/NM104:5"]
    assert "NM104 (Subscriber First Name): too long" in validator_said["message"]
    assert long_name not in json.dumps(rejected)
    assert by_claim[with_delimiter["claim_id"]]["codes"] == ["X12_RESERVED_CHARACTER"]
    assert "BRIEN" not in by_claim[with_delimiter["claim_id"]]["message"]

    sent = [await transmissions_when_sent(client, token, c["claim_id"]) for c in good]
    (interchange_id,) = {items[0]["interchange_id"] for items in sent}
    path = local_root / UPLOAD / sent[0][0]["file_name"]
    assert pyx12_errors(path) == []
    assert {c[1] for c in X12File.read(path).all("CLM")} == {
        c["patient_control_number"] for c in good
    }
    # The refused file's numbers stay spent: the file that went has the next ones.
    listed = (await client.get("/v1/interchanges", headers=headers(token))).json()["items"]
    discarded = [i for i in listed if i["status"] == "DISCARDED"]
    went = next(i for i in listed if i["interchange_id"] == interchange_id)
    assert discarded and discarded[0]["claim_count"] == 3
    assert discarded[0]["validation_issues"] == [
        "2010BA/NM104:5 NM104 (Subscriber First Name): too long"
    ]
    assert went["isa13"] == discarded[0]["isa13"] + 1 and went["claim_count"] == 2
    history = await client.get(
        f"/v1/claims/{too_long['claim_id']}/transmissions", headers=headers(token)
    )
    assert history.json()["items"] == []
    assert history.json()["submissions"][0]["status"] == "REJECTED"


async def test_a_duplicate_claim_message_is_held_and_sent_once(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
    local_root: Path,
) -> None:
    claim = claim_data()
    event = submitted_event(claim)
    await publish_event(channel, topology, event)
    await publish_event(channel, topology, event)  # redelivered: same event id
    await publish_event(channel, topology, submitted_event(claim))  # same version, new id
    items = await transmissions_when_sent(client, token, claim["claim_id"])
    assert len(items) == 1
    body = (
        await client.get(f"/v1/claims/{claim['claim_id']}/transmissions", headers=headers(token))
    ).json()
    assert [s["claim_version"] for s in body["submissions"]] == [1]
    x12 = X12File.read(local_root / UPLOAD / items[0]["file_name"])
    assert [c[1] for c in x12.all("CLM")].count(claim["patient_control_number"]) == 1


async def test_a_claim_for_a_clearinghouse_the_tenant_lacks_goes_back_at_once(
    runtime: ServiceRuntime,
    channel: AbstractChannel,
    topology: Topology,
    edi_out: AbstractQueue,
) -> None:
    claim = claim_data(clearinghouse_id="nowhere")
    await publish_event(channel, topology, submitted_event(claim))
    (event,) = await outbound_events(
        edi_out,
        lambda e: (
            e["type"] == "edi.claim.rejected.v1" and e["data"]["claim_id"] == claim["claim_id"]
        ),
        1,
    )
    assert event["data"]["codes"] == ["CLEARINGHOUSE_NOT_CONFIGURED"]


async def test_without_a_token_the_file_is_401_and_without_the_scope_403(
    five_claims_sent: dict[str, Any], client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    where = next(iter(five_claims_sent["placed"].values()))[0]
    assert (await client.get(f"/v1/files/{where['file_id']}")).status_code == 401
    wrong_scope = bearer(token(tenant=TENANT, scopes=["claims.read"]))
    for path in (
        f"/v1/files/{where['file_id']}",
        f"/v1/interchanges/{where['interchange_id']}",
        f"/v1/claims/{where['claim_id']}/transmissions",
    ):
        response = await client.get(path, headers=wrong_scope)
        assert response.status_code == 403, path


async def test_another_tenant_finds_nothing_of_this_one(
    five_claims_sent: dict[str, Any], client: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    where = next(iter(five_claims_sent["placed"].values()))[0]
    other = headers(token, tenant="tenant-b")
    for path, code in (
        (f"/v1/files/{where['file_id']}", "FILE_NOT_FOUND"),
        (f"/v1/interchanges/{where['interchange_id']}", "INTERCHANGE_NOT_FOUND"),
        (f"/v1/claims/{where['claim_id']}/transmissions", "CLAIM_NOT_FOUND"),
    ):
        response = await client.get(path, headers=other)
        assert response.status_code == 404, path
        assert response.json()["code"] == code
    listed = await client.get("/v1/interchanges", headers=other)
    assert where["interchange_id"] not in [i["interchange_id"] for i in listed.json()["items"]]
