"""One hearing's recording while it runs: which tracks are captured follows the domain.

The domain's forwarding plan says which publications may be recorded
(``PublicationRule.recorded``: never the lobby, a consultation room or deliberation); the
recorder captures a publication while it is recorded, not paused (a mute), and published.
Plans arrive through :meth:`SessionRecorder.follow`, tracks through
:meth:`track_published` / :meth:`track_unpublished` (the media room's callbacks), and the
session's events through :meth:`session_event`; all on the event loop. Disk work happens on
the captures' threads or in a worker thread, never on the loop.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, is_dataclass
from enum import Enum
from typing import Any

from rooms.forwarding import ForwardingPlan, Publication, PublicationRule
from rooms.ids import ParticipantId
from rooms.media import MediaSource, RecordingState
from rooms.session import CourtSession
from signaling.media.fanout import TrackFanout
from signaling.media.policy import TrackKey

from .capture import CaptureFailureCallback, TrackCapture, TrackIdentity
from .layout import RecordingPaths
from .writer import LiveJournal

__all__ = ["SessionRecorder", "identities_of", "metadata_of"]

logger = logging.getLogger(__name__)

IdentityLookup = Callable[[str], TrackIdentity]

RECORDING_STATE_CHANGED = "recording_state_changed"
"""The domain event's name (rooms.events.RecordingStateChanged)."""


def metadata_of(session: CourtSession, presiding_judge: str = "") -> dict[str, Any]:
    """The case and court as ``run_started`` carries them."""
    case = session.case
    return {
        "court": session.court_id,
        "case_number": case.number if case else None,
        "case_type": case.case_type.value if case else None,
        "instance": case.instance.value if case else None,
        "title": case.title if case else (session.meeting.title if session.meeting else ""),
        "hearing_id": session.id,
        "kind": session.kind.value,
        "presiding_judge": presiding_judge,
        "planned_start": session.scheduled_start.isoformat(),
        "planned_end": session.scheduled_end.isoformat() if session.scheduled_end else None,
    }


def identities_of(session: CourtSession) -> IdentityLookup:
    """Who each publisher is, read from the session when their track starts."""

    def identity(participant_id: str) -> TrackIdentity:
        person = session.participants.get(ParticipantId(participant_id))
        if person is None:
            return TrackIdentity(participant_id, "", "", "")
        point = session.points.get(person.point_id)
        return TrackIdentity(
            participant_id,
            person.name,
            person.role.value,
            point.name if point is not None else str(person.point_id),
        )

    return identity


def _stop_reason(rule: PublicationRule | None, source: str) -> str | None:
    """Why a publication is not captured under ``rule``; None when it is."""
    if rule is None:
        return "left"
    if rule.paused:
        return "muted" if source in ("microphone", "camera") else "paused"
    if not rule.recorded:
        return "unrecorded"
    return None


