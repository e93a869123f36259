"""Connection handling: who a connection speaks for (a join link or a staff token), what
connecting and losing the connection mean in the domain, the welcome, and letting people go
(left, removed, replaced, an ended credential, abuse, shutdown)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio

from hearing_server.bus import CredentialKind
from hearing_server.turn import ice_servers_for
from rooms.errors import DomainError
from rooms.ids import ParticipantId, SessionId
from rooms.participants import Actor
from rooms.permissions import StaffAction, ensure_staff_actor
from rooms.text import Text
from signaling import protocol as p
from signaling.connections import Connection
from signaling.dispatch import Audited, Refusals
from signaling.edge import Edge, participant_room
from signaling.ratelimit import TokenBucket
from signaling.transport import remote_address
from signaling.views import viewer_picture

log = logging.getLogger(__name__)

WELCOME_WAIT_SECONDS = 5.0


def unavailable() -> p.Refusal:
    """Made afresh: a raised exception kept in the module would keep every traceback."""
    return p.Refusal(
        "unavailable",
        "server.shutting_down",
        Text("Máy chủ đang khởi động lại.", "The server is restarting."),
    )


def address_credential(environ: dict[str, Any]) -> str:
    """Whose refusals an unauthenticated client's count towards: its address."""
    return f"address:{remote_address(environ)}"


