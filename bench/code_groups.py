"""Benchmark: "assign to all active clients" for 10,000 clients, in one call.

Creates a database of its own (dropped at the end), migrates the charges schema, loads
N active clients into the member projection (as ``ehr.member.upserted`` would), creates a
group of the seed's five BCBS codes and assigns it to all active clients through the
service layer (one transaction, one set-based statement), then repeats the call with the
same dates (idempotent: nothing written). Prints seconds, rows per second and peak memory.

    uv run --frozen python bench/code_groups.py [--clients 10000]

DATABASE_URL names the Postgres server (default: the local one, as the tests use)."""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, insert, select

from charges.adapters.db.tables import CODE_ASSIGNMENT, MEMBER
from charges.bootstrap import MIGRATIONS
from charges.domain.code_groups import AssigneeKind, AssignmentPeriod
from charges.service_layer.code_groups import (
    AssignGroup,
    AssignmentResult,
    CreateGroup,
    assign_group,
    create_group,
)
from common.db import UnitOfWork, create_engine, create_sessionmaker
from common.migrations import migrate
from common.testing import isolation
from common.testing.processes import SAMPLE_TENANTS
from contracts.tenant import TenantConfig, load_tenant_config

TENANT = "demo-bh"
SCHEMA = "charges"
BCBS_CODES = ("90791", "90832", "90834", "90837", "90847")
LOAD_BATCH = 5000
SAMPLE_TENANT = load_tenant_config(SAMPLE_TENANTS / f"{TENANT}.yaml")


def tenants(tenant_id: str) -> TenantConfig:
    """The tenant lookup the runtime would give: the sample tenant."""
    return SAMPLE_TENANT


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_python_mib: float
    result: AssignmentResult


async def _assign_all(uow_factory: UnitOfWorkFactory, command: AssignGroup) -> Run:
    tracemalloc.start()
    started = time.perf_counter()
    async with uow_factory() as uow:
        result = await assign_group(uow, tenants, command)
        await uow.commit()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Run(seconds, peak / 2**20, result)


class UnitOfWorkFactory:
    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(database_url, SCHEMA)
        self.sessionmaker = create_sessionmaker(self.engine)

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self.sessionmaker, source="rcm/bench")


async def bench(clients: int) -> None:
    admin_url = isolation.default_database_url()
    database = f"rcm_bench_{isolation.run_id()}"
    await isolation.create_database(admin_url, database)
    url = isolation.with_database(admin_url, database)
    factory: UnitOfWorkFactory | None = None
    try:
        await migrate(url, SCHEMA, MIGRATIONS)
        factory = UnitOfWorkFactory(url)

        started = time.perf_counter()
        now = datetime.now(UTC)
        async with factory() as uow:
            for first in range(0, clients, LOAD_BATCH):
                rows = [
                    {
                        "tenant_id": TENANT,
                        "member_id": f"m-{n:06d}",
                        "active": True,
                        "source_event_time": now,
                        "source_event_id": f"bench-{n}",
                    }
                    for n in range(first, min(first + LOAD_BATCH, clients))
                ]
                await uow.session.execute(insert(MEMBER), rows)
            await uow.commit()
        load_seconds = time.perf_counter() - started

        async with factory() as uow:
            view = await create_group(
                uow,
                tenants,
                CreateGroup(TENANT, "BCBS Auth Group", actor="bench", codes=BCBS_CODES),
            )
            await uow.commit()
        command = AssignGroup(
            tenant_id=TENANT,
            group_id=view.group.group_id,
            kind=AssigneeKind.CLIENT,
            period=AssignmentPeriod(date(2026, 1, 1)),
            actor="bench",
        )
        first_run = await _assign_all(factory, command)
        repeat = await _assign_all(factory, command)
        async with factory.sessionmaker() as session:
            kept = (
                await session.execute(select(func.count()).select_from(CODE_ASSIGNMENT))
            ).scalar_one()

        counts, again = first_run.result.counts, repeat.result.counts
        max_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"database            {database} (dropped at the end)")
        print(f"clients loaded      {clients:,} active in {load_seconds:.2f} s")
        print(f"group               {len(BCBS_CODES)} codes: {', '.join(BCBS_CODES)}")
        print("assign to all active clients (one call, one transaction):")
        print(
            f"  first             {first_run.seconds:.3f} s, {counts.assigned:,} assignments "
            f"written, {counts.assigned / first_run.seconds:,.0f} rows/s, "
            f"{counts.assignees:,} clients"
        )
        print(
            f"  repeated          {repeat.seconds:.3f} s, {again.assigned} written, "
            f"{again.already_assigned:,} already assigned, {again.skipped} skipped"
        )
        print(
            f"peak memory         Python heap {first_run.peak_python_mib:.1f} MiB during the "
            f"first call; process max RSS {max_rss_mib:.0f} MiB"
        )
        print(f"assignments kept    {kept:,}")
        if counts.assigned != clients * len(BCBS_CODES) or again.assigned != 0:
            print("UNEXPECTED COUNTS", file=sys.stderr)
            raise SystemExit(1)
    finally:
        if factory is not None:
            await factory.engine.dispose()
        await isolation.drop_database(admin_url, database)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    args = parser.parse_args()
    asyncio.run(bench(args.clients))


if __name__ == "__main__":
    main()
