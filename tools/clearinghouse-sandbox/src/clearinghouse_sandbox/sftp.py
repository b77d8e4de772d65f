"""The SFTP side: key authentication only, one user, a chroot at the root folder, and a
notice whenever a file appears under its final name in ``inbound/`` (a rename onto it, or
a direct write that is closed)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncssh

from clearinghouse_sandbox import logs
from clearinghouse_sandbox.processing import is_final_name

INBOUND = "inbound"
OUTBOUND = "outbound"


class KeyOnlyServer(asyncssh.SSHServer):
    """Public keys from the authorized_keys file (read at each login, so it can change),
    for the configured user name only. No passwords, no keyboard-interactive."""

    def __init__(
        self,
        username: str,
        authorized_keys: Path,
        on_connection: Callable[[asyncssh.SSHServerConnection | None], None],
    ) -> None:
        self._username = username
        self._authorized_keys = authorized_keys
        self._on_connection = on_connection
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._on_connection(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_connection(None)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if username != self._username:
            return False
        return key.public_data in _authorized(self._authorized_keys)


def _authorized(path: Path) -> set[bytes]:
    keys: set[bytes] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            keys.add(asyncssh.import_public_key(line).public_data)
        except (asyncssh.KeyImportError, ValueError):
            continue  # options before the key type are not supported; such lines are skipped
    return keys


class DropFolderSFTPServer(asyncssh.SFTPServer):
    """asyncssh's file-system SFTP server in a chroot; it answers ``posix-rename@openssh.com``
    (advertised by asyncssh) through ``posix_rename`` and plain rename through ``rename``."""

    def __init__(
        self,
        chan: asyncssh.SSHServerChannel[bytes],
        *,
        root: Path,
        on_arrival: Callable[[Path], None],
        upload_delay: Callable[[], float] = lambda: 0.0,
    ) -> None:
        super().__init__(chan, chroot=os.fsencode(root))
        self._upload_delay = upload_delay
        self._inbound = (root / INBOUND).resolve()
        self._on_arrival = on_arrival
        self._writing: dict[int, Path] = {}

    def _local(self, path: bytes) -> Path:
        return Path(os.fsdecode(self.map_path(path)))

    def _arrived(self, local: Path) -> None:
        if local.parent.resolve() == self._inbound and is_final_name(local.name):
            self._on_arrival(local)

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> Any:
        file_obj = super().open(path, pflags, attrs)
        if pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_APPEND | asyncssh.FXF_CREAT):
            self._writing[id(file_obj)] = self._local(path)
        return file_obj

    def open56(
        self, path: bytes, desired_access: int, flags: int, attrs: asyncssh.SFTPAttrs
    ) -> Any:
        file_obj = super().open56(path, desired_access, flags, attrs)
        if desired_access & (asyncssh.ACE4_WRITE_DATA | asyncssh.ACE4_APPEND_DATA):
            self._writing[id(file_obj)] = self._local(path)
        return file_obj

    def write(self, file_obj: object, offset: int, data: bytes) -> Any:
        delay = self._upload_delay()
        if delay <= 0:
            return super().write(file_obj, offset, data)
        return self._slow_write(file_obj, offset, data, delay)

    async def _slow_write(self, file_obj: object, offset: int, data: bytes, delay: float) -> Any:
        # asyncssh awaits a server method that returns an awaitable.
        await asyncio.sleep(delay)
        return asyncssh.SFTPServer.write(self, file_obj, offset, data)

    def close(self, file_obj: object) -> None:
        result = super().close(file_obj)
        if result is not None:  # the file-system implementation is synchronous
            raise RuntimeError("unexpected asynchronous close")
        written = self._writing.pop(id(file_obj), None)
        if written is not None:
            self._arrived(written)

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        super().rename(oldpath, newpath)
        self._arrived(self._local(newpath))

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        super().posix_rename(oldpath, newpath)
        self._arrived(self._local(newpath))


async def listen(
    *,
    bind: str,
    port: int,
    host_key: Path,
    root: Path,
    server_factory: Callable[[], asyncssh.SSHServer],
    on_arrival: Callable[[Path], None],
    upload_delay: Callable[[], float] = lambda: 0.0,
) -> asyncssh.SSHAcceptor:
    def sftp_factory(chan: asyncssh.SSHServerChannel[bytes]) -> asyncssh.SFTPServer:
        return DropFolderSFTPServer(
            chan, root=root, on_arrival=on_arrival, upload_delay=upload_delay
        )

    acceptor = await asyncssh.listen(
        bind,
        port,
        server_host_keys=[str(host_key)],
        server_factory=server_factory,
        sftp_factory=sftp_factory,
        allow_scp=False,
        reuse_address=True,
    )
    logs.event("sftp_listening", port=acceptor.get_port())
    return acceptor
