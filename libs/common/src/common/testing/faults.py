"""Faults for the chaos suite: a TCP proxy that stands in for a broker or database restart.

The broker and the database are shared with other engineers' runs and with CI, so the
chaos suite never restarts the real RabbitMQ or Postgres. The services connect to them
through a :class:`TcpProxy` of ours instead (their ``AMQP_URL`` / ``DATABASE_URL`` name
the proxy's port), and a "restart" is what a client sees of one: every proxied
connection is cut at once (both sockets closed, mid-frame or mid-transaction), new
connections are refused (the listening socket is closed: ``ECONNREFUSED``) for
``down_seconds``, then accepted again. What the server itself would lose in a real
restart (unacked deliveries go back to their queue, open transactions roll back) follows
from the cut connections, as it does in a real restart; what this does not reproduce is
the server losing non-durable state (our queues and messages are durable) or a restart
slow enough to time out a client's connect instead of refusing it.

The proxy runs on an event loop of its own, in a thread (:class:`ProxyThread`), so that
blocking code in the driver (starting processes, waiting for readiness) never stalls the
traffic of the services going through it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

T = TypeVar("T")
CHUNK = 64 * 1024


@dataclass
class ProxyStats:
    accepted: int = 0
    cut: int = 0
    restarts: int = 0


class TcpProxy:
    """Forwards every connection on ``127.0.0.1:<port>`` to ``upstream``; ``restart``
    cuts them all and refuses new ones for a while. Use on one event loop."""

    def __init__(self, upstream_host: str, upstream_port: int, *, name: str = "proxy") -> None:
        self.name = name
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.port = 0
        self.stats = ProxyStats()
        self._server: asyncio.Server | None = None
        self._connections: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._pumps: set[asyncio.Task[None]] = set()
        self._down = False

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    @property
    def accepting(self) -> bool:
        return self._server is not None and not self._down

    async def start(self) -> None:
        """Listen (on a free port the first time, on the same port after a restart)."""
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._down = False

    async def stop(self) -> None:
        await self._close_listener()
        await self.cut_all()

    async def restart(self, down_seconds: float) -> int:
        """Cut every connection, refuse new ones for ``down_seconds``, accept again.
        Returns how many connections were cut."""
        self._down = True
        self.stats.restarts += 1
        await self._close_listener()
        cut = await self.cut_all()
        await asyncio.sleep(down_seconds)
        # The same port: the clients' URLs do not change across a restart.
        for attempt in range(50):
            try:
                await self.start()
                break
            except OSError:
                if attempt == 49:
                    raise
                await asyncio.sleep(0.1)
        return cut

    async def cut_all(self) -> int:
        connections = list(self._connections)
        for client, upstream in connections:
            for writer in (client, upstream):
                writer.transport.abort()
        for pump in list(self._pumps):
            pump.cancel()
        self._connections.clear()
        self.stats.cut += len(connections)
        return len(connections)

    async def _close_listener(self) -> None:
        if self._server is not None:
            self._server.close()
            # wait_closed() also waits for handlers on 3.12+: do not block on those.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 0.5)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._down:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self.upstream_host, self.upstream_port
            )
        except OSError:
            writer.transport.abort()
            return
        if self._down:  # a restart began while we were connecting upstream
            up_writer.transport.abort()
            writer.transport.abort()
            return
        self.stats.accepted += 1
        pair = (writer, up_writer)
        self._connections.add(pair)
        pumps = [
            asyncio.create_task(_pump(reader, up_writer)),
            asyncio.create_task(_pump(up_reader, writer)),
        ]
        self._pumps.update(pumps)
        try:
            # Either side closing ends the pair, as a TCP connection through a NAT would.
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
                self._pumps.discard(pump)
            self._connections.discard(pair)
            for w in pair:
                w.transport.abort()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while True:
            data = await reader.read(CHUNK)
            if not data:
                return
            writer.write(data)
            await writer.drain()


class ProxyThread:
    """Proxies on an event loop in a thread of their own. ``add`` before or after
    ``start``; ``restart`` and friends are awaitable from any other event loop."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxies")
        self._thread.daemon = True
        self.proxies: dict[str, TcpProxy] = {}

    def __enter__(self) -> ProxyThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        for proxy in self.proxies.values():
            self._call(proxy.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def add(self, name: str, url: str, default_port: int) -> str:
        """Proxy the host and port of ``url``; returns the URL through the proxy."""
        parts = urlsplit(url)
        proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or default_port, name=name)
        self._call(proxy.start())
        self.proxies[name] = proxy
        return through(url, proxy.port)

    async def restart(self, name: str, down_seconds: float) -> int:
        """Restart the proxy ``name`` (see :meth:`TcpProxy.restart`) and wait for it."""
        future = asyncio.run_coroutine_threadsafe(
            self.proxies[name].restart(down_seconds), self._loop
        )
        return await asyncio.wrap_future(future)

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(timeout=30)


def through(url: str, port: int) -> str:
    """``url`` with its host and port replaced by ``127.0.0.1:port`` (user, path kept)."""
    parts = urlsplit(url)
    userinfo, _, _ = parts.netloc.rpartition("@")
    netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
