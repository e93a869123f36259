"""Capture CPU per recorded track: our capture (encoded frames copied into segments) against
aiortc's stock ``MediaRecorder`` (the frames decoded, then encoded again), on the same frames.

The same pre-encoded 640x480 30 fps VP8 test pattern (~500 kbit/s) and 20 ms Opus tone are
fed to both as fast as they take them; each side's CPU time (this process, all its threads)
is divided by the seconds of media it recorded. Both write real files to a scratch disk.
Run: ``python -m benchmarks.recording_capture [--seconds 60]``.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
from aiortc.contrib.media import MediaRecorder
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from recorder.capture import TrackCapture, TrackIdentity
from recorder.layout import RecordingPaths
from recorder.writer import LiveJournal
from signaling.media.fanout import CodecInfo, TrackFanout
from signaling.media.policy import TrackKey
from signaling.media.synthetic import EncodedClip, opus_tone_clip, vp8_test_pattern_clip

VIDEO = CodecInfo("video/VP8", 90_000)
AUDIO = CodecInfo("audio/opus", 48_000, 2)


def _packets(clip: EncodedClip, seconds: float) -> Iterator[av.Packet[Any]]:
    """The clip looped for ``seconds``, as the packets the forwarder hands its sinks."""
    count = round(seconds * clip.clock_rate / clip.frame_duration)
    keyframes = set(clip.keyframes)
    for index in range(count):
        at = index % len(clip.frames)
        packet = av.Packet(clip.frames[at])
        packet.pts = packet.dts = index * clip.frame_duration
        packet.time_base = fractions.Fraction(1, clip.clock_rate)
        packet.is_keyframe = at in keyframes
        yield packet


def capture_seconds(clip: EncodedClip, codec: CodecInfo, seconds: float, scratch: Path) -> float:
    """CPU seconds our capture spends recording ``seconds`` of the clip (loop side and
    writer thread), with the production segment length."""
    packets = list(_packets(clip, seconds))  # made before the clock starts
    paths = RecordingPaths.of(scratch, "bench", f"capture-{codec.mime_type.replace('/', '-')}")
    journal = LiveJournal(paths)
    source = "microphone" if codec.mime_type.startswith("audio") else "camera"
    fanout = TrackFanout(TrackKey("p1", source))  # type: ignore[arg-type]
    started = time.process_time()
    capture = TrackCapture(
        paths,
        journal,
        fanout,
        TrackIdentity("p1", "Người thử", "witness", "remote"),
        track_id=f"p1-{source}",
        segment_seconds=4.0,
        queue_frames=len(packets) + 1,  # the benchmark feeds faster than real time
    )
    for packet in packets:
        capture.on_packet(packet, fanout.key, codec)
    capture.stop("benchmark")
    journal.close()
    return time.process_time() - started


class _DecodedTrack(MediaStreamTrack):
    """The clip's frames decoded, as aiortc's receiver hands them to a ``MediaRecorder``."""

    def __init__(self, clip: EncodedClip, seconds: float, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.__packets = _packets(clip, seconds)
        self.__decoder = av.CodecContext.create("libvpx" if kind == "video" else "libopus", "r")
        if kind == "audio":
            self.__decoder.sample_rate = 48_000  # type: ignore[attr-defined]
            self.__decoder.layout = "stereo"  # type: ignore[attr-defined]
        self.__pending: list[Any] = []
        self.finished = asyncio.Event()

    async def recv(self) -> Any:
        while not self.__pending:
            packet = next(self.__packets, None)
            if packet is None:
                self.stop()
                self.finished.set()
                raise MediaStreamError
            for frame in self.__decoder.decode(packet):
                frame.pts, frame.time_base = packet.pts, packet.time_base
                self.__pending.append(frame)
        return self.__pending.pop(0)


async def _record_with_media_recorder(track: _DecodedTrack, path: Path) -> None:
    recorder = MediaRecorder(str(path))
    recorder.addTrack(track)
    await recorder.start()
    await track.finished.wait()
    await recorder.stop()


def media_recorder_seconds(clip: EncodedClip, kind: str, seconds: float, scratch: Path) -> float:
    """CPU seconds aiortc's ``MediaRecorder`` spends on the same media: decode + encode."""
    track = _DecodedTrack(clip, seconds, kind)
    started = time.process_time()
    asyncio.run(_record_with_media_recorder(track, scratch / f"media-recorder-{kind}.webm"))
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0, help="media per track (60)")
    args = parser.parse_args()
    video, audio = vp8_test_pattern_clip(), opus_tone_clip()
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        for kind, clip, codec in (("video", video, VIDEO), ("audio", audio, AUDIO)):
            ours = capture_seconds(clip, codec, args.seconds, scratch)
            stock = media_recorder_seconds(clip, kind, args.seconds, scratch)
            print(f"== {kind}: {args.seconds:.0f} s of {codec.mime_type} per track ==")
            print(f"capture (no re-encoding):  {ours / args.seconds * 100:7.3f} % of a core")
            print(f"aiortc MediaRecorder:      {stock / args.seconds * 100:7.3f} % of a core")
            print(f"MediaRecorder / capture:   {stock / max(ours, 1e-9):7.1f}x (aim >= 50x)")
    print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
