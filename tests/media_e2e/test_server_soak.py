"""Join/leave cycles through the whole server, with media, leave nothing behind.

A new participant (as witnesses and parties come and go in a day of hearings) joins with their
link, publishes, is admitted, exchanges media with the court,
leaves, and (as a browser trickling its last ICE candidates after the user hung up) sends one
more message, which is refused. Afterwards every live object of ours and of aiortc's
peer-connection machinery must be back at the warm-up count. Counts are exact; RSS is not
measured (the allocator keeps freed memory), nor is tracemalloc here (it triples the CPU media
costs and starves the connections on a busy machine: tests/signaling/test_refusal_memory.py
measures allocations on the same path without media).
"""

from __future__ import annotations

import asyncio
import gc
import types
from collections import Counter

import pytest
from aioice import Connection as IceConnection
from aiortc import (
    RTCDtlsTransport,
    RTCIceGatherer,
    RTCIceTransport,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
)

from hearing_server.settings import Settings
from rooms.points import PointKind
from rooms.roles import Role
from signaling.client import CommandRefused, HeadlessParticipant
from signaling.connections import Connection
from signaling.media import MediaRoom, ServerPeer, TrackFanout
from signaling.media.aiortc_internals import FrameTap
from signaling.media.forwarded_track import ForwardedTrack
from signaling.media.keyframe import KeyframeRequester
from signaling.media.stats import StatsSampler
from signaling.monitoring import _LinkMemory
from tests.media_e2e.conftest import MediaHearing
from tests.signaling.harness import CLI

WARM_UP = 3
"""Cycles before the baseline: caches and the stayers' reused m-lines fill up first."""
CYCLES = 25
"""Measured cycles, about 1.5 s each on a busy 2-core machine."""
SETTLE_SECONDS = 30.0
"""How long closed connections may take to let go (a client's pending call times out in 10 s,
engine.io's ping task in 10 s)."""

COUNTED: tuple[type, ...] = (
    Connection,
    MediaRoom,
    ServerPeer,
    TrackFanout,
    ForwardedTrack,
    KeyframeRequester,
    FrameTap,
    StatsSampler,
    _LinkMemory,
    HeadlessParticipant,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCRtpSender,
    RTCRtpReceiver,
    RTCDtlsTransport,
    RTCIceTransport,
    RTCIceGatherer,
    IceConnection,
    types.TracebackType,
)
"""What one participant's visit creates, ours and aiortc's, and the tracebacks that would keep
its frames (and with them all of the above) alive."""

TASKS_FROM = ("/signaling/", "/hearing_server/", "/aiortc/", "/aioice/")
"""Tasks counted by coroutine: ours and aiortc's (engine.io's ping tasks come and go)."""


@pytest.fixture
def media_settings(settings: Settings) -> Settings:
    """A starved machine must not read as the court's media going silent mid-test."""
    return settings.model_copy(update={"ice_servers": [], "media_silence_seconds": 600})


def census() -> Counter[str]:
    """Live objects of every counted type, and asyncio tasks by coroutine."""
    gc.collect()
    things: Counter[str] = Counter()
    for thing in gc.get_objects():
        if isinstance(thing, COUNTED):
            things[type(thing).__qualname__] += 1
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        code = getattr(coro, "cr_code", None)
        if code is not None and any(part in code.co_filename for part in TASKS_FROM):
            things[f"task {code.co_qualname}"] += 1
    return things


async def visit(media: MediaHearing) -> None:
    """One new person's whole visit, media both ways, then a message after leaving."""
    hearing = media.hearing
    who = f"visitor {len(hearing.ids)}"
    session = await hearing.session()
    home = next(point for point in session.points.values() if point.kind is PointKind.HOME)
    added, link = await hearing.service.add_participant(CLI, session.id, who, Role.VICTIM, home.id)
    hearing.ids[who], hearing.tokens[who] = added.id, link.token
    person = await media.join(who)
    await media.admit(who)
    await media.wait_flowing("judge", who, "camera", within=20)
    await media.wait_flowing(who, "judge", "camera", within=20)
    await person.leave()
    try:
        await person.call("ice_candidate", {"candidate": None, "sdp_mid": "0"})
    except CommandRefused as refused:
        assert refused.error["rule"] == "connection.left"
    await person.close()
    del media.people[who]


async def settled(baseline: Counter[str] | None = None) -> Counter[str]:
    """The census once it is back at ``baseline`` (or, without one, once it stops changing),
    or as it is when time runs out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_SECONDS
    previous, now = None, census()
    while now != (baseline or previous) and loop.time() < deadline:
        await asyncio.sleep(1.0)
        previous, now = now, census()
    return now


async def test_join_leave_cycles_with_media_return_to_the_warm_up_level(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    await media.join("judge")
    await media.join("clerk")
    for _ in range(WARM_UP):
        await visit(media)
    baseline = await settled()
    for _ in range(CYCLES):
        await visit(media)
    now = await settled(baseline)

    left_behind = {k: now[k] - baseline[k] for k in now | baseline if now[k] != baseline[k]}
    assert left_behind == {}
    # The court is still in session with each other: nothing of theirs was taken down.
    await media.wait_flowing("clerk", "judge", "camera")
    assert media.gateway.room(media.hearing.session_id) is not None
