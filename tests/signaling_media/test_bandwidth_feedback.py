"""Receivers' bandwidth estimates (REMB) with real aiortc peers: a weak receiver's video is
paused and tried again while the others keep every packet, and the publisher is asked to
slow down only when every receiver is short.

A receiver's link is made weak by rewriting the REMBs its aiortc receiver sends, at
aiortc's own cadence (about two a second while video arrives).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from aiortc.rtp import RTCP_PSFB_APP, AnyRtcpPacket, RtcpPsfbPacket, unpack_remb_fci

from signaling.media import RtpOutgoingStream, TrackKey
from signaling.media import aiortc_internals as internals
from signaling.media.bandwidth import BandwidthSettings
from signaling.media.rtp_forwarding import ForwardingMode
from signaling.media.synthetic import ProbeClient

from .harness import Harness, Observed, observe, wait_until

CAMERA = TrackKey("a", "camera")
MICROPHONE = TrackKey("a", "microphone")


@pytest.fixture
def forwarding() -> ForwardingMode:
    """Receivers' estimates are honoured on the RTP-level path only."""
    return "rtp"


@dataclass
class Link:
    """What a receiver's REMBs say: ``None`` leaves aiortc's own estimate."""

    bitrate: int | None = None

    def say(self, own: int) -> int:
        return own if self.bitrate is None else self.bitrate


def weaken(client: ProbeClient, key: TrackKey) -> Link:
    transceiver = next(
        t
        for t in client.pc.getTransceivers()
        if t.mid is not None and client.tracks.get(t.mid) == key
    )
    link = Link()
    internals.rewrite_sent_remb(transceiver.receiver, link.say)
    return link


