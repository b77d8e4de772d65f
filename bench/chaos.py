"""Issue #9's chaos suite as a runner that prints its figures (SPEC 9).

    uv run --frozen python bench/chaos.py --profile full     # 5,000 events, 2 min outage
    uv run --frozen python bench/chaos.py --profile medium
    uv run --frozen python bench/chaos.py --profile ci       # what tests/e2e/test_chaos.py runs
    uv run --frozen python bench/chaos.py --profile full --replicas 2   # two of each service

Needs the Postgres and RabbitMQ the tests use (``DATABASE_URL`` / ``AMQP_URL``, defaulting
to the local ones); creates a database and broker names of its own (removed at the end)
and never restarts either server: the services reach them through TCP proxies and a
"restart" is the proxy cutting every connection and refusing new ones for a while. Starts
its own clearinghouse sandbox. Exits 1 when a figure is wrong; then the table ends with
where each claim that is not ACCEPTED stopped (the gateway's submission, interchange and
acknowledgment items, the acceptance event in its outbox and the claims service's inbox)
and any database session stuck on a lock. ``--keep`` keeps the work folder (service and
sandbox logs, the sandbox's folders) and the run's database ``rcm_chaos_<id>`` (named in
the output; drop it with ``dropdb``) even when the run passes. The scenario, the fault
schedule and the checks are ``common.testing.chaos``'s."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import time

from common.testing.chaos import PROFILES, chaos_rig, run_chaos, work_dir
from common.testing.clearinghouse import SandboxProcess
from common.testing.isolation import default_amqp_url, default_database_url


async def main(profile_name: str, keep: bool, seed: int, replicas: int) -> int:
    profile = PROFILES[profile_name]
    folder = work_dir()
    print(
        f"[chaos] profile {profile.name}, {replicas} of each service: work folder {folder}"
        " (service logs in logs/)"
    )
    sandbox = SandboxProcess(folder=folder / "sandbox")
    sandbox.start()
    started = time.monotonic()
    try:
        async with chaos_rig(
            admin_database_url=default_database_url(),
            amqp_url=default_amqp_url(),
            sandbox=sandbox,
            work_dir=folder,
            keep_database=keep,
            replicas=replicas,
        ) as rig:
            print(f"[chaos] services up in {time.monotonic() - started:.0f}s")
            figures = await run_chaos(rig, profile, seed=seed)
    finally:
        sandbox.stop()
    print(figures.table())
    failures = figures.failures()
    for failure in failures:
        print(f"FAIL {failure}")
    print(f"[chaos] {'FAILED' if failures else 'passed'} in {time.monotonic() - started:.0f}s")
    if not failures and not keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="ci")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder, logs and database"
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="copies of each service on the same database and broker (their time-driven"
        " work races; the kills hit the first copy)",
    )
    arguments = parser.parse_args()
    sys.exit(
        asyncio.run(main(arguments.profile, arguments.keep, arguments.seed, arguments.replicas))
    )
