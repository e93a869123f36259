"""Capture of one forwarded track: a frame sink that copies, queues and returns at once.

The fan-out calls :meth:`TrackCapture.on_packet` on the event loop for every frame; the
capture only copies the bytes into a bounded queue, so forwarding never waits for a disk.
A writer thread muxes the queue into segments (:mod:`recorder.segments`). Segment
boundaries are chosen on the loop side, where the keyframe request is made a little before
the boundary; a full queue drops frames until the next keyframe and journals the gap; a
write error (a full disk) drops the open segment, journals ``capture_failed``, tells the
owner, and tries again on a later keyframe.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av

from signaling.media.fanout import CodecInfo, PublisherReport, TrackFanout
from signaling.media.policy import TrackKey

from .layout import RecordingPaths, TrackPaths
from .segments import SegmentWriter
from .writer import LiveJournal

__all__ = ["CaptureFailureCallback", "TrackCapture", "TrackIdentity"]

logger = logging.getLogger(__name__)

CaptureFailureCallback = Callable[["TrackCapture", BaseException | None], None]
"""Called from the writer thread: with the error when capture fails, None when it resumes."""

KEYFRAME_LEAD = 0.5
"""Seconds before a video boundary at which a keyframe is asked for."""
SENDER_REPORT_SECONDS = 5.0
"""At most one of the publisher's sender reports a track is journalled this often: the
mapping drifts slowly, and every journal entry is an fsync."""


@dataclass(frozen=True, slots=True)
class TrackIdentity:
    """Who a track belongs to, as the journal's ``track_started`` tells it."""

    participant_id: str
    name: str
    role: str
    point: str
    "Where they connect from: courtroom, remote, a detention facility, …"


@dataclass(frozen=True, slots=True)
class _Frame:
    data: bytes
    pts: int
    keyframe: bool
    codec: CodecInfo
    new_segment: bool


@dataclass(frozen=True, slots=True)
class _Report:
    ntp: int
    rtp: int
    pts: int


_STOP = object()