class ConnectionHandling:
    def __init__(self, edge: Edge, refusals: Refusals) -> None:
        self._edge = edge
        self._refusals = refusals

    # ------------------------------------------------------------------ connecting

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        refusal = await self._connect(sid, environ, auth)
        if refusal is not None:
            raise refuse_connect(refusal)

    async def _connect(self, sid: str, environ: dict[str, Any], auth: object) -> DomainError | None:
        """None when let in; otherwise the refusal, already audited (or counted)."""
        if self._edge.closing or not self._edge.started:
            return unavailable()
        try:
            credentials = p.parse_auth(auth)
            if credentials.token is not None:
                await self._connect_participant(sid, credentials.token)
            elif credentials.staff_token is not None:
                await self._connect_monitor(sid, credentials.staff_token)
        except Audited as audited:
            return audited.error
        except DomainError as error:
            anonymous = Actor(id="anonymous")
            credential = address_credential(environ)
            await self._refusals.refuse_unauthenticated(
                credential, anonymous, "signal.connect", error
            )
            return error
        except Exception as exc:  # never let python-socketio see (and log) our failure
            return self._refusals.unexpected(exc, "connect")
        return None

    async def _connect_participant(self, sid: str, token: str) -> None:
        service = self._edge.service
        context = await service.resolve_join_token(token)
        participant = context.participant
        session_id = context.session.id
        actor = Actor.participant(participant.id, participant.name)
        credential = f"invitation:{context.invitation.id}"
        await self._refuse_if_cooling_off(credential, actor)
        # Held before the join is recorded: a sweep never takes someone who is back for lost.
        await self._edge.presence.hold(session_id, participant.id)
        try:
            await service.execute(
                actor,
                session_id,
                "participant.join",
                lambda s: s.join(participant.id),
                {"via": "signaling", "invitation": context.invitation.id},
            )
        except DomainError as error:
            await self._release_unless_connected(session_id, participant.id)
            raise Audited(error) from None
        except BaseException:
            await self._release_unless_connected(session_id, participant.id)
            raise
        await self._edge.sio.enter_room(sid, participant_room(session_id, participant.id))
        connection = self._new_connection(sid, p.Sender.PARTICIPANT, actor, credential)
        connection.holds = frozenset(
            {
                (CredentialKind.JOIN_LINK.value, context.invitation.id),
                (CredentialKind.PARTICIPANT.value, participant.id),
            }
        )
        connection.session_id = session_id
        connection.participant_id = participant.id
        previous = self._edge.registry.add(connection)
        if previous is not None and previous.sid != sid:
            await self._edge.gateway.leave(session_id, participant.id)
            self.retire(previous, "connection.replaced", delay=0.0)
        self._edge.spawn(self._welcome(connection))

    async def _connect_monitor(self, sid: str, staff_token: str) -> None:
        service = self._edge.service
        actor, user = await service.authenticate_staff(staff_token)
        try:
            ensure_staff_actor(actor, StaffAction.MONITOR)
        except DomainError as error:
            await self._refusals.audit(actor, "signal.connect", None, error, {})
            raise Audited(error) from None
        credential = f"staff:{user.id}"
        await self._refuse_if_cooling_off(credential, actor)
        token_id = service.signer.read_staff(staff_token, service.clock()).token_id
        connection = self._new_connection(sid, p.Sender.MONITOR, actor, credential)
        connection.user_court_id = user.court_id
        connection.staff_user_id = user.id
        connection.staff_token_id = token_id
        holds: set[tuple[str, str]] = {(CredentialKind.STAFF_USER.value, user.id)}
        if token_id is not None:
            holds.add((CredentialKind.STAFF_TOKEN.value, token_id))
        connection.holds = frozenset(holds)
        self._edge.registry.add(connection)
        self._edge.spawn(self._welcome(connection))

    async def _refuse_if_cooling_off(self, credential: str, actor: Actor) -> None:
        """A credential closed for abuse stays out for the rest of its window, so reconnecting
        is no way round the limit (nor a way to flood the court with join/leave events)."""
        if self._edge.refusals.blocked(credential):
            error = p.abuse_cooling_off()
            await self._refusals.refuse_unauthenticated(credential, actor, "signal.connect", error)
            raise Audited(error)

    def _new_connection(
        self, sid: str, sender: p.Sender, actor: Actor, credential: str
    ) -> Connection:
        return Connection(
            sid=sid,
            sender=sender,
            actor=actor,
            bucket=TokenBucket(p.RATE_BURST, p.RATE_PER_SECOND, self._edge.monotonic),
            credential=credential,
        )

    async def _welcome(self, connection: Connection) -> None:
        """Sent once the handshake is complete, so it is the client's first event."""
        if not await self._until_connected(connection.sid):
            return
        service = self._edge.service
        now = service.clock()
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
            session = await service.session(Actor.system(), connection.session_id)
            picture = viewer_picture(session, connection.participant_id, self._edge.pseudonyms)
            connection.pictures[session.id] = picture
            body["participant_id"] = connection.participant_id
            body["view"] = picture.as_view()
            body["version"] = picture.version
            body["media"] = {
                "enabled": self._edge.gateway.enabled,
                "ice_servers": ice_servers_for(self._edge.settings, connection.participant_id, now),
                "connect_seconds": self._edge.settings.media_connect_seconds,
            }
        connection.ready = True
        await self._edge.emit(connection.sid, "welcome", body)

    async def _until_connected(self, sid: str) -> bool:
        """python-socketio sends the handshake reply after the connect handler returns."""
        edge = self._edge
        deadline = edge.monotonic() + WELCOME_WAIT_SECONDS
        while not edge.sio.manager.is_connected(sid, "/"):
            if edge.registry.get(sid) is None or edge.monotonic() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    # ------------------------------------------------------------------ losing it

    async def on_disconnect(self, sid: str, reason: object = None) -> None:
        """A participant's connection lost without leaving is a domain ``disconnect``: that is
        what suspends a hearing whose courtroom went dark."""
        edge = self._edge
        try:
            connection = edge.registry.remove(sid)
            if connection is None or edge.closing:
                return  # shutting down holds on to everyone: they reconnect elsewhere
            session_id, participant_id = connection.session_id, connection.participant_id
            if session_id is None or participant_id is None:
                return
            if connection.departed:
                await self._release_unless_connected(session_id, participant_id)
                return
            await edge.gateway.leave(session_id, participant_id)
            edge.spawn(self._record_loss(session_id, participant_id, str(reason or "")))
        except Exception:  # a failing handler must not break python-socketio's bookkeeping
            log.exception("disconnect handling failed for %s", sid)
        finally:
            await self._refusals.write_coalesced()

    async def _record_loss(
        self, session_id: SessionId, participant_id: ParticipantId, reason: str
    ) -> None:
        """Held until the loss is recorded: if this process dies first, another sweeps it."""
        edge = self._edge
        await edge.monitoring.connection_lost_until_recorded(
            session_id,
            participant_id,
            reason,
            still_lost=lambda: edge.registry.participant(session_id, participant_id) is None,
        )
        await self._release_unless_connected(session_id, participant_id)

    async def _release_unless_connected(
        self, session_id: SessionId, participant_id: ParticipantId
    ) -> None:
        if self._edge.registry.participant(session_id, participant_id) is None:
            await self._edge.presence.release(session_id, participant_id)

    async def on_malformed_input(self, eio_sid: str, environ: dict[str, Any]) -> None:
        """Counted like any refusal (by address: the client may not have said who it is)."""
        try:
            await self._refusals.refuse_unauthenticated(
                address_credential(environ),
                Actor(id="anonymous"),
                "signal.transport",
                p.malformed("not a socket.io frame"),
            )
        except Exception as exc:
            log.warning("counting malformed input failed: %s", type(exc).__name__)

    # ------------------------------------------------------------------ letting go

    def retire(self, connection: Connection, reason: str, delay: float) -> None:
        """Say goodbye and close; the domain already knows why this person is gone."""
        connection.departed = True
        self._edge.spawn(self._goodbye_and_close(connection.sid, reason, delay))

    async def end_credential(self, kind: str, credential_id: str, reason: str) -> None:
        """Close at once every connection of this process that the ended credential holds.

        A participant whose link was revoked is not removed from the session: the domain
        records their connection as lost, as it would any other."""
        for connection in self._edge.registry.holding((kind, credential_id)):
            if connection.departed or connection.closing:
                continue
            connection.closing = True
            if connection.session_id is not None and connection.participant_id is not None:
                await self._edge.gateway.leave(connection.session_id, connection.participant_id)
            self._edge.spawn(self._goodbye_and_close(connection.sid, reason, 0.0))

    async def close_all(self) -> None:
        """Shutdown: everyone is told and let go, without recording disconnects."""
        for connection in self._edge.registry:
            connection.departed = True
            await self._edge.goodbye(connection.sid, "server.shutdown")
            await self._edge.sio.disconnect(connection.sid, ignore_queue=True)

    async def _goodbye_and_close(self, sid: str, reason: str, delay: float) -> None:
        await self._edge.goodbye(sid, reason)
        if delay > 0:
            await asyncio.sleep(delay)
        await self._edge.sio.disconnect(sid, ignore_queue=True)


def refuse_connect(error: DomainError) -> socketio.exceptions.ConnectionRefusedError:
    body: dict[str, Any] = {
        "code": error.code,
        "rule": error.rule,
        "message": error.message.as_dict(),
    }
    if isinstance(error, p.Refusal) and error.fields:
        body["fields"] = error.fields
    return socketio.exceptions.ConnectionRefusedError(error.message.en, body)
