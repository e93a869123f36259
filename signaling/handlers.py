"""What each client event does once the dispatcher has validated it: one call on the service
(or the media gateway, or the monitoring), never a permission the domain owns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rooms.alerts import AlertKind
from rooms.errors import DomainError, PolicyViolation
from rooms.ids import ParticipantId, SessionId, new_id
from rooms.participants import Actor
from rooms.permissions import ensure_staff_in_court
from rooms.session import CourtSession
from rooms.text import Text
from signaling import protocol as p
from signaling.chat import recipients
from signaling.commands import COMMANDS, Command, Resume, Start, StartRecording, result_of
from signaling.connecting import ConnectionHandling
from signaling.connections import Connection
from signaling.dispatch import Audited, Handler, Refusals
from signaling.edge import Edge, participant_room
from signaling.gateway import IceCandidateInfo
from signaling.monitoring import monitor_room
from signaling.views import chat_deliveries, viewer_picture

RETIRE_GRACE_SECONDS = 0.5
"""Time a departing client gets to receive its last messages before the server closes it."""


def participant_of(connection: Connection) -> tuple[SessionId, Actor]:
    """The participant's session and actor; a connection that is going takes no more."""
    if connection.departed or connection.closing or connection.session_id is None:
        raise p.left()
    return connection.session_id, connection.actor


DEVICE_NAMES = {
    "camera": Text("camera", "camera"),
    "microphone": Text("micro", "microphone"),
    "speaker": Text("loa", "speaker"),
    "network": Text("mạng", "network"),
}
DEVICE_STATES = {
    "denied": Text("bị chặn quyền truy cập", "access denied"),
    "missing": Text("không tìm thấy", "not found"),
    "failed": Text("không hoạt động", "not working"),
    "poor": Text("kém", "poor"),
}
"""How a failed device check reads in the IT staff's alert."""


