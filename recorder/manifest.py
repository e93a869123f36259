"""A recording's manifest: every file with its size, duration and SHA-256, in a hash chain.

The manifest is what a court signs and what ``recordings verify`` checks. It is rebuilt from
what is on disk and in the journal by one function, :func:`build_manifest`, so that after a
crash the same code that made it at the end of a hearing makes it again.

Segments are chained in their order (tracks by id, segments by number): each entry names
the hash of the one before it, and its own ``chain`` hash covers that, so removing,
reordering or inserting a segment breaks the chain at that place, not only at a changed
file. The journal itself is listed with its hash: it is the timeline's evidence.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from recorder.journal import JournalEntry, read_journal
from recorder.layout import RecordingPaths

__all__ = [
    "CHAIN_START",
    "MANIFEST_FORMAT",
    "FileFacts",
    "build_manifest",
    "canonical_bytes",
    "chain_hash",
    "file_facts",
    "write_manifest",
]

MANIFEST_FORMAT = "hearing-recording-manifest/1"
CHAIN_START = "0" * 64
"""The ``previous`` of the first segment in the chain."""

_CHUNK = 1 << 20


def canonical_bytes(document: Mapping[str, Any]) -> bytes:
    """The one byte form of a JSON document that is hashed and signed."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode(
        "utf-8"
    )


def chain_hash(entry: Mapping[str, Any]) -> str:
    """The hash of a segment entry, its ``chain`` field left out (it is the result)."""
    body = {k: v for k, v in entry.items() if k != "chain"}
    return hashlib.sha256(canonical_bytes(body)).hexdigest()


@dataclass(frozen=True, slots=True)
class FileFacts:
    size: int
    sha256: str
    duration: float | None
    "Seconds of media, None when the file is not media or does not open."


def file_facts(path: Path, *, media: bool = True) -> FileFacts:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return FileFacts(size, digest.hexdigest(), _duration(path) if media else None)


def _duration(path: Path) -> float | None:
    """Media seconds from the packets themselves: a segment's header may not say."""
    try:
        with av.open(str(path)) as container:
            first: float | None = None
            last: float | None = None
            for packet in container.demux():
                if packet.pts is None or packet.time_base is None:
                    continue
                start = float(packet.pts * packet.time_base)
                end = start + float((packet.duration or 0) * packet.time_base)
                first = start if first is None else min(first, start)
                last = end if last is None else max(last, end)
            if first is None or last is None:
                return 0.0
            return round(last - first, 6)
    except (av.FFmpegError, OSError):
        return None


def _journal_dict(entry: JournalEntry) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(entry.to_line())
    return body


def build_manifest(paths: RecordingPaths) -> dict[str, Any]:
    """The manifest of what is on disk now (closed files only; ``.part`` files are not
    finished and are listed as such)."""
    entries = list(read_journal(paths.journal))
    started = next((e for e in entries if e.type == "run_started"), None)
    segments: list[dict[str, Any]] = []
    previous = CHAIN_START
    for track in paths.tracks():
        for segment in track.closed_segments():
            facts = file_facts(segment)
            entry: dict[str, Any] = {
                "track": track.track_id,
                "file": segment.relative_to(paths.root).as_posix(),
                "number": int(segment.name.split(".", 1)[0]),
                "size": facts.size,
                "sha256": facts.sha256,
                "duration": facts.duration,
                "previous": previous,
            }
            entry["chain"] = previous = chain_hash(entry)
            segments.append(entry)
    composed = [
        {
            "file": path.relative_to(paths.root).as_posix(),
            **_facts_dict(file_facts(path)),
        }
        for path in (paths.composed_audio, paths.composed_video)
        if path.is_file()
    ]
    journal = (
        {"file": paths.journal.name, **_facts_dict(file_facts(paths.journal, media=False))}
        if paths.journal.is_file()
        else None
    )
    return {
        "format": MANIFEST_FORMAT,
        "recording_id": paths.recording_id,
        "session_id": paths.session_id,
        "metadata": dict(started.data.get("metadata", {})) if started else {},
        "participants": _participants(entries),
        "segments": segments,
        "chain_head": previous,
        "composed": composed,
        "journal": journal,
        "unfinished": sorted(
            p.relative_to(paths.root).as_posix() for t in paths.tracks() for p in t.open_segments()
        ),
        "gaps": _gaps(entries),
        "timeline": [_journal_dict(e) for e in entries],
    }


