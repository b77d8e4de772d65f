"""The MLLP listener's framing and shutdown (no database: the feed is a stand-in): one ACK
per block, an AR for a frame without the start block, and on shutdown a message being
applied is still answered before its connection closes; no new connection is taken."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hl7.mllp import open_hl7_connection

from common.testing.messages import eventually
from stays.entrypoints.adt_feed.listener import MllpListener


class StandInFeed:
    """Answers every block with an AA naming it; holds the answer while ``hold`` is set."""

    def __init__(self) -> None:
        self.hold = asyncio.Event()
        self.hold.set()
        self.started = asyncio.Event()

    async def answer(self, block: bytes) -> bytes:
        self.started.set()
        await self.hold.wait()
        return b"MSH|^~\\&|RCM|RCM\rMSA|AA|" + block[-4:] + b"\r"

    def unreadable(self, why: str) -> bytes:
        return b"MSH|^~\\&|RCM|RCM\rMSA|AR||" + why.encode() + b"\r"


@contextlib.asynccontextmanager
async def listening(feed: StandInFeed) -> AsyncIterator[tuple[MllpListener, asyncio.Task[None]]]:
    listener = MllpListener(feed, "127.0.0.1", 0, grace_seconds=5.0)  # type: ignore[arg-type]
    task = asyncio.create_task(listener.run())

    async def serving() -> bool | None:
        return True if listener.serving else None

    await eventually(serving)
    try:
        yield listener, task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def connect(listener: MllpListener) -> tuple[Any, Any]:
    reader, writer = await open_hl7_connection("127.0.0.1", listener.bound_port)
    return reader, writer


async def test_each_block_is_answered_on_the_same_connection() -> None:
    async with listening(StandInFeed()) as (listener, _):
        reader, writer = await connect(listener)
        for control_id in (b"0001", b"0002"):
            writer.writeblock(b"MSH|^~\\&|X|Y|||||ADT^A01|" + control_id)
            ack = await reader.readmessage()
            assert str(ack.segment("MSA")) == f"MSA|AA|{control_id.decode()}"
        writer.close()


async def test_a_frame_without_the_start_block_is_answered_ar() -> None:
    async with listening(StandInFeed()) as (listener, _):
        reader, writer = await connect(listener)
        writer.write(b"no start block\x1c\r")
        ack = await reader.readmessage()
        assert str(ack.segment("MSA")[1]) == "AR"
        writer.close()


async def test_shutdown_answers_the_message_in_flight_then_closes_and_takes_no_more() -> None:
    feed = StandInFeed()
    async with listening(feed) as (listener, task):
        reader, writer = await connect(listener)
        feed.hold.clear()
        writer.writeblock(b"MSH|^~\\&|X|Y|||||ADT^A21|0003")
        await feed.started.wait()
        task.cancel()  # the runtime stopping
        await asyncio.sleep(0.05)
        feed.hold.set()
        ack = await reader.readmessage()
        assert str(ack.segment("MSA")) == "MSA|AA|0003"
        with pytest.raises(asyncio.IncompleteReadError):
            await reader.readblock()  # closed after the answer
        assert not listener.serving
        with pytest.raises(OSError):
            await connect(listener)
