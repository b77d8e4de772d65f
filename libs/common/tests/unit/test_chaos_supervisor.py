"""The chaos rig's supervisor (common.testing.chaos.Rig.supervise): a service that exits
by itself is started again once, and a kill that starts it again meanwhile is not
followed by a second start (which would orphan the first process: an untracked replica
running on after the run)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, cast

from common.testing.chaos import Rig


@dataclass
class FakePopen:
    returncode: int | None = None
    #: Set when the supervisor has looked at this process after it exited.
    seen_exited: asyncio.Event = field(default_factory=asyncio.Event)

    def poll(self) -> int | None:
        if self.returncode is not None:
            self.seen_exited.set()
        return self.returncode


@dataclass
class FakeService:
    process: FakePopen | None = None
    started: list[FakePopen] = field(default_factory=list)
    started_again: asyncio.Event = field(default_factory=asyncio.Event)

    def start(self) -> None:
        self.process = FakePopen()
        self.started.append(self.process)
        self.started_again.set()

    def stop(self, sig: int = 15, timeout: float = 30) -> int | None:
        if self.process is not None and self.process.returncode is None:
            self.process.returncode = -sig
        return None if self.process is None else self.process.returncode


def rig_of(service: FakeService) -> Rig:
    suite = cast(Any, type("FakeSuite", (), {"processes": {"claims": service}})())
    none = cast(Any, None)
    return Rig(suite, none, none, "", "", none, "t", none)


async def test_an_exited_service_is_started_again_once() -> None:
    service = FakeService(process=FakePopen(returncode=3))
    rig = rig_of(service)
    stop = asyncio.Event()
    supervisor = asyncio.create_task(rig.supervise(stop))
    await service.started_again.wait()
    stop.set()
    await supervisor
    assert len(service.started) == 1 and service.process is service.started[0]
    assert rig.unexpected_exits["claims"] == 1


async def test_a_kill_during_the_restart_pause_leaves_one_process_running() -> None:
    exited = FakePopen(returncode=3)
    service = FakeService(process=exited)
    rig = rig_of(service)
    stop = asyncio.Event()
    supervisor = asyncio.create_task(rig.supervise(stop))
    await exited.seen_exited.wait()
    await asyncio.sleep(0)  # the supervisor counted the exit and is in its pause
    assert rig.unexpected_exits["claims"] == 1
    await rig.kill("claims")  # the chaos schedule's kill lands in that pause
    killed_and_started = service.process
    await asyncio.sleep(1.5)  # the supervisor's pause (1 s) is over: it has decided
    stop.set()
    await supervisor
    assert service.started == [killed_and_started]
    assert service.process is killed_and_started and killed_and_started is not None
    assert killed_and_started.returncode is None  # running, and the only one started
