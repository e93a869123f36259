"""What each connection may see of a session: people taking part see everyone, people in the
lobby see only themselves and the session's state, staff monitors see everything.

A connection is given one whole view (in the welcome, a ``watch`` reply or a ``view`` reply);
after that each command's events come with only what changed in that connection's view since
the last message it was sent: a ``SessionPicture`` per connection and session remembers what
that was. Everyone whose view is the shared one shares the picture's objects, so a change is
found once per command, not once per connection.

A participant shielded by a screening is sent a projected copy of everything that concerns the
protected person (view, event, chat, media track descriptions): the domain's ``Disclosure``
says whom they may not identify and the pseudonym standing for them. Everyone else shares
the view built once per event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from rooms.disclosure import PROTECTED_PARTICIPANT, Disclosure, Pseudonyms
from rooms.ids import ParticipantId
from rooms.participants import Participant
from rooms.session import CourtSession
from rooms.states import TAKING_PART_STATES
from signaling.gateway import OutgoingTrack

LOBBY_EVENTS = frozenset({"session_state_changed"})
"""Events a person in the lobby receives besides those about themselves."""


def participant_entry(session: CourtSession, person: Participant) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "role": person.role.value,
        "state": person.state.value,
        "muted": person.muted,
        "locked": person.media_locked,
        "lock_in_force": person.lock_in_force,
        "hand": person.hand_raised,
        "floor": session.floor_holder == person.id,
        "point": person.point_id,
        "verified": person.identity_verified,
        "screen": person.screen_sharing,
        "consultation": person.consultation_room,
        "room_recorded": session.room_is_recorded(person),
    }


def protected_entry(
    session: CourtSession, person: Participant, disclosure: Disclosure
) -> dict[str, Any]:
    """A person the viewer may not identify: what they do in the hearing (present, speaking,
    holding the floor), never who they are or where they connect from."""
    return {
        "id": disclosure.participant(person.id),
        "name": PROTECTED_PARTICIPANT.vi,
        "protected": True,
        "role": None,
        "state": person.state.value,
        "muted": person.muted,
        "locked": person.media_locked,
        "lock_in_force": person.lock_in_force,
        "hand": person.hand_raised,
        "floor": session.floor_holder == person.id,
        "point": None,
        "verified": None,
        "screen": person.screen_sharing,
        "consultation": disclosure.room(person.consultation_room),
        "room_recorded": None,
    }


def session_brief(session: CourtSession) -> dict[str, Any]:
    """Enough for a waiting person: which session, and whether it is running."""
    if session.case is not None:
        title = session.case.title or session.case.number
    else:
        title = session.meeting.title if session.meeting is not None else ""
    return {
        "id": session.id,
        "kind": session.kind.value,
        "state": session.state.value,
        "title": title,
        "case_number": session.case.number if session.case is not None else None,
        "scheduled_start": session.scheduled_start.isoformat(),
    }


def session_full(session: CourtSession) -> dict[str, Any]:
    return {
        **session_brief(session),
        "recording": session.recording.value,
        "record_automatically": session.record_automatically,
        "floor_holder": session.floor_holder,
        "closed_hearing": session.is_closed_hearing,
        "points": [
            {"id": p.id, "name": p.name, "kind": p.kind.value} for p in session.points.values()
        ],
        "consultation_rooms": [
            {"id": room_id, "name": name} for room_id, name in session.consultation_rooms.items()
        ],
        "version": session.version,
    }


def takes_part(session: CourtSession, participant_id: str) -> bool:
    person = session.participants.get(ParticipantId(participant_id))
    return person is not None and person.state in TAKING_PART_STATES


Entry = dict[str, Any]
Changes = dict[str, Any]
"""``{session?: {field: value}, participants?: {id: entry | None}, you?: entry}``."""
ChangeMemo = dict[tuple[int, int], tuple[Any, Any, Any]]
"""Changes already found between two shared objects, for one command's messages."""
_NOBODY: Mapping[str, Entry] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SessionPicture:
    """What one connection was last given of one session, indexed for finding changes."""

    version: int
    """The session version the connection was last told (the ``version`` of its last message)."""
    session: Mapping[str, Any]
    participants: Mapping[str, Entry] | None
    """By (possibly pseudonymous) id; None in the lobby, where one sees nobody."""
    you: Entry | None
    """The viewer's own entry; None for a staff monitor."""

    def as_view(self) -> dict[str, Any]:
        """The whole view as the wire carries it."""
        view: dict[str, Any] = {"session": dict(self.session)}
        if self.participants is not None:
            view["participants"] = list(self.participants.values())
        if self.you is not None:
            view["you"] = self.you
        return view

    def changes_from(self, before: SessionPicture, memo: ChangeMemo) -> Changes:
        """What a client holding ``before`` must change to hold this; empty when nothing."""
        changes: Changes = {}
        session = _found(memo, before.session, self.session, _changed_fields)
        if session:
            changes["session"] = session
        people = _found(
            memo, before.participants or _NOBODY, self.participants or _NOBODY, _changed_entries
        )
        if people:
            changes["participants"] = people
        if self.you != before.you:
            changes["you"] = self.you
        return changes

    def told(self, version: int) -> SessionPicture:
        """The same picture, as a client still at ``version`` holds it (nothing was sent)."""
        return replace(self, version=version)


def _found(memo: ChangeMemo, before: Any, after: Any, find: Any) -> Any:
    """``find(before, after)``, once per pair of objects (the memo keeps both alive, so
    their ids stay theirs while it lasts)."""
    if before is after:
        return {}
    key = (id(before), id(after))
    if key not in memo:
        memo[key] = (before, after, find(before, after))
    return memo[key][2]


_ABSENT = object()


