"""Composition root of the charges service: the only place that picks implementations."""

from __future__ import annotations

from pathlib import Path

from charges.entrypoints.http import DOMAIN_STATUSES, router
from charges.entrypoints.subscribers import build_handlers
from charges.settings import ChargesSettings
from common.runtime import ServiceRuntime

MIGRATIONS = Path(__file__).parent / "adapters" / "db" / "migrations"


def build_runtime(settings: ChargesSettings | None = None) -> ServiceRuntime:
    return ServiceRuntime(
        settings=settings or ChargesSettings(),
        handlers=build_handlers(),
        routers=[router],
        domain_statuses=DOMAIN_STATUSES,
        title="rcm charges",
    )