def _plain(value: Any) -> Any:
    """An event's field as JSON can hold it."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (frozenset, set, tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


class SessionRecorder:
    """Captures the recorded publications of one session into one recording."""

    def __init__(
        self,
        paths: RecordingPaths,
        journal: LiveJournal,
        identities: IdentityLookup,
        *,
        segment_seconds: float = 4.0,
        on_failure: CaptureFailureCallback | None = None,
    ) -> None:
        self.paths = paths
        self.journal = journal
        self.__identities = identities
        self.__segment_seconds = segment_seconds
        self.__on_failure = on_failure
        self.__plan: ForwardingPlan | None = None
        self.__tracks: dict[TrackKey, TrackFanout] = {}
        self.__captures: dict[TrackKey, TrackCapture] = {}
        self.__numbers = itertools.count(1)
        self.__finishing: set[asyncio.Task[None]] = set()
        self.__stopped = False

    @classmethod
    def start(
        cls,
        paths: RecordingPaths,
        metadata: Mapping[str, Any],
        identities: IdentityLookup,
        **options: Any,
    ) -> SessionRecorder:
        """Create (or continue, after a restart) the recording and journal ``run_started``."""
        paths.root.mkdir(parents=True, exist_ok=True)
        journal = LiveJournal(paths)
        journal.append(
            "run_started",
            recording_id=paths.recording_id,
            session_id=paths.session_id,
            metadata=dict(metadata),
        )
        return cls(paths, journal, identities, **options)

    @property
    def captures(self) -> Mapping[TrackKey, TrackCapture]:
        """The captures running now."""
        return dict(self.__captures)

    def follow(self, plan: ForwardingPlan, tracks: Mapping[TrackKey, TrackFanout]) -> None:
        """Capture what ``plan`` records among ``tracks`` (the room's fan-outs); stop the rest."""
        self.__plan = plan
        self.__tracks = dict(tracks)
        self.__reconcile()

    def track_published(self, fanout: TrackFanout) -> None:
        self.__tracks[fanout.key] = fanout
        self.__reconcile()

    def track_unpublished(self, key: TrackKey) -> None:
        self.__tracks.pop(key, None)
        self.__stop(key, "unpublished")

    def __reconcile(self) -> None:
        if self.__stopped:
            return
        plan = self.__plan
        for key in list(self.__captures):
            fanout = self.__tracks.get(key)
            rule = None if plan is None else plan.rules.get(_publication(key))
            reason = "unpublished" if fanout is None else _stop_reason(rule, key.source)
            if reason is not None:
                self.__stop(key, reason)
        if plan is None:
            return
        for key, fanout in self.__tracks.items():
            if key in self.__captures or fanout.closed:
                continue
            if _stop_reason(plan.rules.get(_publication(key)), key.source) is None:
                self.__attach(key, fanout)

    def __attach(self, key: TrackKey, fanout: TrackFanout) -> None:
        capture = TrackCapture(
            self.paths,
            self.journal,
            fanout,
            self.__identities(key.publisher),
            track_id=f"{key.publisher}.{key.source}.{next(self.__numbers)}",
            segment_seconds=self.__segment_seconds,
            on_failure=self.__on_failure,
        )
        self.__captures[key] = capture
        fanout.add_sink(capture)

    def __stop(self, key: TrackKey, reason: str) -> None:
        capture = self.__captures.pop(key, None)
        if capture is None:
            return
        capture.detach()
        task = asyncio.get_running_loop().create_task(asyncio.to_thread(capture.finish, reason))
        self.__finishing.add(task)
        task.add_done_callback(self.__finishing.discard)

    def session_event(self, name: str, payload: Mapping[str, Any]) -> None:
        """Journal a domain event (its name and fields, as signalling passes them on);
        recording state changes become pause and resume entries."""
        if name == RECORDING_STATE_CHANGED:
            current, reason = payload.get("current"), str(payload.get("reason") or "")
            if current == RecordingState.PAUSED.value:
                self.journal.append("recording_paused", reason=reason or "paused")
            elif current == RecordingState.RECORDING.value:
                self.journal.append("recording_resumed", reason=reason or "resumed")
            return
        details = {str(k): _plain(v) for k, v in payload.items()}
        self.journal.append(
            "session_event", event=name, details=details, participant=details.get("participant_id")
        )

    def active_speaker(self, participant_id: str | None) -> None:
        self.journal.append(
            "session_event",
            event="active_speaker",
            details={"participant_id": participant_id},
            participant=participant_id,
        )

    async def stop(self, reason: str) -> None:
        """Close every capture and journal ``recording_stopped``."""
        self.__stopped = True
        for key in list(self.__captures):
            self.__stop(key, reason)
        while self.__finishing:
            await asyncio.gather(*tuple(self.__finishing))
        self.journal.append("recording_stopped", reason=reason)
        await asyncio.to_thread(self.journal.close)


def _publication(key: TrackKey) -> Publication:
    return Publication(ParticipantId(key.publisher), MediaSource(key.source))
