"""The socket.io edge: authenticate a connection, turn each validated message into one call
on the service, and turn each domain event into what every connected person may see.

Flow is one way: a message becomes a command (``HearingService.execute``), the aggregate
decides, the event comes back on the bus, and ``_on_bus_event`` tells the connections.
Handlers never change state themselves and never check a permission the domain owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import socketio
from aiohttp import web

from hearing_server.services import HearingService
from hearing_server.settings import Settings
from hearing_server.turn import ice_servers_for
from rooms.alerts import AlertKind
from rooms.disclosure import Pseudonyms
from rooms.errors import DomainError, NotFound
from rooms.ids import ParticipantId, SessionId, new_id
from rooms.participants import Actor
from rooms.permissions import StaffAction, ensure_staff_actor, ensure_staff_in_court
from rooms.session import CourtSession
from rooms.states import ENDED_SESSION_STATES
from rooms.text import Text
from signaling import protocol as p
from signaling.chat import recipients
from signaling.commands import COMMANDS, audit_detail, result_of
from signaling.connections import Connection, ConnectionRegistry
from signaling.gateway import (
    IceCandidateInfo,
    MediaGateway,
    MediaGatewayFactory,
    MediaRefused,
    NoMediaGateway,
    OutgoingTrack,
)
from signaling.monitoring import Monitoring, monitor_room
from signaling.ratelimit import Monotonic, RefusalWindow, TokenBucket
from signaling.views import (
    chat_deliveries,
    lobby_may_see,
    monitor_view,
    offered_tracks,
    participant_event,
    participant_view,
    takes_part,
)

log = logging.getLogger(__name__)

SOCKETIO_PATH = "socket.io"
SOCKETIO_CHANNEL = "hearing:socketio"
"""The Redis channel socket.io processes share in cluster mode."""
RETIRE_GRACE_SECONDS = 0.5
"""Time a departing client gets to receive its last messages before the server closes it."""
WELCOME_WAIT_SECONDS = 5.0

TERMINAL_PARTICIPANT_STATES = frozenset({"left", "removed", "denied"})

Handler = Callable[[Connection, p.Payload], Awaitable[dict[str, Any]]]


class _Audited(Exception):
    """A refusal the service has already written to the audit log."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(error.rule)
        self.error = error


def participant_room(session_id: str, participant_id: str) -> str:
    """The socket.io room of one participant: directed messages reach it on any process."""
    return f"p:{session_id}:{participant_id}"


