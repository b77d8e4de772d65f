"""Issue #9's chaos suite, CI profile (SPEC 9): a few hundred inbound events of group
sessions and stays, each published twice and some out of order, 1,000 fuzzed malformed
messages mixed in, while each service is SIGKILLed and started again, the broker and the
database "restart" (through TCP proxies of ours: the real servers are shared) and the
clearinghouse sandbox is down for 20 s; first one fault at a time, then all at once.
The scenario, the faults and the figures live in ``common.testing.chaos`` (the full
profile runs them from ``bench/chaos.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from common.testing.chaos import PROFILES, chaos_rig, run_chaos
from common.testing.clearinghouse import SandboxProcess
from common.testing.pytest_plugin import Infrastructure

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(600)
async def test_faults_alone_then_together_lose_nothing_duplicate_nothing_and_drain(
    rcm_infrastructure: Infrastructure, sandbox: SandboxProcess, tmp_path_factory: Any
) -> None:
    profile = PROFILES["ci"]
    async with chaos_rig(
        admin_database_url=rcm_infrastructure.admin_database_url,
        amqp_url=rcm_infrastructure.amqp_url,
        sandbox=sandbox,
        work_dir=tmp_path_factory.mktemp("chaos"),
    ) as rig:
        figures = await run_chaos(rig, profile)
        print(figures.table())

    assert figures.charges_written == figures.charges_expected > 0
    assert figures.charges_lost == [] and figures.charges_duplicated == []
    assert figures.claims_built == figures.claims_expected > 0
    assert figures.claims_lost == [] and figures.claims_duplicated == []
    assert set(figures.claim_statuses) == {"ACCEPTED"}
    assert figures.files_uploaded > 0 and figures.files_repeated == []
    assert figures.claims_in_several_files == 0 and figures.claims_in_no_file == 0
    assert figures.control_numbers > 0 and figures.control_numbers_repeated == []
    assert figures.malformed_dead_lettered == figures.malformed_sent == profile.malformed
    assert figures.dead_letters_without_reason == []
    assert figures.valid_events_dead_lettered == []
    assert figures.kills == 10  # each service once alone, once together
    assert not figures.failures_of_processes(), figures.unexpected_exits
    assert not any(figures.outbox_pending.values()), figures.outbox_pending
    assert figures.failures() == [], figures.table()
