"""One timeline of a recording, read from its journal: where each segment sits, what is cut.

Times here are seconds of the *composed* file (``out``): the journal's wall-clock axis from
the first ``run_started``, with every recording pause cut out. Each server run's monotonic
clock is put on the wall clock by that run's ``run_started`` anchor, so segments written
before and after a restart line up. Pure functions over journal entries; no media I/O.

A track's media timestamps were put on the server's clock by the arrival of its first frame,
which differs between one person's camera and microphone by however late each first frame
came (a video keyframe takes several packets). The publisher's RTCP sender reports
(``sender_report`` entries: its NTP clock against each track's timestamps) say when each
instant was captured on one clock for all of that person's tracks: each track is shifted so
that it agrees with the person's microphone (or their first reported track), which is what
lip sync needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from recorder.journal import JournalEntry

_Seconds = Callable[[JournalEntry], float]
"""Puts a journal entry on the recording's seconds."""

__all__ = [
    "Chapter",
    "Pause",
    "PlacedSegment",
    "Timeline",
    "TrackInfo",
    "build_timeline",
    "ntp_seconds",
    "sender_report_shifts",
]


@dataclass(frozen=True, slots=True)
class TrackInfo:
    track_id: str
    participant_id: str
    name: str
    role: str
    source: str
    "camera, microphone or screen."
    kind: str
    "audio or video."


@dataclass(frozen=True, slots=True)
class PlacedSegment:
    track_id: str
    path: Path
    start: float
    "Recording seconds (before pauses are cut) of the segment's first packet."
    end: float


