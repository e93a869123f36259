"""The start-up sweep: close what a crash left of a recording, so that it verifies and composes.

A server killed mid-recording (SIGKILL, power cut, the OOM killer) leaves, in each recording
it was writing: one ``.part`` segment per track (the open one), a journal without its end, and
no manifest. The sweep, run before the server takes any connection, makes each such recording
whole again without inventing anything:

- an open segment is remuxed, as far as its packets decode, into a closed segment under the
  next final name (the muxer writes a cluster a second, so a crash loses about a second of
  it); one that holds nothing readable is removed and journalled as ``segment_lost``;
- every track still running is journalled as stopped, and the recording as stopped with the
  reason ``crash`` (the manifest's gap from the last instant known recorded to the sweep);
- the manifest is built and signed (:func:`recorder.integrity.seal_recording`).

A recording whose journal a live writer still holds (``flock``: another server process on the
same disk) is left alone. Entries the sweep writes carry ``swept: true`` and the crashed run's
number and clock, so the timeline places salvaged segments where they were captured.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from recorder.integrity import seal_recording
from recorder.journal import Journal, JournalEntry, read_journal
from recorder.layout import PART_SUFFIX, RecordingPaths, TrackPaths, segment_number
from recorder.signing import CourtCertificate, ServerKey

__all__ = [
    "CRASH",
    "SalvagedSegment",
    "SweptRecording",
    "salvage_segment",
    "sweep_recording",
    "sweep_recordings",
]

log = logging.getLogger(__name__)

CRASH = "crash"
"""The reason the sweep gives for the tracks and recordings it stops."""
_SALVAGE_SUFFIX = ".salvage" + PART_SUFFIX
_CONTAINER_FORMATS = {"webm": "webm", "mkv": "matroska"}


@dataclass(frozen=True, slots=True)
class SalvagedSegment:
    """What was saved of an open segment, as closed segments are described."""

    path: Path
    packets: int
    duration: float
    "Seconds from the first saved packet to the end of the last."
    bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class SweptRecording:
    """One recording after the sweep looked at it."""

    paths: RecordingPaths
    crashed: bool
    "The journal had no end: the server died while recording it."
    salvaged: tuple[str, ...]
    "Open segments saved as closed ones (files relative to the recording)."
    lost: tuple[str, ...]
    "Open segments that held nothing readable, removed."
    sealed: bool
    "Sealed by the sweep (it changed, or its manifest or signature was missing)."


def sweep_recordings(
    recordings_dir: Path,
    key: ServerKey,
    court: CourtCertificate | None = None,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[SweptRecording]:
    """Every recording under ``recordings_dir`` closed; blocking disk work (run it off the
    event loop). One recording's failure is logged and does not stop the others."""
    swept = []
    for paths in RecordingPaths.all_in(recordings_dir):
        try:
            result = sweep_recording(paths, key, court, now=now)
        except (OSError, ValueError, av.FFmpegError):
            log.exception("sweeping recording %s failed", paths.root)
            continue
        if result is not None:
            swept.append(result)
    return swept


