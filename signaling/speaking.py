"""The active speaker, as each connection of a session may be told it.

The forwarder decides who speaks from the audio levels on the publishers' packets
(``signaling.media.active_speaker``); the change travels on the bus, because a monitor of
the session may be connected to another process, and each process tells its own
connections: staff monitors the participant id, a participant taking part the id as they
know it (a pseudonym for a protected person), and nobody a speaker whose voice the plan
does not forward to them (a private consultation, a screening that withholds the voice).
"""

from __future__ import annotations

from typing import Any

from rooms.forwarding import ForwardingPlan
from rooms.ids import ParticipantId
from rooms.media import MediaSource
from rooms.session import CourtSession
from signaling import protocol as p
from signaling.edge import Edge
from signaling.views import participant_as_seen, takes_part

__all__ = ["ACTIVE_SPEAKER", "active_speaker_message", "tell_active_speaker"]

ACTIVE_SPEAKER = "active_speaker"
"""The bus message and the socket.io event (``{session_id, participant_id | null}``)."""


def active_speaker_message(session_id: str, participant_id: str | None) -> dict[str, Any]:
    return {"name": ACTIVE_SPEAKER, "session_id": session_id, "participant_id": participant_id}


def heard_speaker(plan: ForwardingPlan, viewer_id: str, speaker: str | None) -> str | None:
    """The speaker if the viewer is sent their voice (or is the speaker), else nobody."""
    if speaker is None or speaker == viewer_id:
        return speaker
    heard = plan.may_receive(
        ParticipantId(viewer_id), ParticipantId(speaker), MediaSource.MICROPHONE
    )
    return speaker if heard else None


async def tell_active_speaker(edge: Edge, session: CourtSession, speaker: str | None) -> None:
    """Emit ``active_speaker`` to every ready connection of the session on this process."""
    plan: ForwardingPlan | None = None
    for connection in edge.registry.in_session(session.id):
        if not connection.ready:
            continue
        if connection.sender is p.Sender.MONITOR:
            seen = speaker
        else:
            viewer = connection.participant_id or ""
            if not takes_part(session, viewer):
                continue
            plan = plan or session.forwarding_plan()
            seen = participant_as_seen(
                session, viewer, heard_speaker(plan, viewer, speaker), edge.pseudonyms
            )
        body = {"session_id": session.id, "participant_id": seen}
        await edge.emit(connection.sid, ACTIVE_SPEAKER, body)