class SignalingServer:
    """One socket.io server per process, attached to the aiohttp application."""

    def __init__(
        self,
        settings: Settings,
        media: MediaGatewayFactory = NoMediaGateway,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        self.settings = settings
        manager = (
            socketio.AsyncRedisManager(settings.redis_url, channel=SOCKETIO_CHANNEL)
            if settings.redis_url
            else None
        )
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            client_manager=manager,
            # One message at a time per connection: an ICE candidate must not overtake the
            # offer it belongs to, and a client cannot make the server work in parallel.
            async_handlers=False,
            cors_allowed_origins=[settings.base_url] if settings.public_base_url else None,
            max_http_buffer_size=p.MAX_TRANSPORT_BYTES,
            ping_interval=p.PING_INTERVAL_SECONDS,
            ping_timeout=p.PING_TIMEOUT_SECONDS,
            logger=False,
            engineio_logger=False,
        )
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("*", self._on_message)
        self.gateway: MediaGateway = media(self._send_server_offer)
        self.registry = ConnectionRegistry()
        self.monitoring = Monitoring(
            sio=self.sio,
            gateway=self.gateway,
            service=lambda: self.service,
            participant_room=participant_room,
            interval=settings.link_report_seconds,
            silence_limit=settings.media_silence_seconds,
        )
        self._monotonic = monotonic
        self._service: HearingService | None = None
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._latest: dict[str, tuple[CourtSession, dict[str, Any]]] = {}
        self._pseudonyms = Pseudonyms(settings.signing_key())
        self._handlers: dict[str, Handler] = {
            **{name: self._command_handler(name) for name in COMMANDS},
            "leave": self._leave,
            "chat": self._chat,
            "offer": self._offer,
            "answer": self._answer,
            "ice_candidate": self._ice_candidate,
            "renegotiate": self._renegotiate,
            "device_check": self._device_check,
            "watch": self._watch,
            "unwatch": self._unwatch,
            "acknowledge_alert": self._acknowledge_alert,
            "ping": self._ping,
        }

    # ------------------------------------------------------------------ lifecycle

    def attach(self, app: web.Application) -> None:
        """Routes at ``/socket.io``; started after the service exists, stopped before it."""
        self.sio.attach(app, socketio_path=SOCKETIO_PATH)
        app.on_shutdown.append(self._on_app_shutdown)

    def start(self, service: HearingService) -> None:
        self._service = service
        service.bus.subscribe(self._on_bus_event)
        self.monitoring.start()

    async def close(self) -> None:
        """Disconnect everyone, stop background work, close media; idempotent."""
        if self._closing:
            return
        self._closing = True
        for connection in self.registry:
            connection.departed = True
            await self._emit(connection.sid, "goodbye", _goodbye("server.shutdown"))
            await self.sio.disconnect(connection.sid, ignore_queue=True)
        await self.monitoring.stop()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.gateway.close()
        await self.sio.shutdown()
        await _stop_manager(self.sio.manager)

    def cleanup_context(self, service_key: web.AppKey[HearingService]) -> Any:
        async def run(app: web.Application) -> AsyncIterator[None]:
            self.start(app[service_key])
            try:
                yield
            finally:
                await self.close()

        return run

    async def _on_app_shutdown(self, _app: web.Application) -> None:
        await self.close()

    @property
    def service(self) -> HearingService:
        if self._service is None:
            raise RuntimeError("the signalling server was not started")
        return self._service

    # ------------------------------------------------------------------ connecting

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        if self._closing or self._service is None:
            raise _refuse_connect(
                p.Refusal(
                    "unavailable",
                    "server.shutting_down",
                    Text("Máy chủ đang khởi động lại.", "The server is restarting."),
                )
            )
        try:
            credentials = p.parse_auth(auth)
            if credentials.token is not None:
                await self._connect_participant(sid, credentials.token)
            elif credentials.staff_token is not None:
                await self._connect_monitor(sid, credentials.staff_token)
        except _Audited as audited:
            raise _refuse_connect(audited.error) from None
        except DomainError as error:
            await self._audit_refusal(Actor(id="anonymous"), "signal.connect", None, error, {})
            raise _refuse_connect(error) from None

    async def _connect_participant(self, sid: str, token: str) -> None:
        context = await self.service.resolve_join_token(token)
        participant = context.participant
        session_id = context.session.id
        actor = Actor.participant(participant.id, participant.name)
        await self._execute(
            actor,
            session_id,
            "participant.join",
            lambda s: s.join(participant.id),
            {"via": "signaling", "invitation": context.invitation.id},
        )
        await self.sio.enter_room(sid, participant_room(session_id, participant.id))
        connection = self._new_connection(sid, p.Sender.PARTICIPANT, actor)
        connection.session_id = session_id
        connection.participant_id = participant.id
        previous = self.registry.add(connection)
        if previous is not None and previous.sid != sid:
            await self.gateway.leave(session_id, participant.id)
            self._retire(previous, "connection.replaced", delay=0.0)
        self._spawn(self._welcome(connection))

    async def _connect_monitor(self, sid: str, staff_token: str) -> None:
        actor, user = await self.service.authenticate_staff(staff_token)
        try:
            ensure_staff_actor(actor, StaffAction.MONITOR)
        except DomainError as error:
            await self._audit_refusal(actor, "signal.connect", None, error, {})
            raise _Audited(error) from None
        connection = self._new_connection(sid, p.Sender.MONITOR, actor)
        connection.user_court_id = user.court_id
        self.registry.add(connection)
        self._spawn(self._welcome(connection))

    def _new_connection(self, sid: str, sender: p.Sender, actor: Actor) -> Connection:
        return Connection(
            sid=sid,
            sender=sender,
            actor=actor,
            bucket=TokenBucket(p.RATE_BURST, p.RATE_PER_SECOND, self._monotonic),
            refusals=RefusalWindow(p.ABUSE_REFUSALS, p.ABUSE_WINDOW_SECONDS, self._monotonic),
        )

    async def _welcome(self, connection: Connection) -> None:
        """Sent once the handshake is complete, so it is the client's first event."""
        if not await self._until_connected(connection.sid):
            return
        now = self.service.clock()
        body: dict[str, Any] = {
            "connection": connection.sender.value,
            "actor": connection.actor.id,
            "name": connection.actor.name,
            "server_time": now.isoformat(),
            "limits": {
                "max_message_bytes": p.MAX_MESSAGE_BYTES,
                "max_sdp_bytes": p.MAX_SDP_BYTES,
                "max_chat_chars": p.MAX_CHAT_CHARS,
                "rate_burst": p.RATE_BURST,
                "rate_per_second": p.RATE_PER_SECOND,
            },
        }
        if connection.session_id is not None and connection.participant_id is not None:
            session = await self.service.session(Actor.system(), connection.session_id)
            body["participant_id"] = connection.participant_id
            body["view"] = participant_view(session, connection.participant_id, self._pseudonyms)
            body["media"] = {
                "enabled": self.gateway.enabled,
                "ice_servers": ice_servers_for(self.settings, connection.participant_id, now),
            }
        connection.ready = True
        await self._emit(connection.sid, "welcome", body)

    async def _until_connected(self, sid: str) -> bool:
        """python-socketio sends the handshake reply after the connect handler returns."""
        deadline = self._monotonic() + WELCOME_WAIT_SECONDS
        while not self.sio.manager.is_connected(sid, "/"):
            if self.registry.get(sid) is None or self._monotonic() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    async def _on_disconnect(self, sid: str, reason: object = None) -> None:
        """A participant's connection lost without leaving is a domain ``disconnect``: that is
        what suspends a hearing whose courtroom went dark."""
        try:
            connection = self.registry.remove(sid)
            if connection is None or connection.departed or self._closing:
                return
            session_id, participant_id = connection.session_id, connection.participant_id
            if session_id is None or participant_id is None:
                return
            await self.gateway.leave(session_id, participant_id)
            self._spawn(
                self.monitoring.connection_lost_until_recorded(
                    session_id,
                    participant_id,
                    str(reason or ""),
                    still_lost=lambda: (
                        self.registry.participant(session_id, participant_id) is None
                    ),
                )
            )
        except Exception:  # a failing handler must not break python-socketio's bookkeeping
            log.exception("disconnect handling failed for %s", sid)

    # ------------------------------------------------------------------ messages

    async def _on_message(self, event: str, sid: str, *args: object) -> dict[str, Any]:
        """Every client event comes through here: limit, look up, check, parse, handle."""
        connection = self.registry.get(sid)
        name = str(event)[:64]
        if connection is None:
            return {"ok": False, "error": p.refusal_body(p.left(), name, None)}
        ref = p.client_ref(args)
        try:
            if not connection.bucket.take():
                raise p.rate_limited()
            connection.rate_limited = False
            spec = p.CLIENT_EVENTS.get(name)
            if spec is None or name != event:
                raise p.unknown_event(name)
            if connection.sender not in spec.senders:
                raise p.not_for_sender(name, connection.sender)
            payload = p.parse_payload(spec.model, args)
            result = await self._handlers[name](connection, payload)
        except _Audited as audited:
            return await self._refused(connection, name, ref, audited.error, audited=True)
        except DomainError as error:
            return await self._refused(connection, name, ref, error, audited=False)
        return {"ok": True, "ref": ref, **result}

    async def _refused(
        self,
        connection: Connection,
        event: str,
        ref: str | None,
        error: DomainError,
        audited: bool,
    ) -> dict[str, Any]:
        """Tell the client, keep the refusal, and close a connection that keeps being refused.

        Inside a rate-limited burst only the first refusal is written: a flood must not turn
        into a flood of audit rows.
        """
        body = p.refusal_body(error, event, ref)
        rate_limited = error.rule == "protocol.rate_limited"
        if not audited and not (rate_limited and connection.rate_limited):
            await self._audit_refusal(
                connection.actor, "signal.message", _session_of(connection), error, {"event": event}
            )
        if rate_limited:
            connection.rate_limited = True
        await self._emit(connection.sid, "error", body)
        if connection.refusals.add() and not connection.departed:
            abuse = p.abuse()
            await self._audit_refusal(
                connection.actor,
                "signal.abuse",
                _session_of(connection),
                abuse,
                {"refusals": len(connection.refusals)},
            )
            await self._emit(connection.sid, "error", p.refusal_body(abuse, event, ref))
            await self._emit(connection.sid, "goodbye", _goodbye(abuse.rule, abuse.message))
            # Not "departed": a participant thrown out for abuse is disconnected in the domain.
            self._spawn(self._disconnect_later(connection.sid, 0.0))
        return {"ok": False, "ref": ref, "error": body}

    def _command_handler(self, name: str) -> Handler:
        command = COMMANDS[name]

        async def handle(connection: Connection, payload: p.Payload) -> dict[str, Any]:
            session_id, actor = self._participant_of(connection)
            result = await self._execute(
                actor,
                session_id,
                command.audit_action,
                command.bind(actor, payload),
                audit_detail(payload),
            )
            return result_of(result)

        return handle

    async def _leave(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        session_id, actor = self._participant_of(connection)
        participant_id = ParticipantId(actor.id)
        await self._execute(
            actor, session_id, "participant.leave", lambda s: s.leave(participant_id), {}
        )
        # The bus event already retired the connection; this covers a remote-only bus.
        if not connection.departed:
            await self.gateway.leave(session_id, participant_id)
            self._retire(connection, "participant.left", delay=RETIRE_GRACE_SECONDS)
        return {}

    async def _chat(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        assert isinstance(payload, p.Chat)
        session_id, actor = self._participant_of(connection)
        session = await self.service.session(Actor.system(), session_id)
        detail: dict[str, Any] = {"to": payload.to, "length": len(payload.text)}
        try:
            to = recipients(session, actor.id, payload.to)
        except DomainError as error:
            await self._audit_refusal(actor, "chat.message", session_id, error, detail)
            raise _Audited(error) from None
        sender = session.participants[ParticipantId(actor.id)]
        message = {
            "id": new_id(),
            "session_id": session_id,
            "from": {"id": sender.id, "name": sender.name, "role": sender.role.value},
            "to": payload.to,
            "text": payload.text,
            "at": self.service.clock().isoformat(),
        }
        await self.service.audit_edge(
            actor,
            "chat.message",
            session_id,
            "accepted",
            {**detail, "id": message["id"], "recipients": len(to)},
        )
        for body, readers in chat_deliveries(session, message, to, self._pseudonyms):
            await self.sio.emit("chat", body, to=[participant_room(session_id, p) for p in readers])
        return {"id": message["id"]}

    async def _offer(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        assert isinstance(payload, p.Offer)
        session_id, actor = self._participant_of(connection)
        session = await self.service.session(Actor.system(), session_id)
        answer = await self.gateway.offer(
            session_id,
            actor.id,
            payload.sdp,
            dict(payload.sources),
            session.forwarding_plan(),
        )
        return {"answer": {"type": "answer", "sdp": answer}}

    async def _answer(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        assert isinstance(payload, p.Answer)
        session_id, actor = self._participant_of(connection)
        await self.gateway.answer(session_id, actor.id, payload.sdp)
        return {}

    async def _ice_candidate(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        assert isinstance(payload, p.IceCandidate)
        session_id, actor = self._participant_of(connection)
        candidate = IceCandidateInfo(
            payload.candidate or None, payload.sdp_mid, payload.sdp_mline_index
        )
        await self.gateway.ice_candidate(session_id, actor.id, candidate)
        return {}

    async def _renegotiate(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        session_id, actor = self._participant_of(connection)
        await self.gateway.renegotiate(session_id, actor.id)
        return {}

    async def _watch(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        assert isinstance(payload, p.Watch)
        session_id = SessionId(payload.session_id)
        detail = {"watch": session_id}
        try:
            session = await self.service.session(Actor.system(), session_id)
            ensure_staff_in_court(connection.actor, session.court_id)
        except DomainError as error:
            await self._audit_refusal(connection.actor, "monitor.watch", session_id, error, detail)
            raise _Audited(error) from None
        self.registry.watch(connection, session_id)
        await self.sio.enter_room(connection.sid, monitor_room(session_id))
        await self.service.audit_edge(
            connection.actor, "monitor.watch", session_id, "accepted", detail
        )
        return {
            "view": monitor_view(session),
            "alerts": await self.monitoring.open_alerts(session_id),
            "quality": self.monitoring.quality(session_id),
        }

    async def _unwatch(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        assert isinstance(payload, p.Watch)
        self.registry.unwatch(connection, SessionId(payload.session_id))
        await self.sio.leave_room(connection.sid, monitor_room(payload.session_id))
        return {}

    async def _acknowledge_alert(
        self, connection: Connection, payload: p.Payload
    ) -> dict[str, Any]:
        assert isinstance(payload, p.AcknowledgeAlert)
        if payload.session_id not in connection.watching:
            raise p.not_watching()
        try:
            alert = await self.monitoring.acknowledge(
                connection.actor, payload.session_id, payload.alert_id
            )
        except DomainError as error:
            raise _Audited(error) from None
        return {"alert": alert}

    async def _device_check(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        """Kept in the audit log; a failed check alerts the court's IT staff."""
        assert isinstance(payload, p.DeviceCheck)
        session_id, actor = self._participant_of(connection)
        result = payload.model_dump(exclude={"ref"})
        outcome = "accepted" if payload.passed else "failed"
        await self.service.audit_edge(
            actor, "participant.device_check", session_id, outcome, result
        )
        if not payload.passed:
            failed = [
                f"{device}: {state}"
                for device, state in result.items()
                if device in ("camera", "microphone", "speaker", "network")
                and state not in ("ok", "untested", "skipped")
            ]
            await self.monitoring.alert(
                session_id,
                ParticipantId(actor.id),
                AlertKind.DEVICE_CHECK_FAILED,
                name=actor.name,
                detail=", ".join(failed) or payload.detail or "?",
            )
        return {}

    async def _ping(self, connection: Connection, payload: p.Payload) -> dict[str, Any]:
        return {"server_time": self.service.clock().isoformat()}

    # ------------------------------------------------------------------ domain events

    async def _on_bus_event(self, message: Mapping[str, Any]) -> None:
        """Every process hears every event and serves its own connections (hence emits here
        never go through the socket.io queue)."""
        session_id = str(message.get("session_id", ""))
        if self._closing or not self.registry.has_session(session_id):
            self._latest.pop(session_id, None)
            return
        try:
            session, shared = await self._latest_state(session_id, message.get("version"))
        except NotFound:
            return
        if message.get("affects_media"):
            await self.gateway.apply_plan(session_id, session.forwarding_plan())
        event = {
            "name": message.get("name"),
            "actor": message.get("actor"),
            "payload": message.get("payload") or {},
        }
        for connection in self.registry.in_session(session_id):
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
                view = participant_view(session, pid, self._pseudonyms, shared)
                seen = participant_event(session, pid, event, self._pseudonyms)
            body = {"session_id": session_id, "event": seen, "view": view}
            await self._emit(connection.sid, "session_event", body)
        await self._after_event(session, event)

    async def _latest_state(
        self, session_id: str, version: object
    ) -> tuple[CourtSession, dict[str, Any]]:
        """The session as saved by the event's command, and the view everyone taking part
        shares; loaded once for all the events of one command (they carry one version)."""
        cached = self._latest.get(session_id)
        if cached is not None and isinstance(version, int) and cached[0].version >= version:
            return cached
        session = await self.service.session(Actor.system(), SessionId(session_id))
        latest = (session, monitor_view(session))
        self._latest[session_id] = latest
        return latest

    async def _after_event(self, session: CourtSession, event: Mapping[str, Any]) -> None:
        """People who are out (left, removed, denied, session ended) are let go."""
        payload = event["payload"]
        if event["name"] == "participant_state_changed":
            if payload.get("current") in TERMINAL_PARTICIPANT_STATES:
                pid = str(payload.get("participant_id"))
                connection = self.registry.participant(session.id, pid)
                if connection is not None and not connection.departed:
                    await self.gateway.leave(session.id, pid)
                    self._retire(
                        connection, f"participant.{payload['current']}", RETIRE_GRACE_SECONDS
                    )
        elif event["name"] == "screening_changed":
            await self._describe_tracks_again(session.id, str(payload.get("hidden_from")))
        elif event["name"] == "session_state_changed" and session.state in ENDED_SESSION_STATES:
            for connection in self.registry.in_session(session.id):
                if connection.sender is p.Sender.PARTICIPANT and not connection.departed:
                    await self.gateway.leave(session.id, connection.participant_id or "")
                    self._retire(connection, f"session.{session.state.value}", RETIRE_GRACE_SECONDS)

    # ------------------------------------------------------------------ helpers

    async def _send_server_offer(
        self,
        session_id: str,
        participant_id: str,
        sdp: str,
        tracks: Mapping[str, OutgoingTrack | None],
    ) -> None:
        """Given to the gateway: a server offer reaches the participant on any process."""
        cached = self._latest.get(session_id)
        session = (
            cached[0]
            if cached
            else await self.service.session(Actor.system(), SessionId(session_id))
        )
        body = {
            "type": "offer",
            "sdp": sdp,
            "tracks": offered_tracks(session, participant_id, tracks, self._pseudonyms),
        }
        await self.sio.emit("offer", body, to=participant_room(session_id, participant_id))

    async def _describe_tracks_again(self, session_id: str, participant_id: str) -> None:
        """A screening changes whose tracks a participant may be told they receive: a fresh
        server offer names them anew (no media yet: nothing to describe)."""
        with contextlib.suppress(MediaRefused):
            await self.gateway.renegotiate(session_id, participant_id)

    async def _execute(
        self,
        actor: Actor,
        session_id: SessionId,
        action: str,
        command: Callable[[CourtSession], object],
        detail: dict[str, Any],
    ) -> object:
        try:
            return await self.service.execute(actor, session_id, action, command, detail)
        except DomainError as error:
            raise _Audited(error) from None

    def _participant_of(self, connection: Connection) -> tuple[SessionId, Actor]:
        if connection.departed or connection.session_id is None:
            raise p.left()
        return connection.session_id, connection.actor

    async def _audit_refusal(
        self,
        actor: Actor,
        action: str,
        session_id: str | None,
        error: DomainError,
        detail: dict[str, Any],
    ) -> None:
        await self.service.audit_edge(
            actor, action, session_id, "refused", {**detail, "code": error.code}, rule=error.rule
        )

    def _retire(self, connection: Connection, reason: str, delay: float) -> None:
        """Say goodbye and close; the domain already knows why this person is gone."""
        connection.departed = True
        self._spawn(self._goodbye_and_close(connection.sid, reason, delay))

    async def _goodbye_and_close(self, sid: str, reason: str, delay: float) -> None:
        await self._emit(sid, "goodbye", _goodbye(reason))
        await self._disconnect_later(sid, delay)

    async def _disconnect_later(self, sid: str, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        await self.sio.disconnect(sid, ignore_queue=True)

    async def _emit(self, sid: str, event: str, body: Any) -> None:
        await self.sio.emit(event, body, to=sid, ignore_queue=True)

    def _spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("signalling background task failed")

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _session_of(connection: Connection) -> str | None:
    return connection.session_id


_GOODBYES: dict[str, Text] = {
    "connection.replaced": Text(
        "Bạn đã kết nối từ nơi khác; kết nối này được đóng.",
        "You connected from elsewhere; this connection is closed.",
    ),
    "participant.left": Text("Bạn đã rời phiên.", "You left the session."),
    "participant.removed": Text("Bạn đã bị mời ra khỏi phiên.", "You were removed."),
    "participant.denied": Text("Bạn không được vào phiên.", "You were refused entry."),
    "session.closed": Text("Phiên đã kết thúc.", "The session has closed."),
    "session.postponed": Text("Phiên đã hoãn.", "The session is postponed."),
    "session.cancelled": Text("Phiên đã bị hủy.", "The session was cancelled."),
    "server.shutdown": Text(
        "Máy chủ đang khởi động lại; hãy kết nối lại sau ít giây.",
        "The server is restarting; reconnect in a few seconds.",
    ),
}


def _goodbye(reason: str, message: Text | None = None) -> dict[str, Any]:
    text = message or _GOODBYES.get(reason) or Text("Kết nối đã đóng.", "Connection closed.")
    return {"reason": reason, "message": text.as_dict()}


def _refuse_connect(error: DomainError) -> socketio.exceptions.ConnectionRefusedError:
    body: dict[str, Any] = {
        "code": error.code,
        "rule": error.rule,
        "message": error.message.as_dict(),
    }
    if isinstance(error, p.Refusal) and error.fields:
        body["fields"] = error.fields
    return socketio.exceptions.ConnectionRefusedError(error.message.en, body)


async def _stop_manager(manager: Any) -> None:
    """The Redis client manager listens in a task of its own; stop it with the server."""
    task = getattr(manager, "thread", None)
    if isinstance(task, asyncio.Task) and not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    redis = getattr(manager, "redis", None)
    if redis is not None and hasattr(redis, "aclose"):
        await redis.aclose()


SIGNALING = web.AppKey("signaling", SignalingServer)
