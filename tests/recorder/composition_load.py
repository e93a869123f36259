"""Compositions one after another, as the server runs them (a child process of
:class:`~recorder.jobs.LocalJobs` at the server's lower priority), for measuring and testing a
live hearing beside them (benchmarks/sfu.py, tests/media_e2e/test_beside_composition.py)."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from recorder.jobs import LocalJobs
from tests.recorder.recording_builder import build_recording


@dataclass(slots=True)
class CompositionRun:
    """One child's composition, on the monotonic clock."""

    started: float
    ended: float | None = None
    "None while the child runs."
    exitcode: int | None = None


class CompositionLoad:
    """Recomposes one 4-party 16-second recording over and over until stopped.

    The composed video is 1280x720 whatever ``size`` the parties were recorded at, so a
    smaller recording (quicker to build before a test) costs the composition about as much.
    """

    def __init__(self, size: tuple[int, int] = (640, 480)) -> None:
        self.__scratch = tempfile.TemporaryDirectory()
        self.__paths = build_recording(
            Path(self.__scratch.name), segment_seconds=4.0, segments=4, size=size, fps=30
        ).paths
        self.__stop = threading.Event()
        self.__thread = threading.Thread(target=self.__loop, name="composition-load", daemon=True)
        self.runs: list[CompositionRun] = []
        "Every child started, in order; read from other threads while it grows."

    @property
    def compositions(self) -> int:
        """Children that finished their composition (exit code 0)."""
        return sum(1 for run in self.runs if run.exitcode == 0)

    @property
    def failures(self) -> int:
        return sum(1 for run in self.runs if run.exitcode not in (None, 0))

    def ran_during(self, start: float, end: float) -> bool:
        """Whether composition went on in ``[start, end]``: a child finished in it, or one
        child was alive from its start to its end (a machine slow enough to stretch one
        composition over the whole window)."""
        return any(
            (run.ended is not None and start <= run.ended <= end)
            or (run.started <= start and (run.ended is None or run.ended >= end))
            for run in self.runs
        )

    def __loop(self) -> None:
        jobs = LocalJobs(attempts=1)  # the server's own niceness
        while not self.__stop.is_set():
            shutil.rmtree(self.__paths.composed_video.parent, ignore_errors=True)
            run = CompositionRun(time.monotonic())
            self.runs.append(run)
            child = jobs.start(self.__paths)
            child.join()
            run.exitcode = child.exitcode
            run.ended = time.monotonic()  # last: a reader that sees it ended sees the code

    def start(self) -> None:
        self.__thread.start()

    def stop(self, within: float | None = None) -> bool:
        """Start no more children and wait for the running one to finish its composition;
        whether it did within ``within`` seconds (forever by default)."""
        self.__stop.set()
        if self.__thread.ident is not None:  # started
            self.__thread.join(within)
        return not self.__thread.is_alive()

    def close(self) -> None:
        self.stop()
        self.__scratch.cleanup()

    def __enter__(self) -> CompositionLoad:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
