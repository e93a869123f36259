"""RTP-level forwarding with real aiortc peers: numbering, loss repair, sender reports.

What the receiving peer sees is read on its own receiver, before aiortc handles it.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from signaling.media import RtpOutgoingStream, TrackKey
from signaling.media import aiortc_internals as internals
from signaling.media.rtp_forwarding import ForwardingMode

from .harness import Harness, observe, wait_until

CAMERA = TrackKey("a", "camera")


@pytest.fixture
def forwarding() -> ForwardingMode:
    """These tests are about the RTP-level path only."""
    return "rtp"


def stream_of(h: Harness, receiver: str, key: TrackKey) -> RtpOutgoingStream:
    stream = h.room.peer(receiver).outgoing_stream(key)
    assert stream is not None
    return stream


async def test_sequence_numbers_stay_continuous_across_a_pause_and_resume(
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory()
    await h.join("a")
    b = await h.join("b")
    assert await wait_until(lambda: CAMERA in b.tracks.values(), 10)
    seen = observe(b, CAMERA)
    assert await wait_until(lambda: len(seen.packets) > 60, 10)

    h.room.set_paused(CAMERA, True)
    before = len(seen.packets)
    assert await wait_until(lambda: len(seen.packets) == before, 5, step=0.5)
    await asyncio.sleep(1.0)
    paused_at = len(seen.packets)
    h.room.set_paused(CAMERA, False)
    assert await wait_until(lambda: len(seen.packets) > paused_at + 60, 10)

    numbers = [p.sequence_number for p in seen.packets]
    steps = {(later - earlier) & 0xFFFF for earlier, later in itertools.pairwise(numbers)}
    assert steps == {1}, f"gaps or repeats in {sorted(steps)}"
    last, first = seen.packets[paused_at - 1], seen.packets[paused_at]
    gap = first.at - last.at
    assert gap > 1.0  # the pause really happened in between
    ticks = (first.timestamp - last.timestamp) & 0xFFFFFFFF
    # the timestamp moves on by the time the stream was silent (the keyframe waited for)
    assert 0.5 * gap * 90000 < ticks < 1.5 * gap * 90000 + 9000


async def test_a_reused_m_line_continues_the_numbering_for_another_track(
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory()
    a = await h.join("a")
    b = await h.join("b")

    def settled() -> bool:  # a's own offers must not cross the server's offer to a
        got_b = TrackKey("b", "camera") in a.tracks.values()
        return got_b and h.room.peer("a").pc.signalingState == "stable"

    assert await wait_until(settled, 10)
    screen = TrackKey("a", "screen")
    sdp, sources = await a.share_screen(True)
    await a.accept_answer(await h.room.update_offer("a", sdp, sources))
    assert await wait_until(lambda: screen in b.tracks.values(), 10)
    seen = observe(b, screen)
    assert await wait_until(lambda: len(seen.packets) > 30, 10)
    sdp, sources = await a.share_screen(False)
    await a.accept_answer(await h.room.update_offer("a", sdp, sources))
    assert await wait_until(lambda: screen not in b.tracks.values(), 10)
    await asyncio.sleep(0.5)
    stopped_at = len(seen.packets)
    sdp, sources = await a.share_screen(True)  # a new track on the same m-line towards b
    await a.accept_answer(await h.room.update_offer("a", sdp, sources))
    assert await wait_until(lambda: len(seen.packets) > stopped_at + 30, 10)
    last, first = seen.packets[stopped_at - 1], seen.packets[stopped_at]
    assert (first.sequence_number - last.sequence_number) & 0xFFFF == 1


@dataclass
class Delivery:
    frames: int
    sent: int


async def test_five_percent_loss_towards_a_receiver_is_repaired_by_retransmission(
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory()
    a = await h.join("a")
    b = await h.join("b", decode=False)
    counter = None

    def flowing() -> bool:
        nonlocal counter
        counter = b.counter("a", "camera")
        return counter is not None and counter.frames > 30

    assert await wait_until(flowing, 10)
    assert counter is not None and a.video_track is not None
    stream = stream_of(h, "b", CAMERA)
    assert stream.retransmitted == 0
    server_to_b = h.room.peer("b").pc.getTransceivers()[0].sender.transport
    internals.simulate_rtp_loss(server_to_b, 0.05, random.Random(11))
    requests_before = a.video_track.keyframe_requests
    frames_before, sent_before = counter.frames, a.video_track.frames_sent
    await asyncio.sleep(6)
    # frames still in the receiver's jitter buffer, or awaiting a retransmission
    await asyncio.sleep(0.5)
    delivered = counter.frames - frames_before
    sent = a.video_track.frames_sent - sent_before
    assert sent > 100
    assert delivered >= 0.99 * sent - 15, f"{delivered} of {sent} frames"
    assert stream.retransmitted >= 5  # about 5 % of some 300 packets, NACKed and resent
    assert stream.nacks_missed <= 2
    assert a.video_track.keyframe_requests - requests_before <= 2


async def test_sender_reports_count_what_was_sent(
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory()
    await h.join("a")
    b = await h.join("b")
    assert await wait_until(lambda: CAMERA in b.tracks.values(), 10)
    seen = observe(b, CAMERA)
    microphone = TrackKey("a", "microphone")
    heard = observe(b, microphone)
    assert await wait_until(lambda: len(seen.reports) >= 3 and len(heard.reports) >= 3, 15)
    stream = stream_of(h, "b", CAMERA)
    assert stream.packets_sent >= seen.reports[-1][0].sender_info.packet_count
    for observed in (seen, heard):
        # the first report may count packets sent before this test started observing
        for report, packets, octets in observed.reports[1:]:
            info = report.sender_info
            offset_packets = observed.reports[0][0].sender_info.packet_count
            offset_octets = observed.reports[0][0].sender_info.octet_count
            received_packets = packets - observed.reports[0][1]
            received_octets = octets - observed.reports[0][2]
            # over loopback nothing is lost: the counts match up to packets still in flight
            assert abs((info.packet_count - offset_packets) - received_packets) <= 3
            assert abs((info.octet_count - offset_octets) - received_octets) <= 3 * 1200
        # the NTP↔RTP mapping is consistent with the timestamps received
        report, packets, _ = observed.reports[-1]
        latest = observed.packets[packets - 1]
        clock_rate = 90000 if observed is seen else 48000
        ahead = (report.sender_info.rtp_timestamp - latest.timestamp) & 0xFFFFFFFF
        assert ahead < clock_rate // 2 or ahead > 0xFFFFFFFF - clock_rate // 10
