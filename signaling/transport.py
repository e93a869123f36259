"""The one place that reaches into python-socketio: every client event goes to one dispatcher,
and input that is not socket.io at all closes the connection quietly.

python-socketio looks a client event's name up in the same table as its own lifecycle
handlers, so a client sending ``connect``, ``disconnect`` or ``*`` would call them
(``_trigger_event``). Here client events never reach that table: ``_handle_event_internal`` is
replaced, so a reserved name is just a name the dispatcher refuses. Frames that do not decode
(binary before connecting, broken JSON, unknown packet types) raise inside
``_handle_eio_message``, which Engine.IO would log with a full traceback per frame; here they
are counted, logged once per connection in one line, and the connection is closed.

HTTP long-polling is guarded the same way: a POST whose payload does not decode (bad UTF-8,
an unknown packet, a broken JSONP body) or carries broken socket.io input is counted, logged
in one line, and answered 400 as Engine.IO answers its own transport errors, ending the
session; Engine.IO alone would log a traceback and answer 200.

Pinned to python-socketio 5.x and python-engineio 4.x (``tests/signaling/test_protocol.py``
fails loudly if the methods replaced here change shape).
"""

from __future__ import annotations

import binascii
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from engineio import async_socket as engineio_async_socket
from engineio import exceptions as engineio_errors
from engineio.async_drivers import aiohttp as engineio_aiohttp
from socketio import packet

log = logging.getLogger(__name__)

ClientEventDispatch = Callable[[str, object, tuple[object, ...]], Awaitable[dict[str, Any]]]
"""``(sid, event name as sent, arguments)`` → the acknowledgement body; never raises."""
MalformedInput = Callable[[str, dict[str, Any]], Awaitable[None]]
"""``(eio sid, environ)``: told once per connection that sent something undecodable."""


def remote_address(environ: dict[str, Any]) -> str:
    """The peer's address (the aiohttp driver's ``REMOTE_ADDR`` is a constant)."""
    request = environ.get("aiohttp.request")
    remote = getattr(request, "remote", None)
    return str(remote) if remote else "unknown"


def engineio_frame_ok(frame: object) -> bool:
    """Whether Engine.IO can decode this WebSocket frame (it raises, uncaught, otherwise)."""
    if isinstance(frame, bytes):
        return True
    if not isinstance(frame, str) or not frame:
        return False
    if frame[0] == "b":
        try:
            binascii.a2b_base64(frame[1:])
        except (binascii.Error, ValueError):
            return False
        return True
    return frame[0].isdigit() and frame[0].isascii()


class _GuardedWebSocket(engineio_aiohttp.WebSocket):  # type: ignore[misc]
    """A frame Engine.IO cannot decode ends the connection as if the client had closed it,
    instead of escaping Engine.IO's loop as an error logged with a traceback."""

    async def wait(self) -> object:
        frame = await super().wait()
        if engineio_frame_ok(frame):
            return frame
        log.warning(
            "closing a connection from %s: a frame that is not Engine.IO",
            remote_address(getattr(self, "environ", {})),
        )
        return None


class _GuardedPollingSocket(engineio_async_socket.AsyncSocket):  # type: ignore[misc]
    """An Engine.IO session whose long-polling POSTs go through the edge's guard."""

    async def handle_post_request(self, environ: dict[str, Any]) -> None:
        await self.server.edge_socket_server.guarded_post(self, environ)


class JsonOnlyPacket(packet.Packet):  # type: ignore[misc]
    """What this server sends is JSON only (docs/signaling.md), so no packet it sends is
    searched for binary parts: the search walks the whole payload, recursively, and for the
    admissions of a 100-point meeting it made 392,000 calls, 1.9 s of the signalling loop.
    Decoding what clients send is unchanged."""

    uses_binary_events = False


