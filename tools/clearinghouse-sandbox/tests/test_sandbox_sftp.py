"""The SFTP side and the switches: what counts as received, who may log in, outages, delays,
control numbers across restarts, and the HTTP control API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncssh
import httpx
import pytest

from clearinghouse_sandbox import Sandbox, SandboxConfig, keys
from clearinghouse_sandbox.x12 import read_interchange

PROFESSIONAL = "837p_group_session.x12"
Connect = Callable[..., Any]


async def test_a_temporary_name_is_ignored_until_it_is_renamed(
    sandbox: Sandbox, connect: Connect, key_files: keys.KeyFiles, sample: Callable[[str], bytes]
) -> None:
    async with connect(sandbox, key_files.client_key) as conn, conn.start_sftp_client() as sftp:
        for temporary in ("inbound/.claims.x12.part", "inbound/claims.x12.tmp"):
            async with sftp.open(temporary, "wb") as handle:
                await handle.write(sample(PROFESSIONAL))
        await sandbox.settled()
        assert sandbox.received() == []

        await sftp.rename("inbound/claims.x12.tmp", "inbound/claims.x12")  # plain SFTP rename
        await sandbox.settled()

    assert [r.name for r in sandbox.received()] == ["claims.x12"]
    assert (sandbox.inbound / "claims.x12").exists()  # left in place for the gateway to see


async def test_a_posix_rename_over_sftp_counts_as_received(
    sandbox: Sandbox, upload: Callable[..., Awaitable[None]], sample: Callable[[str], bytes]
) -> None:
    await upload("claims.x12", sample(PROFESSIONAL))

    [record] = sandbox.received()
    assert record.name == "claims.x12" and record.size == len(sample(PROFESSIONAL))
    assert not list(sandbox.inbound.glob(".*"))


async def test_a_direct_write_counts_when_the_file_is_closed(
    sandbox: Sandbox, connect: Connect, key_files: keys.KeyFiles, sample: Callable[[str], bytes]
) -> None:
    async with connect(sandbox, key_files.client_key) as conn, conn.start_sftp_client() as sftp:
        handle = await sftp.open("inbound/direct.x12", "wb")
        await handle.write(sample(PROFESSIONAL))
        await sandbox.settled()
        assert sandbox.received() == []
        await handle.close()
        await sandbox.settled()

    assert [r.name for r in sandbox.received()] == ["direct.x12"]


async def test_the_gateway_can_move_picked_up_acknowledgments_into_processed(
    sandbox: Sandbox,
    connect: Connect,
    key_files: keys.KeyFiles,
    upload: Callable[..., Awaitable[None]],
    sample: Callable[[str], bytes],
) -> None:
    await upload("claims.x12", sample(PROFESSIONAL))

    async with connect(sandbox, key_files.client_key) as conn, conn.start_sftp_client() as sftp:
        names = sorted(n for n in await sftp.listdir("outbound") if n.endswith(".x12"))
        assert len(names) == 3
        await sftp.makedirs("outbound/processed", exist_ok=True)
        for name in names:
            await sftp.posix_rename(f"outbound/{name}", f"outbound/processed/{name}")
        await sftp.remove(f"outbound/processed/{names[0]}")

    assert sorted(p.name for p in (sandbox.outbound / "processed").iterdir()) == names[1:]


async def test_a_client_key_not_in_authorized_keys_is_refused(
    sandbox: Sandbox, connect: Connect, tmp_path: Path
) -> None:
    stranger = keys.generate(tmp_path / "stranger").client_key

    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(sandbox, stranger):
            pass


async def test_another_user_name_is_refused_even_with_the_right_key(
    sandbox: Sandbox, connect: Connect, key_files: keys.KeyFiles
) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(sandbox, key_files.client_key, username="root"):
            pass


async def test_passwords_are_refused(sandbox: Sandbox) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        async with asyncssh.connect(
            "127.0.0.1",
            sandbox.sftp_port,
            username="rcm",
            password="rcm",
            client_keys=None,
            agent_path=None,
            known_hosts=([asyncssh.import_public_key(sandbox.host_public_key)], [], []),
        ):
            pass


async def test_an_outage_refuses_connections_and_ends_by_itself(
    sandbox: Sandbox, connect: Connect, key_files: keys.KeyFiles
) -> None:
    port = sandbox.sftp_port
    async with connect(sandbox, key_files.client_key) as before:
        await sandbox.outage(0.5)
        await asyncio.wait_for(before.wait_closed(), 5)  # open connections are dropped

    with pytest.raises(OSError):
        async with connect(sandbox, key_files.client_key):
            pass

    await asyncio.sleep(0.8)
    assert sandbox.outage_until is None and sandbox.sftp_port == port
    async with connect(sandbox, key_files.client_key) as conn, conn.start_sftp_client() as sftp:
        assert "inbound" in await sftp.listdir(".")


async def test_delay_seconds_holds_the_acknowledgments_back(
    sandbox: Sandbox, connect: Connect, key_files: keys.KeyFiles, sample: Callable[[str], bytes]
) -> None:
    sandbox.set_switches(delay_seconds=0.6)
    async with (
        connect(sandbox, key_files.client_key) as conn,
        conn.start_sftp_client() as sftp,
        sftp.open("inbound/claims.x12", "wb") as handle,
    ):
        await handle.write(sample(PROFESSIONAL))

    await asyncio.sleep(0.3)
    assert len(sandbox.received()) == 1 and not list(sandbox.outbound.glob("*.x12"))
    await sandbox.settled()
    assert len(list(sandbox.outbound.glob("*.x12"))) == 3


async def test_control_numbers_never_repeat_across_a_restart(
    sandbox_config: SandboxConfig,
    upload: Callable[..., Awaitable[None]],
    sample: Callable[[str], bytes],
) -> None:
    used: list[str] = []
    for isa13 in ("000000102", "000000103"):
        content = sample(PROFESSIONAL).replace(b"000000102", isa13.encode())
        async with Sandbox(sandbox_config) as running:
            await upload(f"claims-{isa13}.x12", content, target=running)
            for path in running.outbound.glob(f"*_{isa13}_*.x12"):
                used.append(read_interchange(path.read_text()).control_number)

    assert sorted(used) == [f"{n:09d}" for n in range(1, 7)]


async def test_the_control_api_reads_and_changes_the_switches_and_lists_the_files(
    sandbox: Sandbox, upload: Callable[..., Awaitable[None]], sample: Callable[[str], bytes]
) -> None:
    base = f"http://127.0.0.1:{sandbox.control_port}"
    async with httpx.AsyncClient(base_url=base) as http:
        assert (await http.get("/healthz")).json()["status"] == "ok"
        changed = await http.put("/switches", json={"reject_pattern": "0001$"})
        assert changed.json()["reject_pattern"] == "0001$"
        assert changed.json()["delay_seconds"] == 0  # untouched by a partial update
        assert (await http.put("/switches", json={"reject_pattern": "("})).status_code == 422

        await upload("claims.x12", sample(PROFESSIONAL))

        [item] = (await http.get("/received")).json()["items"]
        assert (item["name"], item["isa13"], item["gs06"]) == ("claims.x12", "000000102", ["102"])
        assert [(c["patient_control_number"], c["status"]) for c in item["claims"]] == [
            ("GT0415-0001", "A7:21"),
            ("GT0415-0002", "A2:20"),
        ]
        assert len(item["sha256"]) == 64
        acks = (await http.get("/acknowledgments")).json()["items"]
        assert sorted(a["name"] for a in acks) == sorted(item["acknowledgments"])
        assert {a["kind"] for a in acks} == {"TA1", "999", "277CA"}

        started = await http.post("/outage", json={"seconds": 30})
        assert started.json()["outage"] is True
        ended = await http.delete("/outage")
        assert ended.json()["outage"] is False


async def test_upload_delay_keeps_an_upload_in_flight_under_its_temporary_name(
    sandbox: Sandbox, connect: Connect, key_files: keys.KeyFiles, sample: Callable[[str], bytes]
) -> None:
    sandbox.set_switches(upload_delay_seconds=1.0)
    async with connect(sandbox, key_files.client_key) as conn, conn.start_sftp_client() as sftp:
        handle = await sftp.open("inbound/.slow.x12.part", "wb")
        writing = asyncio.create_task(handle.write(sample(PROFESSIONAL)))
        await asyncio.sleep(0.5)
        assert not writing.done()  # the write is held back by the switch
        assert (sandbox.inbound / ".slow.x12.part").exists()
        await writing
        await handle.close()
        await sftp.posix_rename("inbound/.slow.x12.part", "inbound/slow.x12")
        await sandbox.settled()

    [record] = sandbox.received()
    assert record.name == "slow.x12" and record.size == len(sample(PROFESSIONAL))
