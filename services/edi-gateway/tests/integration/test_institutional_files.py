"""Submitted 837I claims in, 837I files out (issue #4), through the real consumer, batcher
and local-folder transport against the real database and broker: SPEC 12 vector 2's two
cycle claims, an 837P and an 837I in one window, and a claim pyx12 refuses among good
ones. pyx12 checks every file; the reader takes its delimiters from the ISA."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aio_pika.abc import AbstractChannel, AbstractQueue

from common.runtime import ServiceRuntime
from common.testing.messages import publish_event
from common.testing.x12 import Interchange, parse_interchange, pyx12_errors
from contracts.topology import Topology
from edi_gateway.settings import GatewaySettings

from ..claim_samples import claim_data, submitted_event, vector2_claim
from ..outbound import UPLOAD, headers, outbound_events, transmissions_when_sent


@pytest.fixture(scope="module")
def local_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("edi-837i-root")


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


def read(local_root: Path, file_name: str) -> tuple[Path, Interchange]:
    path = local_root / UPLOAD / file_name
    return path, parse_interchange(path.read_text(encoding="ascii"))


def text_of(x12: Interchange, segment_id: str) -> list[str]:
    return [x12.element_separator.join(s) for s in x12.segments(segment_id)]


def claim_block(x12: Interchange, pcn: str) -> list[str]:
    """The claim ``pcn``'s segments, its CLM up to the next HL or SE, as text."""
    segments = x12.segments_list
    start = next(i for i, s in enumerate(segments) if s[0] == "CLM" and s[1] == pcn)
    end = next(i for i in range(start + 1, len(segments)) if segments[i][0] in ("HL", "SE"))
    return [x12.element_separator.join(s) for s in segments[start:end]]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def vector2_sent(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
    edi_out: AbstractQueue,
) -> dict[str, Any]:
    """SPEC 12 vector 2: the stay's January and February cycle claims, one window."""
    claims = [vector2_claim("january"), vector2_claim("february")]
    for claim in claims:
        await publish_event(channel, topology, submitted_event(claim))
    placed = {
        c["claim_id"]: await transmissions_when_sent(client, token, c["claim_id"]) for c in claims
    }
    ids = {c["claim_id"] for c in claims}
    events = await outbound_events(
        edi_out,
        lambda e: e["type"] == "edi.claim.transmitted.v1" and e["data"]["claim_id"] in ids,
        2,
    )
    return {"claims": claims, "placed": placed, "events": events}


async def test_vector_2_goes_out_as_one_837i_file_pyx12_accepts_with_the_spec_segments(
    vector2_sent: dict[str, Any], local_root: Path
) -> None:
    january, february = vector2_sent["claims"]
    placed = vector2_sent["placed"]
    (where,) = {(i[0]["interchange_id"], i[0]["file_name"], i[0]["isa13"]) for i in placed.values()}
    _, file_name, isa13 = where
    assert file_name == f"demo-bh_local-dev_837I_{isa13:09d}.x12"
    path, x12 = read(local_root, file_name)
    assert pyx12_errors(path) == []
    (gs,) = x12.segments("GS")
    assert gs[1] == "HC" and gs[8] == "005010X223A2"
    assert [s[3] for s in x12.segments("ST")] == ["005010X223A2"]

    jan = claim_block(x12, january["patient_control_number"])
    assert jan[0].split("*")[2:6] == ["5700", "", "", "86:A:2"]
    for segment in (
        "DTP*434*RD8*20260110-20260131",
        "CL1*3*1*30",
        "HI*BI:74:RD8:20260120-20260122",
        "HI*BE:80:::19*BE:81:::3",
        "SV2*1001**5700*DA*19",
        "SV2*0183**0*DA*3",
    ):
        assert segment in jan, segment
    assert not [s for s in jan if s.startswith("DTP*096")]

    feb = claim_block(x12, february["patient_control_number"])
    assert feb[0].split("*")[2:6] == ["600", "", "", "86:A:4"]
    for segment in (
        "DTP*096*TM*1000",
        "DTP*434*RD8*20260201-20260203",
        "CL1*3*1*01",
        "HI*BE:80:::2*BE:81:::0",
        "SV2*1001**600*DA*2",
    ):
        assert segment in feb, segment
    assert not [s for s in feb if s.startswith(("HI*BI", "HI*BH"))]  # no span 74, no OC 42
    assert [s for s in feb if s.startswith("SV2")] == ["SV2*1001**600*DA*2"]


