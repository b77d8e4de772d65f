"""Composition root of the attendance service: the only place that picks implementations."""

from __future__ import annotations

from pathlib import Path

from attendance.entrypoints.background import auto_close_sessions
from attendance.entrypoints.http import DOMAIN_STATUSES, router
from attendance.entrypoints.subscribers import build_handlers
from attendance.settings import AttendanceSettings
from common.runtime import ServiceRuntime

MIGRATIONS = Path(__file__).parent / "adapters" / "db" / "migrations"


def build_runtime(settings: AttendanceSettings | None = None) -> ServiceRuntime:
    return ServiceRuntime(
        settings=settings or AttendanceSettings(),
        handlers=build_handlers(),
        routers=[router],
        background=[auto_close_sessions],
        domain_statuses=DOMAIN_STATUSES,
        title="rcm attendance",
    )
