"""Past-tense facts the domain records; edges react to them, the audit log keeps them."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from rooms.ids import ConsultationRoomId, ParticipantId, PointId, SessionId
from rooms.text import Text

PARTICIPANT_FIELDS = frozenset({"actor", "participant_id", "holder", "protected", "hidden_from"})
"""Payload fields that hold a participant id (``actor`` may also be staff or ``system``): what a
screening replaces with a pseudonym before an event reaches the person it shields."""
SUBJECT_FIELDS = frozenset({"participant_id", "protected"})
"""The field naming whom an event is about."""
SUBJECT_DETAIL_FIELDS = frozenset({"role", "point_id", "room_id", "room_name", "reason"})
"""What an event says about its subject that could identify them, withheld with the name: a
participant's ``reason`` can be the private room's name or "court member"."""


@dataclass(frozen=True, kw_only=True)
class Event:
    session_id: SessionId
    actor: str
    """Who caused it: a participant id, ``staff:<user id>`` or ``system``."""

    @property
    def name(self) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()

    def payload(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: sorted(v) if isinstance(v, frozenset) else v for k, v in data.items()}

    @property
    def affects_media(self) -> bool:
        """Whether forwarding decisions may change: the media layer re-reads the rules."""
        return False


@dataclass(frozen=True, kw_only=True)
class SessionScheduled(Event):
    kind: str


@dataclass(frozen=True, kw_only=True)
class SessionDetailsChanged(Event):
    fields: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class SessionStateChanged(Event):
    previous: str
    current: str
    reason: str = ""

    @property
    def affects_media(self) -> bool:
        return True


@dataclass(frozen=True, kw_only=True)
class PointAdded(Event):
    point_id: PointId
    point_name: str
    """Not ``name``: that is every event's own name (a property of ``Event``)."""
    point_kind: str


@dataclass(frozen=True, kw_only=True)
class ParticipantAdded(Event):
    participant_id: ParticipantId
    role: str
    point_id: PointId


@dataclass(frozen=True, kw_only=True)
class ParticipantStateChanged(Event):
    participant_id: ParticipantId
    previous: str
    current: str
    reason: str = ""

    @property
    def affects_media(self) -> bool:
        return True


@dataclass(frozen=True, kw_only=True)
class IdentityVerified(Event):
    participant_id: ParticipantId


@dataclass(frozen=True, kw_only=True)
class MediaControlChanged(Event):
    participant_id: ParticipantId
    muted: bool
    locked: bool

    @property
    def affects_media(self) -> bool:
        return True


@dataclass(frozen=True, kw_only=True)
class FloorChanged(Event):
    holder: ParticipantId | None


@dataclass(frozen=True, kw_only=True)
class HandChanged(Event):
    participant_id: ParticipantId
    raised: bool


@dataclass(frozen=True, kw_only=True)
class ConsultationChanged(Event):
    participant_id: ParticipantId
    room_id: ConsultationRoomId | None
    room_name: str = ""

    @property
    def affects_media(self) -> bool:
        return True


@dataclass(frozen=True, kw_only=True)
class RecordingStateChanged(Event):
    previous: str
    current: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class RecordingNotStarted(Event):
    """Recording was to start by itself and could not (e.g. no recorder on this server,
    too little free space): the session started, or resumed, all the same."""

    reason: str
    """When: ``automatic`` (the hearing's start) or ``resumed`` (the end of a suspension
    that had paused it; the recording stays paused)."""
    rule: str
    message: Text
    """Why, in words the court reads."""


@dataclass(frozen=True, kw_only=True)
class ScreeningChanged(Event):
    protected: ParticipantId
    hidden_from: ParticipantId
    active: bool
    audio: bool

    @property
    def affects_media(self) -> bool:
        return True


@dataclass(frozen=True, kw_only=True)
class ScreenShareChanged(Event):
    participant_id: ParticipantId
    sharing: bool

    @property
    def affects_media(self) -> bool:
        return True