def _changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in after.items() if before.get(k, _ABSENT) != v}


def _changed_entries(
    before: Mapping[str, Entry], after: Mapping[str, Entry]
) -> dict[str, Entry | None]:
    changed: dict[str, Entry | None] = {
        pid: entry for pid, entry in after.items() if before.get(pid) != entry
    }
    changed.update((pid, None) for pid in before if pid not in after)
    return changed


@dataclass(frozen=True, slots=True)
class SharedPictures:
    """What every full viewer, and every waiting person, of one saved session share: built
    once per command's events, so their objects are shared and compared once."""

    monitor: SessionPicture
    brief: Mapping[str, Any]

    @classmethod
    def of(cls, session: CourtSession) -> SharedPictures:
        monitor = SessionPicture(
            session.version,
            session_full(session),
            {p.id: participant_entry(session, p) for p in session.participants.values()},
            None,
        )
        return cls(monitor, session_brief(session))


def participant_picture(
    session: CourtSession, participant_id: str, pseudonyms: Pseudonyms, shared: SharedPictures
) -> SessionPicture:
    """The whole picture while taking part; only one's own state in the lobby; a shielded
    participant gets their own projection."""
    me = session.participants[ParticipantId(participant_id)]
    you = participant_entry(session, me)
    if me.state not in TAKING_PART_STATES:
        return SessionPicture(session.version, shared.brief, None, you)
    disclosure = pseudonyms.disclosure(session, participant_id)
    if disclosure.full:
        return replace(shared.monitor, you=you)
    return disclosed_picture(session, disclosure, you)


def viewer_picture(
    session: CourtSession, participant_id: str | None, pseudonyms: Pseudonyms
) -> SessionPicture:
    """A whole picture for one viewer (a participant, or a monitor when ``participant_id`` is
    None): what a welcome, a ``watch`` or a ``view`` reply carries."""
    shared = SharedPictures.of(session)
    if participant_id is None:
        return shared.monitor
    return participant_picture(session, participant_id, pseudonyms, shared)


def disclosed_picture(session: CourtSession, disclosure: Disclosure, you: Entry) -> SessionPicture:
    """The monitor's picture with every hidden person pseudonymous, and the points and rooms
    that would say where they are left out."""
    full = session_full(session)
    full["floor_holder"] = disclosure.participant(session.floor_holder)
    full["points"] = [p for p in full["points"] if p["id"] not in disclosure.undisclosed_points]
    full["consultation_rooms"] = [
        room
        for room in full["consultation_rooms"]
        if room["id"] not in disclosure.undisclosed_rooms
    ]
    entries = (
        protected_entry(session, p, disclosure)
        if disclosure.hides(p.id)
        else participant_entry(session, p)
        for p in session.participants.values()
    )
    return SessionPicture(session.version, full, {e["id"]: e for e in entries}, you)


def participant_event(
    session: CourtSession, participant_id: str, event: dict[str, Any], pseudonyms: Pseudonyms
) -> dict[str, Any]:
    """A domain event as this participant may read it (the same object when nothing is
    hidden from them)."""
    disclosure = pseudonyms.disclosure(session, participant_id)
    if disclosure.full:
        return event
    return {
        **event,
        "actor": disclosure.participant(event.get("actor")),
        "payload": disclosure.payload(event.get("payload") or {}),
    }


def participant_as_seen(
    session: CourtSession, viewer_id: str, participant_id: str | None, pseudonyms: Pseudonyms
) -> str | None:
    """One participant's id as this viewer may read it (a pseudonym if they may not)."""
    return pseudonyms.disclosure(session, viewer_id).participant(participant_id)


def chat_deliveries(
    session: CourtSession,
    message: dict[str, Any],
    recipients: Iterable[ParticipantId],
    pseudonyms: Pseudonyms,
) -> list[tuple[dict[str, Any], list[ParticipantId]]]:
    """Who receives which copy of a chat message: one for everyone who may identify its
    sender and addressee, a pseudonymous one for each person a screening shields from them."""
    plain: list[ParticipantId] = []
    deliveries: list[tuple[dict[str, Any], list[ParticipantId]]] = []
    for pid in recipients:
        disclosure = pseudonyms.disclosure(session, pid)
        if disclosure.hides(message["from"]["id"]) or disclosure.hides(message["to"]):
            deliveries.append((disclosed_chat(message, disclosure), [pid]))
        else:
            plain.append(pid)
    return [(message, plain), *deliveries] if plain else deliveries


def disclosed_chat(message: dict[str, Any], disclosure: Disclosure) -> dict[str, Any]:
    sender = message["from"]
    if disclosure.hides(sender["id"]):
        sender = {
            "id": disclosure.participant(sender["id"]),
            "name": PROTECTED_PARTICIPANT.vi,
            "role": None,
            "protected": True,
        }
    return {
        **message,
        "from": sender,
        "to": disclosure.participant(message["to"]),
        "room": disclosure.room(message.get("room")),
    }


def offered_tracks(
    session: CourtSession,
    participant_id: str,
    tracks: Mapping[str, OutgoingTrack | None],
    pseudonyms: Pseudonyms,
) -> dict[str, dict[str, str | None] | None]:
    """What each m-line of a server offer carries, named as the receiver may know it."""
    disclosure = pseudonyms.disclosure(session, participant_id)
    return {
        mid: None
        if t is None
        else {"publisher": disclosure.participant(t.publisher), "source": t.source}
        for mid, t in tracks.items()
    }


def lobby_may_see(event: dict[str, Any], participant_id: str) -> bool:
    """A waiting person learns about the session and about themselves, nobody else."""
    if event.get("name") in LOBBY_EVENTS:
        return True
    payload = event.get("payload") or {}
    return bool(payload.get("participant_id") == participant_id)
