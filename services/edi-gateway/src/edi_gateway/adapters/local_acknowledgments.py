"""Reading a LOCAL_FOLDER clearinghouse's acknowledgment folder (development). Relative
folders resolve against ``root`` (``EDI_LOCAL_ROOT``; the working directory by default),
as :class:`~edi_gateway.adapters.transport.LocalFolderDelivery` does."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from contracts.tenant import Clearinghouse, LocalFolderTransport
from edi_gateway.service_layer.ports import InboundFile

PROCESSED = "processed"


class LocalFolderAcknowledgments:
    kind = "LOCAL_FOLDER"

    def __init__(self, root: Path | None = None) -> None:
        self._root = root

    def folder(self, clearinghouse: Clearinghouse) -> Path:
        transport = clearinghouse.transport
        if not isinstance(transport, LocalFolderTransport):
            raise TypeError("LocalFolderAcknowledgments reads LOCAL_FOLDER clearinghouses only")
        folder = Path(transport.acknowledgment_folder)
        return folder if folder.is_absolute() else (self._root or Path.cwd()) / folder

    async def list_new(self, clearinghouse: Clearinghouse) -> list[InboundFile]:
        return await asyncio.to_thread(self._list, self.folder(clearinghouse))

    async def mark_processed(self, clearinghouse: Clearinghouse, name: str) -> None:
        await asyncio.to_thread(self._move, self.folder(clearinghouse), name)

    def _list(self, folder: Path) -> list[InboundFile]:
        if not folder.is_dir():
            return []
        found = []
        for path in sorted(folder.iterdir(), key=lambda p: (p.stat().st_mtime, p.name)):
            if path.name.startswith(".") or path.name.endswith(".part") or not path.is_file():
                continue
            found.append(InboundFile(name=path.name, content=path.read_bytes()))
        return found

    def _move(self, folder: Path, name: str) -> None:
        if Path(name).name != name:
            raise ValueError("a file name, not a path")
        source = folder / name
        if not source.exists():
            return  # moved already (a retry after a crash)
        target_folder = folder / PROCESSED
        target_folder.mkdir(exist_ok=True)
        target = target_folder / name
        if target.exists():
            target = target_folder / f"{name}.{os.getpid()}.{source.stat().st_mtime_ns}"
        os.replace(source, target)
