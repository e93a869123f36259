"""What each connection may see of a session: people taking part see everyone, people in the
lobby see only themselves and the session's state, staff monitors see everything.

Views are rebuilt from the saved session after every event, so a client that missed a
message is corrected by the next one.

A participant shielded by a screening is sent a projected copy of everything that concerns the
protected person (view, event, chat, media track descriptions): the domain's ``Disclosure``
says whom they may not identify and the pseudonym standing for them. Everyone else shares
the view built once per event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
        "hand": person.hand_raised,
        "floor": session.floor_holder == person.id,
        "point": person.point_id,
        "verified": person.identity_verified,
        "screen": person.screen_sharing,
        "consultation": person.consultation_room,
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
        "hand": person.hand_raised,
        "floor": session.floor_holder == person.id,
        "point": None,
        "verified": None,
        "screen": person.screen_sharing,
        "consultation": disclosure.room(person.consultation_room),
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


def participant_view(
    session: CourtSession,
    participant_id: str,
    pseudonyms: Pseudonyms,
    shared: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole picture while taking part; only one's own state in the lobby.

    ``shared`` is ``monitor_view(session)`` when the caller already built it (one event goes
    to everyone in a session: the common part is built once); a shielded participant gets
    their own projection instead."""
    me = session.participants[ParticipantId(participant_id)]
    you = participant_entry(session, me)
    if me.state not in TAKING_PART_STATES:
        return {"session": session_brief(session), "you": you}
    disclosure = pseudonyms.disclosure(session, participant_id)
    if disclosure.full:
        return {**(shared or monitor_view(session)), "you": you}
    return {**disclosed_view(session, disclosure), "you": you}


def disclosed_view(session: CourtSession, disclosure: Disclosure) -> dict[str, Any]:
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
    return {
        "session": full,
        "participants": [
            protected_entry(session, p, disclosure)
            if disclosure.hides(p.id)
            else participant_entry(session, p)
            for p in session.participants.values()
        ],
    }


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
    return {**message, "from": sender, "to": disclosure.participant(message["to"])}


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


def monitor_view(session: CourtSession) -> dict[str, Any]:
    return {
        "session": session_full(session),
        "participants": [participant_entry(session, p) for p in session.participants.values()],
    }


def lobby_may_see(event: dict[str, Any], participant_id: str) -> bool:
    """A waiting person learns about the session and about themselves, nobody else."""
    if event.get("name") in LOBBY_EVENTS:
        return True
    payload = event.get("payload") or {}
    return bool(payload.get("participant_id") == participant_id)
