"""A small real 4-party recording, written as the capture writes one: VP8 and Opus WebM
segments per track with the journal placing them (late joiner, a pause, a state change)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from recorder.journal import Journal, JournalEntry
from recorder.layout import RecordingPaths

START = datetime(2030, 3, 4, 1, 30, tzinfo=UTC)
"""Fixed: nothing here reads the wall clock."""
MONO = 500.0
"""The capture process's monotonic clock at START."""
DEN = 1000

METADATA = {
    "court": "Tòa án nhân dân Quận 1",
    "case_number": "45/2030/DS-ST",
    "case_type": "civil",
    "hearing_id": "h-builder",
    "presiding_judge": "Nguyễn Văn A",
}


@dataclass(frozen=True, slots=True)
class Party:
    participant_id: str
    name: str
    role: str
    colour: tuple[int, int, int]
    tone: float
    "Hz of the participant's test tone."
    joins: float
    "Recording seconds at which the participant's tracks start."


PARTIES = (
    Party("p1", "Nguyễn Văn A", "presiding_judge", (220, 40, 40), 300.0, 0.0),
    Party("p2", "Trần Thị B", "plaintiff", (40, 200, 40), 500.0, 0.0),
    Party("p3", "Lê Văn C", "civil_defendant", (40, 60, 220), 700.0, 0.0),
    Party("p4", "Phạm Thị D", "witness", (200, 40, 200), 900.0, 2.0),
)


@dataclass(frozen=True, slots=True)
class BuiltRecording:
    paths: RecordingPaths
    parties: tuple[Party, ...]
    recorded: float
    "Seconds from the start to the stop, pauses included."
    paused: float


def _video(
    path: Path, colour: tuple[int, int, int], seconds: float, size: tuple[int, int], fps: int
) -> int:
    width, height = size
    frames = round(seconds * fps)
    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"deadline": "realtime", "cpu-used": "8"}
        picture = np.empty((height, width, 3), dtype=np.uint8)
        picture[:] = colour
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return frames


def _audio(path: Path, tone: float, seconds: float) -> None:
    rate = 48_000
    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream("libopus", rate=rate, layout="mono")
        block = 960
        for start in range(0, round(seconds * rate), block):
            t = (np.arange(start, start + block) / rate).astype(np.float32)
            samples = (0.3 * np.sin(2 * math.pi * tone * t)).astype(np.float32).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def build_recording(
    recordings_dir: Path,
    *,
    parties: tuple[Party, ...] = PARTIES,
    segment_seconds: float = 2.0,
    segments: int = 3,
    size: tuple[int, int] = (160, 120),
    fps: int = 10,
) -> BuiltRecording:
    """Segments of ``segment_seconds`` for each party from its join; the recording pauses for
    one second after the second segment; the session goes into session at one second."""
    paths = RecordingPaths.of(recordings_dir, "s-builder", "r-builder")
    journal = Journal(paths.journal, sync=False)
    pause_at = 2 * segment_seconds
    pause_length = 1.0

    def entry(entry_type: str, at: float, **data: object) -> None:
        journal.append(JournalEntry(entry_type, START + timedelta(seconds=at), MONO + at, 1, data))

    entry("run_started", 0.0, recording_id="r-builder", session_id="s-builder", metadata=METADATA)
    entry(
        "session_event",
        1.0,
        event="SessionStateChanged",
        details={"previous": "opening", "current": "in_session"},
        participant=None,
    )
    entry("session_event", 0.5, event="active_speaker", participant="p2")
    starts = [n * segment_seconds + (pause_length if n >= 2 else 0.0) for n in range(segments)]
    for party in parties:
        for kind, source, codec in (
            ("video", "camera", "video/VP8"),
            ("audio", "microphone", "audio/opus"),
        ):
            track = f"{party.participant_id}-{source}"
            entry(
                "track_started",
                party.joins,
                track=track,
                participant_id=party.participant_id,
                name=party.name,
                role=party.role,
                point="Phòng xử án",
                source=source,
                kind=kind,
                codec=codec,
                clock_rate=90_000 if kind == "video" else 48_000,
            )
    for number, start in enumerate(starts, 1):
        if number == 3:
            entry("recording_paused", pause_at, reason="judge")
            entry("recording_resumed", pause_at + pause_length, reason="judge")
        for party in parties:
            begin = max(start, party.joins)
            length = start + segment_seconds - begin
            if length <= 0:
                continue
            for kind, source in (("video", "camera"), ("audio", "microphone")):
                track = f"{party.participant_id}-{source}"
                target = paths.track(track).segment(number, "webm")
                target.parent.mkdir(parents=True, exist_ok=True)
                if kind == "video":
                    _video(target, party.colour, length, size, fps)
                    last = begin + length - 1 / fps
                else:
                    _audio(target, party.tone, length)
                    last = begin + length - 0.02
                entry(
                    "segment_closed",
                    begin + length,
                    track=track,
                    file=target.relative_to(paths.root).as_posix(),
                    number=number,
                    first_pts=round((MONO + begin) * DEN),
                    last_pts=round((MONO + last) * DEN),
                    time_base_den=DEN,
                    duration=length,
                )
    end = starts[-1] + segment_seconds
    entry("recording_stopped", end, reason="stopped")
    journal.close()
    return BuiltRecording(paths, parties, end, pause_length)
