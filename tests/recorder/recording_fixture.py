"""Small real recordings on disk, as the capture writes them, for tests that read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av

from recorder.journal import Journal, JournalEntry
from recorder.layout import RecordingPaths

START = datetime(2030, 3, 4, 1, 30, tzinfo=UTC)
"""The fixture's hearing starts at a fixed instant: nothing here reads the wall clock."""

METADATA = {
    "court": "Tòa án nhân dân Quận 1",
    "case_number": "123/2030/HS-ST",
    "case_type": "criminal",
    "hearing_id": "s-fixture",
    "presiding_judge": "Nguyễn Văn A",
}


@dataclass(frozen=True, slots=True)
class FixtureTrack:
    track_id: str
    participant_id: str
    name: str
    role: str
    colour: tuple[int, int, int]


def write_video_segment(path: Path, colour: tuple[int, int, int], frames: int = 10) -> None:
    """A VP8 WebM of ``frames`` frames at 10 fps in one solid colour."""
    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(frames):
            frame = av.VideoFrame(64, 48, "rgb24")
            plane = frame.planes[0]
            plane.update(bytes(colour) * (plane.buffer_size // 3))
            frame.pts = index
            frame.time_base = Fraction(1, 10)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def make_recording(
    recordings_dir: Path,
    tracks: tuple[FixtureTrack, ...] = (
        FixtureTrack("p1-camera-1", "p1", "Nguyễn Văn A", "presiding_judge", (200, 30, 30)),
        FixtureTrack("p2-camera-1", "p2", "Trần Thị B", "defendant", (30, 200, 30)),
    ),
    segments: int = 2,
    *,
    pause: bool = True,
    session_id: str = "s-fixture",
    recording_id: str = "r-fixture",
    metadata: dict[str, str] | None = None,
    stopped: bool = False,
) -> RecordingPaths:
    """A recording of each track in ``segments`` one-second segments, with its journal; a
    pause between the segments when ``pause``; ended by ``recording_stopped`` when
    ``stopped``."""
    paths = RecordingPaths.of(recordings_dir, session_id, recording_id)
    journal = Journal(paths.journal, sync=False)
    journal.append(
        JournalEntry(
            "run_started",
            START,
            100.0,
            1,
            {
                "recording_id": recording_id,
                "session_id": session_id,
                "metadata": METADATA if metadata is None else metadata,
            },
        )
    )
    for track in tracks:
        journal.append(
            JournalEntry(
                "track_started",
                START,
                100.0,
                1,
                {
                    "track": track.track_id,
                    "participant_id": track.participant_id,
                    "name": track.name,
                    "role": track.role,
                    "point": "Phòng xử án",
                    "source": "camera",
                    "kind": "video",
                    "codec": "video/VP8",
                    "clock_rate": 90000,
                },
            )
        )
    for number in range(1, segments + 1):
        if pause and number == 2:
            at = START + timedelta(seconds=1)
            journal.append(JournalEntry("recording_paused", at, 101.0, 1, {"reason": "judge"}))
            journal.append(JournalEntry("recording_resumed", at, 101.5, 1, {"reason": "judge"}))
        for track in tracks:
            segment = paths.track(track.track_id).segment(number, "webm")
            segment.parent.mkdir(parents=True, exist_ok=True)
            write_video_segment(segment, track.colour)
    if stopped:
        end = START + timedelta(seconds=segments + 1)
        journal.append(
            JournalEntry("recording_stopped", end, 100.0 + segments + 1, 1, {"reason": "closed"})
        )
    journal.close()
    return paths


def write_composed_mp4(path: Path, seconds: int = 4) -> None:
    """A small H.264 + AAC MP4 with its index first (``faststart``), as the composition
    writes: what a browser plays on the recording page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        video = container.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=48000)
        audio.layout = "mono"
        for index in range(seconds * 10):
            frame = av.VideoFrame(64, 48, "rgb24")
            frame.planes[0].update(bytes((index * 6) % 256 for _ in range(64 * 48 * 3)))
            frame.pts = index
            frame.time_base = Fraction(1, 10)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        samples = 1024
        for index in range(seconds * 48000 // samples):
            sound = av.AudioFrame(format="fltp", layout="mono", samples=samples)
            sound.planes[0].update(bytes(samples * 4))
            sound.sample_rate = 48000
            sound.pts = index * samples
            sound.time_base = Fraction(1, 48000)
            container.mux(audio.encode(sound))
        container.mux(audio.encode(None))
