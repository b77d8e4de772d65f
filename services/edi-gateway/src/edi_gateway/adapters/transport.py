"""Delivering a file to a clearinghouse. LOCAL_FOLDER (development) writes into a folder;
SFTP arrives with #5 and plugs in here.

A delivery is idempotent: the same interchange is always the same name and the same bytes,
so delivering it again after a crash (the file written, the SENT state not yet committed)
finds the file already there and makes no second one. A file of that name with other
bytes is never overwritten."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from pathlib import Path

from common.errors import DomainError
from contracts.tenant import Clearinghouse, LocalFolderTransport


class DeliveryConflict(DomainError):
    """The target name holds a different file (never overwritten)."""


class LocalFolderDelivery:
    """Writes under a temporary name in the upload folder, then renames. Relative folders
    resolve against ``root`` (``EDI_LOCAL_ROOT``; the working directory by default)."""

    kind = "LOCAL_FOLDER"

    def __init__(self, root: Path | None = None) -> None:
        self._root = root

    def folder(self, transport: LocalFolderTransport) -> Path:
        folder = Path(transport.upload_folder)
        if folder.is_absolute():
            return folder
        return (self._root or Path.cwd()) / folder

    async def deliver(self, clearinghouse: Clearinghouse, file_name: str, content: bytes) -> str:
        transport = clearinghouse.transport
        if not isinstance(transport, LocalFolderTransport):
            raise TypeError("LocalFolderDelivery delivers to LOCAL_FOLDER clearinghouses only")
        target = await asyncio.to_thread(self._write, self.folder(transport), file_name, content)
        return str(target)

    def _write(self, folder: Path, file_name: str, content: bytes) -> Path:
        if Path(file_name).name != file_name or file_name.startswith("."):
            raise ValueError("a file name, not a path")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / file_name
        if target.exists():
            if _sha256(target.read_bytes()) == _sha256(content):
                return target  # delivered before a crash: nothing more to do
            raise DeliveryConflict(
                "DELIVERY_CONFLICT", f"{file_name} exists with other content; not overwritten"
            )
        temporary = folder / f".{file_name}.{uuid.uuid4().hex}.part"
        try:
            with temporary.open("xb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        _fsync_directory(folder)
        return target


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _fsync_directory(folder: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
