"""The recording's timeline: one JSON object per line, appended and flushed as things happen.

The journal is what lets the composition put tracks on one timeline and what the manifest
lists: every entry carries the wall-clock time (``at``, UTC) and the server process's
monotonic time (``mono``, seconds). Captured packets carry timestamps on that same monotonic
clock (the fan-out moves every track onto it), so within one ``run`` of the server a
segment's media timestamps and the journal's entries are on one clock; across a restart the
``run_started`` entry of each run anchors its monotonic clock to the wall clock.

Entry types and their fields (besides ``type``, ``at``, ``mono``, ``run``):

``run_started``       recording_id, session_id, metadata (case and court, see Metadata)
``recording_paused``  reason
``recording_resumed`` reason
``track_started``     track, participant_id, name, role, point, source, kind, codec,
                      clock_rate
``segment_closed``    track, file (relative to the recording), number, first_pts, last_pts,
                      time_base_den (packets' time base is 1/time_base_den; pts are on the
                      monotonic clock), duration (seconds), packets, bytes, sha256
``segment_lost``      track, file, reason, bytes, from, to (wall-clock stretch it held,
                      estimated): the sweep found an open segment it could not save
``sender_report``     track, ntp (64-bit NTP of the publisher), rtp (its RTP timestamp),
                      pts (the same instant on the segment's pts scale)
``track_stopped``     track, reason (muted, left, unpublished, paused, capture_failed, …)
``session_event``     event (the domain event's name), details (its fields), participant
``capture_failed``    track (or null for every track), error
``capture_resumed``   track (or null)
``recording_stopped`` reason; the sweep's crash marker has reason ``crash``, swept_at, and
                      is stamped with the last instant the recording is known to hold

Entries the start-up sweep writes carry ``swept: true`` and the ``run`` of the run that
crashed, so that a salvaged segment's ``segment_closed`` is placed by that run's anchor.
A salvaged segment's ``segment_closed`` also has ``salvaged: true``: its ``first_pts`` is
estimated from the segment before it (its file's own timestamps start at zero).

A torn last line (the process died writing it) is ignored on reading, never an error: every
line before it was flushed whole.

The writer holds an exclusive ``flock`` on the journal while it is open: the start-up sweep
(``recorder.sweep``) leaves alone a recording that a live process (this one or another node
on the same disk) still writes, and the kernel drops the lock when a writer dies, however.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

__all__ = ["ENTRY_TYPES", "Journal", "JournalBusy", "JournalEntry", "read_journal"]

ENTRY_TYPES = frozenset(
    {
        "run_started",
        "recording_paused",
        "recording_resumed",
        "track_started",
        "segment_closed",
        "segment_lost",
        "sender_report",
        "track_stopped",
        "session_event",
        "capture_failed",
        "capture_resumed",
        "recording_stopped",
    }
)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    type: str
    at: datetime
    "Wall-clock time, UTC."
    mono: float
    "The server process's monotonic clock, seconds; comparable only within one ``run``."
    run: int
    "Which start of the server wrote it: 1 for the first, one more after each restart."
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in ENTRY_TYPES:
            raise ValueError(f"unknown journal entry type {self.type!r}")
        if self.at.tzinfo is None:
            raise ValueError("journal times must be timezone-aware")

    def to_line(self) -> str:
        body = {
            "type": self.type,
            "at": self.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "mono": round(self.mono, 6),
            "run": self.run,
            **self.data,
        }
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_line(cls, line: str) -> JournalEntry:
        body = json.loads(line)
        if not isinstance(body, dict):
            raise ValueError("a journal line must be a JSON object")
        kind = body.pop("type")
        at = datetime.fromisoformat(body.pop("at"))
        mono = float(body.pop("mono"))
        run = int(body.pop("run"))
        return cls(kind, at, mono, run, body)

    def wall_time_of(self, mono: float) -> datetime:
        """The wall-clock time of another instant of this entry's run."""
        return self.at + timedelta(seconds=mono - self.mono)


class JournalBusy(OSError):
    """Another writer (a live capture) holds the journal."""


class Journal:
    """Appends entries to one recording's journal, each flushed and synced before returning,
    so that what the journal says happened survives a crash the moment after."""

    def __init__(self, path: Path, *, sync: bool = True) -> None:
        self.path = path
        self.__sync = sync
        self.__handle: IO[str] | None = None
        self.__lock_fd: int | None = None

    def append(self, entry: JournalEntry) -> None:
        handle = self.__open()
        try:
            handle.write(entry.to_line() + "\n")
            handle.flush()
            if self.__sync:
                os.fsync(handle.fileno())
        except OSError:
            # A full disk may have taken part of the line: drop the handle (and what its
            # buffer holds), so the next append reopens and ends the torn line first.
            self.__handle = None
            with contextlib.suppress(OSError, ValueError):
                handle.close()
            raise

    def try_lock(self) -> bool:
        """Open and lock the journal for writing; False when a live writer holds it."""
        try:
            self.__open()
        except JournalBusy:
            return False
        return True

    def __open(self) -> IO[str]:
        handle = self.__handle
        if handle is None:
            self.__lock()
            handle = self.__handle = self.__open_after_torn_line()
        return handle

    def __lock(self) -> None:
        """The writer's lock, on a descriptor of its own: a write handle dropped after a
        failed write is reopened without ever letting go of the journal."""
        if self.__lock_fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise JournalBusy(f"{self.path} is being written by a live capture") from None
        self.__lock_fd = fd

    def __open_after_torn_line(self) -> IO[str]:
        """A line the previous run left half-written is ended, so it stays one bad line."""
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - kept open
        if handle.tell() > 0:
            handle.seek(handle.tell() - 1)
            if handle.read(1) != "\n":
                handle.write("\n")
        return handle

    def close(self) -> None:
        if self.__handle is not None:
            self.__handle.close()
            self.__handle = None
        if self.__lock_fd is not None:
            os.close(self.__lock_fd)  # and with it the lock
            self.__lock_fd = None


def read_journal(path: Path) -> Iterator[JournalEntry]:
    """Every whole entry in order; lines that do not parse (a torn write) are skipped."""
    if not path.exists():
        return
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            text = line.strip()
            if not text:
                continue
            try:
                yield JournalEntry.from_line(text)
            except (ValueError, KeyError, TypeError):
                continue