class TrackCapture:
    """Records one publication while attached to its fan-out (``fanout.add_sink(capture)``)."""

    def __init__(
        self,
        paths: RecordingPaths,
        journal: LiveJournal,
        fanout: TrackFanout,
        identity: TrackIdentity,
        *,
        track_id: str,
        segment_seconds: float = 4.0,
        queue_frames: int = 600,
        retry_seconds: float = 1.0,
        on_failure: CaptureFailureCallback | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.key: TrackKey = fanout.key
        self.track_id = track_id
        self.track: TrackPaths = paths.track(track_id)
        self.__paths = paths
        self.__journal = journal
        self.__fanout = fanout
        self.__identity = identity
        self.__segment_seconds = segment_seconds
        self.__retry_seconds = retry_seconds
        self.__on_failure = on_failure
        self.__clock = clock
        self.__queue: queue.Queue[_Frame | _Report | object] = queue.Queue(maxsize=queue_frames)
        self.__reported_at: float | None = None
        # Loop side.
        self.__started = False
        self.__segment_start: int | None = None
        self.__asked_keyframe = False
        self.__dropping = False
        self.__dropped = 0
        self.__drop_from: int | None = None
        # Writer side.
        self.__writer: SegmentWriter | None = None
        self.__number = len(self.track.closed_segments())
        self.__failed_at: float | None = None
        self.__frame_seconds = 0.0
        self.segments_closed = 0
        self.__thread = threading.Thread(target=self.__run, name=f"capture-{track_id}", daemon=True)
        self.__thread.start()

    @property
    def failed(self) -> bool:
        return self.__failed_at is not None

    def on_packet(self, packet: av.Packet[Any], track: TrackKey, codec: CodecInfo) -> bool:
        """Copy and queue; never block, never refuse (a refusal would cost others a keyframe)."""
        if packet.pts is None:
            return True
        pts = int(packet.pts)
        keyframe = bool(packet.is_keyframe)
        if self.__dropping:
            if not keyframe:
                self.__dropped += 1
                return True
            self.__dropping = False
            self.__journal.append(
                "capture_resumed",
                track=self.track_id,
                reason="queue_overflow",
                dropped_frames=self.__dropped,
                gap_from_pts=self.__drop_from,
                gap_to_pts=pts,
            )
            self.__segment_start = None  # a gap: the next segment starts here
        new_segment = self.__boundary(pts, keyframe, codec)
        if not self.__started:
            self.__started = True
            self.__journal.append(
                "track_started",
                track=self.track_id,
                participant_id=self.__identity.participant_id,
                name=self.__identity.name,
                role=self.__identity.role,
                point=self.__identity.point,
                source=track.source,
                kind=track.kind,
                codec=codec.mime_type,
                clock_rate=codec.clock_rate,
                first_pts=pts,
            )
        try:
            self.__queue.put_nowait(_Frame(bytes(packet), pts, keyframe, codec, new_segment))
        except queue.Full:
            self.__dropping = True
            self.__dropped = 1
            self.__drop_from = pts
            self.__segment_start = None
            self.__journal.append(
                "capture_failed", track=self.track_id, error="queue_overflow", pts=pts
            )
            self.__fanout.request_keyframe()
        return True

    def on_sender_report(self, report: PublisherReport, pts: int) -> None:
        """The publisher's NTP↔RTP mapping (a ``SenderReportSink``): journalled by the
        writer thread, the first after the track started and then every few seconds."""
        if not self.__started:
            return
        now = self.__clock()
        if self.__reported_at is not None and now - self.__reported_at < SENDER_REPORT_SECONDS:
            return
        self.__reported_at = now
        try:
            self.__queue.put_nowait(_Report(report.ntp_timestamp, report.rtp_timestamp, pts))
        except queue.Full:
            self.__reported_at = None  # the next one, then

    def __boundary(self, pts: int, keyframe: bool, codec: CodecInfo) -> bool:
        """Whether this frame opens a segment: the first one, or the first keyframe (video)
        or frame (audio) at or past the segment length."""
        start = self.__segment_start
        if start is None:
            self.__segment_start = pts
            self.__asked_keyframe = False
            return True
        elapsed = (pts - start) / codec.clock_rate
        if self.key.kind == "video":
            if not self.__asked_keyframe and elapsed >= self.__segment_seconds - KEYFRAME_LEAD:
                self.__asked_keyframe = True
                self.__fanout.request_keyframe()
            if not keyframe or elapsed < self.__segment_seconds:
                return False
        elif elapsed < self.__segment_seconds:
            return False
        self.__segment_start = pts
        self.__asked_keyframe = False
        return True

    def detach(self) -> None:
        """Stop taking frames (on the event loop); what is queued is still written."""
        if self.__fanout.has_sink(self):
            self.__fanout.remove_sink(self)
        self.__queue.put(_STOP)

    def finish(self, reason: str) -> None:
        """After :meth:`detach`: wait for the writer to close the open segment, then journal
        the stop. Blocks on the disk: call it off the event loop."""
        self.__thread.join()
        if self.__started:
            self.__journal.append("track_stopped", track=self.track_id, reason=reason)

    def stop(self, reason: str) -> None:
        """Detach and finish at once (tests, shutdown)."""
        self.detach()
        self.finish(reason)

    def __run(self) -> None:
        while True:
            item = self.__queue.get()
            if item is _STOP:
                break
            if isinstance(item, _Report):
                self.__journal.append(
                    "sender_report", track=self.track_id, ntp=item.ntp, rtp=item.rtp, pts=item.pts
                )
                continue
            assert isinstance(item, _Frame)
            try:
                self.__write(item)
            except (OSError, av.FFmpegError, ValueError) as error:
                self.__fail(error)
        try:
            self.__close_segment()
        except (OSError, av.FFmpegError) as error:
            self.__fail(error)

    def __write(self, frame: _Frame) -> None:
        if self.__failed_at is not None:
            if not frame.keyframe or self.__clock() - self.__failed_at < self.__retry_seconds:
                return
            self.__open(frame)
            assert self.__writer is not None
            self.__writer.write(frame.data, frame.pts, frame.keyframe)  # the header: it works
            self.__failed_at = None
            self.__journal.append("capture_resumed", track=self.track_id)
            if self.__on_failure is not None:
                self.__on_failure(self, None)
            return
        if frame.new_segment or self.__writer is None:
            if not frame.keyframe:
                return  # after a failed close: wait for a frame a segment can start on
            self.__close_segment(frame.pts)
            self.__open(frame)
        writer = self.__writer
        assert writer is not None
        writer.write(frame.data, frame.pts, frame.keyframe)

    def __open(self, frame: _Frame) -> None:
        number = self.__number + 1
        self.__writer = SegmentWriter(
            self.track,
            number,
            frame.codec.name,
            frame.codec.clock_rate,
            frame.codec.channels,
            frame.data,
            frame_hint=self.__frame_seconds,
        )
        self.__number = number

    def __close_segment(self, end_pts: int | None = None) -> None:
        writer = self.__writer
        if writer is None:
            return
        self.__writer = None
        if writer.packets == 0:
            writer.discard()
            self.__number -= 1
            return
        try:
            closed = writer.close(end_pts)
        except BaseException:
            writer.discard()
            raise
        self.segments_closed += 1
        if closed.packets > 1:
            self.__frame_seconds = closed.duration / closed.packets
        self.__journal.append(
            "segment_closed",
            track=self.track_id,
            file=str(closed.path.relative_to(self.__paths.root)),
            number=closed.number,
            first_pts=closed.first_pts,
            last_pts=closed.last_pts,
            time_base_den=closed.time_base_den,
            duration=round(closed.duration, 6),
            packets=closed.packets,
            bytes=closed.bytes,
            sha256=closed.sha256,
        )

    def __fail(self, error: BaseException) -> None:
        """Drop the open segment, journal it, tell the owner; retried on a later keyframe."""
        logger.warning("capture of %s failed: %s", self.track_id, error)
        writer = self.__writer
        self.__writer = None
        if writer is not None:
            writer.discard()
            self.__number = len(self.track.closed_segments())
        first = self.__failed_at is None
        self.__failed_at = self.__clock()
        if first:
            self.__journal.append("capture_failed", track=self.track_id, error=str(error))
            if self.__on_failure is not None:
                self.__on_failure(self, error)
