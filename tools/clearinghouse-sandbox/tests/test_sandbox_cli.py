"""The command line: ``keygen`` writes the keys and prints the host key line to pin;
``serve`` runs until SIGTERM and logs one JSON line per event, with ids only."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import asyncssh
import httpx
import pytest

from clearinghouse_sandbox.__main__ import main
from clearinghouse_sandbox.keys import public_key_line


def test_keygen_writes_the_keys_and_prints_the_host_key_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keygen", "--dir", str(tmp_path)]) == 0

    printed = capsys.readouterr().out.strip()
    assert printed.startswith("ssh-ed25519 AAAA") and len(printed.split()) == 2
    assert printed == public_key_line(tmp_path / "host_key")
    names = {"host_key", "client_key", "client_key.pub", "authorized_keys"}
    assert {p.name for p in tmp_path.iterdir()} == names
    authorized = (tmp_path / "authorized_keys").read_text().split()[:2]
    assert " ".join(authorized) == public_key_line(tmp_path / "client_key.pub")
    assert main(["keygen", "--dir", str(tmp_path)]) == 1  # never overwrites by accident


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_serve_answers_uploads_and_stops_on_sigterm(
    tmp_path: Path, sample: Callable[[str], bytes]
) -> None:
    assert main(["keygen", "--dir", str(tmp_path / "keys")]) == 0
    sftp_port, control_port = _free_port(), _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "clearinghouse_sandbox",
        "serve",
        "--root",
        str(tmp_path / "root"),
        "--sftp-port",
        str(sftp_port),
        "--control-port",
        str(control_port),
        "--host-key",
        str(tmp_path / "keys" / "host_key"),
        "--authorized-keys",
        str(tmp_path / "keys" / "authorized_keys"),
        "--reject-pattern",
        "0002$",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{control_port}") as http:
            for _ in range(100):
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            assert (await http.get("/switches")).json()["reject_pattern"] == "0002$"
            host_key = public_key_line(tmp_path / "keys" / "host_key")
            async with (
                asyncssh.connect(
                    "127.0.0.1",
                    sftp_port,
                    username="rcm",
                    client_keys=[str(tmp_path / "keys" / "client_key")],
                    known_hosts=([asyncssh.import_public_key(host_key)], [], []),
                    agent_path=None,
                ) as conn,
                conn.start_sftp_client() as sftp,
            ):
                async with sftp.open("inbound/.claims.x12.part", "wb") as handle:
                    await handle.write(sample("837p_group_session.x12"))
                await sftp.posix_rename("inbound/.claims.x12.part", "inbound/claims.x12")
                for _ in range(100):
                    items = (await http.get("/received")).json()["items"]
                    if items and items[0]["outcome"] != "pending":
                        break
                    await asyncio.sleep(0.1)
                assert len(await sftp.glob("outbound/277CA_000000102_*.x12")) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    events = [json.loads(line) for line in output.decode().splitlines()]
    names = [e["event"] for e in events]
    assert "file_received" in names and "acknowledgment_written" in names
    assert names[-1] == "sandbox_stopped"
    answered = next(e for e in events if e["event"] == "file_answered")
    assert answered["claims"][1] == {"patient_control_number": "GT0415-0002", "status": "A7:21"}
    assert "BROWN" not in output.decode() and "19920211" not in output.decode()  # no PHI
