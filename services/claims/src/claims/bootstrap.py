"""Composition root of the claims service: the only place that picks implementations."""

from __future__ import annotations

from pathlib import Path

from claims.entrypoints.http import DOMAIN_STATUSES, router
from claims.entrypoints.subscribers import build_handlers
from claims.settings import ClaimsSettings
from common.runtime import ServiceRuntime

MIGRATIONS = Path(__file__).parent / "adapters" / "db" / "migrations"


def build_runtime(settings: ClaimsSettings | None = None) -> ServiceRuntime:
    return ServiceRuntime(
        settings=settings or ClaimsSettings(),
        handlers=build_handlers(),
        routers=[router],
        domain_statuses=DOMAIN_STATUSES,
        title="rcm claims",
    )
