"""One publisher track's encoded frames, handed to many sinks without decoding."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol, runtime_checkable

import av
from aiortc.rtp import RtpPacket

from .bandwidth import BandwidthSettings, RateMeter, ReceiverEstimate, receivers_cap
from .keyframe import KeyframeRequester
from .policy import Kind, TrackKey
from .rtp_rewrite import is_keyframe_start

__all__ = [
    "CodecInfo",
    "PacketSink",
    "PublisherReport",
    "RtpSink",
    "SenderReportSink",
    "TrackFanout",
    "is_keyframe",
]


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


@dataclass(frozen=True, slots=True)
class PublisherReport:
    """The publisher's latest sender report for one SSRC: its NTP↔RTP mapping."""

    ntp_timestamp: int
    "64-bit NTP time on the publisher's clock."
    rtp_timestamp: int
    "The RTP timestamp the publisher sent at that time."
    received_at: float
    "Monotonic time the report arrived."


@runtime_checkable
class SenderReportSink(Protocol):
    """A frame sink that also wants the publisher's sender reports (the recorder: the
    NTP↔RTP mapping lines up one publisher's tracks on its own clock). ``pts`` is the
    report's RTP timestamp on the frames' ``pts`` scale. Called on the event loop: it must
    return at once."""

    def on_sender_report(self, report: PublisherReport, pts: int) -> None: ...


@runtime_checkable
class RtpSink(Protocol):
    """Receives a track's RTP packets as they arrive: a receiver's outgoing stream.

    ``restart`` is true on the first packet after the sink started, resumed or was moved
    to this track (video: a keyframe start), so the sink can rebase its numbering.
    Return ``False`` when the packet could not be sent: the fan-out then feeds this sink
    again only from the next keyframe, and asks for one.
    """

    def on_rtp(
        self,
        packet: RtpPacket,
        codec: CodecInfo,
        now: float,
        restart: bool,
        source: TrackFanout,
    ) -> bool: ...


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


_NO_LEVEL = 128
"""Above any RFC 6464 level: no packet carried one since the level was last taken."""


@dataclass(slots=True)
class _Subscription:
    sink: PacketSink
    active: bool
    waiting_for_keyframe: bool


@dataclass(slots=True)
class _RtpSubscription:
    sink: RtpSink
    active: bool
    waiting_for_keyframe: bool
    restart: bool = True
    limited: bool = False
    "Paused for bandwidth: the receiver's link cannot carry this video now."
    estimate: float | None = None
    "The receiver's latest estimate of what its link allows this track, bits per second."
    estimate_at: float = 0.0


