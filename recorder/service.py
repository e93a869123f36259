"""The server's recorder: one :class:`SessionRecorder` per session whose recording runs.

The signalling edge hands it each session's state and events after a command, the media
room's tracks as they appear and go, and the active speaker; it decides nothing itself —
what may be recorded is the domain's plan, when is the domain's recording state.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rooms.ids import new_id
from rooms.media import RecordingState
from rooms.roles import Role
from rooms.session import CourtSession
from rooms.text import Text
from signaling.gateway import RecordingSpace
from signaling.media.fanout import TrackFanout
from signaling.media.policy import TrackKey

from .capture import TrackCapture
from .layout import RecordingPaths
from .session import RECORDING_STATE_CHANGED, SessionRecorder, identities_of, metadata_of

__all__ = [
    "LOW_SPACE",
    "NO_RECORDER",
    "SERVER_STOPPED",
    "SESSION_ENDED",
    "FailureListener",
    "Recorder",
    "RecordingListener",
    "free_mb",
]

logger = logging.getLogger(__name__)

NO_RECORDER = Text(
    "Máy chủ này không ghi hình (chức năng truyền hình ảnh, âm thanh đang tắt).",
    "This server does not record (media forwarding is switched off).",
)
LOW_SPACE = Text(
    "Không đủ dung lượng để ghi: còn {free_mb} MB, cần ít nhất {min_mb} MB.",
    "Not enough free space to record: {free_mb} MB left, at least {min_mb} MB needed.",
)

FailureListener = Callable[[str, str, BaseException | None], None]
"""(session id, track id, the error or None when capture resumed), from a writer thread."""

RecordingListener = Callable[[RecordingPaths, str], None]
"""(the recording, why): called on the event loop when a recording opens (why: "started")
or ends (``SESSION_ENDED``, ``SERVER_STOPPED``). It must return at once: whatever it does with
the database or the disk it schedules, so the recorder never waits on it."""

SESSION_ENDED = "session ended"
"""The recording ended with the session: it is complete and goes on to composition."""
SERVER_STOPPED = "server stopped"
"""The server shut down under a running recording: sealed, composed at the next start."""


def free_mb(directory: Path) -> int:
    """Free space where recordings go (the nearest existing parent before the first one)."""
    probe = directory
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free // (1024 * 1024)


class Recorder:
    """Every recording this server process captures."""

    def __init__(
        self,
        recordings_dir: Path,
        *,
        segment_seconds: float = 4.0,
        min_free_mb: int = 1024,
        recording_id: Callable[[CourtSession], str] | None = None,
        on_failure: FailureListener | None = None,
        on_started: RecordingListener | None = None,
        on_stopped: RecordingListener | None = None,
    ) -> None:
        self.recordings_dir = recordings_dir
        self.__segment_seconds = segment_seconds
        self.__min_free_mb = min_free_mb
        self.__recording_id = recording_id or _recording_id
        self.__on_failure = on_failure
        self.__on_started = on_started
        self.__on_stopped = on_stopped
        self.__sessions: dict[str, SessionRecorder] = {}
        self.__tracks: dict[str, dict[TrackKey, TrackFanout]] = {}

    def space(self) -> RecordingSpace:
        return RecordingSpace(free_mb(self.recordings_dir), self.__min_free_mb)

    def refusal(self) -> Text | None:
        """Why recording may not start now, or None (checked before ``start_recording``)."""
        free = free_mb(self.recordings_dir)
        if free < self.__min_free_mb:
            return LOW_SPACE.format(free_mb=free, min_mb=self.__min_free_mb)
        return None

    def recording(self, session_id: str) -> SessionRecorder | None:
        return self.__sessions.get(session_id)

    async def session_changed(
        self, session: CourtSession, events: Sequence[Mapping[str, Any]]
    ) -> None:
        """After a command: start, follow, journal and stop as the session says. ``events``
        are the command's events as signalling passes them on: ``name`` and ``payload``."""
        session_id = str(session.id)
        recorder = self.__sessions.get(session_id)
        if recorder is None and session.recording is RecordingState.RECORDING:
            recorder = self.__start(session)
            if self.__on_started is not None:
                self.__on_started(recorder.paths, "started")
        if recorder is None:
            return
        for event in events:
            name, payload = str(event.get("name", "")), event.get("payload") or {}
            if name == RECORDING_STATE_CHANGED and payload.get("previous") == "off":
                continue  # the run_started entry says it
            recorder.session_event(name, payload)
        recorder.follow(session.forwarding_plan(), self.__tracks.get(session_id, {}))
        if session.recording is RecordingState.STOPPED:
            del self.__sessions[session_id]
            await recorder.stop(SESSION_ENDED)
            if self.__on_stopped is not None:
                self.__on_stopped(recorder.paths, SESSION_ENDED)

    def __start(self, session: CourtSession) -> SessionRecorder:
        judge = next(
            (p.name for p in session.participants.values() if p.role is Role.PRESIDING_JUDGE),
            "",
        )
        paths = RecordingPaths.of(
            self.recordings_dir, str(session.id), self.__recording_id(session)
        )
        session_id = str(session.id)

        def failed(capture: TrackCapture, error: BaseException | None) -> None:
            if self.__on_failure is not None:
                self.__on_failure(session_id, capture.track_id, error)

        recorder = SessionRecorder.start(
            paths,
            metadata_of(session, judge),
            identities_of(session),
            segment_seconds=self.__segment_seconds,
            on_failure=failed,
        )
        self.__sessions[session_id] = recorder
        return recorder

    def track_published(self, session_id: str, fanout: TrackFanout) -> None:
        """The media room's callback: a publisher's track appeared."""
        self.__tracks.setdefault(session_id, {})[fanout.key] = fanout
        recorder = self.__sessions.get(session_id)
        if recorder is not None:
            recorder.track_published(fanout)

    def track_unpublished(self, session_id: str, key: TrackKey) -> None:
        tracks = self.__tracks.get(session_id)
        if tracks is not None:
            tracks.pop(key, None)
            if not tracks:
                del self.__tracks[session_id]
        recorder = self.__sessions.get(session_id)
        if recorder is not None:
            recorder.track_unpublished(key)

    def active_speaker(self, session_id: str, participant_id: str | None) -> None:
        recorder = self.__sessions.get(session_id)
        if recorder is not None:
            recorder.active_speaker(participant_id)

    async def close(self) -> None:
        """Shutdown: close every open segment so that only the last frames are lost."""
        sessions, self.__sessions = self.__sessions, {}
        for recorder in sessions.values():
            await recorder.stop(SERVER_STOPPED)
            if self.__on_stopped is not None:
                self.__on_stopped(recorder.paths, SERVER_STOPPED)


def _recording_id(_session: CourtSession) -> str:
    return new_id()
