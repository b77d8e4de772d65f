"""What the gateway needs from the outside world, as protocols the adapters implement
(LOCAL_FOLDER and SFTP). The composition root (bootstrap) picks one per transport kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from contracts.tenant import Clearinghouse


class ClearinghouseTransport(Protocol):
    """Puts an interchange's file into the clearinghouse's upload folder: under a
    temporary name first, renamed when complete; idempotent for the same name and bytes."""

    kind: str

    async def deliver(
        self, clearinghouse: Clearinghouse, file_name: str, content: bytes
    ) -> str: ...


@dataclass(frozen=True)
class InboundFile:
    """An acknowledgment file as found in the clearinghouse's acknowledgment folder."""

    name: str
    content: bytes


class AcknowledgmentSource(Protocol):
    """Reads the clearinghouse's acknowledgment (outbound) folder.

    ``list_new`` returns the complete files waiting there (never a file still being
    written: temporary names, dot files and the ``processed`` subfolder are skipped).
    After a file is archived and applied (committed), ``mark_processed`` moves it into the
    ``processed`` subfolder of the acknowledgment folder, so it is not read again; a crash
    between the two reads it again, and the gateway applies a file it has seen (same
    SHA-256) only once."""

    kind: str

    async def list_new(self, clearinghouse: Clearinghouse) -> list[InboundFile]: ...

    async def mark_processed(self, clearinghouse: Clearinghouse, name: str) -> None: ...
