"""Fixtures of the sandbox tests: keys made once, a started sandbox on free ports in a fresh
root folder, and an SFTP client that logs in with the client key and pins the host key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from clearinghouse_sandbox import Sandbox, SandboxConfig, keys

FIXTURES = Path(__file__).parent / "fixtures"

Upload = Callable[..., Awaitable[None]]


@pytest.fixture(scope="session")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> keys.KeyFiles:
    return keys.generate(tmp_path_factory.mktemp("sandbox-keys"))


@pytest.fixture
def sandbox_config(tmp_path: Path, key_files: keys.KeyFiles) -> SandboxConfig:
    return SandboxConfig(
        root=tmp_path / "root",
        host_key=key_files.host_key,
        authorized_keys=key_files.authorized_keys,
        control_port=0,
    )


@pytest.fixture
async def sandbox(sandbox_config: SandboxConfig) -> AsyncIterator[Sandbox]:
    async with Sandbox(sandbox_config) as running:
        yield running


def _connect(
    sandbox: Sandbox, client_key: Path, *, username: str = "rcm", **options: object
) -> Any:
    return asyncssh.connect(
        "127.0.0.1",
        sandbox.sftp_port,
        username=username,
        client_keys=[str(client_key)],
        known_hosts=([asyncssh.import_public_key(sandbox.host_public_key)], [], []),
        agent_path=None,
        password=None,
        preferred_auth="publickey",
        **options,
    )


@pytest.fixture
def connect() -> Callable[..., Any]:
    """``connect(sandbox, client_key, username=...)``: an SSH connection pinning the host key."""
    return _connect


@pytest.fixture
def upload(request: pytest.FixtureRequest, key_files: keys.KeyFiles) -> Upload:
    """Uploads like the gateway does: a temporary name, then a rename; then waits for the
    sandbox to answer. ``target`` defaults to the ``sandbox`` fixture."""

    async def _upload(name: str, content: bytes, *, target: Sandbox | None = None) -> None:
        running: Sandbox = target or request.getfixturevalue("sandbox")
        async with (
            _connect(running, key_files.client_key) as conn,
            conn.start_sftp_client() as client,
        ):
            temporary = f"inbound/.{name}.part"
            async with client.open(temporary, "wb") as handle:
                await handle.write(content)
            await client.posix_rename(temporary, f"inbound/{name}")
        await running.settled()

    return _upload


@pytest.fixture
def sample() -> Callable[[str], bytes]:
    """``sample("837p_group_session.x12")``: a checked-in 837 that passes pyx12."""
    return lambda name: (FIXTURES / name).read_bytes()
