"""Compositions one after another, as the server runs them (a child process at the server's
lower priority), for measuring a live hearing beside them."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

from recorder.jobs import LocalJobs
from tests.recorder.recording_builder import build_recording


class CompositionLoad:
    """Recomposes one 4-party 640x480 recording over and over until stopped."""

    def __init__(self) -> None:
        self.__scratch = tempfile.TemporaryDirectory()
        self.__paths = build_recording(
            Path(self.__scratch.name), segment_seconds=4.0, segments=4, size=(640, 480), fps=30
        ).paths
        self.__stop = threading.Event()
        self.__thread = threading.Thread(target=self.__loop, name="composition-load", daemon=True)
        self.compositions = 0
        self.failures = 0

    def __loop(self) -> None:
        jobs = LocalJobs(attempts=1)  # the server's own niceness
        while not self.__stop.is_set():
            shutil.rmtree(self.__paths.composed_video.parent, ignore_errors=True)
            child = jobs.start(self.__paths)
            child.join()
            if child.exitcode == 0:
                self.compositions += 1
            else:
                self.failures += 1

    def __enter__(self) -> CompositionLoad:
        self.__thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.__stop.set()
        self.__thread.join()
        self.__scratch.cleanup()
