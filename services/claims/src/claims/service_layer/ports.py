"""What the claims use cases ask of other services, implemented in ``adapters``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from common.errors import DomainError


class EdiPreviewUnavailable(DomainError):
    """The EDI gateway could not render the dry run's 837 (unreachable, or it refused)."""


class EdiPreview(Protocol):
    async def render(
        self, authorization: str | None, documents: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        """The gateway's rendering of claim documents (``claims.claim.submitted.v1`` data):
        its ``files`` (837 text and pyx12 findings) and ``refused`` claims. Raises
        :class:`EdiPreviewUnavailable` with a stable code when it cannot."""
        ...


class ControlNumbers(Protocol):
    async def next(self, tenant_id: str, count: int = 1) -> int:
        """The tenant's next ``count`` patient control number sequences (the last of them
        returned), committed at once in a transaction of its own: the build that asked
        holds no lock on the counter (a gap is left when that build rolls back; a number is
        never given twice)."""
        ...
