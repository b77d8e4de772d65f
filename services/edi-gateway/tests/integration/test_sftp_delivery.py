"""Delivery over SFTP (SPEC 7, 9): the file lands under its final name after an upload
under a temporary one; a refused host key, a server that is down or a crash at any step
of the recorded protocol never makes a second file nor new control numbers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.db import UnitOfWork
from common.outbox import OUTBOX
from common.tenants import TenantDirectory
from common.testing.processes import SAMPLE_TENANTS
from contracts.events.claims import ClaimSubmitted
from contracts.tenant import Clearinghouse, TenantConfig
from edi_gateway.adapters.db.delivery_records import DeliveryRecord, DeliveryRecordRepository
from edi_gateway.adapters.db.repository import ControlNumberRepository, InterchangeRepository
from edi_gateway.adapters.sftp import SftpClearinghouse, SftpFolder
from edi_gateway.adapters.x12_validator import Pyx12Validator
from edi_gateway.bootstrap import default_renderers
from edi_gateway.domain.batching import BatchKey
from edi_gateway.domain.delivery import DeliveryState, RemoteState, temporary_name
from edi_gateway.domain.model import (
    ControlNumberKind,
    Interchange,
    InterchangeStatus,
    TransactionType,
    UsageIndicator,
)
from edi_gateway.service_layer import batching
from edi_gateway.service_layer.batching import ClaimBatcher
from edi_gateway.service_layer.submissions import AcceptClaim, accept_claim

from ..claim_samples import CLEARINGHOUSE, TENANT, claim_data
from ..sftp_server import SftpServer, with_sftp

KEY_ENV = "EDI_TEST_SFTP_KEY"
SENDER = "HARBORBH"


class ProcessDied(BaseException):
    """Not an Exception: nothing in the gateway catches it, as nothing survives a kill."""


@pytest.fixture
async def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SftpServer]:
    server = SftpServer(tmp_path / "sftp")
    monkeypatch.setenv(KEY_ENV, server.client_key_pem())
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def tenant(server: SftpServer) -> TenantConfig:
    """A tenant of its own per test (its own interchanges and control numbers), whose
    clearinghouse is the test server."""
    sample = TenantDirectory.load(SAMPLE_TENANTS).get(TENANT)
    return with_sftp(sample, CLEARINGHOUSE, server.transport(), f"sftp-{uuid.uuid4().hex[:8]}")


def key_of(tenant: TenantConfig) -> BatchKey:
    return BatchKey(
        tenant.tenant_id, CLEARINGHOUSE, TransactionType.PROFESSIONAL, UsageIndicator.TEST
    )


class Dying:
    """The server steps, with a kill at one moment of the protocol."""

    def __init__(self, folder: SftpFolder, moment: str) -> None:
        self._folder = folder
        self._moment = moment

    async def look(self, file_name: str, temporary: str, content: bytes) -> RemoteState:
        return await self._folder.look(file_name, temporary, content)

    async def remove(self, name: str) -> None:
        await self._folder.remove(name)

    async def upload(self, name: str, content: bytes) -> None:
        if self._moment == "during_upload":
            await self._folder.upload(name, content[: len(content) // 2])
            raise ProcessDied
        await self._folder.upload(name, content)

    async def rename(self, temporary: str, file_name: str) -> None:
        if self._moment == "before_rename":
            raise ProcessDied
        await self._folder.rename(temporary, file_name)
        if self._moment == "after_rename":
            raise ProcessDied


class DyingSftp(SftpClearinghouse):
    def __init__(self, moment: str) -> None:
        super().__init__(operation_timeout_seconds=5)
        self.moment = moment

    @asynccontextmanager
    async def upload_folder(self, clearinghouse: Clearinghouse) -> AsyncIterator[Dying]:  # type: ignore[override]
        async with self.session(clearinghouse) as folder:
            yield Dying(folder, self.moment)


def gateway(
    sessions: async_sessionmaker[AsyncSession],
    tenant: TenantConfig,
    transport: SftpClearinghouse | None = None,
) -> ClaimBatcher:
    return ClaimBatcher(
        unit_of_work=lambda: UnitOfWork(sessions, source="rcm/edi-gateway"),
        tenants=TenantDirectory({tenant.tenant_id: tenant}),
        renderers=default_renderers(),
        validator=Pyx12Validator(),
        transports={"SFTP": transport or SftpClearinghouse(operation_timeout_seconds=5)},
        retry_max_seconds=0.05,
    )


async def pending_interchange(
    sessions: async_sessionmaker[AsyncSession], tenant: TenantConfig, claims: int = 2
) -> Interchange:
    for _ in range(claims):
        claim = ClaimSubmitted.model_validate(claim_data())
        event_id = f"ev-{uuid.uuid4().hex}"
        async with UnitOfWork(sessions, source="test") as uow:
            await accept_claim(uow, tenant, AcceptClaim(tenant.tenant_id, event_id, None, claim))
            await uow.commit()
    result = await gateway(sessions, tenant).batch_group(key_of(tenant))
    assert result is not None and result.interchange is not None
    return result.interchange


async def reloaded(
    sessions: async_sessionmaker[AsyncSession], interchange: Interchange
) -> Interchange:
    async with sessions() as session:
        found = await InterchangeRepository(session).get(
            interchange.tenant_id, interchange.interchange_id
        )
    assert found is not None
    return found


async def record_of(
    sessions: async_sessionmaker[AsyncSession], interchange: Interchange
) -> DeliveryRecord | None:
    async with sessions() as session:
        return await DeliveryRecordRepository(session).get(
            interchange.tenant_id, interchange.interchange_id
        )


async def last_isa13(sessions: async_sessionmaker[AsyncSession], tenant: TenantConfig) -> int:
    async with sessions() as session:
        return await ControlNumberRepository(session).last(
            tenant.tenant_id, SENDER, ControlNumberKind.INTERCHANGE
        )


async def transmitted_events(
    sessions: async_sessionmaker[AsyncSession], tenant: TenantConfig
) -> int:
    async with sessions() as session:
        return int(
            (
                await session.execute(
                    select(func.count())
                    .select_from(OUTBOX)
                    .where(
                        OUTBOX.c.event_type == "edi.claim.transmitted.v1",
                        OUTBOX.c.tenant_id == tenant.tenant_id,
                    )
                )
            ).scalar_one()
        )


async def archived_bytes(server: SftpServer, interchange: Interchange) -> bytes:
    return (server.upload / str(interchange.file_name)).read_bytes()


async def expect_sent_once(
    sessions: async_sessionmaker[AsyncSession],
    server: SftpServer,
    tenant: TenantConfig,
    interchange: Interchange,
    content: bytes,
) -> Interchange:
    after = await reloaded(sessions, interchange)
    assert after.status is InterchangeStatus.SENT
    assert after.isa13 == interchange.isa13
    assert await last_isa13(sessions, tenant) == interchange.isa13
    assert await transmitted_events(sessions, tenant) == interchange.claim_count
    assert await gateway(sessions, tenant).send_pending() == []
    if (server.upload / str(interchange.file_name)).exists():
        assert server.files() == [interchange.file_name]
        assert await archived_bytes(server, interchange) == content
    return after


async def file_content(
    sessions: async_sessionmaker[AsyncSession], interchange: Interchange
) -> bytes:
    from edi_gateway.adapters.db.repository import ArchivedFileRepository

    async with sessions() as session:
        archived = await ArchivedFileRepository(session).get(
            interchange.tenant_id, str(interchange.file_id)
        )
    assert archived is not None and archived.content is not None
    return archived.content


async def test_a_file_lands_under_its_final_name_with_its_bytes_and_no_temporary_name(
    sessions: async_sessionmaker[AsyncSession], server: SftpServer, tenant: TenantConfig
) -> None:
    interchange = await pending_interchange(sessions, tenant)

    sent = await gateway(sessions, tenant).send_pending()

    assert [i.interchange_id for i in sent] == [interchange.interchange_id]
    assert server.files() == [interchange.file_name]
    assert await archived_bytes(server, interchange) == await file_content(sessions, interchange)
    after = await reloaded(sessions, interchange)
    assert after.status is InterchangeStatus.SENT
    assert (after.delivery_attempts, after.last_delivery_error) == (1, None)
    record = await record_of(sessions, interchange)
    assert record is not None and (record.state, record.uploads) == (DeliveryState.RENAMED, 1)


async def test_a_server_with_another_host_key_is_refused_and_the_operator_sees_why(
    sessions: async_sessionmaker[AsyncSession],
    server: SftpServer,
    tenant: TenantConfig,
    client: httpx.AsyncClient,
    token: Callable[..., str],
) -> None:
    impostor = SftpServer(server.root, port=server.port, client_key=server.client_key)
    await server.stop()
    await impostor.start()
    try:
        interchange = await pending_interchange(sessions, tenant)
        assert await gateway(sessions, tenant).send_pending() == []
    finally:
        await impostor.stop()

    assert server.files() == []
    after = await reloaded(sessions, interchange)
    assert after.status is InterchangeStatus.PENDING
    assert after.delivery_attempts == 1
    presented = impostor.host_key.get_fingerprint()
    pinned = server.host_key.get_fingerprint()
    assert after.last_delivery_error == (
        f"SFTP_HOST_KEY_MISMATCH: the server at 127.0.0.1:{server.port} presented "
        f"{presented}, not the pinned {pinned}; connection refused"
    )
    headers = {
        "Authorization": f"Bearer {token(tenant=tenant.tenant_id, scopes=['billing.claim.read'])}"
    }
    listing = (await client.get("/v1/interchanges", headers=headers)).json()["items"]
    assert [(i["delivery_attempts"], i["last_delivery_error"]) for i in listing] == [
        (1, after.last_delivery_error)
    ]


async def test_a_server_that_is_down_is_retried_and_gets_the_file_once_it_is_up(
    sessions: async_sessionmaker[AsyncSession], server: SftpServer, tenant: TenantConfig
) -> None:
    await server.stop()
    interchange = await pending_interchange(sessions, tenant)
    batcher = gateway(sessions, tenant)

    assert await batcher.send_pending() == []
    waiting = await reloaded(sessions, interchange)
    assert waiting.status is InterchangeStatus.PENDING
    assert str(waiting.last_delivery_error).startswith("SFTP_UNREACHABLE: cannot reach 127.0.0.1")

    await server.start()
    await asyncio.sleep(0.1)  # the back-off (0.05 s in this test)
    assert [i.interchange_id for i in await batcher.send_pending()] == [interchange.interchange_id]

    after = await expect_sent_once(
        sessions, server, tenant, interchange, await file_content(sessions, interchange)
    )
    assert (after.delivery_attempts, after.last_delivery_error) == (2, None)


@pytest.mark.parametrize(
    ("moment", "left_on_server", "recorded"),
    [
        ("during_upload", "temporary", DeliveryState.UPLOADING),
        ("before_rename", "temporary", DeliveryState.UPLOADED),
        ("after_rename", "final", DeliveryState.UPLOADED),
    ],
)
async def test_a_gateway_killed_during_a_delivery_ends_with_exactly_one_file(
    sessions: async_sessionmaker[AsyncSession],
    server: SftpServer,
    tenant: TenantConfig,
    moment: str,
    left_on_server: str,
    recorded: DeliveryState,
) -> None:
    interchange = await pending_interchange(sessions, tenant)
    content = await file_content(sessions, interchange)
    file_name = str(interchange.file_name)

    with pytest.raises(ProcessDied):
        await gateway(sessions, tenant, DyingSftp(moment)).send_pending()

    expected = temporary_name(file_name) if left_on_server == "temporary" else file_name
    assert server.files() == [expected]
    assert (await reloaded(sessions, interchange)).status is InterchangeStatus.PENDING
    before = await record_of(sessions, interchange)
    assert before is not None and before.state is recorded

    sent = await gateway(sessions, tenant).send_pending()

    assert [i.interchange_id for i in sent] == [interchange.interchange_id]
    await expect_sent_once(sessions, server, tenant, interchange, content)
    assert server.files() == [file_name]
    after = await record_of(sessions, interchange)
    uploads = 2 if left_on_server == "temporary" else 1
    assert after is not None and after.uploads == uploads


async def test_a_gateway_killed_after_the_rename_was_recorded_uploads_nothing_again(
    sessions: async_sessionmaker[AsyncSession],
    server: SftpServer,
    tenant: TenantConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    interchange = await pending_interchange(sessions, tenant)
    content = await file_content(sessions, interchange)

    async def killed(*args: object) -> None:
        raise ProcessDied

    with monkeypatch.context() as patch:
        patch.setattr(batching.InterchangeRepository, "mark_sent", killed)
        with pytest.raises(ProcessDied):
            await gateway(sessions, tenant).send_pending()
    record = await record_of(sessions, interchange)
    assert record is not None and record.state is DeliveryState.RENAMED

    assert len(await gateway(sessions, tenant).send_pending()) == 1

    await expect_sent_once(sessions, server, tenant, interchange, content)
    after = await record_of(sessions, interchange)
    assert after is not None and after.uploads == 1


async def test_a_file_the_clearinghouse_took_before_the_restart_is_not_sent_again(
    sessions: async_sessionmaker[AsyncSession], server: SftpServer, tenant: TenantConfig
) -> None:
    interchange = await pending_interchange(sessions, tenant)
    content = await file_content(sessions, interchange)
    with pytest.raises(ProcessDied):
        await gateway(sessions, tenant, DyingSftp("after_rename")).send_pending()
    taken = server.root / "taken"
    taken.mkdir()
    (server.upload / str(interchange.file_name)).rename(taken / str(interchange.file_name))

    assert len(await gateway(sessions, tenant).send_pending()) == 1

    await expect_sent_once(sessions, server, tenant, interchange, content)
    assert server.files() == []
    assert server.files(taken) == [interchange.file_name]
    record = await record_of(sessions, interchange)
    assert record is not None and record.uploads == 1


async def test_two_replicas_sending_at_once_upload_each_interchange_once(
    sessions: async_sessionmaker[AsyncSession], server: SftpServer, tenant: TenantConfig
) -> None:
    interchanges = [await pending_interchange(sessions, tenant, claims=1) for _ in range(4)]

    first, second = await asyncio.gather(
        gateway(sessions, tenant).send_pending(), gateway(sessions, tenant).send_pending()
    )

    sent = sorted(i.interchange_id for i in [*first, *second])
    assert sent == sorted(i.interchange_id for i in interchanges)
    assert server.files() == sorted(str(i.file_name) for i in interchanges)
    for interchange in interchanges:
        record = await record_of(sessions, interchange)
        assert record is not None and record.uploads == 1
        assert (await reloaded(sessions, interchange)).status is InterchangeStatus.SENT
    assert await transmitted_events(sessions, tenant) == 4
