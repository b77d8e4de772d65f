"""Issue #9's chaos suite, CI profile (SPEC 9): a few hundred inbound events of group
sessions and stays, each published twice and some out of order, 1,000 fuzzed malformed
messages mixed in, while each service is SIGKILLed and started again, the broker and the
database "restart" (through TCP proxies of ours: the real servers are shared) and the
clearinghouse sandbox is down for 20 s; first one fault at a time, then all at once.

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
from common.testing.pytest_plugin import Infrastructure

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(900)
async def test_faults_alone_then_together_lose_nothing_duplicate_nothing_and_drain(
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
        ) as rig:
            figures = await run_chaos(rig, profile)
    finally:
        sandbox.stop()
    print(figures.table())

    assert figures.charges_expected > 0 and figures.claims_expected > 0
    assert figures.kills == 10  # each service once alone, once together
    assert figures.failures() == [], figures.table()
