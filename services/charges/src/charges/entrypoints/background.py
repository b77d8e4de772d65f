"""Time-driven work of the charges service, run by every replica: the day-charge sweep
(SPEC 5, 9). Which replica writes which day is decided in the sweep (an advisory lock and
the stay's row lock), not here."""

from __future__ import annotations

import asyncio

from charges.service_layer.stay_days import Clock, write_completed_days
from common.logging import get_logger
from common.runtime import BackgroundTask, ServiceRuntime

log = get_logger(__name__)


def day_charge_sweep(clock: Clock, *, interval: float, batch_size: int) -> BackgroundTask:
    """Every ``interval`` seconds, write the day charges of the stay days completed by
    ``clock()`` (at once again while a sweep finds a full batch: a backlog drains fast)."""

    async def write_completed_day_charges(runtime: ServiceRuntime) -> None:
        while True:
            full = False
            try:
                async with runtime.unit_of_work() as uow:
                    written = await write_completed_days(
                        uow, runtime.tenants, now=clock(), batch_size=batch_size
                    )
                if written:
                    runtime.relay.wake()
                full = len(written) >= batch_size
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # The database may be down for a moment: the next sweep tries again.
                log.warning("day_charges_sweep_failed", error_type=type(exc).__name__, exc_info=exc)
            if not full:
                await asyncio.sleep(interval)

    return write_completed_day_charges