def _facts_dict(facts: FileFacts) -> dict[str, Any]:
    return {"size": facts.size, "sha256": facts.sha256, "duration": facts.duration}


def _participants(entries: Iterable[JournalEntry]) -> list[dict[str, Any]]:
    """Each person once, with every track they had: who is on the recording, as what."""
    people: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry.type != "track_started":
            continue
        pid = str(entry.data.get("participant_id", ""))
        person = people.setdefault(
            pid,
            {
                "participant_id": pid,
                "name": entry.data.get("name", ""),
                "role": entry.data.get("role", ""),
                "point": entry.data.get("point", ""),
                "tracks": [],
            },
        )
        person["tracks"].append(entry.data.get("track"))
    return list(people.values())


_GAP_OPENERS = {"recording_paused": "paused", "capture_failed": "capture_failed"}
_GAP_CLOSERS = {"recording_resumed": "paused", "capture_resumed": "capture_failed"}


def _gaps(entries: Iterable[JournalEntry]) -> list[dict[str, Any]]:
    """Stretches of the hearing the recording does not hold, and why: pauses, failures, lost
    segments. A gap is a fact of the timeline, not a fault of integrity."""
    gaps: list[dict[str, Any]] = []
    open_gaps: dict[tuple[str, object], dict[str, Any]] = {}
    for entry in entries:
        at = entry.at.isoformat()
        if entry.type in _GAP_OPENERS:
            key = (_GAP_OPENERS[entry.type], entry.data.get("track"))
            if key not in open_gaps:
                gap = {
                    "kind": key[0],
                    "track": key[1],
                    "from": at,
                    "to": None,
                    "reason": entry.data.get("reason") or entry.data.get("error", ""),
                }
                open_gaps[key] = gap
                gaps.append(gap)
        elif entry.type in _GAP_CLOSERS:
            closed = open_gaps.pop((_GAP_CLOSERS[entry.type], entry.data.get("track")), None)
            if closed is not None:
                closed["to"] = at
        elif entry.type == "track_stopped":
            # A track that stops while its capture is failing: the gap ends with it.
            closed = open_gaps.pop(("capture_failed", entry.data.get("track")), None)
            if closed is not None:
                closed["to"] = at
        elif entry.type == "recording_stopped":
            for gap in open_gaps.values():
                gap["to"] = at
            open_gaps.clear()
            if entry.data.get("reason") == "crash":
                # The sweep's crash marker: nothing is held from the last thing known
                # recorded until the server came back and closed the recording.
                gaps.append(
                    {
                        "kind": "crash",
                        "track": None,
                        "from": at,
                        "to": entry.data.get("swept_at") or at,
                        "reason": "the server stopped without closing the recording",
                    }
                )
        elif entry.type == "segment_lost":
            gaps.append(
                {
                    "kind": "segment_lost",
                    "track": entry.data.get("track"),
                    "from": entry.data.get("from") or at,
                    "to": entry.data.get("to") or at,
                    "reason": entry.data.get("reason", ""),
                    "file": entry.data.get("file"),
                }
            )
    return gaps


def write_manifest(paths: RecordingPaths, manifest: Mapping[str, Any]) -> bytes:
    """Write ``manifest.json`` whole or not at all; returns the bytes written (to sign)."""
    data = canonical_bytes(manifest)
    write_atomically(paths.manifest, data)
    return data


def write_atomically(path: Path, data: bytes) -> None:
    """Temporary file, fsync, rename, fsync of the directory: a reader sees the old file or
    the new one, never half of one, whatever happens meanwhile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
