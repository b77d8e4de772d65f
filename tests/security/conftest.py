"""The five services built in-process (their composition roots, no broker started, no
lifespan) on schemas of this run's own, migrated to head: enough to call every HTTP route
and to write to every table through the application's own engine."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from common.migrations import migrate
from common.runtime import ServiceRuntime
from common.settings import ServiceSettings


@dataclass(frozen=True)
class BuiltService:
    name: str
    schema: str
    runtime: ServiceRuntime
    app: FastAPI


def _composition_roots() -> dict[str, tuple[type[ServiceSettings], Callable[..., Any], Path]]:
    # Imported here, not at collection: each root pulls in its service's whole package.
    from attendance.bootstrap import MIGRATIONS as ATTENDANCE_MIGRATIONS
    from attendance.bootstrap import build_runtime as attendance_runtime
    from attendance.settings import AttendanceSettings
    from charges.bootstrap import MIGRATIONS as CHARGES_MIGRATIONS
    from charges.bootstrap import build_runtime as charges_runtime
    from charges.settings import ChargesSettings
    from claims.bootstrap import MIGRATIONS as CLAIMS_MIGRATIONS
    from claims.bootstrap import build_runtime as claims_runtime
    from claims.settings import ClaimsSettings
    from edi_gateway.bootstrap import MIGRATIONS as GATEWAY_MIGRATIONS
    from edi_gateway.bootstrap import build_runtime as gateway_runtime
    from edi_gateway.settings import GatewaySettings
    from stays.bootstrap import MIGRATIONS as STAYS_MIGRATIONS
    from stays.bootstrap import build_runtime as stays_runtime
    from stays.settings import StaysSettings

    return {
        "attendance": (AttendanceSettings, attendance_runtime, ATTENDANCE_MIGRATIONS),
        "stays": (StaysSettings, stays_runtime, STAYS_MIGRATIONS),
        "charges": (ChargesSettings, charges_runtime, CHARGES_MIGRATIONS),
        "claims": (ClaimsSettings, claims_runtime, CLAIMS_MIGRATIONS),
        "edi-gateway": (GatewaySettings, gateway_runtime, GATEWAY_MIGRATIONS),
    }


SERVICES = ("attendance", "stays", "charges", "claims", "edi-gateway")


@pytest.fixture(scope="session")
async def built_services(
    rcm_database_url: str, service_settings: Callable[..., ServiceSettings]
) -> AsyncIterator[dict[str, BuiltService]]:
    """Each service's runtime and app as its ``bootstrap.build_runtime`` wires them, on a
    freshly migrated schema ``sec<hex>_<service>``."""
    roots = _composition_roots()
    run = uuid.uuid4().hex[:6]
    schemas = {name: f"sec{run}_{name.replace('-', '_')}" for name in SERVICES}
    for name in SERVICES:  # one at a time: alembic's context is process-global
        await migrate(rcm_database_url, schemas[name], roots[name][2])
    built: dict[str, BuiltService] = {}
    for name in SERVICES:
        settings_class, build_runtime, _ = roots[name]
        runtime: ServiceRuntime = build_runtime(
            service_settings(settings_class, db_schema=schemas[name])
        )
        built[name] = BuiltService(name, schemas[name], runtime, runtime.create_app())
    try:
        yield built
    finally:
        for service in built.values():
            await service.runtime.engine.dispose()
