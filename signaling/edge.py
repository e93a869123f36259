"""What the parts of the socket.io edge share: the socket server, who is connected, the media
gateway, refusal counting, and background work that never dies silently."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import socketio

from hearing_server.presence import ConnectionPresence, LocalPresence
from hearing_server.services import HearingService
from hearing_server.settings import Settings
from rooms.disclosure import Pseudonyms
from rooms.text import Text
from signaling.connections import ConnectionRegistry
from signaling.gateway import MediaGateway
from signaling.monitoring import Monitoring
from signaling.ratelimit import Monotonic, RefusalLedger

log = logging.getLogger(__name__)


def participant_room(session_id: str, participant_id: str) -> str:
    """The socket.io room of one participant: directed messages reach it on any process."""
    return f"p:{session_id}:{participant_id}"


@dataclass
class Edge:
    settings: Settings
    sio: socketio.AsyncServer
    registry: ConnectionRegistry
    gateway: MediaGateway
    monitoring: Monitoring
    refusals: RefusalLedger
    monotonic: Monotonic
    service_ref: Callable[[], HearingService | None]
    pseudonyms: Pseudonyms
    """What a shielded participant calls a protected one (rooms.disclosure)."""
    presence: ConnectionPresence = field(default_factory=LocalPresence)
    """Who holds whose connection (the wiring's choice, given at start)."""
    closing: bool = False
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def service(self) -> HearingService:
        service = self.service_ref()
        if service is None:
            raise RuntimeError("the signalling server was not started")
        return service

    @property
    def started(self) -> bool:
        return self.service_ref() is not None

    async def emit(self, sid: str, event: str, body: Any) -> None:
        await self.sio.emit(event, body, to=sid, ignore_queue=True)

    async def goodbye(self, sid: str, reason: str, message: Text | None = None) -> None:
        await self.emit(sid, "goodbye", goodbye_body(reason, message))

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background; its failure is logged, never lost. The coroutine
        itself is the task, so one cancelled before it starts (at shutdown) is closed, not
        left unawaited."""
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        task.add_done_callback(_finished)


def _finished(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("signalling background task failed", exc_info=task.exception())


GOODBYES: dict[str, Text] = {
    "connection.replaced": Text(
        "Bạn đã kết nối từ nơi khác; kết nối này đã bị đóng.",
        "You connected from elsewhere; this connection is closed.",
    ),
    "participant.left": Text("Bạn đã rời phiên.", "You left the session."),
    "participant.removed": Text("Bạn đã bị mời ra khỏi phiên.", "You were removed."),
    "participant.denied": Text("Bạn không được vào phiên.", "You were refused entry."),
    "session.closed": Text("Phiên đã kết thúc.", "The session has closed."),
    "session.postponed": Text("Phiên đã hoãn.", "The session is postponed."),
    "session.cancelled": Text("Phiên đã bị hủy.", "The session was cancelled."),
    "link.revoked": Text(
        "Đường dẫn tham gia của bạn đã bị thu hồi.", "Your join link was revoked."
    ),
    "account.deactivated": Text(
        "Tài khoản của bạn đã bị vô hiệu hóa.", "Your account was deactivated."
    ),
    "auth.logged_out": Text("Bạn đã đăng xuất.", "You logged out."),
    "server.shutdown": Text(
        "Máy chủ đang khởi động lại; hãy kết nối lại sau ít giây.",
        "The server is restarting; reconnect in a few seconds.",
    ),
}


def goodbye_body(reason: str, message: Text | None = None) -> dict[str, Any]:
    text = message or GOODBYES.get(reason) or Text("Kết nối đã đóng.", "Connection closed.")
    return {"reason": reason, "message": text.as_dict()}
