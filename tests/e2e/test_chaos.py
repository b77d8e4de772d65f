"""Issue #9's chaos suite, CI profile (SPEC 9): a few hundred inbound events of group
sessions and stays, each published twice and some out of order, 1,000 fuzzed malformed
messages mixed in, while each service is SIGKILLed and started again, the broker and the
database "restart" (through TCP proxies of ours: the real servers are shared) and the
clearinghouse sandbox is down for 20 s; first one fault at a time, then all at once.
Every service runs as two copies on the same database and broker, as a platform team
scales them, so the time-driven work races all along: the auto-close of these past
sessions (attendance), the day charges of the stays (charges), the close of their
cycles (claims) and the batch windows (gateway). The kills hit the first copy.

The scenario, the faults and the figures live in ``common.testing.chaos``; this runs them
through the same ``chaos_rig`` as ``bench/chaos.py --profile ci``, on a sandbox of its
own (the session's ``sandbox`` fixture is shared with other tests and their suite's
gateway, which polls the same acknowledgment folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from common.testing.chaos import PROFILES, chaos_rig, run_chaos
from common.testing.clearinghouse import SandboxProcess
from common.testing.phi import ScenarioPhi, scan_phi, sent_837s
from common.testing.pytest_plugin import Infrastructure
from common.testing.scenarios import sample

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(900)
async def test_faults_alone_then_together_with_two_of_each_service_lose_nothing_duplicate_nothing(
    rcm_infrastructure: Infrastructure, tmp_path_factory: Any
) -> None:
    profile = PROFILES["ci"]
    folder: Path = tmp_path_factory.mktemp("chaos")
    sandbox = SandboxProcess(folder=folder / "sandbox")
    sandbox.start()
    try:
        async with chaos_rig(
            admin_database_url=rcm_infrastructure.admin_database_url,
            amqp_url=rcm_infrastructure.amqp_url,
            sandbox=sandbox,
            work_dir=folder,
            replicas=2,
        ) as rig:
            figures = await run_chaos(rig, profile)
    finally:
        sandbox.stop()
    print(figures.table())
    # SPEC 10 over the chaos run's complete logs (both copies of every service, through
    # their kills and the outages) and every file name the gateway wrote or the sandbox
    # received or answered with: the members' names, birth dates and subscriber ids.
    sent = sent_837s(folder / "edi", sandbox.root)
    phi = ScenarioPhi.from_member_events([sample("ehr.member.upserted.v1")]) | (
        ScenarioPhi.from_837(sent)
    )
    logs = sorted((folder / "logs").rglob("*.log"))
    hits = scan_phi(
        phi, log_folders=[folder / "logs"], named_folders=[folder / "edi", sandbox.root]
    )
    print(f"PHI scan: {len(logs)} service logs, {len(sent)} 837 files: {len(hits)} hits")

    assert figures.copies == 2
    assert figures.charges_expected > 0 and figures.claims_expected > 0
    assert figures.kills == 10  # each service once alone, once together
    assert figures.failures() == [], figures.table()
    assert len(logs) == 10 and sent and phi.names and phi.birth_dates and phi.subscriber_ids
    assert [str(h) for h in hits] == []
