"""The socket.io edge as one object: it composes connection handling (``connecting``), command
dispatch with its one refusal path (``dispatch``, ``handlers``) and broadcasting
(``broadcast``) around one socket server (``transport``).

Flow is one way: a message becomes a command (``HearingService.execute``), the aggregate
decides, the event comes back on the bus, and the broadcaster tells the connections.
Handlers never change state themselves and never check a permission the domain owns.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import socketio
from aiohttp import web

from hearing_server.presence import ConnectionPresence
from hearing_server.services import HearingService
from hearing_server.settings import Settings
from rooms.alerts import AlertKind, LowSpaceAlarm
from rooms.disclosure import Pseudonyms
from rooms.ids import ParticipantId, SessionId
from signaling import protocol as p
from signaling.broadcast import Broadcaster
from signaling.connecting import ConnectionHandling
from signaling.connections import ConnectionRegistry
from signaling.dispatch import Dispatcher, Refusals
from signaling.draining import drain
from signaling.edge import Edge, participant_room
from signaling.gateway import MediaGatewayFactory, NoMediaGateway, OutgoingTrack
from signaling.handlers import EventHandlers
from signaling.loop_lag import LoopLagMonitor, OverloadAlarm
from signaling.media_loop import MediaLoopGateway
from signaling.monitoring import ALERT_COALESCE_SECONDS, Monitoring, SilencePolicy
from signaling.ratelimit import Monotonic, RefusalLedger
from signaling.transport import EdgeSocketServer

__all__ = ["SIGNALING", "SOCKETIO_CHANNEL", "SOCKETIO_PATH", "SignalingServer", "participant_room"]

SOCKETIO_PATH = "socket.io"
DRAIN_SECONDS = 10.0
"""How long shutdown lets background work (recording departures, goodbyes) finish: a
departure cut off mid-query leaves its database connection unclosed, and on a busy machine
3 s was not always enough for everyone's departures."""
SOCKETIO_CHANNEL = "hearing:socketio"
"""The Redis channel socket.io processes share in cluster mode."""


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
        self.sio = EdgeSocketServer(
            dispatch=self._dispatch,
            malformed=self._malformed,
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
        self._service: HearingService | None = None
        self.gateway = media(self._send_server_offer)
        self.registry = ConnectionRegistry()
        self.loop_lag = LoopLagMonitor()
        if isinstance(self.gateway, MediaLoopGateway):
            self.loop_lag.also_watch(self.gateway.lag)
        lag_threshold = settings.loop_lag_alert_ms / 1000
        self.monitoring = Monitoring(
            sio=self.sio,
            gateway=self.gateway,
            service=lambda: self.service,
            participant_room=participant_room,
            interval=settings.link_report_seconds,
            silence=SilencePolicy(
                limit=settings.media_silence_seconds,
                lag_threshold=lag_threshold,
                grace_after_lag=settings.media_silence_lag_grace_seconds,
            ),
            loop_lag=self.loop_lag,
            overload=OverloadAlarm(
                lag_threshold, settings.loop_lag_alert_seconds, ALERT_COALESCE_SECONDS
            ),
            low_space=LowSpaceAlarm(settings.recording_warn_free_mb),
            monotonic=monotonic,
        )
        self.edge = Edge(
            settings=settings,
            sio=self.sio,
            registry=self.registry,
            gateway=self.gateway,
            monitoring=self.monitoring,
            refusals=RefusalLedger(p.ABUSE_REFUSALS, p.ABUSE_WINDOW_SECONDS, monotonic),
            monotonic=monotonic,
            service_ref=lambda: self._service,
            pseudonyms=Pseudonyms(settings.signing_key()),
        )
        self.refusals = Refusals(self.edge)
        self.connections = ConnectionHandling(self.edge, self.refusals)
        handlers = EventHandlers(self.edge, self.refusals, self.connections)
        self.dispatcher = Dispatcher(self.edge, self.refusals, handlers.table())
        self.broadcaster = Broadcaster(self.edge, self.connections)
        self.gateway.listen_active_speaker(self.broadcaster.announce_active_speaker)
        self.sio.on("connect", self.connections.on_connect)
        self.sio.on("disconnect", self.connections.on_disconnect)

    def attach(self, app: web.Application) -> None:
        """Routes at ``/socket.io``; started after the service exists, stopped before it."""
        self.sio.attach(app, socketio_path=SOCKETIO_PATH)
        app.on_shutdown.append(self._on_app_shutdown)

    def start(self, service: HearingService, presence: ConnectionPresence) -> None:
        self._service = service
        self.edge.presence = presence
        service.bus.subscribe(self.broadcaster.on_bus_message)
        self.monitoring.start()

    async def close(self) -> None:
        """Disconnect everyone, stop background work, close media; idempotent."""
        edge = self.edge
        if edge.closing:
            return
        edge.closing = True
        await self.connections.close_all()
        await self.monitoring.stop()
        await drain(edge.tasks, DRAIN_SECONDS)  # a departure being recorded, among them
        if self._service is not None:
            await self.refusals.write_coalesced(everything=True)
        await self.gateway.close()
        await self.sio.shutdown()
        await _stop_manager(self.sio.manager)

    def cleanup_context(
        self,
        service_key: web.AppKey[HearingService],
        presence_key: web.AppKey[ConnectionPresence],
    ) -> Any:
        async def run(app: web.Application) -> AsyncIterator[None]:
            self.start(app[service_key], app[presence_key])
            try:
                yield
            finally:
                await self.close()

        return run

    async def _on_app_shutdown(self, _app: web.Application) -> None:
        await self.close()

    @property
    def service(self) -> HearingService:
        return self.edge.service

    async def record_swept_loss(
        self, session_id: SessionId, participant_id: ParticipantId, reason: str
    ) -> bool:
        """A connection a dead process held: recorded lost, monitors alerted live."""
        return await self.monitoring.connection_lost(
            session_id, participant_id, AlertKind.DISCONNECTED, reason
        )

    async def _dispatch(self, sid: str, event: object, args: tuple[object, ...]) -> dict[str, Any]:
        return await self.dispatcher.dispatch(sid, event, args)

    async def _malformed(self, eio_sid: str, environ: dict[str, Any]) -> None:
        await self.connections.on_malformed_input(eio_sid, environ)

    async def _send_server_offer(
        self,
        session_id: str,
        participant_id: str,
        sdp: str,
        tracks: Mapping[str, OutgoingTrack | None],
    ) -> None:
        await self.broadcaster.send_server_offer(session_id, participant_id, sdp, tracks)


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
