"""Short stream-copied segments of one captured track: written under ``.part``, then renamed.

Packets are muxed exactly as the publisher encoded them (no decoding, no encoding): VP8 and
Opus go into WebM, H.264 into Matroska. Each segment starts at a keyframe and has its own
timestamps from zero, so any closed segment plays on its own; the journal's
``segment_closed`` entry places it on the recording's timeline.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from av.container import OutputContainer

from .layout import TrackPaths

__all__ = [
    "ClosedSegment",
    "SegmentWriter",
    "extension_for",
    "h264_size",
    "opus_head",
    "vp8_size",
]

_FORMATS = {
    "VP8": ("webm", "webm", "vp8"),
    "OPUS": ("webm", "webm", "opus"),
    "H264": ("mkv", "matroska", "h264"),
}


_MUXER_OPTIONS = {"cluster_time_limit": "1000", "flush_packets": "1"}
"""The muxer holds a Matroska cluster in memory until it ends: a cluster a second, handed to
the kernel at once, is what a crash can lose of the open segment (the sweep salvages the
rest), instead of the whole segment."""


def extension_for(codec_name: str) -> str:
    """``webm`` or ``mkv``; ValueError for a codec the recorder cannot store."""
    try:
        return _FORMATS[codec_name][0]
    except KeyError:
        raise ValueError(f"codec {codec_name!r} cannot be recorded") from None


def opus_head(channels: int, sample_rate: int = 48_000) -> bytes:
    """RFC 7845 5.1 identification header: WebM players (Chromium) need it as CodecPrivate."""
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels, 312, sample_rate, 0, 0)


def vp8_size(frame: bytes) -> tuple[int, int]:
    """Width and height from a VP8 key frame's header (RFC 6386 9.1), (0, 0) otherwise."""
    if len(frame) < 10 or frame[3:6] != b"\x9d\x01\x2a":
        return 0, 0
    width, height = struct.unpack("<HH", frame[6:10])
    return width & 0x3FFF, height & 0x3FFF


def h264_size(frame: bytes) -> tuple[int, int]:
    """Width and height from the SPS of an Annex-B key frame, read by FFmpeg's H.264 parser
    (which splits the bitstream; nothing is decoded). Matroska refuses a 0x0 track."""
    context: Any = av.CodecContext.create("h264", "r")
    context.parse(frame)
    context.parse(None)
    return int(context.width), int(context.height)


@dataclass(frozen=True, slots=True)
class ClosedSegment:
    """What the journal says about a segment once it is closed and under its final name."""

    path: Path
    number: int
    first_pts: int
    last_pts: int
    time_base_den: int
    duration: float
    "Seconds from the first packet to the end of the last (its length estimated)."
    packets: int
    bytes: int
    "File size."
    sha256: str


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SegmentWriter:
    """One open segment. The first packet must be a keyframe (any audio packet is one).

    ``frame_hint`` (seconds) is the length given to a segment's only frame."""

    def __init__(
        self,
        track: TrackPaths,
        number: int,
        codec_name: str,
        clock_rate: int,
        channels: int | None,
        first_frame: bytes,
        *,
        frame_hint: float = 0.0,
    ) -> None:
        extension_for(codec_name)  # ValueError for a codec that cannot be stored
        extension, container_format, codec = _FORMATS[codec_name]
        self.final = track.segment(number, extension)
        self.part = TrackPaths.part_of(self.final)
        self.number = number
        self.__time_base = Fraction(1, clock_rate)
        self.__first_pts: int | None = None
        self.__last_pts = 0
        self.__packets = 0
        self.__pending: tuple[bytes, int, bool] | None = None
        self.__frame_hint = frame_hint
        track.root.mkdir(parents=True, exist_ok=True)
        self.__container: OutputContainer = av.open(
            str(self.part), "w", format=container_format, options=dict(_MUXER_OPTIONS)
        )
        self.__stream: Any
        if codec_name == "OPUS":
            # add_mux_stream cannot carry codec-private data; a template stream's context can,
            # and a template-made stream is never opened as an encoder.
            template = av.open(io.BytesIO(), "w", format="webm").add_stream(
                "libopus", rate=clock_rate, layout="stereo" if (channels or 2) > 1 else "mono"
            )
            self.__stream = self.__container.add_stream_from_template(template)
            self.__stream.codec_context.extradata = opus_head(channels or 2, clock_rate)
        elif codec_name == "VP8":
            width, height = vp8_size(first_frame)
            self.__stream = self.__container.add_mux_stream(codec, width=width, height=height)
        else:
            # PyAV takes the SPS/PPS of the first (key) frame as avcC extradata for Matroska.
            width, height = h264_size(first_frame)
            self.__stream = self.__container.add_mux_stream(codec, width=width, height=height)
        self.__stream.time_base = self.__time_base

    def write(self, data: bytes, pts: int, keyframe: bool) -> None:
        """Take one frame. It is muxed when the next arrives, which gives it its length."""
        if self.__first_pts is None:
            self.__first_pts = pts
        pending = self.__pending
        self.__pending = (data, pts, keyframe)
        if pending is not None:
            self.__mux(*pending, duration=pts - pending[1])
        self.__last_pts = max(self.__last_pts, pts)
        self.__packets += 1

    def __mux(self, data: bytes, pts: int, keyframe: bool, *, duration: int) -> None:
        """Mux a copy: the muxer rewrites the packet's timestamps."""
        assert self.__first_pts is not None
        packet = av.Packet(data)
        packet.pts = packet.dts = max(pts - self.__first_pts, 0)
        packet.duration = max(duration, 0)
        packet.time_base = self.__time_base
        packet.is_keyframe = keyframe
        packet.stream = self.__stream
        self.__container.mux(packet)

    @property
    def packets(self) -> int:
        return self.__packets

    def __last_duration(self, end_pts: int | None) -> int:
        """The last frame lasts until the next segment's first, or as long as the average
        frame (a single frame: as long as ``frame_hint``)."""
        first = self.__first_pts if self.__first_pts is not None else 0
        if end_pts is not None and end_pts > self.__last_pts:
            return end_pts - self.__last_pts
        if self.__packets > 1:
            return round((self.__last_pts - first) / (self.__packets - 1))
        return round(self.__frame_hint * self.__time_base.denominator)

    def close(self, end_pts: int | None = None) -> ClosedSegment:
        """Write the trailer, sync, and give the file its final name (directory synced).
        ``end_pts`` is where the next segment starts, when one does."""
        last = self.__last_duration(end_pts)
        pending = self.__pending
        self.__pending = None
        if pending is not None:
            self.__mux(*pending, duration=last)
        self.__container.close()
        with open(self.part, "rb") as handle:
            os.fsync(handle.fileno())
            digest = hashlib.sha256()
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        os.replace(self.part, self.final)
        _fsync_directory(self.final.parent)
        first = self.__first_pts if self.__first_pts is not None else 0
        den = self.__time_base.denominator
        return ClosedSegment(
            path=self.final,
            number=self.number,
            first_pts=first,
            last_pts=self.__last_pts,
            time_base_den=den,
            duration=(self.__last_pts - first + last) / den,
            packets=self.__packets,
            bytes=self.final.stat().st_size,
            sha256=digest.hexdigest(),
        )

    def discard(self) -> None:
        """Give up the open segment (a write failed): nothing half-written stays behind."""
        with contextlib.suppress(OSError, av.FFmpegError):
            self.__container.close()
        self.part.unlink(missing_ok=True)
