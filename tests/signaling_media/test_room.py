"""MediaRoom with real aiortc peers: forwarding, policy, keyframes, leaks, loss."""

from __future__ import annotations

import asyncio
import gc
import random
import threading
import weakref
from collections.abc import Callable
from typing import Any

import av
import pytest

from signaling.media import (
    CodecInfo,
    MediaRoom,
    NegotiationError,
    TrackKey,
    validate_sdp,
)
from signaling.media import aiortc_internals as internals
from signaling.media.synthetic import ProbeClient, ReceiveCounter, vp8_test_pattern_clip

from .harness import Harness, small_clip, wait_until

SOURCES = ("microphone", "camera")


class SwitchPolicy:
    """Denies exactly the (receiver, publisher, source) triples listed, and pauses the
    (publisher, source) pairs listed."""

    def __init__(self) -> None:
        self.denied: set[tuple[str, str, str]] = set()
        self.paused: set[tuple[str, str]] = set()

    def is_paused(self, publisher: str, source: str) -> bool:
        return (publisher, source) in self.paused

    def may_receive(self, receiver: str, publisher: str, source: str) -> bool:
        return (receiver, publisher, source) not in self.denied


def frames(client: ProbeClient, publisher: str, source: str) -> int:
    counter = client.counter(publisher, source)  # type: ignore[arg-type]
    return 0 if counter is None else counter.frames


