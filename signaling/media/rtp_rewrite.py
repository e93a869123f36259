"""Rewriting a publisher's RTP for one receiver: where video may start, offsets, header bytes.

Pure byte and integer work, no I/O: a forwarder starts a receiver on a keyframe, keeps the
receiver's sequence numbers and timestamps continuous whatever it switches between, and
writes the receiver's own SSRC, payload type and header extension ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from struct import Struct

__all__ = [
    "ABS_SEND_TIME_URI",
    "AUDIO_LEVEL_URI",
    "MID_URI",
    "HeaderWriter",
    "SequenceRewriter",
    "h264_keyframe_start",
    "is_keyframe_start",
    "vp8_keyframe_start",
]

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

_HEADER = Struct("!BBHLL")
_ONE_BYTE_PROFILE = 0xBEDE
_ABS_SEND_TIME_UNITS = 1 << 18
"""abs-send-time is seconds in 6.18 fixed point, 24 bits (only differences matter)."""

_H264_IDR = 5
_H264_SPS = 7
_H264_STAP_A = 24
_H264_FU_A = 28

_REORDER_GUARD = 1000
"""Packets after a rebase during which older (reordered) packets of the source are dropped."""


def vp8_keyframe_start(payload: bytes) -> bool:
    """Whether a VP8 RTP payload starts a key frame (RFC 7741 descriptor, RFC 6386 P bit)."""
    if not payload:
        return False
    first = payload[0]
    if not first & 0x10 or first & 0x07:  # S: start of a partition; PID 0: the first one
        return False
    pos = 1
    if first & 0x80:  # X: extended control bits follow
        if len(payload) < 2:
            return False
        extended = payload[1]
        pos = 2
        if extended & 0x80:  # I: picture id, 7 or 15 bits
            if len(payload) <= pos:
                return False
            pos += 2 if payload[pos] & 0x80 else 1
        if extended & 0x40:  # L: TL0PICIDX
            pos += 1
        if extended & 0x30:  # T or K: TID/Y/KEYIDX
            pos += 1
    return len(payload) > pos and payload[pos] & 0x01 == 0


def h264_keyframe_start(payload: bytes) -> bool:
    """Whether an H.264 RTP payload (RFC 6184) starts an IDR picture or carries an SPS."""
    if not payload:
        return False
    nal_type = payload[0] & 0x1F
    if nal_type in (_H264_IDR, _H264_SPS):
        return True
    if nal_type == _H264_STAP_A:
        pos = 1
        while pos + 2 < len(payload):
            size = (payload[pos] << 8) | payload[pos + 1]
            if payload[pos + 2] & 0x1F in (_H264_IDR, _H264_SPS):
                return True
            pos += 2 + size
        return False
    if nal_type == _H264_FU_A:
        return (
            len(payload) > 1
            and bool(payload[1] & 0x80)
            and payload[1] & 0x1F in (_H264_IDR, _H264_SPS)
        )
    return False


def is_keyframe_start(codec_name: str, payload: bytes) -> bool:
    """Whether a receiver may start decoding at this packet (codec names as CodecInfo.name)."""
    if codec_name == "VP8":
        return vp8_keyframe_start(payload)
    if codec_name == "H264":
        return h264_keyframe_start(payload)
    return True


class HeaderWriter:
    """Writes RTP headers as one receiver negotiated them.

    The receiver's SSRC and payload type, its ids for the MID, abs-send-time and
    audio-level extensions; any other extension of the publisher is dropped (its id
    means nothing on this leg).  The layout of the header is fixed when the stream
    starts, so each packet's header is one ``struct`` call.
    """

    def __init__(
        self, ssrc: int, payload_type: int, mid: str | None, extension_ids: Mapping[str, int]
    ) -> None:
        self.ssrc = ssrc
        self.payload_type = payload_type
        mid_id = extension_ids.get(MID_URI)
        encoded_mid = b"" if mid is None else mid.encode()
        self.__mid_element = (
            bytes(((mid_id << 4) | (len(encoded_mid) - 1),)) + encoded_mid
            if mid_id and encoded_mid and len(encoded_mid) <= 16
            else b""
        )
        abs_send_time_id = extension_ids.get(ABS_SEND_TIME_URI, 0)
        self.__abs_send_time_tag = (abs_send_time_id << 4 | 2) << 24 if abs_send_time_id else 0
        self.__audio_level_tag = extension_ids.get(AUDIO_LEVEL_URI, 0) << 4
        self.__layout = self.__header_layout(audio_level=False)
        self.__layout_with_level = (
            self.__header_layout(audio_level=True) if self.__audio_level_tag else None
        )

    def __header_layout(self, *, audio_level: bool) -> tuple[Struct, int] | None:
        """The header's struct (fixed part, extension header, elements, padding) and its
        length in 32-bit words, or ``None`` when there is no extension to write."""
        element_bytes = (
            len(self.__mid_element)
            + (4 if self.__abs_send_time_tag else 0)
            + (2 if audio_level else 0)
        )
        if not element_bytes:
            return None
        padding = -element_bytes % 4
        layout = (
            f"!BBHLLHH{len(self.__mid_element)}s"
            + ("L" if self.__abs_send_time_tag else "")
            + ("BB" if audio_level else "")
            + f"{padding}x"
        )
        return Struct(layout), (element_bytes + padding) // 4

    def write(
        self,
        sequence_number: int,
        timestamp: int,
        marker: int,
        now: float,
        audio_level: tuple[bool, int] | None = None,
    ) -> bytes:
        """The header (fixed part and extensions) of one outgoing packet."""
        second = (marker << 7) | self.payload_type
        layout = self.__layout
        with_level = self.__layout_with_level
        if audio_level is not None and with_level is not None:
            layout = with_level
        if layout is None:
            return _HEADER.pack(0x80, second, sequence_number, timestamp, self.ssrc)
        shape, words = layout
        fields: list[int | bytes] = [
            0x90,
            second,
            sequence_number,
            timestamp,
            self.ssrc,
            _ONE_BYTE_PROFILE,
            words,
            self.__mid_element,
        ]
        if self.__abs_send_time_tag:
            fields.append(self.__abs_send_time_tag | int(now * _ABS_SEND_TIME_UNITS) & 0xFFFFFF)
        if layout is with_level and audio_level is not None:
            voice, level = audio_level
            fields += (self.__audio_level_tag, (0x80 if voice else 0) | level & 0x7F)
        return shape.pack(*fields)


def _sequence_after(a: int, b: int) -> bool:
    """Whether 16-bit sequence number ``a`` comes after ``b`` (RFC 3550 wrap-around)."""
    return a != b and (a - b) & 0xFFFF < 0x8000


class SequenceRewriter:
    """One outgoing stream's sequence numbers and timestamps, continuous across sources.

    Between rebases a packet keeps its distance from its neighbours (upstream gaps stay
    gaps, so the receiver can ask for them); a rebase (the receiver starts, resumes, or
    gets another publisher) continues at last sent + 1, with the timestamp moved on by
    the wall-clock time since the last packet sent.
    """

    def __init__(self, clock_rate: int) -> None:
        if clock_rate <= 0:
            raise ValueError(f"clock rate must be positive, got {clock_rate}")
        self.clock_rate = clock_rate
        self.sequence_offset = 0
        self.timestamp_offset = 0
        self.__highest: int | None = None
        self.__last_timestamp = 0
        self.__last_at = 0.0
        self.__start = 0
        self.__since_rebase = 0

    @property
    def highest_sequence(self) -> int | None:
        """The latest sequence number sent, ``None`` before the first packet."""
        return self.__highest

    def rebase(self, sequence_number: int, timestamp: int, now: float) -> None:
        """Make the source's packet (``sequence_number``, ``timestamp``) the next one sent."""
        self.__start = sequence_number
        self.__since_rebase = 0
        if self.__highest is None:
            self.sequence_offset = 0
            self.timestamp_offset = 0
            return
        self.sequence_offset = (self.__highest + 1 - sequence_number) & 0xFFFF
        elapsed = max(1, round((now - self.__last_at) * self.clock_rate))
        self.timestamp_offset = (self.__last_timestamp + elapsed - timestamp) & 0xFFFFFFFF

    def map(self, sequence_number: int, timestamp: int, now: float) -> tuple[int, int] | None:
        """The outgoing (sequence number, timestamp), or ``None`` for a packet of the
        source older than the rebase (it would reuse numbers already sent)."""
        if self.__since_rebase < _REORDER_GUARD:
            self.__since_rebase += 1
            if (sequence_number - self.__start) & 0xFFFF >= 0x8000:
                return None
        out_sequence = (sequence_number + self.sequence_offset) & 0xFFFF
        out_timestamp = (timestamp + self.timestamp_offset) & 0xFFFFFFFF
        highest = self.__highest
        if highest is None or _sequence_after(out_sequence, highest):
            self.__highest = out_sequence
            self.__last_timestamp = out_timestamp
            self.__last_at = now
        return out_sequence, out_timestamp

    def timestamp_at(self, now: float) -> int:
        """The outgoing RTP timestamp that corresponds to monotonic time ``now``."""
        elapsed = round((now - self.__last_at) * self.clock_rate)
        return (self.__last_timestamp + elapsed) & 0xFFFFFFFF
