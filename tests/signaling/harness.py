"""Real socket.io clients against the real server, and a hearing scheduled through the service.

Each ``Peer`` records every event it receives; tests wait for an event matching a condition
instead of sleeping. A ``session_event`` message carries a command's events and what changed;
the peer applies the changes as a client does and records each event with the view it then
holds (``{"session_id", "event", "view"}``); the messages as they came are in ``messages``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import socketio
from aiohttp.test_utils import TestClient

from hearing_server.services import HearingService
from rooms.accounts import Invitation
from rooms.cases import Case, CaseType, Instance
from rooms.ids import ParticipantId, SessionId
from rooms.participants import Actor
from rooms.points import PointKind
from rooms.roles import Role, StaffRole
from rooms.session import CourtSession
from signaling.client import apply_changes
from web.keys import SERVICE

CLI = Actor(id="cli", is_system=True)
HANOI = timezone(timedelta(hours=7))
START = datetime(2026, 11, 23, 8, 0, tzinfo=HANOI)
"""The FakeClock's "now": the hearing is due to start as the tests run."""
WAIT = 5.0

Client = TestClient[Any, Any]
Body = dict[str, Any]


class ConnectRefused(Exception):
    def __init__(self, data: Any) -> None:
        super().__init__(data)
        self.data = data


@dataclass
class Peer:
    """One socket.io client; ``events`` keeps every (name, body) in arrival order."""

    label: str
    sio: socketio.AsyncClient = field(
        default_factory=lambda: socketio.AsyncClient(reconnection=False)
    )
    events: list[tuple[str, Any]] = field(default_factory=list)
    messages: list[Body] = field(default_factory=list)
    """Every ``session_event`` message as it arrived."""
    views: dict[str, Body] = field(default_factory=dict)
    """By session id: the view as the changes received so far make it."""
    versions: dict[str, Any] = field(default_factory=dict)
    gaps: list[Body] = field(default_factory=list)
    """Messages that did not follow the version held (none, unless one was lost)."""
    connect_error: Any = None
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def __post_init__(self) -> None:
        async def record(event: str, *args: Any) -> None:
            body = args[0] if args else None
            async with self._changed:
                if event == "session_event":
                    self._follow(body)
                else:
                    if event == "welcome" and "view" in body:
                        self._hold(body["view"]["session"]["id"], body)
                    self.events.append((event, body))
                self._changed.notify_all()

        async def on_connect_error(data: Any) -> None:
            self.connect_error = data

        async def on_disconnect(*_args: Any) -> None:
            self.disconnected.set()

        self.sio.on("*", record)
        self.sio.on("connect_error", on_connect_error)
        self.sio.on("disconnect", on_disconnect)

    async def connect(self, url: str, auth: dict[str, Any]) -> Peer:
        try:
            await self.sio.connect(url, auth=auth, transports=["websocket"], wait_timeout=WAIT)
        except socketio.exceptions.ConnectionError as exc:
            raise ConnectRefused(self.connect_error) from exc
        return self

    async def call(self, event: str, data: Any = None) -> Body:
        reply: Body = await self.sio.call(event, data if data is not None else {}, timeout=WAIT)
        if event in ("watch", "view") and reply.get("ok"):
            session_id = reply.get("session_id") or (data or {})["session_id"]
            async with self._changed:
                self._hold(session_id, reply)
        return reply

    def _hold(self, session_id: str, whole: Body) -> None:
        self.views[session_id] = whole["view"]
        self.versions[session_id] = whole["version"]

    def _follow(self, message: Body) -> None:
        self.messages.append(message)
        session_id = message["session_id"]
        if "view" in message:
            view = message["view"]
        else:
            if message["since"] != self.versions.get(session_id):
                self.gaps.append(message)
            view = apply_changes(self.views.get(session_id, {}), message["changes"])
        self.views[session_id] = view
        self.versions[session_id] = message["version"]
        for event in message["events"]:
            self.events.append(
                ("session_event", {"session_id": session_id, "event": event, "view": view})
            )

    async def wait_for(self, name: str, condition: Callable[[Any], bool] = lambda _b: True) -> Any:
        """The first ``name`` event (already received or coming) that meets ``condition``."""

        def found() -> Any:
            return next((b for n, b in self.events if n == name and condition(b)), None)

        async with asyncio.timeout(WAIT):
            async with self._changed:
                await self._changed.wait_for(lambda: found() is not None)
                return found()

    def received(self, name: str) -> list[Any]:
        return [b for n, b in self.events if n == name]

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


