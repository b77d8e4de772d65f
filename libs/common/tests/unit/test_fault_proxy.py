"""The chaos suite's stand-in for a broker or database restart (common.testing.faults):
a TCP proxy that forwards, and on ``restart`` cuts every connection, refuses new ones for
a while, then accepts again on the same port."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from common.testing.faults import ProxyThread, TcpProxy, through


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


@pytest.fixture
async def upstream() -> AsyncIterator[int]:
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()


async def round_trip(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        return await asyncio.wait_for(reader.readexactly(len(payload)), 5)
    finally:
        writer.close()


async def connect_refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


async def test_the_proxy_forwards_bytes_both_ways(upstream: int) -> None:
    proxy = TcpProxy("127.0.0.1", upstream)
    await proxy.start()
    try:
        assert await round_trip(proxy.port, b"x" * 200_000) == b"x" * 200_000
        assert proxy.stats.accepted == 1
    finally:
        await proxy.stop()


async def test_a_restart_cuts_open_connections_refuses_new_ones_then_accepts_again(
    upstream: int,
) -> None:
    proxy = TcpProxy("127.0.0.1", upstream)
    await proxy.start()
    port = proxy.port
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"ping")
        assert await asyncio.wait_for(reader.readexactly(4), 5) == b"ping"

        restart = asyncio.create_task(proxy.restart(down_seconds=1.0))
        await asyncio.sleep(0.3)
        # The open connection is gone (EOF or reset), as from a server that went away.
        with pytest.raises((asyncio.IncompleteReadError, ConnectionError)):
            await asyncio.wait_for(reader.readexactly(1), 5)
        writer.close()
        assert not proxy.accepting
        assert await connect_refused(port)

        assert await restart == 1
        assert proxy.port == port and proxy.accepting
        assert await round_trip(port, b"again") == b"again"
        assert (proxy.stats.restarts, proxy.stats.cut) == (1, 1)
    finally:
        await proxy.stop()


async def test_the_proxy_thread_restarts_from_another_loop_while_blocking_code_runs(
    upstream: int,
) -> None:
    with ProxyThread() as proxies:
        url = proxies.add("db", f"postgresql+asyncpg://postgres@127.0.0.1:{upstream}/x", 5432)
        port = proxies.proxies["db"].port
        assert url == f"postgresql+asyncpg://postgres@127.0.0.1:{port}/x"
        time.sleep(0.2)  # blocking here does not stop the proxy's own loop  # noqa: ASYNC251
        assert await round_trip(port, b"hello") == b"hello"
        restart = asyncio.create_task(proxies.restart("db", 0.5))
        await asyncio.sleep(0.2)
        assert await connect_refused(port)
        await restart
        assert await round_trip(port, b"back") == b"back"


def test_through_keeps_user_and_path_and_replaces_host_and_port() -> None:
    assert (
        through("amqp://guest:guest@rabbit.local:5672/vhost", 40001)
        == "amqp://guest:guest@127.0.0.1:40001/vhost"
    )
    assert through("postgresql://db/rcm", 40002) == "postgresql://127.0.0.1:40002/rcm"
