"""The send step is idempotent (SPEC 7, 9): a gateway that dies after writing the file
and before recording it as sent delivers the same bytes under the same name when it comes
back: no second file, no new control numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.db import UnitOfWork
from common.outbox import OUTBOX
from common.tenants import TenantDirectory
from common.testing.processes import SAMPLE_TENANTS
from contracts.events.claims import ClaimSubmitted
from contracts.tenant import Clearinghouse
from edi_gateway.adapters.db.repository import ControlNumberRepository, InterchangeRepository
from edi_gateway.adapters.transport import DeliveryConflict, LocalFolderDelivery
from edi_gateway.adapters.x12_validator import Pyx12Validator
from edi_gateway.bootstrap import default_renderers
from edi_gateway.domain.batching import BatchKey
from edi_gateway.domain.model import (
    ControlNumberKind,
    InterchangeStatus,
    TransactionType,
    UsageIndicator,
)
from edi_gateway.service_layer.batching import ClaimBatcher, ClearinghouseTransport
from edi_gateway.service_layer.submissions import AcceptClaim, accept_claim

from ..claim_samples import CLEARINGHOUSE, TENANT, claim_data

KEY = BatchKey(TENANT, CLEARINGHOUSE, TransactionType.PROFESSIONAL, UsageIndicator.TEST)
UPLOAD = Path("var/clearinghouse/upload")


class ProcessDied(BaseException):
    """Not an Exception: nothing in the gateway catches it, as nothing survives a kill."""


class DiesAfterWriting:
    kind = "LOCAL_FOLDER"

    def __init__(self, inner: LocalFolderDelivery) -> None:
        self._inner = inner

    async def deliver(self, clearinghouse: Clearinghouse, file_name: str, content: bytes) -> str:
        await self._inner.deliver(clearinghouse, file_name, content)
        raise ProcessDied


def batcher(
    sessions: async_sessionmaker[AsyncSession], transport: ClearinghouseTransport
) -> ClaimBatcher:
    return ClaimBatcher(
        unit_of_work=lambda: UnitOfWork(sessions, source="rcm/edi-gateway"),
        tenants=TenantDirectory.load(SAMPLE_TENANTS),
        renderers=default_renderers(),
        validator=Pyx12Validator(),
        transports={transport.kind: transport},
    )


async def test_a_gateway_killed_after_writing_the_file_sends_the_same_file_on_restart(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    tenant = TenantDirectory.load(SAMPLE_TENANTS).get(TENANT)
    for n in range(2):
        claim = ClaimSubmitted.model_validate(claim_data(f"crash-{n}"))
        async with UnitOfWork(sessions, source="test") as uow:
            await accept_claim(uow, tenant, AcceptClaim(TENANT, f"ev-crash-{n}", None, claim))
            await uow.commit()
    folder = LocalFolderDelivery(tmp_path)
    first = batcher(sessions, DiesAfterWriting(folder))
    result = await first.batch_group(KEY)
    assert result is not None and result.interchange is not None
    pending = result.interchange
    with pytest.raises(ProcessDied):
        await first.send_pending()
    written = list((tmp_path / UPLOAD).iterdir())
    assert [p.name for p in written] == [pending.file_name]
    bytes_before = written[0].read_bytes()
    async with sessions() as session:
        still = await InterchangeRepository(session).get(TENANT, pending.interchange_id)
        isa_before = await ControlNumberRepository(session).last(
            TENANT, "HARBORBH", ControlNumberKind.INTERCHANGE
        )
    assert still is not None and still.status is InterchangeStatus.PENDING

    restarted = batcher(sessions, LocalFolderDelivery(tmp_path))
    assert [i.interchange_id for i in await restarted.send_pending()] == [pending.interchange_id]

    assert [p.name for p in (tmp_path / UPLOAD).iterdir()] == [pending.file_name]
    assert (tmp_path / UPLOAD / str(pending.file_name)).read_bytes() == bytes_before
    async with sessions() as session:
        after = await InterchangeRepository(session).get(TENANT, pending.interchange_id)
        isa_after = await ControlNumberRepository(session).last(
            TENANT, "HARBORBH", ControlNumberKind.INTERCHANGE
        )
        transmitted = (
            await session.execute(
                select(func.count())
                .select_from(OUTBOX)
                .where(OUTBOX.c.event_type == "edi.claim.transmitted.v1")
            )
        ).scalar_one()
    assert after is not None and after.status is InterchangeStatus.SENT
    assert (after.isa13, isa_after) == (pending.isa13, isa_before)
    assert transmitted == 2
    assert await restarted.send_pending() == []


async def test_a_different_file_under_the_same_name_is_never_overwritten(tmp_path: Path) -> None:
    tenant = TenantDirectory.load(SAMPLE_TENANTS).get(TENANT)
    clearinghouse = tenant.clearinghouse(CLEARINGHOUSE)
    delivery = LocalFolderDelivery(tmp_path)
    await delivery.deliver(clearinghouse, "demo-bh_local-dev_837P_000000001.x12", b"ISA*first")
    await delivery.deliver(clearinghouse, "demo-bh_local-dev_837P_000000001.x12", b"ISA*first")
    with pytest.raises(DeliveryConflict):
        await delivery.deliver(clearinghouse, "demo-bh_local-dev_837P_000000001.x12", b"ISA*other")
    target = tmp_path / UPLOAD / "demo-bh_local-dev_837P_000000001.x12"
    assert target.read_bytes() == b"ISA*first"
    assert [p.name for p in target.parent.iterdir()] == [target.name]
