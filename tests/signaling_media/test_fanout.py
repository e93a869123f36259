"""TrackFanout: keyframe gating, pausing, overflow, shared timeline."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import av
import pytest
from aiortc.rtp import RtpPacket

from signaling.media import CodecInfo, ForwardedTrack, TrackFanout, TrackKey, is_keyframe

VP8 = CodecInfo("video/VP8", 90000)
OPUS = CodecInfo("audio/opus", 48000, 2)
KEY = b"\x10\x02\x00\x9d\x01\x2a"  # VP8 frame tag with the key-frame bit clear
DELTA = b"\x11\x02\x00"


class Sink:
    def __init__(self, accept: bool = True) -> None:
        self.packets: list[av.Packet[Any]] = []
        self.accept = accept

    def on_packet(self, packet: av.Packet[Any], track: TrackKey, codec: CodecInfo) -> bool:
        if self.accept:
            self.packets.append(packet)
        return self.accept


class Requests:
    """Counts keyframe requests; ``attach_count`` those made for a sink that starts."""

    def __init__(self) -> None:
        self.count = 0
        self.attach_count = 0

    def request(self) -> None:
        self.count += 1

    def request_for_attach(self) -> None:
        self.count += 1
        self.attach_count += 1

    def keyframe_seen(self) -> None:
        pass


def video_fanout(requests: Requests | None = None, now: float = 100.0) -> TrackFanout:
    return TrackFanout(
        TrackKey("alice", "camera"),
        requests,  # type: ignore[arg-type]
        clock=lambda: now,
    )


def test_keyframe_detection() -> None:
    assert is_keyframe("VP8", KEY) and not is_keyframe("VP8", DELTA)
    assert not is_keyframe("VP8", b"")
    assert is_keyframe("H264", b"\x00\x00\x00\x01\x67abc\x00\x00\x00\x01\x68x")
    assert is_keyframe("H264", b"\x00\x00\x00\x01\x65abc")
    assert not is_keyframe("H264", b"\x00\x00\x00\x01\x41abc")
    assert is_keyframe("OPUS", b"\x01")


def test_video_sink_starts_at_a_keyframe_and_asks_for_one() -> None:
    requests = Requests()
    fanout = video_fanout(requests)
    sink = Sink()
    fanout.add_sink(sink)
    assert requests.count == 1
    fanout.push(VP8, DELTA, 0)
    fanout.push(VP8, KEY, 3000)
    fanout.push(VP8, DELTA, 6000)
    assert [bytes(p) for p in sink.packets] == [KEY, DELTA]
    assert sink.packets[0].is_keyframe and not sink.packets[1].is_keyframe
    assert fanout.frames_in == 3 and fanout.keyframes_in == 1


def test_timestamps_move_onto_the_monotonic_clock() -> None:
    fanout = video_fanout(now=10.0)
    sink = Sink()
    fanout.add_sink(sink)
    fanout.push(VP8, KEY, 0)
    fanout.push(VP8, DELTA, 3000)
    assert [p.pts for p in sink.packets] == [900000, 903000]
    assert sink.packets[0].time_base == Fraction(1, 90000)


def test_paused_sink_gets_nothing_and_restarts_at_keyframe() -> None:
    requests = Requests()
    fanout = video_fanout(requests)
    paused, other = Sink(), Sink()
    fanout.add_sink(paused, active=False)
    fanout.add_sink(other)
    assert requests.count == 1  # only the active sink asked
    for ts in range(5):
        fanout.push(VP8, KEY if ts == 0 else DELTA, ts * 3000)
    assert paused.packets == [] and len(other.packets) == 5
    fanout.set_active(paused, True)
    assert requests.count == 2
    fanout.push(VP8, DELTA, 15000)
    fanout.push(VP8, KEY, 18000)
    assert [bytes(p) for p in paused.packets] == [KEY]
    fanout.set_active(paused, False)
    fanout.push(VP8, DELTA, 21000)
    assert len(paused.packets) == 1 and not fanout.is_active(paused)


def test_refusing_sink_is_resynced_on_the_next_keyframe() -> None:
    requests = Requests()
    fanout = video_fanout(requests)
    sink = Sink()
    fanout.add_sink(sink)
    fanout.push(VP8, KEY, 0)
    sink.accept = False
    fanout.push(VP8, DELTA, 3000)
    assert requests.count == 2
    sink.accept = True
    fanout.push(VP8, DELTA, 6000)
    fanout.push(VP8, KEY, 9000)
    assert [bytes(p) for p in sink.packets] == [KEY, KEY]


def test_audio_needs_no_keyframe() -> None:
    requests = Requests()
    fanout = TrackFanout(TrackKey("bob", "microphone"), requests)  # type: ignore[arg-type]
    sink = Sink()
    fanout.add_sink(sink)
    fanout.push(OPUS, b"\x78\x01", 0)
    assert len(sink.packets) == 1 and requests.count == 0
    assert sink.packets[0].time_base == Fraction(1, 48000)


def test_remove_close_and_errors() -> None:
    fanout = video_fanout()
    sink = Sink()
    fanout.add_sink(sink)
    with pytest.raises(ValueError):
        fanout.add_sink(sink)
    fanout.remove_sink(sink)
    fanout.remove_sink(sink)
    assert fanout.sink_count == 0
    fanout.close()
    with pytest.raises(RuntimeError):
        fanout.add_sink(Sink())
    fanout.push(VP8, KEY, 0)
    assert fanout.frames_in == 0
    with pytest.raises(ValueError):
        CodecInfo("VP8", 90000)


async def test_forwarded_track_flushes_when_the_sender_falls_behind() -> None:
    track = ForwardedTrack("video", queue_limit=3)
    fanout = video_fanout(Requests())
    fanout.add_sink(track)
    fanout.push(VP8, KEY, 0)
    fanout.push(VP8, DELTA, 3000)
    fanout.push(VP8, DELTA, 6000)
    fanout.push(VP8, DELTA, 9000)  # queue full: flushed, waits for a keyframe
    assert track.overflows == 1 and track.queued == 0
    fanout.push(VP8, DELTA, 12000)
    fanout.push(VP8, KEY, 15000)
    packet = await track.recv()
    assert bytes(packet) == KEY and track.packets_out == 1
    track.stop()
    assert track.on_packet(packet, fanout.key, VP8)  # stopped track ignores packets


def audio_packet(sequence_number: int, level: tuple[bool, int] | None) -> RtpPacket:
    packet = RtpPacket(payload_type=111, sequence_number=sequence_number, timestamp=960)
    packet.payload = b"\x78\x01"
    packet.extensions.audio_level = level
    return packet


def test_the_loudest_audio_level_is_kept_until_taken_and_not_while_paused() -> None:
    fanout = TrackFanout(TrackKey("alice", "microphone"), clock=lambda: 100.0)
    assert fanout.take_audio_level() is None
    for number, level in enumerate([(True, 40), (False, 22), None, (True, 90)]):
        fanout.push_rtp(OPUS, audio_packet(number, level))
    assert fanout.take_audio_level() == 22, "0 is loudest: the smallest level wins"
    assert fanout.take_audio_level() is None, "taking it starts a new interval"

    fanout.push_rtp(OPUS, audio_packet(10, (True, 30)))
    fanout.set_paused(True)
    fanout.push_rtp(OPUS, audio_packet(11, (True, 5)))
    assert fanout.take_audio_level() is None, "a muted voice reports nothing, before or after"
    fanout.set_paused(False)
    fanout.push_rtp(OPUS, audio_packet(12, (True, 50)))
    assert fanout.take_audio_level() == 50


class RtpSinkStub:
    """An RTP sink that takes every packet and keeps its sequence number and restart flag."""

    def __init__(self) -> None:
        self.got: list[tuple[int, bool]] = []

    def on_rtp(
        self, packet: RtpPacket, codec: CodecInfo, now: float, restart: bool, source: TrackFanout
    ) -> bool:
        self.got.append((packet.sequence_number, restart))
        return True


def vp8_packet(sequence_number: int, keyframe: bool) -> RtpPacket:
    packet = RtpPacket(payload_type=96, sequence_number=sequence_number, timestamp=3000)
    packet.payload = b"\x90\x80\x00" + (KEY if keyframe else DELTA)  # descriptor: S, PID 0
    packet.marker = True
    return packet


def test_a_receiver_limited_for_bandwidth_gets_no_video_and_restarts_at_a_keyframe() -> None:
    requests = Requests()
    fanout = video_fanout(requests)
    weak, strong = RtpSinkStub(), RtpSinkStub()
    fanout.add_sink(weak)
    fanout.add_sink(strong)
    fanout.push_rtp(VP8, vp8_packet(1, keyframe=True))
    fanout.set_limited(weak, True)
    assert fanout.is_limited(weak) and not fanout.is_limited(strong)
    fanout.push_rtp(VP8, vp8_packet(2, keyframe=False))
    before = requests.attach_count
    fanout.set_limited(weak, False)
    assert requests.attach_count == before + 1  # asked for the keyframe it restarts on
    fanout.push_rtp(VP8, vp8_packet(3, keyframe=False))
    fanout.push_rtp(VP8, vp8_packet(4, keyframe=True))
    assert strong.got == [(1, True), (2, False), (3, False), (4, False)]
    assert weak.got == [(1, True), (4, True)]  # restart: the sink continues its numbering


def test_audio_is_never_limited_for_bandwidth() -> None:
    fanout = TrackFanout(TrackKey("alice", "microphone"), clock=lambda: 100.0)
    sink = RtpSinkStub()
    fanout.add_sink(sink)
    fanout.set_limited(sink, True)
    fanout.push_rtp(OPUS, audio_packet(1, None))
    assert not fanout.is_limited(sink) and sink.got == [(1, True)]


def test_the_cap_is_the_best_receivers_estimate_and_lapses_when_it_goes_stale() -> None:
    clock = [100.0]
    fanout = TrackFanout(TrackKey("alice", "camera"), clock=lambda: clock[0])
    weak, strong, policy_off = RtpSinkStub(), RtpSinkStub(), RtpSinkStub()
    for sink in (weak, strong, policy_off):
        fanout.add_sink(sink)
    fanout.set_active(policy_off, False)  # not sent the video: says nothing of it
    assert fanout.receivers_cap() is None
    fanout.report_estimate(weak, 100_000)
    assert fanout.receivers_cap() is None  # strong has not said what it takes
    fanout.report_estimate(strong, 800_000)
    assert fanout.receivers_cap() == 800_000
    fanout.set_limited(weak, True)
    clock[0] += 3.0
    fanout.report_estimate(strong, 200_000)
    assert fanout.receivers_cap() == 200_000  # weak's last estimate stands while paused
    clock[0] += 10.0  # strong's goes stale: it may take anything
    assert fanout.receivers_cap() is None
    fanout.remove_sink(strong)
    assert fanout.receivers_cap() == 100_000
    fanout.close()
    assert fanout.receivers_cap() is None


def test_the_rate_is_sampled_from_the_bytes_received() -> None:
    clock = [100.0]
    fanout = TrackFanout(TrackKey("alice", "camera"), clock=lambda: clock[0])
    assert fanout.bitrate() == 0.0
    for number in range(10):
        clock[0] += 0.5
        packet = vp8_packet(number, keyframe=number == 0)
        packet.payload += bytes(6250 - len(packet.payload))
        fanout.push_rtp(VP8, packet)
        fanout.bitrate()
    assert fanout.bitrate() == pytest.approx(100_000)  # 6250 bytes every half second
