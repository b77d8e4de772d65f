"""Run the suite's services as real processes (end-to-end tests, the demo).

Each service is started as ``python -m <package> serve`` with its settings in the
environment, after its one-shot ``migrate``. Output goes to one log file per service so a
failing test can show it, and so a PHI scan can read every line the services wrote."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from common.testing.isolation import as_user

SAMPLE_TENANTS = Path(__file__).resolve().parents[4].parent / "contracts" / "samples" / "tenants"

PACKAGES = {
    "attendance": "attendance",
    "stays": "stays",
    "charges": "charges",
    "claims": "claims",
    "edi-gateway": "edi_gateway",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServiceProcess:
    name: str
    port: int
    log_path: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", PACKAGES[self.name], *args]

    def migrate(self) -> None:
        with self.log_path.open("ab") as log:
            subprocess.run(  # noqa: S603 - our own interpreter and package
                self.command("migrate"),
                env=self.env,
                stdout=log,
                stderr=log,
                check=True,
                timeout=120,
            )

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            self.command("serve", "--port", str(self.port)),
            env=self.env,
            stdout=log,
            stderr=log,
        )

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Suite:
    """The five services (or some of them) on one database and one broker."""

    database_url: str
    amqp_url: str
    topology_prefix: str
    jwt_secret: str
    log_dir: Path
    services: Sequence[str] = tuple(PACKAGES)
    extra_env: Mapping[str, str] = field(default_factory=dict)
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    # service -> the login role it runs as (least privilege): it migrates as the owner of
    # ``database_url`` and grants that role its runtime rights (DB_RUNTIME_ROLE).
    runtime_roles: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in self.services:
            role = self.runtime_roles.get(name)
            database = {"DATABASE_URL": self.database_url}
            if role:
                database = {
                    "DATABASE_URL": as_user(self.database_url, role),
                    "MIGRATION_DATABASE_URL": self.database_url,
                    "DB_RUNTIME_ROLE": role,
                }
            env = {
                **os.environ,
                **database,
                "AMQP_URL": self.amqp_url,
                "TOPOLOGY_PREFIX": self.topology_prefix,
                "JWT_SECRET": self.jwt_secret,
                "LOG_JSON": "true",
                "OUTBOX_POLL_SECONDS": "0.1",
                # Small pools: a test run keeps several suites up at once (the session's, a
                # module's own, replicas) on one Postgres of 100 connections.
                "DB_POOL_SIZE": "2",
                "DB_MAX_OVERFLOW": "3",
                "PREFETCH": "4",
                "GRACEFUL_TIMEOUT_SECONDS": "10",
                "TENANT_CONFIG_DIR": str(SAMPLE_TENANTS),
                **self.extra_env,
            }
            if not role:  # the owner's URL for everything, whatever the caller's env says
                env.pop("MIGRATION_DATABASE_URL", None)
                env.pop("DB_RUNTIME_ROLE", None)
            self.processes[name] = ServiceProcess(
                name=name, port=free_port(), log_path=self.log_dir / f"{name}.log", env=env
            )
        if "claims" in self.processes and "edi-gateway" in self.processes:
            # The claims API's dry run renders its 837 through the gateway (issue #8).
            claims = self.processes["claims"].env
            claims.setdefault("EDI_GATEWAY_URL", self.url("edi-gateway"))

    def url(self, service: str) -> str:
        return self.processes[service].base_url

    def migrate(self) -> None:
        """Each service's one-shot migration, all at once (they touch disjoint schemas)."""
        with ThreadPoolExecutor(max_workers=len(self.processes)) as pool:
            for future in [pool.submit(p.migrate) for p in self.processes.values()]:
                future.result()

    def start(self, timeout: float = 180) -> None:
        for p in self.processes.values():
            p.start()
        deadline = time.monotonic() + timeout
        waiting = set(self.processes)
        while waiting and time.monotonic() < deadline:
            for name in list(waiting):
                proc = self.processes[name]
                if proc.process is not None and proc.process.poll() is not None:
                    raise RuntimeError(f"{name} exited at start:\n{proc.logs()[-4000:]}")
                if proc.ready():
                    waiting.discard(name)
            time.sleep(0.2)
        if waiting:
            raise RuntimeError(f"not ready after {timeout}s: {sorted(waiting)}")

    def stop(self) -> dict[str, int | None]:
        return {name: p.stop() for name, p in self.processes.items()}
