"""The sandbox as one object: SFTP drop folders, the clearinghouse answering each received
file, the switches, and (optionally) the HTTP control API. Used in-process by tests and
by ``python -m clearinghouse_sandbox serve``."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncssh
import uvicorn

from clearinghouse_sandbox import logs, sftp
from clearinghouse_sandbox.keys import public_key_line
from clearinghouse_sandbox.processing import Clearinghouse
from clearinghouse_sandbox.state import (
    AcknowledgmentFile,
    ControlNumbers,
    ReceivedFile,
    Switches,
)


@dataclass
class SandboxConfig:
    root: Path
    host_key: Path
    authorized_keys: Path
    username: str = "rcm"
    sftp_port: int = 0  # 0: any free port (see ``Sandbox.sftp_port``)
    control_port: int | None = None  # None: no HTTP control API; 0: any free port
    bind: str = "127.0.0.1"
    switches: Switches = field(default_factory=Switches)


class Sandbox:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.root = config.root.resolve()
        self.inbound = self.root / sftp.INBOUND
        self.outbound = self.root / sftp.OUTBOUND
        self._switches = dataclasses.replace(config.switches)
        self._received: list[ReceivedFile] = []
        self._acknowledgments: list[AcknowledgmentFile] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._answer_lock = asyncio.Lock()
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._sftp_port = config.sftp_port
        self._outage_until: datetime | None = None
        self._outage_timer: asyncio.Task[None] | None = None
        self._control_server: uvicorn.Server | None = None
        self._control_task: asyncio.Task[None] | None = None
        self._control_port: int | None = None
        self._clearinghouse: Clearinghouse | None = None
        self._running = False

    # -- life cycle ---------------------------------------------------------------------
    async def start(self) -> None:
        for folder in (self.inbound, self.outbound, self.outbound / "processed"):
            folder.mkdir(parents=True, exist_ok=True)
        control_numbers = ControlNumbers(self.root)
        self._clearinghouse = Clearinghouse(self.outbound, control_numbers, lambda: _now())
        self._running = True
        await self._listen()
        if self.config.control_port is not None:
            await self._start_control_api(self.config.control_port)
        logs.event(
            "sandbox_started",
            sftp_port=self.sftp_port,
            control_port=self._control_port,
            last_control_number=control_numbers.last,
        )

    async def stop(self) -> None:
        self._running = False
        if self._outage_timer is not None:
            self._outage_timer.cancel()
        await self._stop_listening()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._control_server is not None and self._control_task is not None:
            self._control_server.should_exit = True
            await self._control_task
        logs.event("sandbox_stopped")

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- what tests and the control API read --------------------------------------------
    @property
    def sftp_port(self) -> int:
        return self._sftp_port

    @property
    def control_port(self) -> int | None:
        return self._control_port

    @property
    def host_public_key(self) -> str:
        """``ssh-ed25519 AAAA...``: the line a client pins."""
        return public_key_line(self.config.host_key)

    @property
    def switches(self) -> Switches:
        return dataclasses.replace(self._switches)

    def set_switches(self, **changes: Any) -> Switches:
        """Partial update; unknown names raise ``TypeError``, bad values ``ValueError``."""
        self._switches = dataclasses.replace(self._switches, **changes)
        logs.event("switches_changed", **changes)
        return self.switches

    def received(self) -> list[ReceivedFile]:
        return list(self._received)

    def acknowledgments(self) -> list[AcknowledgmentFile]:
        return list(self._acknowledgments)

    @property
    def outage_until(self) -> datetime | None:
        return self._outage_until

    async def settled(self) -> None:
        """Waits until every received file has been answered."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- outages ------------------------------------------------------------------------
    async def outage(self, seconds: float) -> datetime:
        """Stops listening and drops every connection for ``seconds``, then comes back."""
        if seconds <= 0:
            raise ValueError("seconds must be positive")
        if self._outage_timer is not None:
            self._outage_timer.cancel()
        self._outage_until = _now() + timedelta(seconds=seconds)
        await self._stop_listening()
        self._outage_timer = asyncio.get_running_loop().create_task(self._end_after(seconds))
        logs.event("outage_started", seconds=seconds, until=self._outage_until.isoformat())
        return self._outage_until

    async def end_outage(self) -> None:
        if self._outage_timer is not None and self._outage_timer is not asyncio.current_task():
            self._outage_timer.cancel()
        self._outage_timer = None
        if self._outage_until is None:
            return
        self._outage_until = None
        if self._running and self._acceptor is None:
            await self._listen()
        logs.event("outage_ended")

    async def _end_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self.end_outage()

    # -- SFTP ---------------------------------------------------------------------------
    async def _listen(self) -> None:
        self._acceptor = await sftp.listen(
            bind=self.config.bind,
            port=self._sftp_port,
            host_key=self.config.host_key,
            root=self.root,
            server_factory=self._server,
            on_arrival=self._on_arrival,
            upload_delay=lambda: self._switches.upload_delay_seconds,
        )
        self._sftp_port = self._acceptor.get_port()

    async def _stop_listening(self) -> None:
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            self._acceptor = None
        for conn in list(self._connections):
            conn.close()
        self._connections.clear()

    def _server(self) -> asyncssh.SSHServer:
        holder: dict[str, asyncssh.SSHServerConnection] = {}

        def track(conn: asyncssh.SSHServerConnection | None) -> None:
            if conn is not None:
                holder["conn"] = conn
                if self._outage_until is not None:
                    conn.close()  # accepted in the instant before the listener closed
                    return
                self._connections.add(conn)
            elif "conn" in holder:
                self._connections.discard(holder.pop("conn"))

        return sftp.KeyOnlyServer(self.config.username, self.config.authorized_keys, track)

    def _on_arrival(self, path: Path) -> None:
        received_at = _now()
        task = asyncio.get_running_loop().create_task(self._receive(path, received_at))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _receive(self, path: Path, received_at: datetime) -> None:
        content = await asyncio.to_thread(path.read_bytes)
        record = ReceivedFile(
            name=path.name,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            received_at=received_at,
        )
        self._received.append(record)
        logs.event("file_received", file=record.name, sha256=record.sha256, size=record.size)
        delay = self._switches.delay_seconds
        if delay > 0:
            await asyncio.sleep(delay)
        assert self._clearinghouse is not None
        async with self._answer_lock:  # one at a time: control numbers follow arrival order
            try:
                written = await asyncio.to_thread(
                    self._clearinghouse.answer, record, content, self.switches
                )
            except Exception as exc:
                record.outcome = "failed"
                logs.event("file_failed", file=record.name, error=type(exc).__name__)
                return
        self._acknowledgments += written
        logs.event(
            "file_answered",
            file=record.name,
            isa13=record.isa13,
            gs06=record.gs06,
            outcome=record.outcome,
            claims=[
                {"patient_control_number": c.patient_control_number, "status": c.status}
                for c in record.claims
            ],
        )

    # -- control API --------------------------------------------------------------------
    async def _start_control_api(self, port: int) -> None:
        from clearinghouse_sandbox.control_api import control_app

        sock = socket.socket(socket.AF_INET6 if ":" in self.config.bind else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.bind, port))
        self._control_port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            control_app(self), log_level="warning", access_log=False, lifespan="off"
        )
        self._control_server = uvicorn.Server(config)
        self._control_task = asyncio.get_running_loop().create_task(
            self._control_server.serve(sockets=[sock])
        )
        while not self._control_server.started:
            if self._control_task.done():
                await self._control_task
            await asyncio.sleep(0.01)


def _now() -> datetime:
    return datetime.now(UTC)
