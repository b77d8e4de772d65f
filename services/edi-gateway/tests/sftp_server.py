"""A real SFTP server for the tests: asyncssh in-process, chrooted to a folder, with a
generated ed25519 host key and one authorized client key (no passwords). It can stop and
start again on the same port (a clearinghouse that is down for a while)."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from contracts.tenant import Clearinghouse, SftpTransport, TenantConfig

UPLOAD_FOLDER = "inbound"
ACKNOWLEDGMENT_FOLDER = "outbound"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def public_line(key: asyncssh.SSHKey) -> str:
    """'<type> <base64>', as a tenant pins it."""
    return " ".join(key.export_public_key("openssh").decode().split()[:2])


@dataclass
class SftpServer:
    root: Path
    port: int = field(default_factory=free_port)
    host_key: asyncssh.SSHKey = field(
        default_factory=lambda: asyncssh.generate_private_key("ssh-ed25519")
    )
    client_key: asyncssh.SSHKey = field(
        default_factory=lambda: asyncssh.generate_private_key("ssh-ed25519")
    )
    username: str = "harbor"
    _server: asyncssh.SSHAcceptor | None = None

    @property
    def upload(self) -> Path:
        return self.root / UPLOAD_FOLDER

    @property
    def acknowledgments(self) -> Path:
        return self.root / ACKNOWLEDGMENT_FOLDER

    @property
    def pinned_host_key(self) -> str:
        return public_line(self.host_key)

    def client_key_pem(self, passphrase: str | None = None) -> str:
        # PKCS#8 when encrypted: OpenSSH's own encrypted format needs bcrypt.
        if passphrase is None:
            return self.client_key.export_private_key("openssh").decode()
        return self.client_key.export_private_key("pkcs8-pem", passphrase).decode()

    async def start(self) -> None:
        self.upload.mkdir(parents=True, exist_ok=True)
        self.acknowledgments.mkdir(parents=True, exist_ok=True)
        authorized = asyncssh.import_authorized_keys(
            self.client_key.export_public_key("openssh").decode()
        )
        chroot = str(self.root).encode()

        def sftp(channel: asyncssh.SSHServerChannel[bytes]) -> asyncssh.SFTPServer:
            return asyncssh.SFTPServer(channel, chroot=chroot)

        self._server = await asyncssh.listen(
            "127.0.0.1",
            self.port,
            server_host_keys=[self.host_key],
            authorized_client_keys=authorized,
            password_auth=False,
            kbdint_auth=False,
            sftp_factory=sftp,
            allow_scp=False,
            config=None,
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def files(self, folder: Path | None = None) -> list[str]:
        """Every file name in the upload folder (temporary ones included)."""
        folder = folder or self.upload
        return sorted(p.name for p in folder.iterdir() if p.is_file())

    def transport(self, **changes: Any) -> SftpTransport:
        values: dict[str, Any] = {
            "kind": "SFTP",
            "host": "127.0.0.1",
            "port": self.port,
            "username": self.username,
            "private_key_env": "EDI_TEST_SFTP_KEY",
            "host_key": self.pinned_host_key,
            "upload_folder": UPLOAD_FOLDER,
            "acknowledgment_folder": ACKNOWLEDGMENT_FOLDER,
            "connect_timeout_seconds": 2,
        }
        values.update(changes)
        return SftpTransport.model_validate({k: v for k, v in values.items() if v is not None})


def with_sftp(
    tenant: TenantConfig, clearinghouse_id: str, transport: SftpTransport, tenant_id: str
) -> TenantConfig:
    """The tenant under another id, its clearinghouse reached over ``transport``."""
    clearinghouses: list[Clearinghouse] = [
        c.model_copy(update={"transport": transport}) if c.id == clearinghouse_id else c
        for c in tenant.clearinghouses
    ]
    return tenant.model_copy(update={"tenant_id": tenant_id, "clearinghouses": clearinghouses})
