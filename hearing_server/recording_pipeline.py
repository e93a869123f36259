"""What happens to a recording away from the media path, from its start to ``recording.ready``.

The recorder (``recorder.service.Recorder``) captures and tells this pipeline three things,
each returning at once: a recording opened, a recording ended, a track's capture failed (from
a writer thread). The pipeline does the slow work in tasks of its own, so forwarding and the
recorder never wait on a database or a signature:

- opened: the recording is registered in the catalogue (found by case number at once);
- ended with the session: the manifest is sealed (signed), the row updated, composition
  enqueued (in-process in embedded mode, on the Redis queue in cluster mode); when the
  composed files are there the manifest is sealed again (it lists them with their hashes),
  the row says ready, and a ``recording.ready`` webhook goes out;
- ended by a shutdown: sealed and registered; composed at the next start;
- capture failed: a ``recording_failed`` alert for the monitors and the judge's console.

At start, before anyone connects, the sweep (``recorder.sweep``) closes what a crash left,
every recording on disk is registered, and every ended recording not yet composed (or whose
composition died with the server) is enqueued again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from hearing_server.recordings import RecordingCatalog
from hearing_server.services import HearingService
from recorder.composition import read_progress
from recorder.integrity import seal_recording
from recorder.jobs import CompositionJobs, LocalJobs
from recorder.journal import read_journal
from recorder.layout import RecordingPaths
from recorder.service import SESSION_ENDED
from recorder.signing import CourtCertificate, ServerKey
from recorder.sweep import SweptRecording, sweep_recordings
from rooms.errors import DomainError
from rooms.ids import SessionId
from rooms.recordings import Recording, RecordingStatus

__all__ = ["FailureAlert", "RecordingPipeline", "needs_composition"]

log = logging.getLogger(__name__)

FailureAlert = Callable[[SessionId, str, str], Awaitable[None]]
"""(session, track, what failed): raise the recording alert where people see it
(``signaling.monitoring.Monitoring.recording_failed``)."""

FINISHED_STATES = frozenset({"done", "failed"})
"""Composition progress states after which nothing more happens to the composed files."""


def needs_composition(paths: RecordingPaths) -> bool:
    """An ended recording whose composed video is not there and whose composition neither
    failed for good nor finished: never queued, or queued or running when the server died."""
    if paths.composed_video.is_file():
        return False
    if not any(e.type == "recording_stopped" for e in read_journal(paths.journal)):
        return False
    progress = read_progress(paths)
    return progress is None or progress.get("state") not in FINISHED_STATES


class RecordingPipeline:
    """One per server process: built with the app, started once the service exists."""

    def __init__(self, recordings_dir: Path, *, poll_seconds: float = 1.0) -> None:
        self.recordings_dir = recordings_dir
        self.poll_seconds = poll_seconds
        self.alert: FailureAlert | None = None
        "Set by the composition root once signalling exists."
        self._loop: asyncio.AbstractEventLoop | None = None
        self._catalog: RecordingCatalog | None = None
        self._service: HearingService | None = None
        self._jobs: CompositionJobs | None = None
        self._key: ServerKey | None = None
        self._court: CourtCertificate | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watching: dict[Path, asyncio.Task[None]] = {}
        self._closing = False
        self._failing: dict[SessionId, set[str]] = {}
        self.swept: list[SweptRecording] = []
        "What the start-up sweep found, for diagnostics."

    # ------------------------------------------------------------------ wiring

    async def start(
        self,
        service: HearingService,
        catalog: RecordingCatalog,
        jobs: CompositionJobs,
        key: ServerKey,
        court: CourtCertificate | None = None,
    ) -> None:
        """Sweep, register every recording on disk, and compose what an ended recording
        still lacks; before the server takes a connection."""
        self._loop = asyncio.get_running_loop()
        self._service, self._catalog, self._jobs = service, catalog, jobs
        self._key, self._court = key, court
        self.swept = await asyncio.to_thread(sweep_recordings, self.recordings_dir, key, court)
        crashed = [s for s in self.swept if s.crashed]
        if crashed:
            log.warning(
                "start-up sweep closed %d recording(s) a crash left open: %d segment(s) "
                "salvaged, %d lost",
                len(crashed),
                sum(len(s.salvaged) for s in crashed),
                sum(len(s.lost) for s in crashed),
            )
        for recording in await catalog.reconcile():
            paths = catalog.paths_of(recording)
            if await asyncio.to_thread(needs_composition, paths):
                await self._compose(paths)
            elif recording.status is RecordingStatus.COMPOSING:
                self._watch(paths)  # a job another process runs, or one already queued
            elif recording.status is RecordingStatus.READY and not _seals_composed(paths):
                # Composed as the server died: sealed with its files and announced now.
                self._spawn(self._composed(paths, True))

    async def close(self) -> None:
        """Shutdown: finish sealing what the recorder just stopped, stop watching and stop
        this process's composition children (their ``.part`` files are composed again at
        the next start)."""
        self._closing = True
        watchers = list(self._watching.values())
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        if isinstance(self._jobs, LocalJobs):
            self._jobs.stop()
            await self._jobs.wait_all()
        while self._tasks:
            await asyncio.gather(*tuple(self._tasks), return_exceptions=True)

    # ------------------------------------------------------------------ the recorder's calls

    def recording_started(self, paths: RecordingPaths, _why: str) -> None:
        """On the loop, when a recording opens: register it (no waiting here)."""
        self._spawn(self._register(paths))

    def recording_ended(self, paths: RecordingPaths, why: str) -> None:
        """On the loop, when a recording ends: seal, register, and compose (unless the
        server is stopping: then the next start composes it)."""
        self._failing.pop(SessionId(paths.session_id), None)
        self._spawn(self._ended(paths, compose=why == SESSION_ENDED and not self._closing))

    def capture_failed(self, session_id: str, track_id: str, error: BaseException | None) -> None:
        """From a capture's writer thread (``error`` None: it resumed): hop to the loop.
        The capture journals both; the manifest shows the gap."""
        loop = self._loop
        if loop is None or loop.is_closed():
            log.error("recording of %s: capture of %s failed: %s", session_id, track_id, error)
            return
        loop.call_soon_threadsafe(self._capture_changed, SessionId(session_id), track_id, error)

    def _capture_changed(
        self, session_id: SessionId, track_id: str, error: BaseException | None
    ) -> None:
        """On the loop: one alert while any of the session's tracks fails (a full disk
        fails them all at once), again only after every one of them resumed."""
        failing = self._failing.setdefault(session_id, set())
        if error is None:
            failing.discard(track_id)
            log.info("recording of %s: capture of %s resumed", session_id, track_id)
            if not failing:
                del self._failing[session_id]
            return
        first = not failing
        failing.add(track_id)
        if first:
            self._spawn(self._alert(session_id, track_id, _what_failed(error)))

    # ------------------------------------------------------------------ the work

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _alert(self, session_id: SessionId, track_id: str, detail: str) -> None:
        if self.alert is None:
            log.error("recording of %s: capture of %s failed: %s", session_id, track_id, detail)
            return
        try:
            await self.alert(session_id, track_id, detail)
        except Exception:
            log.exception("the recording alert for %s could not be raised", session_id)

    async def _register(self, paths: RecordingPaths) -> Recording | None:
        catalog = self._catalog
        if catalog is None:
            log.error("recording %s ended before the pipeline started", paths.root)
            return None
        try:
            return await catalog.register_recording(paths)
        except DomainError as error:
            log.warning("recording %s not registered: %s", paths.root, error.message.en)
        except Exception:
            log.exception("recording %s not registered", paths.root)
        return None

    async def _seal(self, paths: RecordingPaths) -> bool:
        key = self._key
        if key is None:
            return False
        try:
            await asyncio.to_thread(seal_recording, paths, key, self._court)
        except Exception:
            log.exception("recording %s could not be sealed", paths.root)
            return False
        return True

    async def _ended(self, paths: RecordingPaths, *, compose: bool) -> None:
        await self._seal(paths)
        await self._register(paths)
        if compose:
            await self._compose(paths)

    async def _compose(self, paths: RecordingPaths) -> None:
        jobs = self._jobs
        if jobs is None or self._closing:
            return
        try:
            await jobs.enqueue(paths)
        except Exception:
            log.exception("composition of %s could not be queued", paths.root)
            return
        await self._register(paths)  # composing, queued
        self._watch(paths)

    def _watch(self, paths: RecordingPaths) -> None:
        if paths.root in self._watching or self._closing:
            return
        task = asyncio.get_running_loop().create_task(self._until_composed(paths))
        self._watching[paths.root] = task
        task.add_done_callback(lambda _t: self._watching.pop(paths.root, None))

    async def _until_composed(self, paths: RecordingPaths) -> None:
        """Follow the job through its progress file (written by whichever process composes:
        this one's child or an arq worker elsewhere), then finish the recording."""
        while True:
            progress = await asyncio.to_thread(read_progress, paths)
            state = None if progress is None else progress.get("state")
            if state in FINISHED_STATES:
                break
            await asyncio.sleep(self.poll_seconds)
        self._spawn(self._composed(paths, state == "done"))  # finished even at shutdown

    async def _composed(self, paths: RecordingPaths, done: bool) -> None:
        if done:
            await self._seal(paths)  # the manifest now lists the composed files
        recording = await self._register(paths)
        if recording is None or recording.status is not RecordingStatus.READY:
            return
        service = self._service
        if service is not None and service.notify is not None:
            catalog = self._catalog
            assert catalog is not None
            files = [
                path.relative_to(paths.root).as_posix()
                for path in (paths.composed_video, paths.composed_audio)
                if path.is_file()
            ]
            await service.notify(
                "recording.ready",
                recording.session_id,
                {
                    "recording_id": recording.id,
                    "case_number": recording.case_number,
                    "files": files,
                    "manifest_sha256": recording.manifest_sha256,
                },
            )


def _seals_composed(paths: RecordingPaths) -> bool:
    """Whether the sealed manifest lists the composed files (sealed after composition)."""
    try:
        manifest = json.loads(paths.manifest.read_bytes())
    except (FileNotFoundError, ValueError):
        return False
    return isinstance(manifest, dict) and bool(manifest.get("composed"))


def _what_failed(error: BaseException) -> str:
    """The error as staff read it: the system's words for a disk error, not its path."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
