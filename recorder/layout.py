"""Where a recording lives on disk: one directory per recording, named so a person can find it.

The capture, the manifest, the composition and the staff pages all read and write the same
tree; this module is the one place that knows its shape::

    <recordings_dir>/<session_id>/<recording_id>/
        journal.jsonl                  the timeline (recorder.journal), appended as things happen
        tracks/<track_id>/00001.webm   closed segments, VP8/Opus (H.264 segments end in .mkv)
        tracks/<track_id>/00002.webm.part   the open segment, renamed when closed
        manifest.json                  files, hashes, chain, metadata (recorder.manifest)
        manifest.sig                   Ed25519 signature of manifest.json, base64
        manifest.p7s                   detached CMS signature with the court's certificate, DER
        composed/hearing.mp4           the composed file (…mp4.part while being written)
        composed/audio.m4a             the audio-only mix, composed first

A file whose name ends in ``.part`` is never finished, whatever its size: readers skip it,
the start-up sweep closes or removes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PART_SUFFIX",
    "RecordingPaths",
    "TrackPaths",
    "is_part",
    "segment_number",
]

PART_SUFFIX = ".part"
"""Suffix of a file still being written."""

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_SEGMENT = re.compile(r"^(\d{5})\.(webm|mkv)$")


def _checked(name: str, what: str) -> str:
    """Ids become directory names: refuse anything that could leave the tree."""
    if not _SAFE_NAME.match(name) or ".." in name:
        raise ValueError(f"{what} {name!r} cannot be used as a directory name")
    return name


def is_part(path: Path) -> bool:
    return path.name.endswith(PART_SUFFIX)


def segment_number(path: Path) -> int | None:
    """The sequence number of a closed segment file, None for anything else."""
    match = _SEGMENT.match(path.name)
    return None if match is None else int(match.group(1))


@dataclass(frozen=True, slots=True)
class TrackPaths:
    """One captured track's directory: its segments, numbered from 1 in capture order."""

    root: Path

    @property
    def track_id(self) -> str:
        return self.root.name

    def segment(self, number: int, extension: str) -> Path:
        if number < 1 or number > 99_999:
            raise ValueError(f"segment number {number} out of range")
        if extension not in ("webm", "mkv"):
            raise ValueError(f"segment extension {extension!r} is not webm or mkv")
        return self.root / f"{number:05d}.{extension}"

    @staticmethod
    def part_of(final: Path) -> Path:
        return final.with_name(final.name + PART_SUFFIX)

    def closed_segments(self) -> list[Path]:
        """Closed segments in sequence order; ``.part`` files and strangers are left out."""
        if not self.root.is_dir():
            return []
        found = [(segment_number(p), p) for p in self.root.iterdir() if p.is_file()]
        return [p for n, p in sorted((n, p) for n, p in found if n is not None)]

    def open_segments(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if is_part(p))


@dataclass(frozen=True, slots=True)
class RecordingPaths:
    """One recording's directory tree (see the module docstring)."""

    root: Path

    @classmethod
    def of(cls, recordings_dir: Path, session_id: str, recording_id: str) -> RecordingPaths:
        return cls(
            recordings_dir / _checked(session_id, "session id") / _checked(recording_id, "id")
        )

    @property
    def recording_id(self) -> str:
        return self.root.name

    @property
    def session_id(self) -> str:
        return self.root.parent.name

    @property
    def journal(self) -> Path:
        return self.root / "journal.jsonl"

    @property
    def tracks_dir(self) -> Path:
        return self.root / "tracks"

    def track(self, track_id: str) -> TrackPaths:
        return TrackPaths(self.tracks_dir / _checked(track_id, "track id"))

    def tracks(self) -> list[TrackPaths]:
        if not self.tracks_dir.is_dir():
            return []
        return [TrackPaths(p) for p in sorted(self.tracks_dir.iterdir()) if p.is_dir()]

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def manifest_signature(self) -> Path:
        return self.root / "manifest.sig"

    @property
    def manifest_cms(self) -> Path:
        return self.root / "manifest.p7s"

    @property
    def composed_dir(self) -> Path:
        return self.root / "composed"

    @property
    def composed_video(self) -> Path:
        return self.composed_dir / "hearing.mp4"

    @property
    def composed_audio(self) -> Path:
        return self.composed_dir / "audio.m4a"

    @staticmethod
    def all_in(recordings_dir: Path) -> list[RecordingPaths]:
        """Every recording under ``recordings_dir``, for the start-up sweep and the CLI."""
        if not recordings_dir.is_dir():
            return []
        return [
            RecordingPaths(recording)
            for session in sorted(recordings_dir.iterdir())
            if session.is_dir()
            for recording in sorted(session.iterdir())
            if recording.is_dir()
        ]
