"""Time-driven work of the attendance service, run by every replica: the auto-close
sweep (SPEC 3, 9). Which replica closes what is decided in the sweep (an advisory lock
and a version check), not here."""

from __future__ import annotations

import asyncio

from attendance.service_layer.closing import close_sessions_past_their_end
from attendance.settings import AttendanceSettings
from common.db import utcnow
from common.logging import get_logger
from common.runtime import ServiceRuntime

log = get_logger(__name__)


async def auto_close_sessions(runtime: ServiceRuntime) -> None:
    """Every few seconds, close the sessions past their end whose rows are all terminal
    and whose billing preview blocks nothing."""
    settings = runtime.settings
    interval, batch = 5.0, 200
    if isinstance(settings, AttendanceSettings):
        interval, batch = settings.auto_close_interval_seconds, settings.auto_close_batch_size
    while True:
        try:
            async with runtime.unit_of_work() as uow:
                closed = await close_sessions_past_their_end(
                    uow, runtime.tenants, now=utcnow(), batch_size=batch
                )
            if closed:
                log.info("auto_close_sweep_closed", count=len(closed))
                runtime.relay.wake()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The database may be down for a moment: the next sweep tries again.
            log.warning("auto_close_sweep_failed", error_type=type(exc).__name__, exc_info=exc)
        await asyncio.sleep(interval)