def events_of(body: Any) -> list[Any]:
    """The events of a ``session_event``: one as a ``Peer`` records it, or all of a message
    as it came (``HeadlessParticipant.events``)."""
    return [body["event"]] if "event" in body else list(body["events"])


def state_event(current: str) -> Callable[[Any], bool]:
    """A ``session_event`` reporting that the session moved to ``current``."""

    def match(body: Any) -> bool:
        return any(
            event["name"] == "session_state_changed" and event["payload"]["current"] == current
            for event in events_of(body)
        )

    return match


def person_state(participant_id: str, current: str) -> Callable[[Any], bool]:
    def match(body: Any) -> bool:
        return any(
            event["name"] == "participant_state_changed"
            and event["payload"]["participant_id"] == participant_id
            and event["payload"]["current"] == current
            for event in events_of(body)
        )

    return match


@dataclass
class Hearing:
    """A criminal hearing: judge and clerk in the courtroom, parties at remote points."""

    client: Client
    session_id: SessionId
    tokens: dict[str, str]
    ids: dict[str, ParticipantId]
    peers: list[Peer] = field(default_factory=list)

    @property
    def service(self) -> HearingService:
        return self.client.server.app[SERVICE]

    @property
    def url(self) -> str:
        return str(self.client.server.make_url("/"))

    async def session(self) -> CourtSession:
        return await self.service.session(CLI, self.session_id)

    async def invitations(self, who: str) -> list[Invitation]:
        """The join links issued to one of PEOPLE, oldest first."""
        issued = await self.service.invitations(CLI, self.session_id)
        return [i for i in issued if i.participant_id == self.ids[who]]

    async def connect(self, who: str, auth: dict[str, Any] | None = None) -> Peer:
        peer = Peer(who)
        self.peers.append(peer)
        return await peer.connect(self.url, {"token": self.tokens[who]} if auth is None else auth)

    async def join(self, who: str) -> tuple[Peer, Body]:
        """Connect and return the welcome."""
        peer = await self.connect(who)
        return peer, await peer.wait_for("welcome")

    async def connect_refused(self, who: str, auth: dict[str, Any] | None = None) -> Any:
        """Connect expecting a refusal; return the refusal's ``data`` ({code, rule, message})."""
        try:
            await self.connect(who, auth)
        except ConnectRefused as refused:
            return refused.data["data"]
        raise AssertionError(f"{who} was let in")

    async def admit(self, clerk: Peer, who: str) -> None:
        for command in ("verify_identity", "admit"):
            reply = await clerk.call(command, {"participant_id": self.ids[who]})
            assert reply["ok"], reply

    async def audit(self, action: str) -> list[Any]:
        trail = await self.service.audit_trail(CLI, self.session_id, limit=1000)
        return [e.entry for e in trail if e.entry.action == action]

    async def close(self) -> None:
        for peer in self.peers:
            await peer.close()


PEOPLE: dict[str, tuple[str, Role, str]] = {
    "judge": ("Trần Văn Chủ Tọa", Role.PRESIDING_JUDGE, "courtroom"),
    "clerk": ("Lê Thị Thư Ký", Role.CLERK, "courtroom"),
    "defendant": ("Nguyễn Văn Bị Cáo", Role.DEFENDANT, "detention"),
    "victim": ("Phạm Thị Bị Hại", Role.VICTIM, "home"),
}


