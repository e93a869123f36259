"""Broadcasting: the bus messages of one command become one message to each connection of
this process, with the events it may see and what changed in its own view (not the whole
view: a meeting's admissions would send everyone everyone, for every admission); server
offers reach their participant, and an ended credential closes what it holds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Mapping
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
    ChangeMemo,
    SharedPictures,
    lobby_may_see,
    offered_tracks,
    participant_event,
    participant_picture,
    takes_part,
)

TERMINAL_PARTICIPANT_STATES = frozenset({"left", "removed", "denied"})

logger = logging.getLogger(__name__)


class Broadcaster:
    def __init__(self, edge: Edge, connections: ConnectionHandling) -> None:
        self._edge = edge
        self._connections = connections
        self._latest: dict[str, tuple[CourtSession, SharedPictures]] = {}
        self._pending: dict[tuple[str, object], list[Mapping[str, Any]]] = {}
        """A command's events heard so far, until its last one (by session and version)."""

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
        key = (str(message.get("session_id", "")), message.get("version"))
        batch = self._pending.setdefault(key, [])
        batch.append(message)
        if message.get("last", True):
            del self._pending[key]
            await self._on_command_events(key[0], key[1], batch)

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

    async def _on_command_events(
        self, session_id: str, version: object, batch: list[Mapping[str, Any]]
    ) -> None:
        edge = self._edge
        if edge.closing or not edge.registry.has_session(session_id):
            self._latest.pop(session_id, None)
            return
        try:
            session, shared = await self._latest_state(session_id, version)
        except NotFound:
            return
        if any(message.get("affects_media") for message in batch):
            await edge.gateway.apply_plan(session_id, session.forwarding_plan())
        events = [
            {
                "name": message.get("name"),
                "actor": message.get("actor"),
                "payload": message.get("payload") or {},
            }
            for message in batch
        ]
        try:
            await edge.gateway.session_changed(session, events)
        except Exception:  # the recorder must never stop the hearing's own messages
            logger.exception("recorder did not follow session %s", session_id)
        memo: ChangeMemo = {}
        sends: list[Awaitable[None]] = []
        for connection in edge.registry.in_session(session_id):
            before = connection.pictures.get(SessionId(session_id))
            if not connection.ready or before is None:
                continue
            if isinstance(version, int) and before.version >= version:
                continue  # its whole view was built after these events
            if connection.sender is p.Sender.MONITOR:
                picture, seen = shared.monitor, events
            else:
                pid = connection.participant_id or ""
                if pid not in session.participants:
                    continue
                picture = participant_picture(session, pid, edge.pseudonyms, shared)
                seen = [
                    participant_event(session, pid, event, edge.pseudonyms)
                    for event in events
                    if takes_part(session, pid) or lobby_may_see(event, pid)
                ]
            changes = picture.changes_from(before, memo)
            if not seen and not changes:
                connection.pictures[SessionId(session_id)] = picture.told(before.version)
                continue
            connection.pictures[SessionId(session_id)] = picture
            body: dict[str, Any] = {
                "session_id": session_id,
                "events": seen,
                "since": before.version,
                "version": picture.version,
            }
            if None in (changes.get("participants") or {}).values():
                # Someone leaves this view (a screening renames them): naming the id that
                # goes would name them, so the whole view replaces the one held.
                body["view"] = picture.as_view()
            else:
                body["changes"] = changes
            sends.append(edge.emit(connection.sid, "session_event", body))
        # Side by side: one at a time, each send would wait a turn of a loop busy with media.
        await asyncio.gather(*sends)
        for event in events:
            await self._after_event(session, event)

    async def _latest_state(
        self, session_id: str, version: object
    ) -> tuple[CourtSession, SharedPictures]:
        """The session as saved by the command, and the pictures the viewers share."""
        cached = self._latest.get(session_id)
        if cached is not None and isinstance(version, int) and cached[0].version >= version:
            return cached
        service = self._edge.service
        saved = (
            service.saved.at_least(SessionId(session_id), version)
            if isinstance(version, int)
            else None
        )
        # A command of this process saved it a moment ago: no second load.
        session = saved or await service.session(Actor.system(), SessionId(session_id))
        latest = (session, SharedPictures.of(session))
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
