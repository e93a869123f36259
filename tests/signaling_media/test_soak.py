"""Many joins and leaves at every stage of a connection leave nothing behind."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from collections import Counter
from collections.abc import Callable

from aiortc import RTCPeerConnection

from signaling.media import ServerPeer, TrackKey

from .harness import Harness, wait_until

CYCLES = 40
"""Rounds of three participants each: 120 joins and leaves, about 15 s on a busy 2-core box."""


async def snapshot() -> Counter[str]:
    """What a leak would grow: tasks by coroutine, threads, files, open connections.

    Only tasks that last count: media still flows to the stayers, and each packet may start
    a task that sends its RTCP (REMB, NACK) and ends a moment later; a leaked task stays."""
    first = asyncio.all_tasks()
    await asyncio.sleep(0.1)
    gc.collect()
    things: Counter[str] = Counter(
        f"task {task.get_coro().__qualname__}"  # type: ignore[union-attr]
        for task in asyncio.all_tasks() & first
    )
    things["threads"] = threading.active_count()
    things["open files"] = len(os.listdir("/proc/self/fd"))
    # closed ones may outlive the test in captured logs of aiortc's own task errors
    objects = gc.get_objects()
    things["open peer connections"] = sum(
        isinstance(o, RTCPeerConnection) and o.connectionState != "closed" for o in objects
    )
    things["server peers"] = sum(isinstance(o, ServerPeer) for o in objects)
    return things


async def test_joins_and_leaves_at_every_stage_return_to_baseline(
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory()
    anchor = await h.join("anchor", decode=False)
    watcher = await h.join("watcher", publish=False, decode=False)
    assert await wait_until(lambda: watcher.counter("anchor", "camera") is not None, 8)

    def everyone_receives(pid: str) -> bool:
        """The publisher's media reaches the server and feeds both stayers' m-lines.

        (The stayers' counters live on reused m-lines, so only the first round
        proves frames arrive; later rounds may leave before they do, on purpose.)
        """
        for source in ("microphone", "camera"):
            fanout = h.room.fanout(pid, source)
            if fanout is None or fanout.frames_in == 0 or fanout.sink_count < 2:
                return False
            for stayer in (anchor, watcher):
                counter = stayer.counter(pid, source)
                if counter is None or counter.frames == 0:
                    return False
        return True

    async def publisher_gets_forwarded(pid: str) -> None:
        await h.join(pid, decode=False)
        assert await wait_until(lambda: everyone_receives(pid), 8)
        await h.leave(pid)

    async def receiver_leaves_once_connected(pid: str) -> None:
        client = await h.join(pid, publish=False, decode=False)
        assert await wait_until(lambda: client.pc.connectionState == "connected", 8)
        await h.leave(pid)

    async def leaves_before_connecting(pid: str) -> None:
        await h.join(pid, publish=False, decode=False)
        await h.leave(pid)

    async def round_of_three(cycle: int) -> None:
        """Concurrently, like people arriving at once (MediaRoom orders them)."""
        await asyncio.gather(
            publisher_gets_forwarded(f"p{cycle}"),
            receiver_leaves_once_connected(f"r{cycle}"),
            leaves_before_connecting(f"e{cycle}"),
        )

    # The stayers now have m-lines (and receivers running) for one other publisher, for good.
    await round_of_three(0)
    await asyncio.sleep(0.3)
    baseline = await snapshot()
    m_lines = len(anchor.pc.getTransceivers())
    fanouts = dict(h.room.peer("anchor").published)

    for cycle in range(1, CYCLES + 1):
        await round_of_three(cycle)
        assert len(anchor.pc.getTransceivers()) == m_lines  # reused, never added

    assert h.room.participants == ("anchor", "watcher")
    assert set(h.room.peer("anchor").subscriptions) == set()
    assert set(h.room.peer("watcher").subscriptions) == {
        TrackKey("anchor", "microphone"),
        TrackKey("anchor", "camera"),
    }
    assert h.room.peer("anchor").published == fanouts
    assert all(fanout.sink_count == 1 for fanout in fanouts.values())  # the watcher's
    counter = watcher.counter("anchor", "camera")
    assert counter is not None
    before = counter.frames
    assert await wait_until(lambda: counter.frames >= before + 15, 4)  # still flowing

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5  # closed transports finish their last callbacks
    now = await snapshot()
    while now != baseline and loop.time() < deadline:
        await asyncio.sleep(0.2)
        now = await snapshot()
    assert now == baseline
