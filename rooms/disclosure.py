"""What one participant may know of the others: a screened person is not identified to whom
they are screened from.

A screening (``Screening``) withholds the protected person's picture (and voice, if so
decided) from one participant; ``CourtSession.may_identify`` says that it withholds who they
are as well. This module turns that answer into what a shielded viewer is told instead: a
pseudonym standing for the person (stable for that viewer, opaque, not their participant id),
the label "protected participant", and nothing that points at them (role, connection point,
identity check, the private room they are in). Edges project every view, event, chat message
and media track description through the viewer's ``Disclosure``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rooms.events import PARTICIPANT_FIELDS, SUBJECT_DETAIL_FIELDS, SUBJECT_FIELDS
from rooms.ids import ConsultationRoomId, ParticipantId, PointId
from rooms.session import CourtSession
from rooms.text import Text

__all__ = [
    "PROTECTED_PARTICIPANT",
    "PSEUDONYM_PREFIX",
    "UNDISCLOSED_ROOM",
    "Disclosure",
    "Pseudonyms",
]

PROTECTED_PARTICIPANT = Text("Người tham gia được bảo vệ", "Protected participant")
PSEUDONYM_PREFIX = "protected-"
UNDISCLOSED_ROOM = ConsultationRoomId("undisclosed")
"""Where a protected person is, to a viewer outside that private room: somewhere else."""


@dataclass(frozen=True, slots=True)
class Disclosure:
    """What one viewer may know of a session's people.

    ``hidden`` maps every person the viewer may not identify to the pseudonym standing for
    them; it is empty for nearly everyone (``full``), and then nothing needs projecting."""

    viewer: ParticipantId
    viewer_room: ConsultationRoomId | None = None
    hidden: Mapping[ParticipantId, str] = field(default_factory=dict)
    undisclosed_points: frozenset[PointId] = frozenset()
    """Points where only hidden people connect from: their names would say where they are."""
    undisclosed_rooms: frozenset[ConsultationRoomId] = frozenset()
    """Private rooms a hidden person is in, other than the viewer's own."""

    @property
    def full(self) -> bool:
        return not self.hidden

    def hides(self, participant_id: str | None) -> bool:
        return participant_id is not None and ParticipantId(participant_id) in self.hidden

    def participant(self, participant_id: str | None) -> str | None:
        """A participant id (or an event's actor) as this viewer may read it."""
        if participant_id is None:
            return None
        return self.hidden.get(ParticipantId(participant_id), participant_id)

    def room(self, room: ConsultationRoomId | None) -> ConsultationRoomId | None:
        """Where a hidden person is: their room only if it is the viewer's own."""
        return room if room is None or room == self.viewer_room else UNDISCLOSED_ROOM

    def payload(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """An event's payload with every hidden person replaced by their pseudonym, and the
        details that would point at them (role, point, room) left out."""
        disclosed = dict(payload)
        if self.full:
            return disclosed
        about_hidden = any(self.hides(payload.get(name)) for name in SUBJECT_FIELDS)
        for name, value in payload.items():
            if name in PARTICIPANT_FIELDS and isinstance(value, str):
                disclosed[name] = self.participant(value)
            elif about_hidden and name in SUBJECT_DETAIL_FIELDS:
                disclosed[name] = None
        return disclosed


class Pseudonyms:
    """Stable opaque ids for the people a viewer may not identify.

    Keyed with a server secret: a viewer who knows every participant id of the session (they
    were listed before the screening) still cannot work out which one a pseudonym stands for.
    The same viewer gets the same pseudonym on every message and every reconnection, so the
    page can keep one tile for the protected person; another viewer gets another."""

    def __init__(self, secret: str) -> None:
        self.__key = hmac.new(secret.encode(), b"screening pseudonyms", hashlib.sha256).digest()

    def of(self, session: CourtSession, viewer_id: str, subject_id: str) -> str:
        message = "\x1f".join((session.id, viewer_id, subject_id)).encode()
        digest = hmac.new(self.__key, message, hashlib.sha256).hexdigest()
        return PSEUDONYM_PREFIX + digest[:24]

    def disclosure(self, session: CourtSession, viewer_id: str) -> Disclosure:
        viewer = ParticipantId(viewer_id)
        unidentifiable = session.unidentifiable_to(viewer)
        if not unidentifiable:
            return Disclosure(viewer)
        me = session.participants.get(viewer)
        viewer_room = me.consultation_room if me is not None else None
        hidden = {pid: self.of(session, viewer, pid) for pid in sorted(unidentifiable)}
        people = session.participants.values()
        seen_points = {p.point_id for p in people if p.id not in unidentifiable}
        hidden_points = {p.point_id for p in people if p.id in unidentifiable}
        hidden_rooms = {
            p.consultation_room
            for p in people
            if p.id in unidentifiable
            and p.consultation_room is not None
            and p.consultation_room != viewer_room
        }
        return Disclosure(
            viewer,
            viewer_room,
            hidden,
            frozenset(hidden_points - seen_points),
            frozenset(hidden_rooms),
        )
