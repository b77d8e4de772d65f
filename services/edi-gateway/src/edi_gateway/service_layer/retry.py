"""Back-off for work that failed against a clearinghouse or the database, shared by the
batcher (batches, deliveries) and the acknowledgment poller (listings per tenant and
clearinghouse), and the coded description of such a failure."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RetrySchedule:
    """In-process back-off for work that failed: 1 s, 2 s, 4 s ... up to ``longest``."""

    longest: float
    clock: Callable[[], float] = time.monotonic
    _next: dict[object, tuple[float, int]] = field(default_factory=dict)

    def due(self, key: object) -> bool:
        entry = self._next.get(key)
        return entry is None or self.clock() >= entry[0]

    def failed(self, key: object) -> float:
        attempts = self._next.get(key, (0.0, 0))[1] + 1
        delay = min(self.longest, float(2 ** (attempts - 1)))
        self._next[key] = (self.clock() + delay, attempts)
        return delay

    def succeeded(self, key: object) -> None:
        self._next.pop(key, None)


def coded_error(exc: BaseException, fallback: str) -> tuple[str, str]:
    """The code and operator-readable message of a failure. Only coded errors keep their
    message (ours carry no PHI); anything else shows its type alone, under ``fallback``."""
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        message = getattr(exc, "message", None)
        return code, message if isinstance(message, str) else code
    return fallback, type(exc).__name__