async def test_each_837i_claim_records_its_sv2_line_control_numbers(
    vector2_sent: dict[str, Any],
) -> None:
    for claim in vector2_sent["claims"]:
        (where,) = vector2_sent["placed"][claim["claim_id"]]
        lines = claim["institutional"]["service_lines"]
        assert where["line_control_numbers"] == [line["line_control_number"] for line in lines]
        assert where["patient_control_number"] == claim["patient_control_number"]
    assert {e["data"]["file_name"] for e in vector2_sent["events"]} == {
        where["file_name"] for (where,) in vector2_sent["placed"].values()
    }


async def test_an_837p_and_an_837i_in_one_window_go_in_separate_valid_files(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
    local_root: Path,
) -> None:
    professional = claim_data()
    institutional = vector2_claim("january")
    for claim in (professional, institutional):
        await publish_event(channel, topology, submitted_event(claim))
    (p,) = await transmissions_when_sent(client, token, professional["claim_id"])
    (i,) = await transmissions_when_sent(client, token, institutional["claim_id"])
    assert p["interchange_id"] != i["interchange_id"]
    assert "_837P_" in p["file_name"] and "_837I_" in i["file_name"]
    for where, version, pcn in (
        (p, "005010X222A1", professional["patient_control_number"]),
        (i, "005010X223A2", institutional["patient_control_number"]),
    ):
        path, x12 = read(local_root, where["file_name"])
        assert pyx12_errors(path) == []
        assert [s[8] for s in x12.segments("GS")] == [version]
        assert [s[1] for s in x12.segments("CLM")] == [pcn]


async def test_an_837i_claim_refused_before_sending_goes_back_and_its_batch_mates_go(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    channel: AbstractChannel,
    topology: Topology,
    token: Callable[..., str],
    edi_out: AbstractQueue,
    local_root: Path,
) -> None:
    good = [vector2_claim("january"), vector2_claim("february")]
    # 40 characters: the contract takes up to 60, the 837I's 2310A NM104 at most 35.
    long_name = "MAXIMILIANA" + "X" * 29
    refused_by_pyx12 = vector2_claim("february")
    refused_by_pyx12["institutional"]["attending_provider"]["first_name"] = long_name
    # A discharge hour on an interim claim: pyx12 has no rule for it, the gateway does.
    refused_by_renderer = vector2_claim("january", discharge_hour=9)
    for claim in (good[0], refused_by_pyx12, refused_by_renderer, good[1]):
        await publish_event(channel, topology, submitted_event(claim))
    refused_ids = {refused_by_pyx12["claim_id"], refused_by_renderer["claim_id"]}
    rejected = await outbound_events(
        edi_out,
        lambda e: e["type"] == "edi.claim.rejected.v1" and e["data"]["claim_id"] in refused_ids,
        2,
    )
    by_claim = {e["data"]["claim_id"]: e["data"] for e in rejected}
    said = by_claim[refused_by_pyx12["claim_id"]]
    assert said["stage"] == "PRE_SEND_VALIDATION"
    assert said["codes"] == ["2310A/NM104:5"]
    assert "NM104 (Attending Provider First Name): too long" in said["message"]
    assert long_name not in json.dumps(rejected)
    assert by_claim[refused_by_renderer["claim_id"]]["codes"] == ["DISCHARGE_HOUR_ON_INTERIM_CLAIM"]

    sent = [await transmissions_when_sent(client, token, c["claim_id"]) for c in good]
    (interchange_id,) = {items[0]["interchange_id"] for items in sent}
    path, x12 = read(local_root, sent[0][0]["file_name"])
    assert pyx12_errors(path) == []
    assert {s[1] for s in x12.segments("CLM")} == {c["patient_control_number"] for c in good}
    listed = (await client.get("/v1/interchanges", headers=headers(token))).json()["items"]
    discarded = [i for i in listed if i["status"] == "DISCARDED"]
    assert [(d["transaction_type"], d["claim_count"]) for d in discarded] == [("837I", 3)]
    assert discarded[0]["validation_issues"] == [
        "2310A/NM104:5 NM104 (Attending Provider First Name): too long"
    ]
    went = next(i for i in listed if i["interchange_id"] == interchange_id)
    assert went["isa13"] == discarded[0]["isa13"] + 1 and went["claim_count"] == 2
