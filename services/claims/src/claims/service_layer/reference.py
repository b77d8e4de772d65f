"""Use cases of the reference tables (SPEC 2): what is in force, and a refresh from a file
(the API's upload or the ``claims refresh-reference`` command)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from claims.adapters.reference_data import ReferenceTableInfo
from claims.service_layer.dependencies import ClaimsDependencies
from common.db import UnitOfWork
from common.logging import get_logger

log = get_logger(__name__)


async def reference_tables(
    session: AsyncSession, deps: ClaimsDependencies
) -> list[ReferenceTableInfo]:
    return await deps.reference.describe(session)


async def refresh_reference_table(
    uow: UnitOfWork, deps: ClaimsDependencies, name: str, text: str, source: str
) -> ReferenceTableInfo:
    """Store ``text`` as the table's next version (every replica reads it on its next
    build); a bad file is refused whole with its line numbers (REFERENCE_DATA_INVALID).
    Claims already built keep what they printed; the next build of each scrubs with it."""
    info = await deps.reference.refresh(uow.session, name, text, source)
    log.info("reference_table_refreshed", table=name, version=info.version, rows=info.rows)
    return info
