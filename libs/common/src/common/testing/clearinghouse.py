"""The clearinghouse sandbox as a real process (``python -m clearinghouse_sandbox``), and a
tenant configuration that sends to it over SFTP. Used by the end-to-end tests and the demo.

The sandbox is only run, never imported: the libraries do not depend on it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from common.testing.processes import free_port

SANDBOX_CLEARINGHOUSE = "sandbox-sftp"
SANDBOX_USERNAME = "harborbh"


@dataclass
class SandboxProcess:
    """One sandbox: its keys (``keygen``), its SFTP and control ports, its log."""

    folder: Path
    username: str = SANDBOX_USERNAME
    sftp_port: int = field(default_factory=free_port)
    control_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    host_key_line: str = ""

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.keys.mkdir(exist_ok=True)
        self.root.mkdir(exist_ok=True)
        if not self.host_key_file.exists():
            # keygen prints the host key's public line: the key the tenant pins.
            made = subprocess.run(  # noqa: S603 - our own interpreter and package
                [sys.executable, "-m", "clearinghouse_sandbox", "keygen", "--dir", str(self.keys)],
                check=True,
                capture_output=True,
                timeout=60,
            )
            self.host_key_file.write_text(made.stdout.decode().strip() + "\n")
        self.host_key_line = self.host_key_file.read_text().strip()

    @property
    def keys(self) -> Path:
        return self.folder / "keys"

    @property
    def root(self) -> Path:
        return self.folder / "root"

    @property
    def inbound(self) -> Path:
        return self.root / "inbound"

    @property
    def outbound(self) -> Path:
        return self.root / "outbound"

    @property
    def client_key(self) -> Path:
        return self.keys / "client_key"

    @property
    def host_key_file(self) -> Path:
        """The pinned host key as the tenant configuration names it."""
        return self.folder / "sandbox_host_key.pub"

    @property
    def log_path(self) -> Path:
        return self.folder / "sandbox.log"

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.control_port}"

    def start(self, timeout: float = 30, **switches: str) -> None:
        command = [
            sys.executable,
            "-m",
            "clearinghouse_sandbox",
            "serve",
            "--root",
            str(self.root),
            "--host-key",
            str(self.keys / "host_key"),
            "--authorized-keys",
            str(self.keys / "authorized_keys"),
            "--sftp-port",
            str(self.sftp_port),
            "--control-port",
            str(self.control_port),
            "--username",
            self.username,
        ]
        for name, value in switches.items():
            command += [f"--{name.replace('_', '-')}", value]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=log)  # noqa: S603
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the sandbox exited at start:\n{self.logs()[-3000:]}")
            try:
                if httpx.get(f"{self.control_url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the sandbox is not up after {timeout}s:\n{self.logs()[-3000:]}")

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # ------------------------------------------------------------------ control API

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        async with httpx.AsyncClient(base_url=self.control_url, timeout=10) as client:
            response = await client.request(method, path, json=body)
            response.raise_for_status()
            return response.json() if response.content else None

    async def set_switches(self, **changes: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("PUT", "/switches", changes)
        return result

    async def outage(self, seconds: float) -> None:
        await self._call("POST", "/outage", {"seconds": seconds})

    async def end_outage(self) -> None:
        await self._call("DELETE", "/outage")

    async def received(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await self._call("GET", "/received"))["items"]
        return items

    async def acknowledgments(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await self._call("GET", "/acknowledgments"))["items"]
        return items


def sandbox_tenant(
    text: str,
    *,
    tenant_id: str,
    sender_id: str,
    sandbox: SandboxProcess,
    host_key_file: Path | None = None,
    window_seconds: int = 3,
) -> str:
    """The demo tenant's YAML with every payer routed to the sandbox over SFTP: its own
    tenant id and interchange sender id (control numbers are per sender), the sandbox's
    port, the client key as a mounted file and the pinned host key (``host_key_file``
    to pin another key, e.g. a wrong one)."""
    replacements = [
        ("tenant_id: demo-bh\n", f"tenant_id: {tenant_id}\n", 1),
        ("clearinghouse_id: local-dev", f"clearinghouse_id: {SANDBOX_CLEARINGHOUSE}", -1),
        ("id: HARBORBH}", f"id: {sender_id}}}", -1),
        ("submitter_id: HARBORBH", f"submitter_id: {sender_id}", 1),
        ("host: clearinghouse-sandbox", "host: 127.0.0.1", 1),
        ("port: 2222", f"port: {sandbox.sftp_port}", 1),
        (f"username: {SANDBOX_USERNAME}", f"username: {sandbox.username}", 1),
        (
            "private_key_env: CLEARINGHOUSE_SFTP_PRIVATE_KEY   # PEM text, from a Secret",
            f"private_key_file: {sandbox.client_key}",
            1,
        ),
        (
            "host_key_file: /etc/rcm/clearinghouse/sandbox_host_key.pub",
            f"host_key_file: {host_key_file or sandbox.host_key_file}",
            1,
        ),
        (
            "batch: {window_seconds: 60, max_claims: 5000}",
            f"batch: {{window_seconds: {window_seconds}, max_claims: 5000}}",
            1,
        ),
    ]
    for old, new, count in replacements:
        if old not in text:
            raise ValueError(f"the sample tenant changed: {old!r} not found")
        text = text.replace(old, new, count)
    return text
