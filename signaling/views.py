"""What each connection may see of a session: people taking part see everyone, people in the
lobby see only themselves and the session's state, staff monitors see everything.

Views are rebuilt from the saved session after every event, so a client that missed a
message is corrected by the next one.
"""

from __future__ import annotations

from typing import Any

from rooms.ids import ParticipantId
from rooms.participants import Participant
from rooms.session import CourtSession
from rooms.states import TAKING_PART_STATES

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
    session: CourtSession, participant_id: str, shared: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The whole picture while taking part; only one's own state in the lobby.

    ``shared`` is ``monitor_view(session)`` when the caller already built it (one event goes
    to everyone in a session: the common part is built once)."""
    me = session.participants[ParticipantId(participant_id)]
    you = participant_entry(session, me)
    if me.state not in TAKING_PART_STATES:
        return {"session": session_brief(session), "you": you}
    return {**(shared or monitor_view(session)), "you": you}


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
