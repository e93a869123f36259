"""Where a moment of the hearing falls in the composed video: the time since the recording
started, less the pauses before it (the composition cuts pauses out).

The staff recording page places its timeline and the minutes' entries with it, so a chapter
and a minutes entry of the same moment seek to the same second.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from recorder.journal import JournalEntry

__all__ = ["RecordingClock"]


@dataclass(frozen=True, slots=True)
class RecordingClock:
    started: datetime
    ended: datetime | None
    pauses: tuple[tuple[datetime, datetime | None], ...]
    """(paused at, resumed at or None while still paused), in order."""

    @classmethod
    def of(cls, entries: Iterable[JournalEntry]) -> RecordingClock | None:
        """None for a journal with nothing in it."""
        started: datetime | None = None
        ended: datetime | None = None
        pauses: list[tuple[datetime, datetime | None]] = []
        for entry in entries:
            started = started or entry.at
            if entry.type == "recording_paused" and (not pauses or pauses[-1][1] is not None):
                pauses.append((entry.at, None))
            elif entry.type == "recording_resumed" and pauses and pauses[-1][1] is None:
                pauses[-1] = (pauses[-1][0], entry.at)
            elif entry.type == "recording_stopped":
                ended = entry.at
        if started is None:
            return None
        return cls(started, ended, tuple(pauses))

    def offset(self, at: datetime) -> float | None:
        """Seconds into the composed video; a moment inside a pause falls where the video
        resumes. None outside the recording."""
        if at < self.started or (self.ended is not None and at > self.ended):
            return None
        cut = 0.0
        for paused, resumed in self.pauses:
            if paused >= at:
                break
            until = at if resumed is None or resumed > at else resumed
            cut += (until - paused).total_seconds()
        return round(max(0.0, (at - self.started).total_seconds() - cut), 3)