@dataclass
class PublisherFeedback:
    """The REMBs the publisher's camera sender is sent by the server."""

    estimates: list[int] = field(default_factory=list)

    def on_rtcp(self, packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            self.estimates.append(unpack_remb_fci(packet.fci)[0])


def publisher_feedback(client: ProbeClient) -> PublisherFeedback:
    sender = next(
        t.sender
        for t in client.pc.getTransceivers()
        if t.sender.track is not None and t.sender.track is client.video_track
    )
    feedback = PublisherFeedback()
    internals.observe_sender_rtcp(sender, feedback.on_rtcp)
    return feedback


def stream_of(h: Harness, receiver: str, key: TrackKey) -> RtpOutgoingStream:
    stream = h.room.peer(receiver).outgoing_stream(key)
    assert stream is not None
    return stream


def continuous(observed: Observed) -> bool:
    numbers = [p.sequence_number for p in observed.packets]
    return all((later - earlier) & 0xFFFF == 1 for earlier, later in itertools.pairwise(numbers))


async def receivers(h: Harness, *names: str) -> list[ProbeClient]:
    await h.join("a")
    clients = [await h.join(name, publish=False, decode=False) for name in names]

    def offered() -> bool:
        return all({CAMERA, MICROPHONE} <= set(c.tracks.values()) for c in clients)

    assert await wait_until(offered, 15)
    return clients


QUICK = BandwidthSettings(margin=0.8, hold=1.0, first_retry=3.0, max_retry=6.0)


async def test_a_weak_receivers_video_pauses_and_resumes_at_a_keyframe_while_others_get_all(
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory(bandwidth=QUICK)
    b, c = await receivers(h, "b", "c")
    weak = weaken(b, CAMERA)
    seen_b, seen_c = observe(b, CAMERA), observe(c, CAMERA)
    heard_b = observe(b, MICROPHONE, codec_name="OPUS")
    assert await wait_until(lambda: len(seen_b.packets) > 30 and len(seen_c.packets) > 30, 15)
    stream_b, stream_c = stream_of(h, "b", CAMERA), stream_of(h, "c", CAMERA)

    weak.bitrate = 50_000  # the clip needs some 300 kbit/s
    assert await wait_until(lambda: stream_b.paused_for_bandwidth, 20)
    assert stream_b.bandwidth_pauses == 1
    assert h.room.peer("b").video_paused_for_bandwidth == 1
    stats = await h.room.stats("b")
    assert stats.video_paused_for_bandwidth == 1 and stats.bandwidth_pauses == 1
    assert (await h.room.stats("c")).video_paused_for_bandwidth == 0
    paused_at = len(seen_b.packets)
    c_at, heard_at = len(seen_c.packets), len(heard_b.packets)
    # while b's video is paused, c gets its packets, and b its audio
    assert await wait_until(
        lambda: len(seen_c.packets) > c_at + 60 and len(heard_b.packets) > heard_at + 50, 15
    )
    assert len(seen_b.packets) <= paused_at + 3  # what was on its way
    assert not stream_of(h, "b", MICROPHONE).paused_for_bandwidth

    weak.bitrate = None  # the link recovers: the try after the back-off keeps going
    assert await wait_until(lambda: len(seen_b.packets) > paused_at + 60, 20)
    assert stream_b.bandwidth_resumes == 1 and not stream_b.paused_for_bandwidth
    gap = max(
        range(1, len(seen_b.packets)),
        key=lambda i: seen_b.packets[i].at - seen_b.packets[i - 1].at,
    )
    assert seen_b.packets[gap].at - seen_b.packets[gap - 1].at >= 0.8 * QUICK.first_retry
    assert seen_b.packets[gap].keyframe_start  # a decoder can start where it resumed
    assert continuous(seen_b), "b's numbering has a gap or a repeat"
    assert continuous(seen_c) and stream_c.bandwidth_pauses == 0
    assert not h.room.peer("c").video_paused_for_bandwidth


async def test_a_receiver_still_short_after_a_try_waits_twice_as_long(
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory(bandwidth=QUICK)
    (b,) = await receivers(h, "b")
    weak = weaken(b, CAMERA)
    weak.bitrate = 50_000
    stream = stream_of(h, "b", CAMERA)
    assert await wait_until(lambda: stream.bandwidth_pauses == 2, 30)
    assert stream.bandwidth_resumes == 1


async def two_receivers_reporting(
    harness_factory: Callable[..., Harness],
) -> tuple[Harness, tuple[Link, Link], PublisherFeedback]:
    """Receivers b and c of a's camera whose REMB the test sets, pausing after 1 s short
    and not trying again within a test; and what a is told to send."""
    h = harness_factory(bandwidth=BandwidthSettings(margin=0.8, hold=1.0, first_retry=60.0))
    b, c = await receivers(h, "b", "c")
    return h, (weaken(b, CAMERA), weaken(c, CAMERA)), publisher_feedback(h.clients["a"])


async def test_the_publisher_is_not_slowed_down_by_one_weak_receiver(
    harness_factory: Callable[..., Harness],
) -> None:
    h, (weak, good), feedback = await two_receivers_reporting(harness_factory)
    weak.bitrate, good.bitrate = 60_000, 5_000_000
    stream_b = stream_of(h, "b", CAMERA)
    assert await wait_until(lambda: stream_b.paused_for_bandwidth, 20)
    sent = len(feedback.estimates)
    assert await wait_until(lambda: len(feedback.estimates) >= sent + 6, 15)
    # what the server measures of the publisher (some 300 kbit/s or more), never b's
    assert min(feedback.estimates[sent:]) > 150_000, feedback.estimates[sent:]


async def test_the_publisher_is_asked_for_what_the_best_receiver_takes_when_all_are_short(
    harness_factory: Callable[..., Harness],
) -> None:
    h, (weak, less_weak), feedback = await two_receivers_reporting(harness_factory)
    weak.bitrate, less_weak.bitrate = 60_000, 120_000
    streams = [stream_of(h, "b", CAMERA), stream_of(h, "c", CAMERA)]
    assert await wait_until(lambda: all(s.paused_for_bandwidth for s in streams), 20)
    sent = len(feedback.estimates)
    assert await wait_until(lambda: len(feedback.estimates) >= sent + 4, 15)
    assert set(feedback.estimates[sent:]) == {120_000}
    # and once a receiver that can take more joins, the publisher is free again
    d = await h.join("d", publish=False, decode=False)
    assert await wait_until(lambda: CAMERA in d.tracks.values(), 15)
    sent = len(feedback.estimates)
    assert await wait_until(lambda: len(feedback.estimates) >= sent + 6, 15)
    assert feedback.estimates[-1] > 120_000