async def test_three_participants_receive_each_other_without_server_decoding(
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory()
    clients = {p: await h.join(p) for p in ("a", "b", "c")}

    def everyone_gets_everything() -> bool:
        return all(
            frames(client, publisher, source) >= 30
            for receiver, client in clients.items()
            for publisher in clients
            if publisher != receiver
            for source in SOURCES
        )

    assert await wait_until(everyone_gets_everything, 12)
    for receiver, client in clients.items():
        for publisher in clients:
            if publisher != receiver:
                video = client.counter(publisher, "camera")
                assert isinstance(video, ReceiveCounter)
                assert video.distinct_pictures >= 10  # pictures change, not just frames
                assert (video.width, video.height) == (320, 240)
        peer = h.room.peer(receiver)
        assert set(peer.published) == {"microphone", "camera"}
        for transceiver in peer.pc.getTransceivers():
            if transceiver.receiver.track is not None and transceiver.mid in ("0", "1"):
                assert internals.receiver_has_tap(transceiver.receiver)
                assert not internals.decoder_thread_alive(transceiver.receiver)
        assert all(f.frames_in > 30 for f in peer.published.values())
        # a participant is never sent its own tracks
        assert all(key.publisher != receiver for key in peer.subscriptions)


async def test_policy_denial_delivers_zero_packets_and_set_receiving_restores(
    harness_factory: Callable[..., Harness],
) -> None:
    policy = SwitchPolicy()
    policy.denied.add(("c", "a", "camera"))
    h = harness_factory(policy)
    await h.join("a")
    b = await h.join("b")
    c = await h.join("c")
    assert await wait_until(
        lambda: frames(b, "a", "camera") >= 30 and frames(c, "a", "microphone") >= 30, 12
    )
    assert await c.packets_received("a", "camera") == 0
    assert frames(c, "a", "camera") == 0
    assert h.room.peer("c").forwarded_packets(TrackKey("a", "camera")) == 0
    assert await b.packets_received("a", "camera") > 0
    offers = dict(h.offers)

    h.room.set_receiving(TrackKey("a", "camera"), ["c"], True)
    assert await wait_until(lambda: frames(c, "a", "camera") >= 5, 12)

    h.room.set_receiving(TrackKey("a", "microphone"), ["b"], False)
    await stops_receiving(b, "a", "microphone")
    assert await c.packets_received("a", "microphone") > 0
    assert h.offers == offers  # no renegotiation for policy changes
    assert h.room.peer("b").subscriptions[TrackKey("a", "microphone")] is False


async def stops_receiving(client: ProbeClient, publisher: str, source: str) -> None:
    """Wait (generously) for a second in which no packet of the track arrives: packets
    already on the wire still land, a busy machine delays them, a leak never stops."""
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        before = await client.packets_received(publisher, source)
        await asyncio.sleep(1.0)
        if await client.packets_received(publisher, source) == before:
            return
        assert asyncio.get_running_loop().time() < deadline, f"{publisher} {source} still flows"


async def test_a_paused_publication_reaches_nobody_and_resumes_on_a_keyframe(
    harness_factory: Callable[..., Harness],
) -> None:
    policy = SwitchPolicy()
    policy.paused.add(("a", "microphone"))
    h = harness_factory(policy)
    a = await h.join("a")
    b = await h.join("b")
    c = await h.join("c")
    camera = h.room.fanout("a", "camera")
    assert camera is not None
    assert await wait_until(lambda: frames(b, "a", "camera") >= 30, 12)
    microphone = h.room.fanout("a", "microphone")
    assert microphone is not None and microphone.paused and microphone.frames_in > 30
    for client in (b, c):
        assert await client.packets_received("a", "microphone") == 0
    # Receivers keep their own bit: the mute is the publication's, not theirs.
    assert h.room.peer("b").subscriptions[TrackKey("a", "microphone")] is True

    h.room.set_paused(TrackKey("a", "microphone"), False)
    assert await wait_until(lambda: frames(b, "a", "microphone") >= 10, 12)
    assert await wait_until(lambda: frames(c, "a", "microphone") >= 10, 12)

    h.room.set_paused(TrackKey("a", "camera"), True)
    await stops_receiving(b, "a", "camera")
    await stops_receiving(c, "a", "camera")
    assert a.video_track is not None
    requests = a.video_track.keyframe_requests
    pictures = frames(b, "a", "camera")
    h.room.set_paused(TrackKey("a", "camera"), False)
    assert await wait_until(lambda: frames(b, "a", "camera") > pictures + 10, 12)
    assert a.video_track.keyframe_requests > requests, "resuming asks for a keyframe"
    h.room.set_paused(TrackKey("nobody", "camera"), True)  # an unknown track is ignored


async def test_late_subscriber_and_recorder_get_a_keyframe_promptly(
    harness_factory: Callable[..., Harness],
) -> None:
    # One keyframe per 10 s clip: without PLI relay a late joiner waits up to 10 s.
    rare_keyframes = vp8_test_pattern_clip(320, 240, 30, 10.0, 300_000, 1000)
    assert rare_keyframes.keyframes == (0,)
    h = harness_factory()
    a = await h.join("a", rare_keyframes)
    fanout = h.room.fanout("a", "camera")
    assert fanout is not None
    assert await wait_until(lambda: fanout.frames_in > 45, 5)

    loop = asyncio.get_running_loop()
    started = loop.time()
    b = await h.join("b")
    # the clip's next natural keyframe is about 8 s away: only a relayed PLI is this fast
    assert await wait_until(lambda: frames(b, "a", "camera") > 0, 6)
    assert loop.time() - started < 6
    assert a.video_track is not None and a.video_track.keyframe_requests >= 1

    class Recorder:
        def __init__(self) -> None:
            self.packets: list[tuple[av.Packet[Any], TrackKey, CodecInfo]] = []

        def on_packet(self, packet: av.Packet[Any], track: TrackKey, codec: CodecInfo) -> bool:
            self.packets.append((packet, track, codec))
            return True

    await asyncio.sleep(1.1)  # let the throttle interval pass
    recorder = Recorder()
    requests = a.video_track.keyframe_requests
    fanout.add_sink(recorder)
    assert await wait_until(lambda: len(recorder.packets) > 0, 4)
    first, track, codec = recorder.packets[0]
    assert first.is_keyframe and track == TrackKey("a", "camera")
    assert codec.name == "VP8" and codec.clock_rate == 90000
    assert a.video_track.keyframe_requests > requests
    fanout.remove_sink(recorder)


async def test_repeated_join_and_leave_returns_to_baseline(
    harness_factory: Callable[..., Harness],
) -> None:
    gc.collect()
    threads_before = threading.active_count()
    tasks_before = len(asyncio.all_tasks())
    h = harness_factory()
    a = await h.join("a")
    peers: list[weakref.ref[object]] = []
    transceivers_after_first: int | None = None
    threads_after_first: int | None = None
    for cycle in range(4):
        b = await h.join("b")
        peers.append(weakref.ref(h.room.peer("b")))

        def both_ways(b: ProbeClient = b) -> bool:
            return frames(b, "a", "camera") > 0 and frames(a, "b", "camera") > 0

        assert await wait_until(both_ways, 6)
        await h.leave("b")
        assert h.room.participants == ("a",)
        assert h.room.peer("a").subscriptions == {}
        assert all(f.sink_count == 0 for f in h.room.tracks.values())
        await asyncio.sleep(0.2)
        if cycle == 0:
            transceivers_after_first = len(a.pc.getTransceivers())
            threads_after_first = threading.active_count()
        else:  # m-lines are reused and nothing accumulates per cycle
            assert len(a.pc.getTransceivers()) == transceivers_after_first
            assert threading.active_count() == threads_after_first
    await h.leave("a")
    assert h.room.participants == ()
    await asyncio.sleep(0.2)
    gc.collect()
    assert all(ref() is None for ref in peers)
    assert threading.active_count() == threads_before
    assert len(asyncio.all_tasks()) == tasks_before


async def test_video_survives_five_percent_loss(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory()
    a = await h.join("a")
    b = await h.join("b")
    assert await wait_until(lambda: frames(b, "a", "camera") > 10, 8)
    rng = random.Random(7)
    internals.simulate_rtp_loss(a.pc.getTransceivers()[0].sender.transport, 0.05, rng)
    server_to_b = h.room.peer("b").pc.getTransceivers()[0].sender.transport
    internals.simulate_rtp_loss(server_to_b, 0.05, rng)
    counter = b.counter("a", "camera")
    assert isinstance(counter, ReceiveCounter)
    frames_before, pictures_before = counter.frames, counter.distinct_pictures
    await asyncio.sleep(4)
    assert counter.frames - frames_before >= 60  # of about 120 sent
    assert counter.distinct_pictures > pictures_before
    assert await wait_until(lambda: frames(a, "b", "microphone") > 100, 2)
    stats = await h.room.stats("a")
    assert stats.packets_lost_in > 0


async def test_connection_stats_snapshot(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory()
    await h.join("a")
    await h.join("b")
    first = await h.room.stats("a")
    await asyncio.sleep(2.5)  # at least one RTCP SR/RR round
    stats = await h.room.stats("a")
    assert stats.participant_id == "a" and stats.connection_state == "connected"
    assert stats.bitrate_in > 100_000 and stats.bitrate_out > 100_000
    assert stats.bytes_received > first.bytes_received
    assert stats.packets_received > 0 and stats.packets_lost_in == 0
    assert stats.jitter_in is not None and stats.jitter_in < 0.1
    assert stats.rtt is not None and 0 <= stats.rtt < 0.5
    silence = stats.media_silence()
    assert silence is not None and silence < 0.5
    every = await h.room.all_stats()
    assert set(every) == {"a", "b"}


async def test_offers_are_validated_before_anything_is_created(
    harness_factory: Callable[..., Harness],
) -> None:
    with pytest.raises(ValueError):
        validate_sdp(b"v=0", "offer")
    with pytest.raises(ValueError):
        validate_sdp("v=0\r\n" + "a=x\r\n" * 20000, "offer")
    with pytest.raises(ValueError):
        validate_sdp("hello", "answer")

    h = harness_factory()
    room: MediaRoom = h.room
    client = ProbeClient("x", video_clip=small_clip())
    try:
        sdp, sources = await client.create_offer()
        audio_mid, video_mid = list(sources)
        bad_maps = [
            {audio_mid: "microphone"},  # video m-line unmapped
            {audio_mid: "camera", video_mid: "microphone"},  # wrong kinds
            {audio_mid: "microphone", video_mid: "camera", "9": "screen"},  # unknown mid
            {audio_mid: "microphone", video_mid: "webcam"},  # unknown source
        ]
        for bad in bad_maps:
            with pytest.raises(ValueError):
                await room.join("x", sdp, bad)  # type: ignore[arg-type]
            assert room.participants == ()
        with pytest.raises(ValueError):
            await room.join("x", 42, sources)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            await room.join("with space", sdp, sources)
        answer = await room.join("x", sdp, sources)
        with pytest.raises(ValueError):
            await room.join("x", sdp, sources)
        with pytest.raises(NegotiationError):
            await room.accept_answer("x", answer)  # no server offer outstanding
    finally:
        await client.close()


async def test_screen_share_starts_and_stops_through_a_client_offer(
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory()
    a = await h.join("a")
    b = await h.join("b")
    assert await wait_until(lambda: frames(b, "a", "camera") > 0, 6)
    assert await wait_until(lambda: h.room.peer("a").pc.signalingState == "stable", 2)

    sdp, sources = await a.share_screen(True)
    assert "screen" in sources.values()
    await a.accept_answer(await h.room.update_offer("a", sdp, sources))
    assert h.room.fanout("a", "screen") is not None
    assert await wait_until(lambda: frames(b, "a", "screen") >= 10, 8)

    screen = b.counter("a", "screen")
    assert screen is not None
    sdp, sources = await a.share_screen(False)
    await a.accept_answer(await h.room.update_offer("a", sdp, sources))
    assert h.room.fanout("a", "screen") is None
    assert TrackKey("a", "screen") not in h.room.peer("b").subscriptions
    assert await wait_until(lambda: TrackKey("a", "screen") not in b.tracks.values(), 2)
    assert frames(b, "a", "camera") > 0  # the camera is untouched
    m_lines = len(b.pc.getTransceivers())
    await asyncio.sleep(0.3)
    stopped_at = screen.frames
    await asyncio.sleep(0.5)
    assert screen.frames == stopped_at  # nothing flows on the inactive m-line

    sdp, sources = await a.share_screen(True)  # the inactive m-line towards b is reused
    await a.accept_answer(await h.room.update_offer("a", sdp, sources))
    assert await wait_until(lambda: screen.frames >= stopped_at + 10, 8)
    assert b.counter("a", "screen") is screen
    assert len(b.pc.getTransceivers()) == m_lines
