"""One publisher track's encoded frames, handed to many sinks without decoding."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol

import av

from .keyframe import KeyframeRequester
from .policy import Kind, TrackKey

__all__ = ["CodecInfo", "PacketSink", "TrackFanout", "is_keyframe"]


@dataclass(frozen=True, slots=True)
class CodecInfo:
    """The codec a forwarded track is encoded with, as negotiated with its publisher."""

    mime_type: str
    "For example ``video/VP8``, ``video/H264`` or ``audio/opus``."
    clock_rate: int
    "RTP clock rate; packets' ``time_base`` is ``1/clock_rate``."
    channels: int | None = None
    "Audio channels as signalled (Opus always says 2)."
    parameters: Mapping[str, str | int | None] = field(default_factory=dict)
    "fmtp parameters, e.g. H.264 ``profile-level-id``."

    def __post_init__(self) -> None:
        if "/" not in self.mime_type:
            raise ValueError(f"mime type must be kind/name, got {self.mime_type!r}")
        if self.clock_rate <= 0:
            raise ValueError(f"clock rate must be positive, got {self.clock_rate}")

    @property
    def name(self) -> str:
        """Codec name in upper case: ``VP8``, ``H264``, ``OPUS``."""
        return self.mime_type.split("/", 1)[1].upper()


class PacketSink(Protocol):
    """Receives a track's encoded frames: a subscriber's sender, or a recorder.

    Packets are shared between sinks and must not be modified; a muxer that
    rewrites ``stream``/``pts`` must copy first.  Return ``False`` when the
    packet could not be taken (e.g. a full queue): the fan-out then feeds
    this sink again only from the next keyframe, and asks for one.
    """

    def on_packet(self, packet: av.Packet[Any], track: TrackKey, codec: CodecInfo) -> bool: ...


def is_keyframe(codec_name: str, data: bytes) -> bool:
    """Whether an encoded frame can be decoded on its own."""
    if codec_name == "VP8":
        # RFC 6386 9.1: bit 0 of the frame tag is 0 for key frames.
        return len(data) > 0 and data[0] & 0x01 == 0
    if codec_name == "H264":
        # Annex-B as aiortc depayloads it: look for an IDR or SPS NAL unit.
        start = data.find(b"\x00\x00\x01")
        while start != -1 and start + 3 < len(data):
            nal_type = data[start + 3] & 0x1F
            if nal_type in (5, 7):
                return True
            start = data.find(b"\x00\x00\x01", start + 3)
        return False
    return True


@dataclass(slots=True)
class _Subscription:
    sink: PacketSink
    active: bool
    waiting_for_keyframe: bool


class TrackFanout:
    """Hands each encoded frame of one publisher track to every active sink.

    Video sinks start, and restart after a pause or an overflow, on a
    keyframe, and ask the publisher for one (throttled by a
    :class:`KeyframeRequester`).  Timestamps are moved onto the process's
    monotonic clock so that any two tracks of one kind share a timeline:
    a sender switched from one publisher to another keeps increasing
    timestamps, and a recorder can line tracks up.
    """

    def __init__(
        self,
        key: TrackKey,
        requester: KeyframeRequester | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.key = key
        self.__requester = requester
        self.__clock = clock
        self.__subscriptions: dict[int, _Subscription] = {}
        self.__codec: CodecInfo | None = None
        self.__codec_source: object = None
        self.__time_base: Fraction | None = None
        self.__pts_offset: int | None = None
        self.__closed = False
        self.__paused = False
        self.frames_in = 0
        "Encoded frames received from the publisher."
        self.bytes_in = 0
        "Encoded bytes received from the publisher (payload, not RTP)."
        self.keyframes_in = 0
        "Keyframes among them."
        self.last_frame_at: float | None = None
        "Monotonic time of the last frame, for media-timeout detection."

    @property
    def kind(self) -> Kind:
        return self.key.kind

    @property
    def codec(self) -> CodecInfo | None:
        """Codec of the last frame, ``None`` before the first frame."""
        return self.__codec

    @property
    def closed(self) -> bool:
        return self.__closed

    @property
    def sink_count(self) -> int:
        return len(self.__subscriptions)

    def has_sink(self, sink: PacketSink) -> bool:
        return id(sink) in self.__subscriptions

    def add_sink(self, sink: PacketSink, *, active: bool = True) -> None:
        """Start feeding ``sink`` (from the next keyframe for video)."""
        if self.__closed:
            raise RuntimeError(f"fan-out {self.key} is closed")
        if id(sink) in self.__subscriptions:
            raise ValueError("sink is already attached")
        self.__subscriptions[id(sink)] = _Subscription(
            sink=sink, active=active, waiting_for_keyframe=self.kind == "video"
        )
        if active and not self.__paused:
            self.__request_keyframe_for_attach()

    def remove_sink(self, sink: PacketSink) -> None:
        """Stop feeding ``sink``; unknown sinks are ignored."""
        self.__subscriptions.pop(id(sink), None)

    def set_active(self, sink: PacketSink, active: bool) -> None:
        """Pause or resume one sink without detaching it (policy changes)."""
        sub = self.__subscriptions[id(sink)]
        if sub.active == active:
            return
        sub.active = active
        if active and self.kind == "video":
            sub.waiting_for_keyframe = True
            if not self.__paused:
                self.__request_keyframe_for_attach()

    def is_active(self, sink: PacketSink) -> bool:
        return self.__subscriptions[id(sink)].active

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe (throttled); audio needs none."""
        if self.kind == "video" and self.__requester is not None and not self.__closed:
            self.__requester.request()

    @property
    def paused(self) -> bool:
        return self.__paused

    def set_paused(self, paused: bool) -> None:
        """Pause or resume the publication for every sink at once (a producer pause: the
        judge's mute is one call here, whatever the audience). Frames are still counted, so
        a muted person is not taken for a silent link; video resumes on a keyframe."""
        if paused == self.__paused:
            return
        self.__paused = paused
        if paused or self.kind != "video":
            return
        for sub in self.__subscriptions.values():
            sub.waiting_for_keyframe = True
        if any(sub.active for sub in self.__subscriptions.values()):
            self.__request_keyframe_for_attach()

    def __request_keyframe_for_attach(self) -> None:
        """A sink starts: ask at once (coalesced with an unanswered request), not throttled."""
        if self.kind == "video" and self.__requester is not None and not self.__closed:
            self.__requester.request_for_attach()

    def push(self, codec: CodecInfo, data: bytes, timestamp: int) -> None:
        """Take one complete encoded frame from the publisher and fan it out."""
        if self.__closed:
            return
        time_base = self.__time_base
        if codec != self.__codec or time_base is None:
            self.__codec = codec
            time_base = self.__time_base = Fraction(1, codec.clock_rate)
        clock_rate = codec.clock_rate
        if self.__pts_offset is None:
            self.__pts_offset = round(self.__clock() * clock_rate) - timestamp
        now = self.__clock()
        self.frames_in += 1
        self.bytes_in += len(data)
        self.last_frame_at = now

        keyframe = self.kind == "audio" or is_keyframe(codec.name, data)
        if keyframe and self.kind == "video":
            self.keyframes_in += 1
            if self.__requester is not None:
                self.__requester.keyframe_seen()
        if self.__paused or not self.__subscriptions:
            return

        packet = av.Packet(data)
        packet.pts = timestamp + self.__pts_offset
        packet.dts = packet.pts
        packet.time_base = time_base
        packet.is_keyframe = keyframe

        need_keyframe = False
        for sub in tuple(self.__subscriptions.values()):
            if not sub.active:
                continue
            if sub.waiting_for_keyframe:
                if not keyframe:
                    continue
                sub.waiting_for_keyframe = False
            if not sub.sink.on_packet(packet, self.key, codec) and self.kind == "video":
                sub.waiting_for_keyframe = True
                need_keyframe = True
        if need_keyframe:
            self.request_keyframe()

    def close(self) -> None:
        """Detach every sink; later frames are dropped."""
        self.__closed = True
        self.__subscriptions.clear()