@dataclass(frozen=True, slots=True)
class Pause:
    start: float
    "Recording seconds (before cutting) where the pause began."
    end: float

    @property
    def length(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Chapter:
    start: float
    "Seconds of the composed file."
    title: str


@dataclass(frozen=True, slots=True)
class Timeline:
    origin: datetime
    "The wall-clock instant of recording second 0."
    tracks: dict[str, TrackInfo]
    segments: tuple[PlacedSegment, ...]
    pauses: tuple[Pause, ...]
    chapters: tuple[Chapter, ...]
    speakers: tuple[tuple[float, str | None], ...]
    "(composed seconds, participant id) from which that participant is the active speaker."
    duration: float
    "Seconds of the composed file."
    end: datetime
    "Wall-clock instant the recording ended."

    def cut(self, at: float) -> float | None:
        """Composed seconds of recording second ``at``; None inside a pause."""
        removed = 0.0
        for pause in self.pauses:
            if at >= pause.end:
                removed += pause.length
            elif at >= pause.start:
                return None
        return at - removed

    def clamped(self, at: float) -> float:
        """Composed seconds of ``at``; an instant inside a pause goes to where the pause is."""
        removed = 0.0
        for pause in self.pauses:
            if at >= pause.end:
                removed += pause.length
            elif at >= pause.start:
                return pause.start - removed
        return at - removed

    def segments_of(self, track_id: str) -> list[PlacedSegment]:
        return [s for s in self.segments if s.track_id == track_id]

    def speaker_at(self, out: float) -> str | None:
        current: str | None = None
        for start, participant in self.speakers:
            if start > out:
                break
            current = participant
        return current


def build_timeline(root: Path, entries: Iterable[JournalEntry]) -> Timeline:
    """The timeline of the recording at ``root`` (segment files are relative to it)."""
    ordered = list(entries)
    anchors = {e.run: e for e in ordered if e.type == "run_started"}
    if not anchors:
        raise ValueError("the journal has no run_started entry")
    origin = min(a.at for a in anchors.values())

    def seconds(entry: JournalEntry) -> float:
        return (entry.at - origin).total_seconds()

    def seconds_of_mono(run: int, mono: float) -> float:
        anchor = anchors.get(run) or anchors[min(anchors)]
        return (anchor.wall_time_of(mono) - origin).total_seconds()

    tracks: dict[str, TrackInfo] = {}
    shifts = sender_report_shifts(ordered)
    segments: list[PlacedSegment] = []
    pauses: list[Pause] = []
    paused_at: float | None = None
    last = 0.0
    for entry in ordered:
        data = entry.data
        last = max(last, seconds(entry))
        if entry.type == "track_started":
            track = str(data["track"])
            tracks[track] = TrackInfo(
                track,
                str(data.get("participant_id", "")),
                str(data.get("name", "")),
                str(data.get("role", "")),
                str(data.get("source", "camera")),
                str(data.get("kind", "video")),
            )
        elif entry.type == "segment_closed":
            den = int(data.get("time_base_den") or 1)
            shift = shifts.get((entry.run, str(data["track"])), 0.0)
            start = seconds_of_mono(entry.run, int(data["first_pts"]) / den) + shift
            end = seconds_of_mono(entry.run, int(data["last_pts"]) / den) + shift
            segments.append(PlacedSegment(str(data["track"]), root / str(data["file"]), start, end))
            last = max(last, end)
        elif entry.type == "recording_paused" and paused_at is None:
            paused_at = seconds(entry)
        elif entry.type == "recording_resumed" and paused_at is not None:
            pauses.append(Pause(paused_at, seconds(entry)))
            paused_at = None
    if paused_at is not None:
        pauses.append(Pause(paused_at, max(last, paused_at)))
    partial = Timeline(origin, tracks, (), tuple(pauses), (), (), 0.0, origin)
    duration = _cut_or_pause_start(partial, last)
    chapters = _chapters(partial, ordered, seconds)
    speakers = _speakers(partial, ordered, seconds)
    segments.sort(key=lambda s: (s.track_id, s.start))
    return Timeline(
        origin,
        tracks,
        tuple(segments),
        tuple(pauses),
        chapters,
        speakers,
        duration,
        max((e.at for e in ordered), default=origin),
    )


MAX_SHIFT_SECONDS = 2.0
"""A sender report that would move a track further than this is not believed (a publisher's
clock jumped, a report for another stream): the arrival-time placement stands."""


def ntp_seconds(ntp: int) -> float:
    """A 64-bit NTP timestamp as seconds (32.32 fixed point)."""
    return (ntp >> 32) + (ntp & 0xFFFFFFFF) / 2**32


def sender_report_shifts(entries: Iterable[JournalEntry]) -> dict[tuple[int, str], float]:
    """Seconds to add to each (run, track)'s placement so that one person's tracks agree with
    their sender reports; tracks without reports are not in the result."""
    clock_rates: dict[str, int] = {}
    people: dict[str, str] = {}
    microphones: set[str] = set()
    offsets: dict[tuple[int, str], list[float]] = {}
    for entry in entries:
        data = entry.data
        if entry.type == "track_started":
            track = str(data["track"])
            clock_rates[track] = int(data.get("clock_rate") or 0)
            people[track] = str(data.get("participant_id", ""))
            if data.get("source") == "microphone":
                microphones.add(track)
        elif entry.type == "sender_report":
            track = str(data.get("track"))
            rate = clock_rates.get(track, 0)
            if rate <= 0 or data.get("ntp") is None or data.get("pts") is None:
                continue
            offset = ntp_seconds(int(data["ntp"])) - int(data["pts"]) / rate
            offsets.setdefault((entry.run, track), []).append(offset)
    # One offset per track (the median: a late report does not move it), then per person the
    # reference: their microphone if it reported, else their first reported track.
    medians = {key: sorted(found)[len(found) // 2] for key, found in offsets.items()}
    references: dict[tuple[int, str], float] = {}
    for (run, track), offset in medians.items():
        person = (run, people.get(track, ""))
        if person not in references or track in microphones:
            references[person] = offset
    shifts = {}
    for (run, track), offset in medians.items():
        shift = offset - references[(run, people.get(track, ""))]
        if abs(shift) <= MAX_SHIFT_SECONDS:
            shifts[(run, track)] = shift
    return shifts


def _cut_or_pause_start(timeline: Timeline, at: float) -> float:
    """Composed seconds of ``at``, or of the start of the pause it falls in."""
    return timeline.clamped(at)


_STATE_NAMES = {
    "in_session": "Đang xét xử / In session",
    "suspended": "Tạm ngừng phiên tòa / Suspended",
    "deliberation": "Nghị án / Deliberation",
    "closed": "Kết thúc / Closed",
}


def _chapters(
    timeline: Timeline, entries: Sequence[JournalEntry], seconds: _Seconds
) -> tuple[Chapter, ...]:
    """A chapter at the start, after each pause (saying how long it was) and at each
    change of the session's state."""
    chapters = [Chapter(0.0, "Bắt đầu ghi hình / Recording started")]
    for pause in timeline.pauses:
        minutes, rest = divmod(round(pause.length), 60)
        chapters.append(
            Chapter(
                _cut_or_pause_start(timeline, pause.start),
                f"Tạm ngừng ghi hình {minutes} phút {rest} giây / "
                f"Recording paused {minutes} min {rest} s",
            )
        )
    for entry in entries:
        if entry.type == "session_event" and entry.data.get("event") == "SessionStateChanged":
            details = entry.data.get("details") or {}
            state = str(details.get("current", ""))
            title = _STATE_NAMES.get(state, state)
            chapters.append(Chapter(_cut_or_pause_start(timeline, seconds(entry)), title))
    chapters.sort(key=lambda c: c.start)
    return tuple(chapters)


def _speakers(
    timeline: Timeline, entries: Sequence[JournalEntry], seconds: _Seconds
) -> tuple[tuple[float, str | None], ...]:
    changes: list[tuple[float, str | None]] = []
    for entry in entries:
        if entry.type == "session_event" and entry.data.get("event") == "active_speaker":
            participant = entry.data.get("participant")
            changes.append(
                (
                    _cut_or_pause_start(timeline, seconds(entry)),
                    None if participant is None else str(participant),
                )
            )
    changes.sort(key=lambda c: c[0])
    return tuple(changes)