def sweep_recording(
    paths: RecordingPaths,
    key: ServerKey,
    court: CourtCertificate | None = None,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SweptRecording | None:
    """Close one recording; None when there is nothing to sweep (no journal yet) or a live
    writer holds it."""
    if not paths.journal.is_file():
        return None
    journal = Journal(paths.journal)
    if not journal.try_lock():
        log.info("recording %s is being written by a live process: not swept", paths.root)
        return None
    try:
        return _sweep_locked(paths, journal, key, court, now())
    finally:
        journal.close()


def _sweep_locked(
    paths: RecordingPaths,
    journal: Journal,
    key: ServerKey,
    court: CourtCertificate | None,
    swept_at: datetime,
) -> SweptRecording:
    entries = list(read_journal(paths.journal))
    for leftover in (*paths.root.glob("*.tmp"), *paths.tracks_dir.glob("*/*" + _SALVAGE_SUFFIX)):
        leftover.unlink(missing_ok=True)
    clock = _CrashedRun(entries)
    salvaged: list[str] = []
    lost: list[str] = []
    for track in paths.tracks():
        for part in track.open_segments():
            relative = _relative(paths, part)
            closed = _close_open_segment(paths, track, part, entries, clock, journal)
            (salvaged if closed else lost).append(relative)
    crashed = not _ended(entries)
    if crashed:
        stamp = clock.entry_time()
        for track_id in _running_tracks(entries):
            journal.append(clock.entry("track_stopped", stamp, track=track_id, reason=CRASH))
        journal.append(
            clock.entry(
                "recording_stopped",
                stamp,
                reason=CRASH,
                swept_at=swept_at.astimezone(UTC).isoformat(timespec="microseconds"),
            )
        )
    changed = crashed or bool(salvaged or lost)
    unsealed = not paths.manifest.is_file() or not paths.manifest_signature.is_file()
    sealed = False
    if changed or unsealed:
        seal_recording(paths, key, court)
        sealed = True
    if changed:
        log.warning(
            "recording %s closed after a crash: %d segment(s) salvaged, %d lost",
            paths.root,
            len(salvaged),
            len(lost),
        )
    return SweptRecording(paths, crashed, tuple(salvaged), tuple(lost), sealed)


def _relative(paths: RecordingPaths, path: Path) -> str:
    return path.relative_to(paths.root).as_posix()


def _ended(entries: Sequence[JournalEntry]) -> bool:
    """Whether the journal's last run ends with ``recording_stopped``."""
    last_start = max((i for i, e in enumerate(entries) if e.type == "run_started"), default=-1)
    return any(e.type == "recording_stopped" for e in entries[last_start + 1 :])


def _running_tracks(entries: Iterable[JournalEntry]) -> list[str]:
    running: dict[str, None] = {}
    for entry in entries:
        track = entry.data.get("track")
        if entry.type == "track_started" and track is not None:
            running[str(track)] = None
        elif entry.type == "track_stopped" and track is not None:
            running.pop(str(track), None)
    return list(running)


class _CrashedRun:
    """The run that crashed, for stamping the sweep's entries on its own clock: ``at`` is the
    latest instant the recording is known to hold (never the sweep's own time, which would
    stretch the composed file to the restart)."""

    def __init__(self, entries: Sequence[JournalEntry]) -> None:
        anchors = [e for e in entries if e.type == "run_started"]
        self.anchor: JournalEntry | None = anchors[-1] if anchors else None
        self.run = self.anchor.run if self.anchor else max((e.run for e in entries), default=1)
        own = [e for e in entries if e.run == self.run] or list(entries)
        last = max(own, key=lambda e: e.at) if own else None
        self.last_at = last.at if last else datetime.now(UTC)
        self.last_mono = last.mono if last else 0.0

    def wall_of_pts(self, pts: int, den: int) -> datetime | None:
        if self.anchor is None or den <= 0:
            return None
        return self.anchor.wall_time_of(pts / den)

    def saw(self, at: datetime) -> None:
        """Something (a salvaged segment's end) is known to have been recorded at ``at``."""
        if at > self.last_at:
            self.last_mono += (at - self.last_at).total_seconds()
            self.last_at = at

    def entry_time(self) -> datetime:
        return self.last_at

    def entry(self, kind: str, at: datetime, **data: Any) -> JournalEntry:
        mono = self.last_mono + (at - self.last_at).total_seconds()
        return JournalEntry(kind, at, mono, self.run, {**data, "swept": True})


def _close_open_segment(
    paths: RecordingPaths,
    track: TrackPaths,
    part: Path,
    entries: Sequence[JournalEntry],
    clock: _CrashedRun,
    journal: Journal,
) -> bool:
    """Salvage one ``.part`` into a closed segment (True) or remove it as lost (False)."""
    track_id = track.track_id
    started = next(
        (e for e in entries if e.type == "track_started" and e.data.get("track") == track_id),
        None,
    )
    den = int(started.data.get("clock_rate") or 0) if started else 0
    before = [e for e in entries if e.type == "segment_closed" and e.data.get("track") == track_id]
    first_pts = _next_pts(before, started)
    final = _free_final_name(track, part)
    saved = salvage_segment(part, final) if final is not None else None
    begins = clock.wall_of_pts(first_pts, den) if first_pts is not None else None
    if saved is None:
        size = part.stat().st_size
        digest = _sha256(part)
        part.unlink()
        ends = clock.entry_time()
        journal.append(
            clock.entry(
                "segment_lost",
                ends,
                track=track_id,
                file=_relative(paths, part),
                reason="nothing readable in the open segment",
                bytes=size,
                sha256=digest,
                **{"from": (begins or ends).isoformat(), "to": ends.isoformat()},
            )
        )
        return False
    start = first_pts or 0
    last_pts = start + max(0, round(saved.duration * den) - 1) if den else start
    if begins is not None:
        clock.saw(begins + timedelta(seconds=saved.duration))
    journal.append(
        clock.entry(
            "segment_closed",
            clock.entry_time(),
            track=track_id,
            file=_relative(paths, saved.path),
            number=segment_number(saved.path),
            first_pts=start,
            last_pts=last_pts,
            time_base_den=den or 1,
            duration=round(saved.duration, 6),
            packets=saved.packets,
            bytes=saved.bytes,
            sha256=saved.sha256,
            salvaged=True,
        )
    )
    part.unlink()
    return True


def _next_pts(closed: Sequence[JournalEntry], started: JournalEntry | None) -> int | None:
    """Where the open segment began: one frame after the last closed one ended (segments
    follow each other frame by frame), or the track's first frame."""
    if closed:
        last = closed[-1].data
        first, end, packets = int(last["first_pts"]), int(last["last_pts"]), int(last["packets"])
        step = round((end - first) / (packets - 1)) if packets > 1 else 0
        return end + step
    if started is not None and started.data.get("first_pts") is not None:
        return int(started.data["first_pts"])
    return None


def _free_final_name(track: TrackPaths, part: Path) -> Path | None:
    """The closed name the open segment was to have, or the next free number after it."""
    final = part.with_name(part.name[: -len(PART_SUFFIX)])
    number = segment_number(final)
    if number is None:
        return None
    extension = final.suffix.lstrip(".")
    taken = {segment_number(p) for p in track.closed_segments()}
    while number in taken:
        number += 1
    return track.segment(number, extension)


def salvage_segment(part: Path, final: Path) -> SalvagedSegment | None:
    """Remux what of ``part`` is readable (from its first keyframe, while packets decode)
    into ``final``, stream copy; None when nothing is. ``part`` is left in place."""
    container_format = _CONTAINER_FORMATS.get(final.suffix.lstrip("."))
    if container_format is None:
        return None
    kept: list[tuple[bytes, int, int, bool]] = []
    time_base: Fraction | None = None
    try:
        source = av.open(str(part), format=container_format)
    except (av.FFmpegError, OSError):
        return None
    temporary = final.with_name(final.name + _SALVAGE_SUFFIX)
    try:
        if not source.streams:
            return None
        stream = source.streams[0]
        time_base = stream.time_base or Fraction(1, 1000)
        try:
            for packet in source.demux(stream):
                if packet.size == 0 or packet.pts is None:
                    continue
                if not kept and not packet.is_keyframe:
                    continue
                packet.decode()  # a packet that does not decode ends what is saved
                kept.append(
                    (bytes(packet), int(packet.pts), int(packet.duration or 0), packet.is_keyframe)
                )
        except (av.FFmpegError, ValueError):
            pass
        if not kept:
            return None
        with av.open(str(temporary), "w", format=container_format) as output:
            out_stream = output.add_stream_from_template(stream)
            out_stream.time_base = time_base
            origin = kept[0][1]
            for data, pts, duration, keyframe in kept:
                copy = av.Packet(data)
                copy.pts = copy.dts = pts - origin
                copy.duration = duration
                copy.time_base = time_base
                copy.is_keyframe = keyframe
                copy.stream = out_stream
                output.mux(copy)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    digest = _sha256(temporary)
    os.replace(temporary, final)
    directory = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    first, last = kept[0], kept[-1]
    last_length = last[2] or (round((last[1] - first[1]) / (len(kept) - 1)) if len(kept) > 1 else 0)
    seconds = float((last[1] - first[1] + last_length) * Fraction(time_base))
    return SalvagedSegment(final, len(kept), seconds, final.stat().st_size, digest)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
