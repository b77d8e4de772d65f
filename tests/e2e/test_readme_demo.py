"""README's main command, run end to end as a user would (issue #8): the demo starts the
five services and the clearinghouse sandbox, sends its scenario over SFTP and waits for
the acknowledgments; its summary must say every claim ACCEPTED, the files pyx12-clean
and no dead letter. It runs on a database, broker prefix and folder of this test's own,
so it never touches a user's `rcm_demo`."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from common.testing.isolation import default_database_url, drop_database

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_demo_runs_and_every_claim_is_accepted(tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    database = f"rcm_demo_t{run}"
    env = {
        **os.environ,
        "RCM_DEMO_DATABASE": database,
        "RCM_DEMO_PREFIX": f"demo{run}.",
        "RCM_DEMO_VAR": str(tmp_path / "var"),
    }
    try:
        done = subprocess.run(  # the README runs scripts/demo.sh, which installs, then this
            [sys.executable, str(ROOT / "scripts" / "demo.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=400,
            check=False,
        )
    finally:
        asyncio.run(drop_database(default_database_url(), database))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]

    [result] = re.findall(r"==> result: (.*)", output)
    assert result.startswith("OK:"), result
    assert re.search(r"claims ACCEPTED=7, dead letters 0$", result), result
    files = re.findall(
        r"^\s+\S+_(837[PI])_\d{9}\.x12\s+(\d+) claims\s+pyx12: 0 errors$", output, re.M
    )
    # Five 837P claims and two 837I cycle claims, in as many files as the batch windows made.
    assert {kind for kind, _ in files} == {"837P", "837I"}, output[-3000:]
    assert sum(int(count) for _, count in files) == 7, files
    assert "==> stopping (graceful)" in output