async def schedule_hearing(client: Client) -> Hearing:
    service: HearingService = client.server.app[SERVICE]
    court = (await service.courts(CLI))[0]
    case = Case(
        court_id=court.id,
        number="45/2026/HS-ST",
        case_type=CaseType.CRIMINAL,
        instance=Instance.FIRST_INSTANCE,
        title="Trộm cắp tài sản",
    )
    session = await service.schedule_hearing(CLI, case, START, START + timedelta(hours=4))
    points = {
        "courtroom": session.central_point.id,
        "detention": (
            await service.add_point(CLI, session.id, "Trại tạm giam", PointKind.DETENTION_CENTRE)
        ).id,
        "home": (await service.add_point(CLI, session.id, "Nhà riêng", PointKind.HOME)).id,
    }
    tokens: dict[str, str] = {}
    ids: dict[str, ParticipantId] = {}
    for key, (name, role, point) in PEOPLE.items():
        participant, link = await service.add_participant(
            CLI, session.id, name, role, points[point]
        )
        tokens[key] = link.token
        ids[key] = participant.id
    return Hearing(client, session.id, tokens, ids)


async def staff_token(client: Client, username: str, role: StaffRole) -> str:
    service: HearingService = client.server.app[SERVICE]
    password = "a-password-long-enough"
    await service.add_user(CLI, username, role, password)
    return (await service.login(username, password)).token


class RawSocket:
    """A socket.io client spoken frame by frame over a real WebSocket, for input that the
    python-socketio client would never send (reserved names, broken frames, binary)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, session: aiohttp.ClientSession):
        self.ws = ws
        self._session = session
        self.frames: list[str | bytes] = []
        self.closed = False

    @classmethod
    async def open(cls, client: Client) -> RawSocket:
        session = aiohttp.ClientSession()
        url = client.server.make_url("/socket.io/").with_query(EIO="4", transport="websocket")
        ws = await session.ws_connect(url)
        raw = cls(ws, session)
        await raw.next_frame(lambda f: isinstance(f, str) and f.startswith("0"))
        return raw

    async def connect(self, auth: dict[str, Any]) -> str:
        """The socket.io CONNECT with ``auth``; returns the server's answer frame."""
        await self.send("40" + json.dumps(auth))
        return str(await self.next_frame(lambda f: isinstance(f, str) and f[:2] in ("40", "44")))

    async def send(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_str(frame)

    async def call(self, ack_id: int, event: Any, *args: Any) -> Any:
        """Send an event asking for acknowledgement ``ack_id``; return the acknowledgement."""
        await self.send(f"42{ack_id}" + json.dumps([event, *args]))
        return await self.ack(ack_id)

    async def ack(self, ack_id: int) -> Any:
        prefix = f"43{ack_id}["
        frame = await self.next_frame(lambda f: isinstance(f, str) and f.startswith(prefix))
        return json.loads(str(frame)[len(prefix) - 1 :])[0]

    def events(self, name: str) -> list[Any]:
        """Server events received so far (``42[name, body]``)."""
        found = []
        for frame in self.frames:
            if isinstance(frame, str) and frame.startswith("42["):
                event = json.loads(frame[2:])
                if event[0] == name:
                    found.append(event[1] if len(event) > 1 else None)
        return found

    async def next_frame(self, match: Callable[[str | bytes], bool]) -> str | bytes:
        """The first frame (received or coming) that ``match``es; answers pings meanwhile."""
        for frame in self.frames:
            if match(frame):
                return frame
        async with asyncio.timeout(WAIT):
            while True:
                frame = await self._receive()
                if match(frame):
                    return frame

    async def wait_closed(self) -> None:
        async with asyncio.timeout(WAIT):
            while not self.closed:
                try:
                    await self._receive()
                except ConnectionResetError:
                    return

    async def _receive(self) -> str | bytes:
        message = await self.ws.receive()
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            self.closed = True
            raise ConnectionResetError("the server closed the WebSocket")
        if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            self.closed = True
            raise ConnectionResetError(f"WebSocket ended: {message.type}")
        frame: str | bytes = message.data
        if frame == "2":
            await self.ws.send_str("3")
        self.frames.append(frame)
        return frame

    async def close(self) -> None:
        await self.ws.close()
        await self._session.close()
