"""The forwarder on a loop of its own (``media_loop = "own"``): the hearing works as on one
loop, its media runs on the media thread while signalling stalls, and a stall of the media
loop is the server's lag as much as one of signalling."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from hearing_server.settings import Settings
from signaling.forwarding import ForwardingGateway
from signaling.gateway import MediaGateway
from signaling.loop_lag import LoopLagMonitor
from signaling.media_loop import MediaLoopGateway
from signaling.server import SIGNALING, SignalingServer
from tests.loop_stall import stall_event_loop
from tests.media_e2e.conftest import MediaHearing

MEDIA_STALL_SECONDS = 1.0
STALL_SECONDS = 0.6


@pytest.fixture
def media_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"ice_servers": [], "media_loop": "own"})


def signalling(media: MediaHearing) -> SignalingServer:
    return media.hearing.client.server.app[SIGNALING]


def media_loop(media: MediaHearing) -> MediaLoopGateway:
    gateway = signalling(media).gateway
    assert isinstance(gateway, MediaLoopGateway)
    return gateway


def has_room(session_id: str) -> bool:
    def look(forwarder: MediaGateway) -> bool:
        assert isinstance(forwarder, ForwardingGateway)
        assert threading.current_thread().name == "media-loop"
        return forwarder.room(session_id) is not None

    return look


async def test_the_hearing_flows_and_follows_the_judge_with_media_on_its_own_loop(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    for who in ("judge", "clerk", "defendant"):
        await media.join(who)
    await media.admit("defendant")  # server offers go from the media loop to signalling
    people = ("judge", "clerk", "defendant")
    await media.wait_everyone_flowing(people)
    assert await media_loop(media).inspect(has_room(media.hearing.session_id))

    judge = media.people["judge"]
    await judge.call("mute", {"participant_id": media.id("defendant")})
    await media.wait_stopped("clerk", "defendant", "microphone")
    await media.wait_flowing("clerk", "defendant", "camera")
    await judge.call("unmute", {"participant_id": media.id("defendant")})
    await media.wait_flowing("clerk", "defendant", "microphone")


def recorded_max(lag: LoopLagMonitor) -> float:
    """The worst stall recorded, not one still under way (whose lateness grows as it is read)."""
    return lag.samples.max_lag(lag.now(), 30)


async def wait_for_samples(gateway: MediaLoopGateway, count: int) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while gateway.lag.figures().samples < count:
        assert loop.time() < deadline, "the media loop's lag monitor never sampled"
        await asyncio.sleep(0.05)


async def test_each_loop_stalls_alone_and_the_server_sees_either_stall(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    await media.join("judge")
    gateway = media_loop(media)
    server_lag = signalling(media).loop_lag
    await wait_for_samples(gateway, 2)

    # The media loop stalls: the monitoring, on the signalling loop, sees it.
    await gateway.inspect(lambda _forwarder: time.sleep(MEDIA_STALL_SECONDS))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while (media_stall := recorded_max(gateway.lag)) < MEDIA_STALL_SECONDS * 0.9:
        assert loop.time() < deadline, f"the media loop's own stall unrecorded: {media_stall}"
        await asyncio.sleep(0.05)
    threshold = MEDIA_STALL_SECONDS / 2
    assert server_lag.max_lag(30) >= media_stall
    assert server_lag.late_seconds(30, threshold) >= gateway.lag.late_seconds(30, threshold) > 0
    assert server_lag.steady_seconds(threshold) <= gateway.lag.steady_seconds(threshold)

    # Signalling stalls (this test shares its loop): the media loop's timer keeps its time.
    before = gateway.lag.figures().samples
    await stall_event_loop(STALL_SECONDS)
    during = gateway.lag.figures()
    assert during.samples > before, "the media loop stood still while signalling stalled"
