"""Time-driven work of the claims service, run by every replica: the cycle-close check
(SPEC 6: a cycle closes at its period end). Which replica does it is decided in the use
case (a lease), not here."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from claims.service_layer.dependencies import ClaimsDependencies
from claims.service_layer.institutional_claims import close_cycles_due
from claims.settings import ClaimsSettings
from common.logging import get_logger
from common.runtime import ServiceRuntime

log = get_logger(__name__)


def cycle_close_check(
    deps: ClaimsDependencies,
) -> Callable[[ServiceRuntime], Coroutine[Any, Any, None]]:
    async def close_cycles(runtime: ServiceRuntime) -> None:
        """Every interval, close the stays' cycles whose period has ended and build them
        (at once again while a check finds a full batch)."""
        settings = runtime.settings
        interval, batch = 60.0, 200
        if isinstance(settings, ClaimsSettings):
            interval = settings.cycle_close_interval_seconds
            batch = settings.cycle_close_batch_size
        while True:
            more_due = False
            try:
                sweep = await close_cycles_due(runtime.unit_of_work, deps, batch_size=batch)
                if sweep.touched:
                    log.info("cycle_close_check_built", count=len(sweep.touched))
                    runtime.relay.wake()
                more_due = sweep.more_due
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # The database may be down for a moment: the next check tries again.
                log.warning("cycle_close_check_failed", error_type=type(exc).__name__)
            if not more_due:  # a month-end backlog is worked through at once
                await asyncio.sleep(interval)

    return close_cycles
