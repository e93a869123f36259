"""Broadcasting: a bus message becomes what each connection of this process may see (a
session event with the person's own view), server offers reach their participant, and an
ended credential closes what it holds."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from hearing_server.bus import CREDENTIAL_ENDED
from rooms.errors import NotFound
from rooms.ids import SessionId
from rooms.participants import Actor
from rooms.session import CourtSession
from rooms.states import ENDED_SESSION_STATES
from signaling import protocol as p
from signaling.connecting import ConnectionHandling
from signaling.edge import Edge, participant_room
from signaling.gateway import MediaRefused, OutgoingTrack
from signaling.handlers import RETIRE_GRACE_SECONDS
from signaling.speaking import ACTIVE_SPEAKER, active_speaker_message, tell_active_speaker
from signaling.views import (
    lobby_may_see,
    monitor_view,
    offered_tracks,
    participant_event,
    participant_view,
    takes_part,
)

TERMINAL_PARTICIPANT_STATES = frozenset({"left", "removed", "denied"})


class Broadcaster:
    def __init__(self, edge: Edge, connections: ConnectionHandling) -> None:
        self._edge = edge
        self._connections = connections
        self._latest: dict[str, tuple[CourtSession, dict[str, Any]]] = {}

    async def on_bus_message(self, message: Mapping[str, Any]) -> None:
        """Every process hears every message and serves its own connections (hence emits here
        never go through the socket.io queue)."""
        if message.get("name") == CREDENTIAL_ENDED:
            await self._connections.end_credential(
                str(message.get("kind")), str(message.get("id")), str(message.get("reason"))
            )
            return
        if message.get("name") == ACTIVE_SPEAKER:
            await self._tell_active_speaker(message)
            return
        await self._on_session_event(message)

    async def announce_active_speaker(self, session_id: str, participant_id: str | None) -> None:
        """Given to the gateway: every process tells its own connections of the session."""
        await self._edge.service.bus.announce(active_speaker_message(session_id, participant_id))

    async def _tell_active_speaker(self, message: Mapping[str, Any]) -> None:
        session_id = str(message.get("session_id", ""))
        if self._edge.closing or not self._edge.registry.has_session(session_id):
            return
        speaker = message.get("participant_id")
        with contextlib.suppress(NotFound):
            session = await self._session(session_id)
            await tell_active_speaker(
                self._edge, session, None if speaker is None else str(speaker)
            )

    async def _on_session_event(self, message: Mapping[str, Any]) -> None:
        edge = self._edge
        session_id = str(message.get("session_id", ""))
        if edge.closing or not edge.registry.has_session(session_id):
            self._latest.pop(session_id, None)
            return
        try:
            session, shared = await self._latest_state(session_id, message.get("version"))
        except NotFound:
            return
        if message.get("affects_media"):
            await edge.gateway.apply_plan(session_id, session.forwarding_plan())
        event = {
            "name": message.get("name"),
            "actor": message.get("actor"),
            "payload": message.get("payload") or {},
        }
        for connection in edge.registry.in_session(session_id):
            if not connection.ready:
                continue
            if connection.sender is p.Sender.MONITOR:
                view, seen = shared, event
            else:
                pid = connection.participant_id or ""
                if pid not in session.participants:
                    continue
                if not takes_part(session, pid) and not lobby_may_see(event, pid):
                    continue
                view = participant_view(session, pid, edge.pseudonyms, shared)
                seen = participant_event(session, pid, event, edge.pseudonyms)
            body = {"session_id": session_id, "event": seen, "view": view}
            await edge.emit(connection.sid, "session_event", body)
        await self._after_event(session, event)

    async def _latest_state(
        self, session_id: str, version: object
    ) -> tuple[CourtSession, dict[str, Any]]:
        """The session as saved by the event's command, and the view everyone taking part
        shares; loaded once for all the events of one command (they carry one version)."""
        cached = self._latest.get(session_id)
        if cached is not None and isinstance(version, int) and cached[0].version >= version:
            return cached
        session = await self._edge.service.session(Actor.system(), SessionId(session_id))
        latest = (session, monitor_view(session))
        self._latest[session_id] = latest
        return latest

    async def _after_event(self, session: CourtSession, event: Mapping[str, Any]) -> None:
        """People who are out (left, removed, denied, session ended) are let go."""
        edge = self._edge
        payload = event["payload"]
        if event["name"] == "participant_state_changed":
            if payload.get("current") in TERMINAL_PARTICIPANT_STATES:
                pid = str(payload.get("participant_id"))
                connection = edge.registry.participant(session.id, pid)
                if connection is not None and not connection.departed:
                    await edge.gateway.leave(session.id, pid)
                    reason = f"participant.{payload['current']}"
                    self._connections.retire(connection, reason, RETIRE_GRACE_SECONDS)
        elif event["name"] == "screening_changed":
            await self._describe_tracks_again(session.id, str(payload.get("hidden_from")))
        elif event["name"] == "session_state_changed" and session.state in ENDED_SESSION_STATES:
            for connection in edge.registry.in_session(session.id):
                if connection.sender is p.Sender.PARTICIPANT and not connection.departed:
                    await edge.gateway.leave(session.id, connection.participant_id or "")
                    reason = f"session.{session.state.value}"
                    self._connections.retire(connection, reason, RETIRE_GRACE_SECONDS)

    async def send_server_offer(
        self,
        session_id: str,
        participant_id: str,
        sdp: str,
        tracks: Mapping[str, OutgoingTrack | None],
    ) -> None:
        """Given to the gateway: a server offer reaches the participant on any process."""
        session = await self._session(session_id)
        body = {
            "type": "offer",
            "sdp": sdp,
            "tracks": offered_tracks(session, participant_id, tracks, self._edge.pseudonyms),
        }
        await self._edge.sio.emit("offer", body, to=participant_room(session_id, participant_id))

    async def _session(self, session_id: str) -> CourtSession:
        """The session as the last event left it, loaded only if no event was seen yet."""
        cached = self._latest.get(session_id)
        if cached is not None:
            return cached[0]
        return await self._edge.service.session(Actor.system(), SessionId(session_id))

    async def _describe_tracks_again(self, session_id: str, participant_id: str) -> None:
        """A screening changes whose tracks a participant may be told they receive: a fresh
        server offer names them anew (no media yet: nothing to describe)."""
        with contextlib.suppress(MediaRefused):
            await self._edge.gateway.renegotiate(session_id, participant_id)