class EdgeSocketServer(socketio.AsyncServer):  # type: ignore[misc]
    """An ``AsyncServer`` whose client events all go to ``dispatch``."""

    def __init__(
        self, *, dispatch: ClientEventDispatch, malformed: MalformedInput, **options: Any
    ) -> None:
        super().__init__(serializer=JsonOnlyPacket, **options)
        # The driver table is shared by every Engine.IO server: change only this one's copy.
        self.eio._async = {**self.eio._async, "websocket": _GuardedWebSocket}
        self.eio.edge_socket_server = self  # how a guarded polling socket finds its guard
        self._dispatch = dispatch
        self._malformed = malformed
        self._closing_eio: set[str] = set()
        self._posting_eio: set[str] = set()
        """Sessions inside a long-polling POST: a malformed one is ended by its answer."""

    async def _handle_event_internal(
        self,
        server: socketio.AsyncServer,
        sid: str,
        eio_sid: str,
        data: list[Any],
        namespace: str,
        id: int | None,
    ) -> None:
        reply = await self._dispatch(sid, data[0], tuple(data[1:]))
        if id is not None:
            await self._send_packet(
                eio_sid, self.packet_class(packet.ACK, namespace=namespace, id=id, data=[reply])
            )

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        socket = self.eio.sockets.get(eio_sid)
        if socket is not None and type(socket) is engineio_async_socket.AsyncSocket:
            # The same object as another class: nothing is allocated per session (Engine.IO
            # keeps a closed socket a while; a closure per socket kept its bytes with it).
            socket.__class__ = _GuardedPollingSocket
        return await super()._handle_eio_connect(eio_sid, environ)

    async def guarded_post(self, socket: Any, environ: dict[str, Any]) -> None:
        """One long-polling POST: undecodable input closes the session and raises Engine.IO's
        own error, answered 400 without a log line. Closed here without waiting: Engine.IO's
        close would wait for a GET to take its goodbye, for ever."""
        eio_sid = socket.sid
        self._posting_eio.add(eio_sid)
        try:
            await engineio_async_socket.AsyncSocket.handle_post_request(socket, environ)
        except engineio_errors.EngineIOError:
            raise
        except Exception as exc:
            await self._refuse_malformed(eio_sid, exc)
        finally:
            self._posting_eio.discard(eio_sid)
        if eio_sid in self._closing_eio:
            await socket.close(wait=False, abort=True, reason=self.eio.reason.SERVER_DISCONNECT)
            raise engineio_errors.EngineIOError("input that is not socket.io")

    async def _handle_eio_message(self, eio_sid: str, data: object) -> None:
        if eio_sid in self._closing_eio or eio_sid not in self.eio.sockets:
            return  # what a connection being closed still sends costs nothing
        try:
            await super()._handle_eio_message(eio_sid, data)
        except Exception as exc:  # undecodable input from the client, never our handlers
            await self._close_malformed(eio_sid, exc)

    async def _handle_event(
        self, eio_sid: str, namespace: str | None, id: int | None, data: object
    ) -> None:
        # A socket.io event is a non-empty JSON array; anything else is broken transport input.
        if not isinstance(data, list) or not data:
            raise ValueError("an event is a non-empty array")
        await super()._handle_event(eio_sid, namespace, id, data)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: object) -> None:
        try:
            await super()._handle_eio_disconnect(eio_sid, reason)
        finally:
            self._closing_eio.discard(eio_sid)

    async def _close_malformed(self, eio_sid: str, exc: Exception) -> None:
        environ = self.environ.get(eio_sid, {})
        await self._refuse_malformed(eio_sid, exc)
        if eio_sid in self._posting_eio:
            return  # the POST's answer ends the session (``_guarded_post``)
        await self.eio.disconnect(eio_sid)
        # Engine.IO only says goodbye; a client that ignores it must lose the socket too.
        transport = getattr(environ.get("aiohttp.request"), "transport", None)
        if transport is not None:
            transport.close()

    async def _refuse_malformed(self, eio_sid: str, exc: Exception) -> None:
        """Counted and logged once; the session takes nothing more."""
        if eio_sid in self._closing_eio:
            return
        self._closing_eio.add(eio_sid)
        self._binary_packet.pop(eio_sid, None)
        environ = self.environ.get(eio_sid, {})
        log.warning(
            "closing a connection from %s: input that is not socket.io (%s)",
            remote_address(environ),
            type(exc).__name__,
        )
        await self._malformed(eio_sid, environ)
