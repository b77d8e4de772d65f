"""Composition root of the edi-gateway: the only place that picks implementations."""

from __future__ import annotations

from pathlib import Path

from common.runtime import ServiceRuntime
from edi_gateway.entrypoints.http import DOMAIN_STATUSES, router
from edi_gateway.entrypoints.subscribers import build_handlers
from edi_gateway.settings import GatewaySettings

MIGRATIONS = Path(__file__).parent / "adapters" / "db" / "migrations"


def build_runtime(settings: GatewaySettings | None = None) -> ServiceRuntime:
    return ServiceRuntime(
        settings=settings or GatewaySettings(),
        handlers=build_handlers(),
        routers=[router],
        domain_statuses=DOMAIN_STATUSES,
        title="rcm edi-gateway",
    )
