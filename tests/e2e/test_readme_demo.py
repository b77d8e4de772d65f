"""README's main command, run end to end as a user would (issue #8): the demo starts the
five services and the clearinghouse sandbox, sends its scenario over SFTP and waits for
the acknowledgments; its summary must say every claim ACCEPTED, the files pyx12-clean
and no dead letter. It runs on a database, broker prefix and folder of this test's own,
so it never touches a user's `rcm_demo`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import psutil
import pytest

from common.testing.isolation import default_database_url, drop_database

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


DEMO_SECONDS = 420  # the demo takes about 2 minutes in CI


def start_demo(tmp_path: Path, tag: str) -> tuple[subprocess.Popen[str], str]:
    """The demo on a database, broker prefix and folder of the test's own: the process
    (output piped) and its database, which the test drops."""
    run = uuid.uuid4().hex[:8]
    database = f"rcm_demo_{tag}{run}"
    env = {
        **os.environ,
        "RCM_DEMO_DATABASE": database,
        "RCM_DEMO_PREFIX": f"demo{run}.",
        "RCM_DEMO_VAR": str(tmp_path / "var"),
    }
    # The README runs scripts/demo.sh, which installs, then this.
    demo = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "demo.py")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return demo, database


@pytest.mark.timeout(DEMO_SECONDS + 120)  # room to stop the demo and keep its output
def test_the_readme_demo_runs_and_every_claim_is_accepted(tmp_path: Path) -> None:
    demo, database = start_demo(tmp_path, "t")
    try:
        output, _ = demo.communicate(timeout=DEMO_SECONDS)
    except subprocess.TimeoutExpired:
        # SIGTERM, not a kill: the demo stops its five services and the sandbox on it
        # (a killed demo left them running, consuming and holding the CPU).
        demo.terminate()
        output, _ = demo.communicate(timeout=90)
        output += f"\n(the demo did not finish in {DEMO_SECONDS} s; stopped with SIGTERM)"
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        asyncio.run(drop_database(default_database_url(), database))
    (tmp_path / "demo-output.txt").write_text(output)  # kept with the logs under var/
    assert demo.returncode == 0, output[-8000:]

    [result] = re.findall(r"==> result: (.*)", output)
    assert result.startswith("OK:"), output[-8000:]
    found = re.search(r"expected (\d+) claims, claims ACCEPTED=(\d+), dead letters 0$", result)
    assert found, result
    expected, accepted = int(found[1]), int(found[2])
    # A week of sessions (ten rosters of 6-10, at least three billable each) and three
    # stays' five cycle claims.
    assert accepted == expected >= 10 * 3 + 5, result
    files = re.findall(
        r"^\s+\S+_(837[PI])_\d{9}\.x12\s+(\d+) claims\s+pyx12: 0 errors$", output, re.M
    )
    assert {kind for kind, _ in files} == {"837P", "837I"}, output[-3000:]
    assert sum(int(count) for _, count in files) == expected, files
    stay_claims = re.findall(r"-> (\d) 837I cycle claim\(s\) sent", output)
    assert sorted(stay_claims) == ["1", "2", "2"], stay_claims
    assert "==> stopping (graceful)" in output


def test_a_demo_stopped_with_sigterm_stops_its_services(tmp_path: Path) -> None:
    # A test's timeout or a container stop sends SIGTERM: the demo must stop the five
    # services and the sandbox it started, not leave them consuming on the machine.
    demo, database = start_demo(tmp_path, "s")
    seen: list[str] = []
    started: list[psutil.Process] = []
    try:
        assert demo.stdout is not None
        for line in demo.stdout:  # until the services are up and the feed begins
            seen.append(line)
            if line.startswith("==> a week of group therapy"):
                break
        started = psutil.Process(demo.pid).children(recursive=True)
        assert len(started) >= 6, "".join(seen)  # five services and the sandbox
        demo.send_signal(signal.SIGTERM)
        rest, _ = demo.communicate(timeout=90)
        output = "".join(seen) + rest
        assert demo.returncode == 128 + signal.SIGTERM, output[-4000:]
        assert "==> stopping (graceful)" in output
        _, alive = psutil.wait_procs(started, timeout=30)
        assert alive == [], [p.cmdline() for p in alive]
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        for orphan in started:  # whatever the demo failed to stop, this test stops
            with contextlib.suppress(psutil.NoSuchProcess):
                orphan.kill()
        asyncio.run(drop_database(default_database_url(), database))
