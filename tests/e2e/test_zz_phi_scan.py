"""SPEC 10, no PHI in logs or file names, over the whole end-to-end session: every line
each service logged and the name of every file the gateway wrote or the clearinghouse
sandbox received or answered with, scanned for every member name, birth date and
subscriber id the scenarios used. The module's name makes it the session's last, so the
logs it reads are complete.

What the scenarios used: each scenario's members are copies of the golden member sample
(its demographics), and the 837 files sent carry every subscriber's name, birth date and
member id, so those are read from the files themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.testing.clearinghouse import SandboxProcess
from common.testing.phi import ScenarioPhi, scan_phi, sent_837s
from common.testing.processes import Suite
from common.testing.scenarios import sample

pytestmark = pytest.mark.e2e


def test_no_member_name_birth_date_or_subscriber_id_in_any_log_or_file_name(
    suite: Suite, sandbox: SandboxProcess, edi_root: Path
) -> None:
    sent = sent_837s(edi_root, sandbox.root)
    phi = ScenarioPhi.from_member_events([sample("ehr.member.upserted.v1")]) | (
        ScenarioPhi.from_837(sent)
    )
    hits = scan_phi(phi, log_folders=[suite.log_dir], named_folders=[edi_root, sandbox.root])
    logs = sorted(suite.log_dir.glob("*.log"))
    lines = sum(len(p.read_text(errors="replace").splitlines()) for p in logs)
    names = sum(1 for f in (edi_root, sandbox.root) for p in f.rglob("*") if p.is_file())
    print(
        f"\nPHI scan: {len(phi.names)} names, {len(phi.birth_dates)} birth dates, "
        f"{len(phi.subscriber_ids)} subscriber ids (from {len(sent)} 837 files) over "
        f"{lines} log lines of {len(logs)} services and {names} file names: {len(hits)} hits"
    )
    assert phi.names and phi.birth_dates and phi.subscriber_ids
    assert len(logs) == len(suite.processes)
    assert [str(h) for h in hits] == []
