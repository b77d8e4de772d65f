"""Composition root of the stays service: the only place that picks implementations."""

from __future__ import annotations

from pathlib import Path

from common.runtime import BackgroundTask, ServiceRuntime
from stays.entrypoints.adt_feed.listener import AdtFeed, MllpListener
from stays.entrypoints.adt_feed.mapping import SenderDirectory
from stays.entrypoints.adt_feed.messages import Receiver
from stays.entrypoints.http import DOMAIN_STATUSES, members_router, router
from stays.entrypoints.subscribers import build_handlers
from stays.settings import StaysSettings

MIGRATIONS = Path(__file__).parent / "adapters" / "db" / "migrations"


class StaysRuntime(ServiceRuntime):
    """The shared runtime, with the HL7 ADT listener when ``HL7_MLLP_PORT`` is set: ready
    only while it listens."""

    adt_listener: MllpListener | None = None

    async def ready(self) -> dict[str, bool]:
        checks = await super().ready()
        settings = self.settings
        if isinstance(settings, StaysSettings) and settings.hl7_mllp_port:
            checks["hl7_mllp"] = self.adt_listener is not None and self.adt_listener.serving
        return checks


async def serve_adt_feed(runtime: ServiceRuntime) -> None:
    """Background task: the HL7 v2 ADT listener, until the runtime stops."""
    assert isinstance(runtime, StaysRuntime)
    settings = runtime.settings
    assert isinstance(settings, StaysSettings)
    tenants = runtime.tenants
    feed = AdtFeed(
        service=settings.service_name,
        sessionmaker=runtime.sessionmaker,
        handlers=runtime.handlers,
        senders=SenderDirectory.from_tenants(tenants.get(t) for t in tenants.tenant_ids),
        receiver=Receiver(settings.hl7_receiving_application, settings.hl7_receiving_facility),
        on_committed=runtime.relay.wake,
    )
    runtime.adt_listener = MllpListener(
        feed,
        settings.hl7_mllp_host,
        settings.hl7_mllp_port,
        max_message_bytes=settings.hl7_max_message_bytes,
        grace_seconds=settings.graceful_timeout_seconds,
    )
    await runtime.adt_listener.run()


def build_runtime(settings: StaysSettings | None = None) -> ServiceRuntime:
    settings = settings or StaysSettings()
    background: list[BackgroundTask] = [serve_adt_feed] if settings.hl7_mllp_port else []
    return StaysRuntime(
        settings=settings,
        handlers=build_handlers(),
        routers=[router, members_router],
        background=background,
        domain_statuses=DOMAIN_STATUSES,
        title="rcm stays",
    )
