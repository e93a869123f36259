"""A refused message costs nothing once its connection is gone.

An exception object that is raised again keeps the traceback of every earlier raise, and each
traceback keeps its frames' locals: one shared refusal instance kept every connection and
payload it was ever raised for. Here refusals are counted in live objects and in the bytes our
code allocated (tracemalloc, cheap without media), and no module of ours may hold an exception
instance that could be raised twice.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import pkgutil
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, TracebackType

import pytest

import hearing_server
import recorder
import rooms
import signaling
import web
from rooms.roles import StaffRole
from signaling.connections import Connection
from signaling.protocol import ABUSE_REFUSALS
from tests.signaling.harness import Hearing, staff_token

CYCLES = 12
"""With the 3 warm-up cycles, one refusal per cycle and credential stays under the abuse limit
(``protocol.ABUSE_REFUSALS`` a credential per window), which would block the next join."""
GROWTH_PER_CYCLE_BYTES = 1024
"""What a cycle may leave allocated by ``signaling/`` (caches warming up); the leak was ~10 KB."""
SETTLE_SECONDS = 15.0
OUR_CODE = str(Path(signaling.__file__).parent / "*")


@pytest.fixture
def own_heap() -> Iterator[None]:
    """Only what is made from here on is scanned: in the whole suite the heap holds millions of
    earlier tests' objects, and a full collection over them on every poll kept the event loop
    (server and peers alike) blocked for seconds, long enough to drop the judge's connection.
    ``gc.get_objects`` leaves the frozen generation out, and so does ``gc.collect``."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def live(kind: type) -> int:
    gc.collect()
    return sum(isinstance(thing, kind) for thing in gc.get_objects())


def kept_tracebacks() -> list[TracebackType]:
    """Tracebacks still alive, less those a captured log record keeps (pytest keeps every
    record of the test, with its exception, whatever the server does)."""
    gc.collect()
    things = gc.get_objects()
    logged: set[int] = set()
    for record in things:
        if isinstance(record, logging.LogRecord) and record.exc_info:
            level = record.exc_info[2]
            while level is not None:  # the whole chain, not only its outermost level
                logged.add(id(level))
                level = level.tb_next
    return [t for t in things if isinstance(t, TracebackType) and id(t) not in logged]


async def tracebacks_back_to(count: int) -> list[TracebackType]:
    """The kept tracebacks once no more than ``count`` are left (an exception in flight, a
    future not yet collected, lets go of its own), or those alive when time runs out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_SECONDS
    while len(kept := kept_tracebacks()) > count:
        if loop.time() > deadline:
            break
        await asyncio.sleep(0.2)
    return kept


NOT_THE_SERVER = (
    str(Path(signaling.__file__).parent / "client.py"),
    # The test's own headless peers keep every view they were sent.
    str(Path(signaling.__file__).parent / "loop_lag.py"),
    # A fixed window of lag samples (30 s): it fills while the test runs, it never grows.
)


def allocated_by_signaling() -> int:
    """Bytes still held that the server's side of ``signaling/`` allocated."""
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [
            tracemalloc.Filter(True, OUR_CODE, all_frames=True),
            *(tracemalloc.Filter(False, path, all_frames=True) for path in NOT_THE_SERVER),
        ]
    )
    return sum(stat.size for stat in snapshot.statistics("filename"))


async def growth_back_under(limit: int, before: int) -> int:
    """What ``signaling/`` still holds beyond ``before`` once it is under ``limit``, or when time
    runs out: a departed connection's goodbye waits out its grace period in a task of its own,
    and a cycle that ends while one is waiting would count it as kept."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_SECONDS
    while (grown := allocated_by_signaling() - before) >= limit:
        if loop.time() > deadline:
            break
        gc.collect()
        await asyncio.sleep(0.2)
    return grown


async def refused_after_leaving(hearing: Hearing, staff: str) -> None:
    """The victim leaves and a late message of theirs is refused; a monitor that watches
    nothing tries to acknowledge an alert and is refused too."""
    peer, _welcome = await hearing.join("victim")
    assert (await peer.call("leave"))["ok"]
    late = await peer.call("ice_candidate", {"candidate": None, "sdp_mid": "0"})
    assert late["error"]["rule"] == "connection.left"
    await peer.close()
    hearing.peers.remove(peer)
    monitor = await hearing.connect("monitor", {"staff_token": staff})
    await monitor.wait_for("welcome")
    unwatched = await monitor.call(
        "acknowledge_alert", {"session_id": hearing.session_id, "alert_id": "x"}
    )
    assert unwatched["error"]["rule"] == "monitor.not_watching"
    await monitor.close()
    hearing.peers.remove(monitor)


async def back_to(count: int) -> int:
    """Live connections once they are back at ``count`` (the server closes a departed one
    after a grace period), or as many as there are when time runs out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_SECONDS
    while (now := live(Connection)) != count:
        if loop.time() > deadline:
            break
        await asyncio.sleep(0.2)
    return now


async def test_refused_messages_keep_neither_their_connection_nor_its_frames(
    hearing: Hearing, own_heap: None
) -> None:
    assert 3 + CYCLES < ABUSE_REFUSALS, "the cycles would be refused as abuse"
    staff = await staff_token(hearing.client, "it_staff", StaffRole.IT_STAFF)
    await hearing.join("judge")
    for _ in range(3):
        await refused_after_leaving(hearing, staff)
    connections = await back_to(1)
    tracebacks = len(kept_tracebacks())
    tracemalloc.start(1)
    try:
        before = allocated_by_signaling()
        for _ in range(CYCLES):
            await refused_after_leaving(hearing, staff)
        assert await back_to(connections) == connections
        grown = await growth_back_under(CYCLES * GROWTH_PER_CYCLE_BYTES, before)
    finally:
        tracemalloc.stop()
    kept = await tracebacks_back_to(tracebacks)
    assert len(kept) <= tracebacks, [t.tb_frame.f_code.co_qualname for t in kept]
    assert grown < CYCLES * GROWTH_PER_CYCLE_BYTES, f"signaling/ kept {grown} bytes"


def our_modules() -> list[ModuleType]:
    modules = []
    for package in (rooms, signaling, recorder, web, hearing_server):
        modules.append(package)
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if not info.name.endswith("__main__"):
                modules.append(importlib.import_module(info.name))
    return modules


def test_no_module_of_ours_holds_an_exception_instance() -> None:
    """Raise fresh exceptions (a factory function), never a shared one."""
    shared = [
        f"{module.__name__}.{name}"
        for module in our_modules()
        for name, value in vars(module).items()
        if isinstance(value, BaseException)
    ]
    assert shared == []
