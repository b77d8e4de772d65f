"""Key material for the sandbox: an ed25519 host key, a client key pair for the gateway and
an authorized_keys file holding that client key."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import asyncssh


@dataclass(frozen=True)
class KeyFiles:
    host_key: Path
    client_key: Path
    client_public_key: Path
    authorized_keys: Path


def public_key_line(private_or_public_key: Path) -> str:
    """``ssh-ed25519 AAAA...`` (type and base64 only, no comment) for a key file."""
    try:
        key = asyncssh.read_private_key(str(private_or_public_key))
        exported = key.export_public_key("openssh").decode()
    except (asyncssh.KeyImportError, ValueError):
        exported = (
            asyncssh.read_public_key(str(private_or_public_key))
            .export_public_key("openssh")
            .decode()
        )
    return " ".join(exported.split()[:2])


def generate(folder: Path, *, overwrite: bool = False) -> KeyFiles:
    folder.mkdir(parents=True, exist_ok=True)
    files = KeyFiles(
        host_key=folder / "host_key",
        client_key=folder / "client_key",
        client_public_key=folder / "client_key.pub",
        authorized_keys=folder / "authorized_keys",
    )
    if not overwrite and any(
        p.exists() for p in (files.host_key, files.client_key, files.authorized_keys)
    ):
        raise FileExistsError(f"keys already exist in {folder}; pass --force to replace them")
    host = asyncssh.generate_private_key("ssh-ed25519", comment="clearinghouse-sandbox-host")
    client = asyncssh.generate_private_key("ssh-ed25519", comment="clearinghouse-sandbox-client")
    host.write_private_key(str(files.host_key))
    client.write_private_key(str(files.client_key))
    os.chmod(files.host_key, 0o600)
    os.chmod(files.client_key, 0o600)
    client.write_public_key(str(files.client_public_key))
    files.authorized_keys.write_bytes(client.export_public_key("openssh"))
    return files