class TrackFanout:
    """Hands each encoded frame, or each RTP packet, of one publisher track to every active
    sink: frame sinks (:class:`PacketSink`, the recorder; the frame-level forwarder) get
    frames through :meth:`push`, RTP sinks (:class:`RtpSink`) get packets through
    :meth:`push_rtp`.

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
        bandwidth: BandwidthSettings | None = None,
    ) -> None:
        self.key = key
        self.__requester = requester
        self.__clock = clock
        self.__subscriptions: dict[int, _Subscription] = {}
        self.__rtp_subscriptions: dict[int, _RtpSubscription] = {}
        self.__rtp_ingest = False
        self.__reports: dict[int, PublisherReport] = {}
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
        self.packets_in = 0
        "RTP packets received from the publisher (RTP-level forwarding only)."
        self.last_frame_at: float | None = None
        "Monotonic time of the last frame, for media-timeout detection."
        self.__loudest_level = _NO_LEVEL
        self.__estimate_max_age = (bandwidth or BandwidthSettings()).estimate_max_age
        self.__meter = RateMeter((bandwidth or BandwidthSettings()).rate_window)
        self.__cap: float | None = None
        self.__cap_until = math.inf

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
        return len(self.__subscriptions) + len(self.__rtp_subscriptions)

    def wants_frames(self) -> bool:
        """Whether a frame sink listens, so RTP must be assembled into frames."""
        return bool(self.__subscriptions) and not self.__paused

    def has_sink(self, sink: PacketSink | RtpSink) -> bool:
        return id(sink) in self.__subscriptions or id(sink) in self.__rtp_subscriptions

    def add_sink(self, sink: PacketSink | RtpSink, *, active: bool = True) -> None:
        """Start feeding ``sink`` (from the next keyframe for video)."""
        if self.__closed:
            raise RuntimeError(f"fan-out {self.key} is closed")
        if self.has_sink(sink):
            raise ValueError("sink is already attached")
        video = self.kind == "video"
        if isinstance(sink, RtpSink):
            self.__rtp_subscriptions[id(sink)] = _RtpSubscription(
                sink=sink, active=active, waiting_for_keyframe=video
            )
        else:
            self.__subscriptions[id(sink)] = _Subscription(
                sink=sink, active=active, waiting_for_keyframe=video
            )
        if active and not self.__paused:
            self.__request_keyframe_for_attach()
        self.__update_cap()

    def remove_sink(self, sink: PacketSink | RtpSink) -> None:
        """Stop feeding ``sink``; unknown sinks are ignored."""
        self.__subscriptions.pop(id(sink), None)
        if self.__rtp_subscriptions.pop(id(sink), None) is not None:
            self.__update_cap()

    def __subscription(self, sink: PacketSink | RtpSink) -> _Subscription | _RtpSubscription:
        frames = self.__subscriptions.get(id(sink))
        if frames is not None:
            return frames
        return self.__rtp_subscriptions[id(sink)]

    def set_active(self, sink: PacketSink | RtpSink, active: bool) -> None:
        """Pause or resume one sink without detaching it (policy changes)."""
        sub = self.__subscription(sink)
        if sub.active == active:
            return
        sub.active = active
        if active:
            self.restart(sink)
        if isinstance(sub, _RtpSubscription):
            self.__update_cap()

    def restart(self, sink: PacketSink | RtpSink) -> None:
        """Feed ``sink`` again from the next keyframe, asking for one now (a sink that
        could not send until now, or that resumes)."""
        sub = self.__subscription(sink)
        if isinstance(sub, _RtpSubscription):
            sub.restart = True
        if self.kind == "video":
            sub.waiting_for_keyframe = True
            if sub.active and not self.__paused:
                self.__request_keyframe_for_attach()

    def is_active(self, sink: PacketSink | RtpSink) -> bool:
        return self.__subscription(sink).active

    # -- bandwidth ----------------------------------------------------------

    def bitrate(self) -> float:
        """The track's smoothed rate in bits per second (payload), sampled now: called when
        a receiver's estimate arrives, never per packet."""
        return self.__meter.sample(self.bytes_in, self.__clock())

    def set_limited(self, sink: RtpSink, limited: bool) -> None:
        """Pause an RTP sink's video because its receiver's link cannot carry it, or try it
        again (from the next keyframe, numbering continued); unknown sinks are ignored (the
        sink moved on while it was paused)."""
        sub = self.__rtp_subscriptions.get(id(sink))
        if sub is None or sub.limited == limited or self.kind != "video":
            return  # audio is small, and a hearing without it stops: never paused so
        sub.limited = limited
        if not limited:
            self.restart(sink)
        self.__update_cap()

    def is_limited(self, sink: RtpSink) -> bool:
        sub = self.__rtp_subscriptions.get(id(sink))
        return sub is not None and sub.limited

    def report_estimate(self, sink: RtpSink, bitrate: float) -> None:
        """A receiver's estimate of what its link allows this track (its share of its REMB):
        what the publisher may be asked to send at most is worked out now, not per packet."""
        sub = self.__rtp_subscriptions.get(id(sink))
        if sub is None:
            return
        sub.estimate = bitrate
        sub.estimate_at = self.__clock()
        self.__update_cap()

    def receivers_cap(self) -> float | None:
        """The most this track's receivers can take, bits per second (None: no limit), for
        the estimate sent to the publisher (see :func:`bandwidth.receivers_cap`)."""
        if self.__clock() >= self.__cap_until:
            self.__update_cap()
        return self.__cap

    def __update_cap(self) -> None:
        receivers = (
            ReceiverEstimate(sub.estimate, sub.estimate_at, sub.limited)
            for sub in self.__rtp_subscriptions.values()
            if sub.active
        )
        self.__cap, self.__cap_until = receivers_cap(
            receivers, self.__clock(), self.__estimate_max_age
        )

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
        if paused:
            self.__loudest_level = _NO_LEVEL  # a muted person's last words are not reported
            return
        for rtp_sub in self.__rtp_subscriptions.values():
            rtp_sub.restart = True
        if self.kind != "video":
            return
        subscriptions: list[_Subscription | _RtpSubscription] = [
            *self.__subscriptions.values(),
            *self.__rtp_subscriptions.values(),
        ]
        for sub in subscriptions:
            sub.waiting_for_keyframe = True
        if any(sub.active for sub in subscriptions):
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
        keyframe = self.kind == "audio" or is_keyframe(codec.name, data)
        if not self.__rtp_ingest:  # otherwise push_rtp() counted the packets already
            self.frames_in += 1
            self.bytes_in += len(data)
            self.last_frame_at = self.__clock()
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

    def push_rtp(self, codec: CodecInfo, packet: RtpPacket) -> None:
        """Take one RTP packet from the publisher, as it arrived, and hand it to RTP sinks."""
        if self.__closed:
            return
        self.__rtp_ingest = True
        self.__codec = codec
        now = self.__clock()
        payload = packet.payload
        self.packets_in += 1
        self.bytes_in += len(payload)
        self.last_frame_at = now
        if self.kind == "video":
            start = is_keyframe_start(codec.name, payload)
            if start:
                self.keyframes_in += 1
                if self.__requester is not None:
                    self.__requester.keyframe_seen()
            if packet.marker:
                self.frames_in += 1
        else:
            start = True
            self.frames_in += 1
            level = packet.extensions.audio_level  # parsed already: (voice, 0..127)
            if level is not None and level[1] < self.__loudest_level and not self.__paused:
                self.__loudest_level = level[1]
        if self.__paused or not self.__rtp_subscriptions:
            return
        need_keyframe = False
        for sub in tuple(self.__rtp_subscriptions.values()):
            if not sub.active or sub.limited:
                continue
            if sub.waiting_for_keyframe:
                if not start:
                    continue
                sub.waiting_for_keyframe = False
            restart = sub.restart
            sub.restart = False
            if not sub.sink.on_rtp(packet, codec, now, restart, self):
                sub.restart = True
                if self.kind == "video":
                    sub.waiting_for_keyframe = True
                    need_keyframe = True
        if need_keyframe:
            self.request_keyframe()

    def take_audio_level(self) -> int | None:
        """The loudest RFC 6464 level (0 loudest, 127 silent) the publisher's packets carried
        since the last call, while not paused; ``None`` when none carried one."""
        level = self.__loudest_level
        self.__loudest_level = _NO_LEVEL
        return None if level == _NO_LEVEL else level

    def sender_report_received(
        self,
        ssrc: int,
        ntp_timestamp: int,
        rtp_timestamp: int,
        frame_timestamp: int | None = None,
    ) -> None:
        """The publisher's sender report for ``ssrc``: outgoing reports extrapolate it, and
        frame sinks that want it (:class:`SenderReportSink`) are told. ``frame_timestamp``
        is the report's RTP timestamp on the scale of the frames :meth:`push` gets."""
        report = self.__reports[ssrc] = PublisherReport(
            ntp_timestamp, rtp_timestamp, self.__clock()
        )
        offset = self.__pts_offset
        if frame_timestamp is None or offset is None:
            return
        for sub in tuple(self.__subscriptions.values()):
            if isinstance(sub.sink, SenderReportSink):
                sub.sink.on_sender_report(report, frame_timestamp + offset)

    def publisher_report(self, ssrc: int) -> PublisherReport | None:
        """The publisher's latest sender report for ``ssrc``, if one arrived."""
        return self.__reports.get(ssrc)

    def close(self) -> None:
        """Detach every sink; later frames are dropped."""
        self.__closed = True
        self.__subscriptions.clear()
        self.__rtp_subscriptions.clear()
        self.__cap, self.__cap_until = None, math.inf
