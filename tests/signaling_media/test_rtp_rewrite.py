"""Keyframe starts, continuous numbering, header bytes and the retransmission history."""

from __future__ import annotations

import pytest
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket, unwrap_rtx

from signaling.media.retransmission import RetransmissionHistory, wrap_rtx
from signaling.media.rtp_rewrite import (
    ABS_SEND_TIME_URI,
    AUDIO_LEVEL_URI,
    MID_URI,
    HeaderWriter,
    SequenceRewriter,
    h264_keyframe_start,
    is_keyframe_start,
    vp8_keyframe_start,
)

VP8_KEY_FRAME_TAG = b"\x10\x02\x00\x9d\x01\x2a"  # P bit clear
VP8_DELTA_FRAME_TAG = b"\x11\x02\x00"


def test_vp8_keyframe_start_reads_the_descriptor_then_the_p_bit() -> None:
    assert vp8_keyframe_start(b"\x10" + VP8_KEY_FRAME_TAG)  # S=1, PID 0, no extension
    assert not vp8_keyframe_start(b"\x10" + VP8_DELTA_FRAME_TAG)
    assert not vp8_keyframe_start(b"\x00" + VP8_KEY_FRAME_TAG)  # not the start of a frame
    assert not vp8_keyframe_start(b"\x11" + VP8_KEY_FRAME_TAG)  # partition 1
    # X with a 15-bit picture id (what aiortc and browsers send), then TL0PICIDX and TID
    assert vp8_keyframe_start(b"\x90\x80\x81\x23" + VP8_KEY_FRAME_TAG)
    assert vp8_keyframe_start(b"\x90\xe0\x81\x23\x05\x40" + VP8_KEY_FRAME_TAG)
    assert not vp8_keyframe_start(b"\x90\xe0\x81\x23\x05\x40" + VP8_DELTA_FRAME_TAG)
    assert vp8_keyframe_start(b"\x90\x80\x12" + VP8_KEY_FRAME_TAG)  # 7-bit picture id
    assert not vp8_keyframe_start(b"\x90\x80")  # truncated
    assert not vp8_keyframe_start(b"")


def test_h264_keyframe_start_in_every_packetisation() -> None:
    assert h264_keyframe_start(b"\x67\x42\x00")  # single NAL: SPS
    assert h264_keyframe_start(b"\x65\x88")  # single NAL: IDR slice
    assert not h264_keyframe_start(b"\x41\x9a")  # non-IDR slice
    stap_a = b"\x78" + b"\x00\x02\x09\x10" + b"\x00\x03\x67\x42\x00"  # AUD, then SPS
    assert h264_keyframe_start(stap_a)
    assert not h264_keyframe_start(b"\x78" + b"\x00\x02\x09\x10" + b"\x00\x02\x41\x9a")
    assert h264_keyframe_start(b"\x7c\x85\x88")  # FU-A, start bit, IDR
    assert not h264_keyframe_start(b"\x7c\x05\x88")  # FU-A continuation of an IDR
    assert not h264_keyframe_start(b"\x7c\x81\x9a")  # FU-A start of a non-IDR slice
    assert is_keyframe_start("OPUS", b"\x01") and not is_keyframe_start("H264", b"")


def test_numbering_continues_at_last_plus_one_with_the_wall_clock_gap() -> None:
    rewriter = SequenceRewriter(90000)
    rewriter.rebase(1000, 50_000, now=10.0)
    assert rewriter.map(1000, 50_000, 10.0) == (1000, 50_000)
    assert rewriter.map(1002, 56_000, 10.066) == (1002, 56_000)  # an upstream gap stays a gap
    assert rewriter.map(1001, 53_000, 10.07) == (1001, 53_000)  # late: no effect on "last"
    # another source (or the same after a pause), 2 s later on the wall clock
    rewriter.rebase(65_530, 4_294_967_000, now=12.066)
    first = rewriter.map(65_530, 4_294_967_000, 12.066)
    assert first == (1003, 56_000 + 180_000)
    assert rewriter.map(4, 4_294_967_000 + 3000, 12.1) == (1013, 239_000)  # across the wrap
    assert rewriter.map(65_529, 0, 12.1) is None  # older than the rebase: numbers already used
    assert rewriter.timestamp_at(13.1) == 239_000 + 90_000
    with pytest.raises(ValueError):
        SequenceRewriter(0)


def negotiated(ids: dict[str, int]) -> HeaderExtensionsMap:
    extensions = HeaderExtensionsMap()
    extensions.configure(
        RTCRtpParameters(
            headerExtensions=[RTCRtpHeaderExtensionParameters(id=i, uri=u) for u, i in ids.items()]
        )
    )
    return extensions


def test_headers_carry_the_receivers_numbers_and_extension_ids() -> None:
    ids = {MID_URI: 1, AUDIO_LEVEL_URI: 2, ABS_SEND_TIME_URI: 3}
    writer = HeaderWriter(0xCAFE, 111, "4", ids)
    data = writer.write(7, 960, 1, now=2.5, audio_level=(True, 30)) + b"opus"
    packet = RtpPacket.parse(data, negotiated(ids))
    assert (packet.ssrc, packet.payload_type, packet.sequence_number) == (0xCAFE, 111, 7)
    assert (packet.timestamp, packet.marker, packet.payload) == (960, 1, b"opus")
    assert packet.extensions.mid == "4"
    assert packet.extensions.audio_level == (True, 30)
    assert packet.extensions.abs_send_time == int(2.5 * (1 << 18)) & 0xFFFFFF
    bare = HeaderWriter(1, 96, None, {}).write(1, 2, 0, now=0.0) + b"x"
    assert len(bare) == 13 and RtpPacket.parse(bare).payload == b"x"


def test_history_keeps_the_last_packets_and_rtx_wraps_them() -> None:
    history = RetransmissionHistory(4)
    ids = {MID_URI: 1, ABS_SEND_TIME_URI: 3}
    writer = HeaderWriter(0xAAAA, 96, "1", ids)
    sent = {seq: writer.write(seq, seq * 3000, 0, now=1.0) + bytes([seq]) * 10 for seq in range(6)}
    for seq, data in sent.items():
        history.store(seq, data)
    assert history.get(0) is None and history.get(1) is None  # overwritten
    assert history.get(5) == sent[5]
    rtx = RtpPacket.parse(wrap_rtx(sent[5], 97, 300, 0xBBBB), negotiated(ids))
    assert (rtx.payload_type, rtx.sequence_number, rtx.ssrc) == (97, 300, 0xBBBB)
    original = unwrap_rtx(rtx, payload_type=96, ssrc=0xAAAA)
    assert original.sequence_number == 5 and original.payload == bytes([5]) * 10
    assert original.timestamp == 15_000 and original.extensions.mid == "1"
    with pytest.raises(ValueError):
        RetransmissionHistory(0)