class EventHandlers:
    def __init__(self, edge: Edge, refusals: Refusals, connections: ConnectionHandling) -> None:
        self._edge = edge
        self._refusals = refusals
        self._connections = connections

    def table(self) -> dict[str, Handler]:
        """Every client event's handler; ``protocol.CLIENT_EVENTS`` names the same events."""
        return {
            **{name: self._command(command) for name, command in COMMANDS.items()},
            "leave": self._leave,
            "chat": self._chat,
            "offer": self._offer,
            "answer": self._answer,
            "ice_candidate": self._ice_candidate,
            "renegotiate": self._renegotiate,
            "device_check": self._device_check,
            "view": self._view,
            "watch": self._watch,
            "unwatch": self._unwatch,
            "acknowledge_alert": self._acknowledge_alert,
            "ping": self._ping,
        }

    async def _execute(
        self,
        actor: Actor,
        session_id: SessionId,
        action: str,
        command: Callable[[CourtSession], object],
        detail: dict[str, Any],
    ) -> object:
        try:
            return await self._edge.service.execute(actor, session_id, action, command, detail)
        except DomainError as error:
            raise Audited(error) from None

    def _command(self, command: type[Command]) -> Handler:
        async def handle(connection: Connection, payload: p.Payload) -> dict[str, Any]:
            session_id, actor = participant_of(connection)
            given = command.from_payload(actor, payload)
            apply: Callable[[CourtSession], object] = given.apply
            if isinstance(given, StartRecording):
                apply = self._recordable(given)
            elif isinstance(given, Start | Resume):
                apply = self._starting(given)
            result = await self._execute(
                actor, session_id, given.audit_action, apply, given.audit_detail()
            )
            return result_of(result)

        return handle

    def _recordable(self, given: StartRecording) -> Callable[[CourtSession], object]:
        """Recording starts only where it can be written: a server with a recorder and
        enough free space; otherwise a refusal, audited like the domain's own."""

        def apply(session: CourtSession) -> None:
            refusal = self._edge.gateway.recording_refusal()
            if refusal is not None:
                raise PolicyViolation("recording.unavailable", refusal)
            given.apply(session)

        return apply

    def _starting(self, given: Start | Resume) -> Callable[[CourtSession], object]:
        """A start or resumption that would set recording going (a hearing that records
        from its start, a recording its suspension paused) is told, inside the command,
        whether this server can record: if not, the session goes on unrecorded and the
        court reads why."""

        def apply(session: CourtSession) -> None:
            refusal = None
            if session.record_automatically or session.recording_paused_by_suspension:
                refusal = self._edge.gateway.recording_refusal()
            given.apply(session, refusal)

        return apply

    async def _leave(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        session_id, actor = participant_of(connection)
        participant_id = ParticipantId(actor.id)
        await self._execute(
            actor, session_id, "participant.leave", lambda s: s.leave(participant_id), {}
        )
        # The bus event already retired the connection; this covers a remote-only bus.
        if not connection.departed:
            await self._edge.gateway.leave(session_id, participant_id)
            self._connections.retire(connection, "participant.left", RETIRE_GRACE_SECONDS)
        return {}

    async def _chat(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        assert isinstance(payload, p.Chat)
        session_id, actor = participant_of(connection)
        service = self._edge.service
        session = await service.session(Actor.system(), session_id)
        detail: dict[str, Any] = {"to": payload.to, "length": len(payload.text)}
        if payload.room:
            detail["room"] = True
        try:
            to = recipients(session, actor.id, payload.to, payload.room)
        except DomainError as error:
            await self._refusals.audit(actor, "chat.message", session_id, error, detail)
            raise Audited(error) from None
        sender = session.participants[ParticipantId(actor.id)]
        message = {
            "id": new_id(),
            "session_id": session_id,
            "from": {"id": sender.id, "name": sender.name, "role": sender.role.value},
            "to": payload.to,
            "room": sender.consultation_room if payload.room else None,
            "text": payload.text,
            "at": service.clock().isoformat(),
        }
        await service.audit_edge(
            actor,
            "chat.message",
            session_id,
            "accepted",
            {**detail, "id": message["id"], "recipients": len(to)},
        )
        for body, readers in chat_deliveries(session, message, to, self._edge.pseudonyms):
            rooms = [participant_room(session_id, pid) for pid in readers]
            await self._edge.sio.emit("chat", body, to=rooms)
        return {"id": message["id"]}

    async def _offer(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        assert isinstance(payload, p.Offer)
        session_id, actor = participant_of(connection)
        session = await self._edge.service.session(Actor.system(), session_id)
        answer = await self._edge.gateway.offer(
            session_id, actor.id, payload.sdp, dict(payload.sources), session.forwarding_plan()
        )
        return {"answer": {"type": "answer", "sdp": answer}}

    async def _answer(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        assert isinstance(payload, p.Answer)
        session_id, actor = participant_of(connection)
        await self._edge.gateway.answer(session_id, actor.id, payload.sdp)
        return {}

    async def _ice_candidate(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        assert isinstance(payload, p.IceCandidate)
        session_id, actor = participant_of(connection)
        candidate = IceCandidateInfo(
            payload.candidate or None, payload.sdp_mid, payload.sdp_mline_index
        )
        await self._edge.gateway.ice_candidate(session_id, actor.id, candidate)
        return {}

    async def _renegotiate(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        session_id, actor = participant_of(connection)
        await self._edge.gateway.renegotiate(session_id, actor.id)
        return {}

    async def _watch(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        assert isinstance(payload, p.Watch)
        if connection.closing:
            raise p.left()
        session_id = SessionId(payload.session_id)
        detail = {"watch": session_id}
        service = self._edge.service
        try:
            session = await service.session(Actor.system(), session_id)
            ensure_staff_in_court(connection.actor, session.court_id)
        except DomainError as error:
            await self._refusals.audit(connection.actor, "monitor.watch", session_id, error, detail)
            raise Audited(error) from None
        picture = viewer_picture(session, None, self._edge.pseudonyms)
        connection.pictures[session_id] = picture
        self._edge.registry.watch(connection, session_id)
        await self._edge.sio.enter_room(connection.sid, monitor_room(session_id))
        await service.audit_edge(connection.actor, "monitor.watch", session_id, "accepted", detail)
        monitoring = self._edge.monitoring
        return {
            "view": picture.as_view(),
            "version": picture.version,
            "alerts": await monitoring.open_alerts(session_id),
            "quality": monitoring.quality(session_id),
        }

    async def _view(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        """The whole view again, for a client that saw a gap in the versions; the next
        changes are found against it."""
        assert isinstance(payload, p.ViewRequest)
        if connection.closing or connection.departed:
            raise p.left()
        if connection.session_id is not None:
            session_id, participant_id = connection.session_id, connection.participant_id
        elif payload.session_id is not None and payload.session_id in connection.watching:
            session_id, participant_id = SessionId(payload.session_id), None
        else:
            raise p.not_watching()
        session = await self._edge.service.session(Actor.system(), session_id)
        picture = viewer_picture(session, participant_id, self._edge.pseudonyms)
        connection.pictures[session_id] = picture
        return {"session_id": session_id, "view": picture.as_view(), "version": picture.version}

    async def _unwatch(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        assert isinstance(payload, p.Watch)
        self._edge.registry.unwatch(connection, SessionId(payload.session_id))
        await self._edge.sio.leave_room(connection.sid, monitor_room(payload.session_id))
        return {}

    async def _acknowledge_alert(
        self, connection: Connection, payload: p.Payload
    ) -> dict[str, Any]:
        assert isinstance(payload, p.AcknowledgeAlert)
        if connection.closing:
            raise p.left()
        if payload.session_id not in connection.watching:
            raise p.not_watching()
        monitoring = self._edge.monitoring
        try:
            if payload.alert_id is None:
                alerts = await monitoring.acknowledge_all(
                    connection.actor, SessionId(payload.session_id)
                )
                return {"alerts": alerts}
            alert = await monitoring.acknowledge(
                connection.actor, payload.session_id, payload.alert_id
            )
        except DomainError as error:
            raise Audited(error) from None
        return {"alert": alert}

    async def _device_check(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        """Kept in the audit log; a failed check alerts the court's IT staff."""
        assert isinstance(payload, p.DeviceCheck)
        session_id, actor = participant_of(connection)
        result = payload.model_dump(exclude={"ref"})
        outcome = "accepted" if payload.passed else "failed"
        await self._edge.service.audit_edge(
            actor, "participant.device_check", session_id, outcome, result
        )
        if not payload.passed:
            failed = [
                (DEVICE_NAMES[device], DEVICE_STATES.get(state, Text(state, state)))
                for device, state in result.items()
                if device in DEVICE_NAMES and state not in ("ok", "untested", "skipped")
            ]
            found = Text(
                ", ".join(f"{d.vi}: {s.vi}" for d, s in failed),
                ", ".join(f"{d.en}: {s.en}" for d, s in failed),
            )
            fallback = payload.detail or "?"
            await self._edge.monitoring.alert(
                session_id,
                ParticipantId(actor.id),
                AlertKind.DEVICE_CHECK_FAILED,
                name=actor.name,
                detail=found if failed else fallback,
            )
        return {}

    async def _ping(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        return {"server_time": self._edge.service.clock().isoformat()}
