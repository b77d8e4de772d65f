"""SPEC 11's "replay a feed" with the operator CLI against the running suite: a file of
CloudEvents (JSON lines: a member, a facility, a stay with a leave and a discharge) goes
in with `rcm feed replay`; every 837 produced for it and a JSON summary come out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from common.testing.processes import Suite
from common.testing.scenarios import member_event, retarget, sample
from common.testing.x12 import parse_interchange, pyx12_errors
from contracts.topology import Topology

pytestmark = pytest.mark.e2e

TENANT = "demo-bh"


def stay_feed(run: str) -> list[dict[str, Any]]:
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    member = member_event(
        TENANT, member_id, f"{run}-m", payer_id="acme-commercial", diagnoses=["F332"]
    )
    member["data"]["program_enrollments"] = [
        {"program_id": "residential", "enrolled_from": "2026-03-02", "enrolled_to": None}
    ]
    facility = retarget(sample("ehr.facility.upserted.v1"), TENANT, f"{run}-fac")
    admitted = retarget(sample("ehr.stay.admitted.v1"), TENANT, f"{run}-adm")
    admitted["data"].update(stay_id=stay_id, member_id=member_id)
    admitted["data"]["admission"].update(
        admit_date="2026-03-02",
        drg=None,
        procedures=[],
        admitting_diagnosis=None,
        other_diagnoses=[],
    )
    left = retarget(sample("ehr.stay.leave_started.v1"), TENANT, f"{run}-loa")
    left["data"].update(
        stay_id=stay_id,
        leave_id="loa-1",
        start_date="2026-03-10",
        reason="THERAPEUTIC",
        expected_return_date=None,
        note=None,
    )
    back = retarget(sample("ehr.stay.leave_ended.v1"), TENANT, f"{run}-loa-e")
    back["data"].update(stay_id=stay_id, leave_id="loa-1", return_date="2026-03-12")
    discharged = retarget(sample("ehr.stay.discharged.v1"), TENANT, f"{run}-dis")
    discharged["data"].update(stay_id=stay_id, discharge_date="2026-03-20", patient_status="01")
    return [facility, member, admitted, left, back, discharged]


def test_a_feed_replayed_with_the_cli_writes_its_837s_and_a_summary(
    suite: Suite, e2e_topology: Topology, token: Callable[..., str], tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps(event) + "\n" for event in stay_feed(run)))
    out = tmp_path / "out"
    bearer = token(tenant=TENANT, scopes=["billing.claim.read"])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rcm_cli",
            "feed",
            "replay",
            str(feed),
            "--out",
            str(out),
            "--prefix",
            e2e_topology.prefix,
            "--claims-url",
            suite.url("claims"),
            "--gateway-url",
            suite.url("edi-gateway"),
            "--token",
            bearer,
            "--idle-seconds",
            "6",
            "--timeout",
            "180",
        ],
        env={**os.environ, "AMQP_URL": suite.amqp_url},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    summary = json.loads((out / "summary.json").read_text())
    assert summary["events_published"] == 6 and summary["idle"], summary
    assert summary["pyx12_error_count"] == 0
    # One stay in one month, discharged: one 837I cycle claim, transmitted.
    [claim] = summary["claims"]
    assert claim["transaction_type"] == "837I" and claim["status"] == "SUBMITTED", claim
    files = sorted(out.glob("*.x12"))
    assert [i["file_name"] for i in summary["interchanges"]] == [f.name for f in files]
    periods = []
    for path in files:
        assert pyx12_errors(path) == []
        segments = parse_interchange(path.read_text()).segments_list
        periods += [s[3] for s in segments if s[0] == "DTP" and s[1] == "434"]
    assert periods == ["20260302-20260320"]
