"""The SFTP client on its own (SPEC 7, 10): key authentication from a file or an
environment variable, the pinned host key, coded errors, idempotent deliveries, and the
acknowledgment folder read back and cleared into ``processed/``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from common.tenants import TenantDirectory
from common.testing.processes import SAMPLE_TENANTS
from contracts.tenant import Clearinghouse
from edi_gateway.adapters.sftp import SftpClearinghouse, SftpError
from edi_gateway.adapters.transport import DeliveryConflict
from edi_gateway.service_layer.ports import InboundFile

from ..claim_samples import CLEARINGHOUSE, TENANT
from ..sftp_server import SftpServer, with_sftp

FILE = "demo-bh_local-dev_837P_000000001.x12"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[SftpServer]:
    server = SftpServer(tmp_path / "sftp")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def clearinghouse(server: SftpServer, **changes: Any) -> Clearinghouse:
    sample = TenantDirectory.load(SAMPLE_TENANTS).get(TENANT)
    tenant = with_sftp(sample, CLEARINGHOUSE, server.transport(**changes), TENANT)
    return tenant.clearinghouse(CLEARINGHOUSE)


def client(server: SftpServer, **environ: str) -> SftpClearinghouse:
    return SftpClearinghouse(
        operation_timeout_seconds=5,
        environ={"EDI_TEST_SFTP_KEY": server.client_key_pem(), **environ},
    )


async def test_a_delivery_uploads_a_temporary_name_and_renames_it(server: SftpServer) -> None:
    target = await client(server).deliver(clearinghouse(server), FILE, b"ISA*first~")

    assert target == f"inbound/{FILE}"
    assert server.files() == [FILE]
    assert (server.upload / FILE).read_bytes() == b"ISA*first~"


async def test_delivering_the_same_file_again_keeps_one_and_other_bytes_are_refused(
    server: SftpServer,
) -> None:
    sftp, target = client(server), clearinghouse(server)
    (server.upload / f".{FILE}.part").write_bytes(b"ISA*fi")  # a stale partial upload
    await sftp.deliver(target, FILE, b"ISA*first~")
    await sftp.deliver(target, FILE, b"ISA*first~")

    with pytest.raises(DeliveryConflict):
        await sftp.deliver(target, FILE, b"ISA*other~")
    assert server.files() == [FILE]
    assert (server.upload / FILE).read_bytes() == b"ISA*first~"


async def test_the_private_key_can_come_from_a_mounted_file_with_a_passphrase(
    server: SftpServer, tmp_path: Path
) -> None:
    key_file = tmp_path / "id_ed25519"
    key_file.write_text(server.client_key_pem(passphrase="s3cret"))
    target = clearinghouse(
        server,
        private_key_env=None,
        private_key_file=str(key_file),
        private_key_passphrase_env="EDI_TEST_SFTP_PASSPHRASE",
    )

    await client(server, EDI_TEST_SFTP_PASSPHRASE="s3cret").deliver(target, FILE, b"ISA*~")

    assert server.files() == [FILE]


async def test_the_host_key_can_be_pinned_by_a_file(server: SftpServer, tmp_path: Path) -> None:
    pinned = tmp_path / "known_host"
    pinned.write_text(f"[127.0.0.1]:{server.port} {server.pinned_host_key}\n")
    target = clearinghouse(server, host_key=None, host_key_file=str(pinned))

    await client(server).deliver(target, FILE, b"ISA*~")

    assert server.files() == [FILE]


async def test_a_server_key_other_than_the_pinned_one_is_refused(server: SftpServer) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519")
    target = clearinghouse(
        server, host_key=" ".join(other.export_public_key().decode().split()[:2])
    )

    with pytest.raises(SftpError) as refused:
        await client(server).deliver(target, FILE, b"ISA*~")

    assert refused.value.code == "SFTP_HOST_KEY_MISMATCH"
    assert server.host_key.get_fingerprint() in refused.value.message
    assert other.get_fingerprint() in refused.value.message
    assert server.files() == []


async def test_a_client_key_the_server_does_not_know_is_an_authentication_failure(
    server: SftpServer,
) -> None:
    stranger = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()

    with pytest.raises(SftpError) as refused:
        await client(server, EDI_TEST_SFTP_KEY=stranger).deliver(
            clearinghouse(server), FILE, b"ISA*~"
        )

    assert refused.value.code == "SFTP_AUTH_FAILED"
    assert server.files() == []


@pytest.mark.parametrize(
    "changes",
    [
        {"private_key_env": "EDI_TEST_SFTP_NO_SUCH_KEY"},
        {"private_key_env": None, "private_key_file": "/nonexistent/id_ed25519"},
    ],
)
async def test_a_missing_private_key_is_reported_as_unavailable(
    server: SftpServer, changes: dict[str, Any]
) -> None:
    with pytest.raises(SftpError) as missing:
        await client(server).deliver(clearinghouse(server, **changes), FILE, b"ISA*~")

    assert missing.value.code == "SFTP_KEY_UNAVAILABLE"


async def test_a_server_that_is_not_listening_is_unreachable(server: SftpServer) -> None:
    await server.stop()

    with pytest.raises(SftpError) as down:
        await client(server).deliver(clearinghouse(server), FILE, b"ISA*~")

    assert down.value.code == "SFTP_UNREACHABLE"


async def test_only_complete_acknowledgments_are_listed_and_processed_ones_move_away(
    server: SftpServer,
) -> None:
    sftp, source = client(server), clearinghouse(server)
    folder = server.acknowledgments
    (folder / "ta1_000000001.x12").write_bytes(b"ISA*TA1~")
    (folder / "999_000000001.x12").write_bytes(b"ISA*999~")
    (folder / ".hidden.x12").write_bytes(b"no")
    (folder / "277ca.x12.part").write_bytes(b"no")
    (folder / "277ca.x12.tmp").write_bytes(b"no")
    (folder / "processed").mkdir()
    (folder / "processed" / "old.x12").write_bytes(b"no")

    found = await sftp.list_new(source)

    assert found == [
        InboundFile("999_000000001.x12", b"ISA*999~"),
        InboundFile("ta1_000000001.x12", b"ISA*TA1~"),
    ]
    await sftp.mark_processed(source, "ta1_000000001.x12")
    await sftp.mark_processed(source, "ta1_000000001.x12")  # moved already: fine
    assert [f.name for f in await sftp.list_new(source)] == ["999_000000001.x12"]
    assert sorted(p.name for p in (folder / "processed").iterdir()) == [
        "old.x12",
        "ta1_000000001.x12",
    ]


async def test_the_processed_folder_is_created_when_missing(server: SftpServer) -> None:
    sftp, source = client(server), clearinghouse(server)
    name = f"999_{uuid.uuid4().hex[:6]}.x12"
    (server.acknowledgments / name).write_bytes(b"ISA*999~")

    await sftp.mark_processed(source, name)

    assert (server.acknowledgments / "processed" / name).read_bytes() == b"ISA*999~"
    assert await sftp.list_new(source) == []


async def test_a_wrong_passphrase_makes_the_key_unavailable(
    server: SftpServer, tmp_path: Path
) -> None:
    key_file = tmp_path / "id_ed25519"
    key_file.write_text(server.client_key_pem(passphrase="s3cret"))
    target = clearinghouse(
        server,
        private_key_env=None,
        private_key_file=str(key_file),
        private_key_passphrase_env="EDI_TEST_SFTP_PASSPHRASE",
    )

    with pytest.raises(SftpError) as refused:
        await client(server, EDI_TEST_SFTP_PASSPHRASE="n0t-it").deliver(target, FILE, b"ISA*~")

    assert refused.value.code == "SFTP_KEY_UNAVAILABLE"
    assert "s3cret" not in str(refused.value) and "n0t-it" not in str(refused.value)
