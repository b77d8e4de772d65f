"""Composition root of the charges service: the only place that picks implementations."""

from __future__ import annotations

from pathlib import Path

from charges.entrypoints.http import DOMAIN_STATUSES, router
from charges.entrypoints.subscribers import build_handlers
from charges.settings import ChargesSettings
from common.runtime import ServiceRuntime
from contracts.tenant import TenantConfig

MIGRATIONS = Path(__file__).parent / "adapters" / "db" / "migrations"


def build_runtime(settings: ChargesSettings | None = None) -> ServiceRuntime:
    runtime: ServiceRuntime

    def tenant(tenant_id: str) -> TenantConfig:
        # The runtime's directory, loaded once (at start) from TENANT_CONFIG_DIR.
        return runtime.tenants.get(tenant_id)

    runtime = ServiceRuntime(
        settings=settings or ChargesSettings(),
        handlers=build_handlers(tenant),
        routers=[router],
        domain_statuses=DOMAIN_STATUSES,
        title="rcm charges",
    )
    return runtime
