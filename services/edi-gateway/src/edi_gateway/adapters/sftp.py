"""SFTP to a clearinghouse (SPEC 7, 10): key authentication, a pinned host key, uploads
under a temporary name renamed when complete, and the acknowledgment folder read back.

- The private key comes from a mounted file (``private_key_file``) or an environment
  variable holding the PEM text (``private_key_env``), its passphrase from
  ``private_key_passphrase_env``; never a password (password and keyboard-interactive
  authentication, the SSH agent and ``~/.ssh/config`` are all switched off).
- The server must present exactly the pinned key (``host_key`` or ``host_key_file``):
  ``known_hosts`` is built from that key alone, so an unknown or changed key is refused
  (no trust on first use) and reported with both fingerprints.
- Every failure is a :class:`SftpError` with a stable code: ``SFTP_UNREACHABLE``,
  ``SFTP_HOST_KEY_MISMATCH``, ``SFTP_AUTH_FAILED``, ``SFTP_KEY_UNAVAILABLE``,
  ``SFTP_HOST_KEY_UNAVAILABLE``, ``SFTP_TIMEOUT``, ``SFTP_OPERATION_FAILED``. Messages
  name hosts, folders, file names and fingerprints only.

Delivery is driven by the batcher's recorded protocol (``service_layer.delivery``):
:meth:`SftpClearinghouse.upload_folder` opens one connection and offers its steps (look,
remove, upload, rename). :meth:`SftpClearinghouse.deliver` runs the same steps without a
record for callers that have none (idempotent: the same bytes already there are kept)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import posixpath
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Final, TypeVar

import asyncssh

from common.errors import DomainError
from common.logging import get_logger
from contracts.tenant import Clearinghouse, SftpTransport
from edi_gateway.adapters.transport import DeliveryConflict
from edi_gateway.domain.delivery import RemoteState, is_temporary_name, temporary_name
from edi_gateway.service_layer.ports import InboundFile

log = get_logger(__name__)

PROCESSED: Final = "processed"
_T = TypeVar("_T")


class SftpError(DomainError):
    """A failed SFTP exchange, with a stable code for the operator."""


class _PinnedHostKey(asyncssh.SSHClient):
    """Remembers the key a server presented when it is not the pinned one (asyncssh asks
    this only then), so the refusal can name it. Never accepts it."""

    def __init__(self) -> None:
        self.refused: asyncssh.SSHKey | None = None

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        self.refused = key
        return False


class SftpFolder:
    """One open SFTP session to a clearinghouse's folders (the recorded protocol's steps
    and the acknowledgment reads)."""

    def __init__(self, sftp: asyncssh.SFTPClient, transport: SftpTransport, timeout: float) -> None:
        self._sftp = sftp
        self._transport = transport
        self._timeout = timeout

    def _upload_path(self, name: str) -> str:
        return posixpath.join(self._transport.upload_folder, _plain_name(name))

    def _ack_path(self, *names: str) -> str:
        return posixpath.join(self._transport.acknowledgment_folder, *names)

    async def _do(self, operation: str, step: Awaitable[_T]) -> _T:
        try:
            return await asyncio.wait_for(step, self._timeout)
        except TimeoutError as exc:
            raise SftpError(
                "SFTP_TIMEOUT",
                f"{operation} on {self._transport.host}:{self._transport.port} took longer "
                f"than {self._timeout:g} s",
            ) from exc
        except asyncssh.SFTPError as exc:
            raise SftpError(
                "SFTP_OPERATION_FAILED",
                f"{operation} on {self._transport.host}:{self._transport.port} failed: "
                f"{exc.reason}",
            ) from exc
        except (asyncssh.DisconnectError, OSError) as exc:
            raise SftpError(
                "SFTP_UNREACHABLE",
                f"the connection to {self._transport.host}:{self._transport.port} was lost "
                f"during {operation} ({type(exc).__name__})",
            ) from exc

    async def _size(self, path: str) -> int | None:
        try:
            attrs = await self._sftp.stat(path)
        except asyncssh.SFTPNoSuchFile:
            return None
        return attrs.size

    async def _read(self, path: str) -> bytes:
        async with self._sftp.open(path, "rb") as handle:
            data = await handle.read()
        return data if isinstance(data, bytes) else data.encode()

    # ------------------------------------------------------------------ delivery steps

    async def look(self, file_name: str, temporary: str, content: bytes) -> RemoteState:
        final = self._upload_path(file_name)
        size = await self._do(f"stat {file_name}", self._size(final))
        if size is not None:
            if size == len(content):
                held = await self._do(f"read {file_name}", self._read(final))
                if _sha256(held) == _sha256(content):
                    return RemoteState.DELIVERED
            return RemoteState.CONFLICT
        partial = await self._do(f"stat {temporary}", self._size(self._upload_path(temporary)))
        return RemoteState.ABSENT if partial is None else RemoteState.TEMPORARY

    async def remove(self, name: str) -> None:
        path = self._upload_path(name)

        async def remove() -> None:
            with suppress(asyncssh.SFTPNoSuchFile):
                await self._sftp.remove(path)

        await self._do(f"remove {name}", remove())

    async def upload(self, name: str, content: bytes) -> None:
        path = self._upload_path(name)

        async def write() -> None:
            await self._sftp.makedirs(self._transport.upload_folder, exist_ok=True)
            async with self._sftp.open(path, "wb") as handle:
                await handle.write(content)
                # A server without fsync cannot say; the size check below still applies.
                with suppress(asyncssh.SFTPOpUnsupported):
                    await handle.fsync()
            size = await self._size(path)
            if size != len(content):
                raise SftpError(
                    "SFTP_OPERATION_FAILED",
                    f"{name} holds {size} bytes on the server after the upload, not {len(content)}",
                )

        await self._do(f"upload {name}", write())

    async def rename(self, temporary: str, file_name: str) -> None:
        source, target = self._upload_path(temporary), self._upload_path(file_name)

        async def rename() -> None:
            try:
                await self._sftp.posix_rename(source, target)
            except asyncssh.SFTPOpUnsupported:
                # Plain SFTP rename: some servers replace a target, so look first.
                if await self._sftp.exists(target):
                    raise DeliveryConflict(
                        "DELIVERY_CONFLICT", f"{file_name} appeared before the rename"
                    ) from None
                await self._sftp.rename(source, target)

        await self._do(f"rename {temporary}", rename())

    # ------------------------------------------------------------------ acknowledgments

    async def list_new(self) -> list[InboundFile]:
        folder = self._ack_path()

        async def names() -> list[str]:
            try:
                entries = await self._sftp.readdir(folder)
            except asyncssh.SFTPNoSuchFile:
                return []
            return sorted(
                str(entry.filename)
                for entry in entries
                if entry.attrs.type == asyncssh.FILEXFER_TYPE_REGULAR
                and not is_temporary_name(str(entry.filename))
            )

        found = []
        for name in await self._do(f"list {folder}", names()):
            content = await self._do(f"read {name}", self._read(self._ack_path(name)))
            found.append(InboundFile(name=name, content=content))
        return found

    async def mark_processed(self, name: str) -> None:
        source = self._ack_path(_plain_name(name))
        target = self._ack_path(PROCESSED, _plain_name(name))

        async def move() -> None:
            await self._sftp.makedirs(self._ack_path(PROCESSED), exist_ok=True)
            if not await self._sftp.exists(source):
                return  # moved by an earlier attempt
            try:
                await self._sftp.posix_rename(source, target)
            except asyncssh.SFTPOpUnsupported:
                if await self._sftp.exists(target):
                    await self._sftp.remove(target)  # the same name read again: keep one
                await self._sftp.rename(source, target)

        await self._do(f"move {name} to {PROCESSED}", move())


class SftpClearinghouse:
    """The SFTP transport (``ClearinghouseTransport``, ``StagedTransport``) and
    acknowledgment source (``AcknowledgmentSource``) of an SFTP clearinghouse."""

    kind = "SFTP"

    def __init__(
        self,
        *,
        operation_timeout_seconds: float = 60.0,
        environ: dict[str, str] | None = None,
    ) -> None:
        self._timeout = operation_timeout_seconds
        self._environ = environ

    @asynccontextmanager
    async def upload_folder(self, clearinghouse: Clearinghouse) -> AsyncIterator[SftpFolder]:
        async with self.session(clearinghouse) as folder:
            yield folder

    @asynccontextmanager
    async def session(self, clearinghouse: Clearinghouse) -> AsyncIterator[SftpFolder]:
        """One authenticated SFTP session to the clearinghouse, closed on leaving."""
        transport = _sftp_of(clearinghouse)
        key = self._private_key(transport)
        pinned = _pinned_host_key(transport)
        client = _PinnedHostKey()
        where = f"{transport.host}:{transport.port}"
        try:
            connection = await asyncssh.connect(
                transport.host,
                transport.port,
                username=transport.username,
                client_factory=lambda: client,
                known_hosts=([pinned], [], []),
                client_keys=[key],
                agent_path=None,
                password=None,
                preferred_auth=("publickey",),
                kbdint_auth=False,
                password_auth=False,
                config=None,
                connect_timeout=transport.connect_timeout_seconds,
                login_timeout=transport.connect_timeout_seconds,
            )
        except asyncssh.HostKeyNotVerifiable as exc:
            presented = client.refused.get_fingerprint() if client.refused else "an unknown key"
            raise SftpError(
                "SFTP_HOST_KEY_MISMATCH",
                f"the server at {where} presented {presented}, not the pinned "
                f"{pinned.get_fingerprint()}; connection refused",
            ) from exc
        except asyncssh.PermissionDenied as exc:
            raise SftpError(
                "SFTP_AUTH_FAILED",
                f"the server at {where} refused the key {key.get_fingerprint()} for user "
                f"{transport.username}",
            ) from exc
        except (TimeoutError, OSError, asyncssh.DisconnectError) as exc:
            raise SftpError(
                "SFTP_UNREACHABLE", f"cannot reach {where} ({type(exc).__name__})"
            ) from exc
        try:
            async with connection:
                try:
                    sftp = await asyncio.wait_for(connection.start_sftp_client(), self._timeout)
                except (TimeoutError, asyncssh.Error, OSError) as exc:
                    raise SftpError(
                        "SFTP_UNREACHABLE",
                        f"{where} accepted the connection but no SFTP session "
                        f"({type(exc).__name__})",
                    ) from exc
                async with sftp:
                    yield SftpFolder(sftp, transport, self._timeout)
        except asyncssh.DisconnectError as exc:
            raise SftpError(
                "SFTP_UNREACHABLE", f"the connection to {where} was lost ({type(exc).__name__})"
            ) from exc

    def _private_key(self, transport: SftpTransport) -> asyncssh.SSHKey:
        environ = os.environ if self._environ is None else self._environ
        passphrase = None
        if transport.private_key_passphrase_env:
            passphrase = environ.get(transport.private_key_passphrase_env)
            if passphrase is None:
                raise SftpError(
                    "SFTP_KEY_UNAVAILABLE",
                    f"the key passphrase variable {transport.private_key_passphrase_env} "
                    "is not set",
                )
        if transport.private_key_file:
            source = f"the key file {transport.private_key_file}"
            try:
                data = Path(transport.private_key_file).read_bytes()
            except OSError as exc:
                raise SftpError(
                    "SFTP_KEY_UNAVAILABLE", f"{source} cannot be read ({type(exc).__name__})"
                ) from exc
        else:
            assert transport.private_key_env is not None
            source = f"the key variable {transport.private_key_env}"
            text = environ.get(transport.private_key_env)
            if not text:
                raise SftpError("SFTP_KEY_UNAVAILABLE", f"{source} is not set")
            data = text.encode()
        try:
            return asyncssh.import_private_key(data, passphrase)
        except (asyncssh.KeyImportError, ValueError) as exc:
            # Never the exception text: it could quote the key.
            raise SftpError(
                "SFTP_KEY_UNAVAILABLE",
                f"{source} holds no usable private key (or the passphrase is wrong)",
            ) from exc

    # ------------------------------------------------------------------ ports

    async def deliver(self, clearinghouse: Clearinghouse, file_name: str, content: bytes) -> str:
        """Idempotent delivery without a record: the same bytes already under the final
        name are kept, a stale temporary file is replaced, other bytes are a conflict."""
        temporary = temporary_name(file_name)
        async with self.session(clearinghouse) as folder:
            found = await folder.look(file_name, temporary, content)
            if found is RemoteState.CONFLICT:
                raise DeliveryConflict(
                    "DELIVERY_CONFLICT", f"{file_name} exists with other content; not overwritten"
                )
            if found is not RemoteState.DELIVERED:
                if found is RemoteState.TEMPORARY:
                    await folder.remove(temporary)
                await folder.upload(temporary, content)
                await folder.rename(temporary, file_name)
        return posixpath.join(_sftp_of(clearinghouse).upload_folder, file_name)

    async def list_new(self, clearinghouse: Clearinghouse) -> list[InboundFile]:
        async with self.session(clearinghouse) as folder:
            return await folder.list_new()

    async def mark_processed(self, clearinghouse: Clearinghouse, name: str) -> None:
        async with self.session(clearinghouse) as folder:
            await folder.mark_processed(name)


def _sftp_of(clearinghouse: Clearinghouse) -> SftpTransport:
    transport = clearinghouse.transport
    if not isinstance(transport, SftpTransport):
        raise TypeError("SftpClearinghouse serves SFTP clearinghouses only")
    return transport


def _pinned_host_key(transport: SftpTransport) -> asyncssh.SSHKey:
    if transport.host_key is not None:
        lines = [transport.host_key]
        source = "the pinned host_key"
    else:
        assert transport.host_key_file is not None
        source = f"the host key file {transport.host_key_file}"
        try:
            lines = Path(transport.host_key_file).read_text().splitlines()
        except OSError as exc:
            raise SftpError(
                "SFTP_HOST_KEY_UNAVAILABLE", f"{source} cannot be read ({type(exc).__name__})"
            ) from exc
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        # '<type> <base64> [comment]', or a known_hosts line with the host pattern first.
        for candidate in (line, line.partition(" ")[2]):
            try:
                return asyncssh.import_public_key(candidate)
            except (asyncssh.KeyImportError, ValueError):
                continue
    raise SftpError("SFTP_HOST_KEY_UNAVAILABLE", f"{source} holds no public key")


def _plain_name(name: str) -> str:
    if posixpath.basename(name) != name or name in ("", ".", ".."):
        raise ValueError("a file name, not a path")
    return name


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
