"""Composition root of the charges service: the only place that picks implementations."""

from __future__ import annotations

from pathlib import Path

from charges.entrypoints.background import day_charge_sweep
from charges.entrypoints.code_groups_http import CODE_GROUP_STATUSES
from charges.entrypoints.code_groups_http import router as code_groups_router
from charges.entrypoints.http import DOMAIN_STATUSES, router
from charges.entrypoints.subscribers import build_handlers
from charges.service_layer.stay_days import Clock
from charges.settings import ChargesSettings
from common.db import utcnow
from common.runtime import ServiceRuntime
from contracts.tenant import TenantConfig

MIGRATIONS = Path(__file__).parent / "adapters" / "db" / "migrations"


def build_runtime(
    settings: ChargesSettings | None = None, *, clock: Clock = utcnow
) -> ServiceRuntime:
    """``clock``: now, which says which stay days are complete (tests set their own)."""
    settings = settings or ChargesSettings()
    runtime: ServiceRuntime

    def tenant(tenant_id: str) -> TenantConfig:
        # The runtime's directory, loaded once (at start) from TENANT_CONFIG_DIR.
        return runtime.tenants.get(tenant_id)

    runtime = ServiceRuntime(
        settings=settings,
        handlers=build_handlers(tenant, clock),
        routers=[router, code_groups_router],
        background=[
            day_charge_sweep(
                clock,
                interval=settings.day_charges_interval_seconds,
                batch_size=settings.day_charges_batch_size,
            )
        ],
        domain_statuses={**DOMAIN_STATUSES, **CODE_GROUP_STATUSES},
        title="rcm charges",
    )
    return runtime
