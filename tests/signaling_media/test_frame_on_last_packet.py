"""Frames for frame sinks (the recorder, the frame-level path, the load generator's counters)
leave the receiver's buffer on their last packet, not a frame interval later."""

from __future__ import annotations

from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket

from signaling.media.aiortc_internals import FrameOnLastPacket


def packet(sequence: int, timestamp: int, *, marker: bool = False) -> RtpPacket:
    made = RtpPacket(
        payload_type=96,
        marker=int(marker),
        sequence_number=sequence,
        timestamp=timestamp,
        payload=bytes((sequence,)),
    )
    made._data = made.payload  # type: ignore[attr-defined]  # what depayloading leaves
    return made


def frame_of(buffer: JitterBuffer, made: RtpPacket) -> JitterFrame | None:
    pli, frame = buffer.add(made)
    assert not pli
    return frame


def test_a_marked_video_frame_leaves_on_its_last_packet_where_aiortc_waited_for_the_next() -> None:
    ours, aiortcs = FrameOnLastPacket(128, is_video=True), JitterBuffer(128, is_video=True)
    for buffer in (ours, aiortcs):
        assert frame_of(buffer, packet(10, 3000)) is None
    whole = frame_of(ours, packet(11, 3000, marker=True))
    assert whole is not None
    assert (whole.data, whole.timestamp) == (bytes((10, 11)), 3000)
    assert frame_of(aiortcs, packet(11, 3000, marker=True)) is None  # the old wait
    assert frame_of(ours, packet(12, 6000)) is None
    last = frame_of(ours, packet(13, 6000, marker=True))
    assert last is not None and last.data == bytes((12, 13))


def test_a_frame_waits_for_a_packet_that_comes_late_then_leaves_whole() -> None:
    buffer = FrameOnLastPacket(128, is_video=True)
    assert frame_of(buffer, packet(1, 100, marker=True)) is not None
    assert frame_of(buffer, packet(3, 200, marker=True)) is None  # 2 is missing
    whole = frame_of(buffer, packet(2, 200))  # retransmitted
    assert whole is not None and (whole.data, whole.timestamp) == (bytes((2, 3)), 200)


def test_unmarked_video_is_cut_where_the_next_timestamp_begins() -> None:
    buffer = FrameOnLastPacket(128, is_video=True)
    assert frame_of(buffer, packet(1, 100)) is None
    assert frame_of(buffer, packet(2, 100)) is None
    cut = frame_of(buffer, packet(3, 200))
    assert cut is not None and (cut.data, cut.timestamp) == (bytes((1, 2)), 100)


def test_every_audio_packet_is_a_frame_at_once_without_aiortcs_prefetch() -> None:
    ours, aiortcs = FrameOnLastPacket(16, is_video=False), JitterBuffer(16, prefetch=4)
    for sequence in range(3):
        mine = frame_of(ours, packet(sequence, sequence * 960))
        assert mine is not None and mine.timestamp == sequence * 960
        assert frame_of(aiortcs, packet(sequence, sequence * 960)) is None
