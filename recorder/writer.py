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

    def append(self, entry_type: str, /, **data: Any) -> JournalEntry | None:
        """Write one entry; None when the disk refused it (logged: the caller is often the
        forwarding loop, which a full disk must not stop)."""
        with self.__lock:
            entry = JournalEntry(entry_type, self.__wall(), self.__mono(), self.run, data)
            try:
                self.__journal.append(entry)
            except OSError:
                logger.exception("journal entry %s of %s lost", entry_type, self.paths.root)
                return None
            return entry

    def close(self) -> None:
        with self.__lock:
            self.__journal.close()
