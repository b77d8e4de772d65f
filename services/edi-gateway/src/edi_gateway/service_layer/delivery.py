"""Recorded delivery (SPEC 7, 9): never two uploads of one interchange, also after a
gateway crash in the middle of one.

The batcher locks an interchange row (``FOR UPDATE SKIP LOCKED``, so no two replicas work
on one interchange at once) and delivers it inside that transaction; SENT commits there.
A crash rolls that transaction back, so what the delivery did on the server must be
recorded elsewhere: a delivery record per interchange (``interchange_delivery``), written
in short transactions of its own (another connection) that commit at once and survive the
main transaction's rollback:

1. look at the server: the final name (size, then bytes), the temporary name;
2. decide (``domain.delivery.next_step``) with the record: already there / taken by the
   clearinghouse → nothing to upload; a stale temporary file → removed first;
3. record UPLOADING, upload ``.<file_name>.part``, record UPLOADED, rename to the final
   name (``posix-rename`` where the server has it), record RENAMED;
4. back in the batcher's transaction: the interchange turns SENT (attempts counted, the
   last error cleared) and the claims' ``edi.claim.transmitted.v1`` are published.

A failure at any step leaves the interchange PENDING with its attempt, time and coded error
("SFTP_HOST_KEY_MISMATCH: ...") for the operator, and the batcher retries with back-off.
A transport that is idempotent by itself (LOCAL_FOLDER: one local rename, bytes checked
under the final name) keeps the plain ``deliver`` call and no record."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from common.db import UnitOfWork
from common.logging import get_logger
from contracts.tenant import Clearinghouse
from edi_gateway.adapters.db.delivery_records import DeliveryRecord, DeliveryRecordRepository
from edi_gateway.adapters.transport import DeliveryConflict
from edi_gateway.domain.delivery import (
    DeliveryState,
    DeliveryStep,
    RemoteState,
    next_step,
    temporary_name,
)
from edi_gateway.service_layer.retry import coded_error

log = get_logger(__name__)


class UploadFolder(Protocol):
    """One open connection to a clearinghouse's upload folder."""

    async def look(self, file_name: str, temporary: str, content: bytes) -> RemoteState: ...

    async def remove(self, name: str) -> None: ...

    async def upload(self, name: str, content: bytes) -> None: ...

    async def rename(self, temporary: str, file_name: str) -> None: ...


@runtime_checkable
class StagedTransport(Protocol):
    """A transport whose upload and rename are separate server operations (SFTP): the
    batcher drives it through the recorded protocol instead of calling ``deliver``."""

    kind: str

    def upload_folder(
        self, clearinghouse: Clearinghouse
    ) -> AbstractAsyncContextManager[UploadFolder]: ...


@dataclass(frozen=True)
class DeliveredFile:
    file_name: str
    step: DeliveryStep
    uploaded: bool


class DeliveryJournal:
    """The delivery records, each write its own committed transaction."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork]) -> None:
        self._uow = unit_of_work

    async def get(self, tenant_id: str, interchange_id: str) -> DeliveryRecord | None:
        async with self._uow() as uow:
            return await DeliveryRecordRepository(uow.session).get(tenant_id, interchange_id)

    async def record(
        self,
        tenant_id: str,
        interchange_id: str,
        state: DeliveryState,
        file_name: str,
        content: bytes,
    ) -> None:
        async with self._uow() as uow:
            await DeliveryRecordRepository(uow.session).record(
                tenant_id=tenant_id,
                interchange_id=interchange_id,
                state=state,
                file_name=file_name,
                temporary_name=temporary_name(file_name),
                size_bytes=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
            )
            await uow.commit()


async def deliver_recorded(
    journal: DeliveryJournal,
    transport: StagedTransport,
    clearinghouse: Clearinghouse,
    *,
    tenant_id: str,
    interchange_id: str,
    file_name: str,
    content: bytes,
) -> DeliveredFile:
    """Steps 1 to 3 of the module docstring; raises on any failure (nothing is SENT)."""
    temporary = temporary_name(file_name)
    async with transport.upload_folder(clearinghouse) as folder:
        record = await journal.get(tenant_id, interchange_id)
        found = await folder.look(file_name, temporary, content)
        step = next_step(record.state if record else None, found)
        context = {
            "tenant_id": tenant_id,
            "interchange_id": interchange_id,
            "file_name": file_name,
            "step": step.value,
        }
        if step is DeliveryStep.CONFLICT:
            raise DeliveryConflict(
                "DELIVERY_CONFLICT", f"{file_name} exists with other content; not overwritten"
            )
        if step is DeliveryStep.ALREADY_DELIVERED:
            log.info("delivery_found_on_server", **context)
            return DeliveredFile(file_name, step, uploaded=False)
        if step is DeliveryStep.TAKEN_BY_CLEARINGHOUSE:
            log.warning(
                "delivery_renamed_before_and_taken_by_clearinghouse",
                recorded=record.state.value if record else None,
                **context,
            )
            return DeliveredFile(file_name, step, uploaded=False)
        await journal.record(tenant_id, interchange_id, DeliveryState.UPLOADING, file_name, content)
        if step is DeliveryStep.REPLACE_TEMPORARY:
            log.info("delivery_removes_stale_temporary_file", **context)
            await folder.remove(temporary)
        await folder.upload(temporary, content)
        await journal.record(tenant_id, interchange_id, DeliveryState.UPLOADED, file_name, content)
        await folder.rename(temporary, file_name)
        await journal.record(tenant_id, interchange_id, DeliveryState.RENAMED, file_name, content)
        return DeliveredFile(file_name, step, uploaded=True)


def describe_delivery_error(exc: BaseException) -> tuple[str, str]:
    """The code and operator-readable message of a failed delivery."""
    return coded_error(exc, "DELIVERY_FAILED")
