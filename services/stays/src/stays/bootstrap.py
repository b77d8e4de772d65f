"""Composition root of the stays service: the only place that picks implementations."""

from __future__ import annotations

from pathlib import Path

from common.runtime import ServiceRuntime
from stays.entrypoints.http import DOMAIN_STATUSES, members_router, router
from stays.entrypoints.subscribers import build_handlers
from stays.settings import StaysSettings

MIGRATIONS = Path(__file__).parent / "adapters" / "db" / "migrations"


def build_runtime(settings: StaysSettings | None = None) -> ServiceRuntime:
    return ServiceRuntime(
        settings=settings or StaysSettings(),
        handlers=build_handlers(),
        routers=[router, members_router],
        domain_statuses=DOMAIN_STATUSES,
        title="rcm stays",
    )
