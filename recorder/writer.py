"""The live journal of one recording: entries stamped with the wall and monotonic clocks,
appended from the event loop and from capture threads alike."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .journal import Journal, JournalEntry, read_journal
from .layout import RecordingPaths

__all__ = ["LiveJournal"]

_MAX_UNWRITTEN = 10_000
"""Entries kept while the disk refuses them: captures stop writing on a full disk, so few
accrue, but a long outage must not grow memory without end."""

logger = logging.getLogger(__name__)


class LiveJournal:
    """Appends typed entries to a recording's journal under one lock.

    ``run`` is one more than the runs the journal already holds, so a recording continued
    after a restart keeps each run's monotonic clock apart.
    """

    def __init__(
        self,
        paths: RecordingPaths,
        *,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        mono: Callable[[], float] = time.monotonic,
        sync: bool = True,
    ) -> None:
        self.paths = paths
        self.__wall = wall
        self.__mono = mono
        self.__lock = threading.Lock()
        self.run = 1 + max((e.run for e in read_journal(paths.journal)), default=0)
        self.__journal = Journal(paths.journal, sync=sync)
        self.__unwritten: list[JournalEntry] = []

    def append(self, entry_type: str, /, **data: Any) -> JournalEntry | None:
        """Write one entry; None when the disk refused it (logged: the caller is often the
        forwarding loop, which a full disk must not stop). A refused entry is kept and
        written, in its place, before the next one that can be: a failure's
        ``capture_failed`` reaches the journal once space is back, so the gap shows."""
        with self.__lock:
            entry = JournalEntry(entry_type, self.__wall(), self.__mono(), self.run, data)
            self.__unwritten.append(entry)
            try:
                while self.__unwritten:
                    self.__journal.append(self.__unwritten[0])
                    self.__unwritten.pop(0)
            except OSError as error:
                if len(self.__unwritten) > _MAX_UNWRITTEN:
                    del self.__unwritten[0]  # a long outage: keep the newest
                logger.warning(
                    "journal entry %s of %s not written yet: %s", entry_type, self.paths.root, error
                )
                return None
            return entry

    def close(self) -> None:
        with self.__lock:
            self.__journal.close()
