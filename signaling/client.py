"""A participant without a browser: joins with a personal link over socket.io, publishes
pre-encoded test media through aiortc, and reports what it receives.

It speaks exactly the protocol of docs/signaling.md, so it serves the end-to-end tests, the
benchmarks, and court IT staff probing a server (``hearing-server probe JOIN_URL``).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import socketio

from signaling.media.policy import Source, TrackKey
from signaling.media.synthetic import EncodedClip, ProbeClient

__all__ = [
    "CommandRefused",
    "HeadlessParticipant",
    "JoinRefused",
    "TrackReport",
    "apply_changes",
    "split_join_url",
]

Body = dict[str, Any]


class CommandRefused(Exception):
    """The server refused a message; ``error`` is its error object (code, rule, message)."""

    def __init__(self, event: str, error: Mapping[str, Any]) -> None:
        super().__init__(f"{event}: {error.get('code')} / {error.get('rule')}")
        self.event = event
        self.error = dict(error)


class JoinRefused(Exception):
    """The server refused the connection: ``error`` says why (code, rule, message)."""

    def __init__(self, error: Mapping[str, Any]) -> None:
        message = error.get("message")
        english = message.get("en") if isinstance(message, Mapping) else None
        super().__init__(f"{english or 'refused'} ({error.get('rule', error.get('code', '?'))})")
        self.error = dict(error)


@dataclass(frozen=True, slots=True)
class TrackReport:
    """What arrived of one publisher's track."""

    publisher: str
    source: str
    frames: int
    first_frame_after: float | None
    "Seconds from joining to the first frame of this track (None: none yet)."
    packets: int
    packets_lost: int


def split_join_url(join_url: str) -> tuple[str, str]:
    """``https://host/prefix/join/<token>`` → (``https://host/prefix``, token)."""
    parts = urlsplit(join_url)
    path = parts.path.rstrip("/")
    head, _, token = path.rpartition("/join/")
    if parts.scheme not in ("http", "https") or not parts.netloc or not token or "/" in token:
        raise ValueError(f"not a join link: {join_url!r}")
    return f"{parts.scheme}://{parts.netloc}{head}", token


def apply_changes(view: Body, changes: Mapping[str, Any]) -> Body:
    """The view after one ``session_event``'s ``changes`` (docs/signaling.md): changed
    session fields, changed or new participant entries (``null``: gone), one's own entry."""
    updated = dict(view)
    if "session" in changes:
        updated["session"] = {**(view.get("session") or {}), **changes["session"]}
    if "you" in changes:
        updated["you"] = changes["you"]
    if "participants" in changes:
        people = {person["id"]: person for person in view.get("participants") or []}
        for pid, entry in changes["participants"].items():
            if entry is None:
                people.pop(pid, None)
            else:
                people[pid] = entry
        updated["participants"] = list(people.values())
    return updated


class HeadlessParticipant:
    """One participant: a socket.io connection plus an aiortc peer with synthetic media."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        audio: bool = True,
        video: bool = True,
        decode: bool = False,
        video_clip: EncodedClip | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.sio = socketio.AsyncClient(reconnection=False)
        self.media = ProbeClient(
            "probe", audio=audio, video=video, video_clip=video_clip, decode=decode
        )
        self.events: list[tuple[str, Any]] = []
        self.welcome: Body | None = None
        self.view: Body = {}
        self.version: int | None = None
        """The session version ``view`` is at; a message that does not follow it re-syncs."""
        self.resyncs = 0
        self.goodbye: Body | None = None
        self.joined_at: float | None = None
        self.__token = token
        self.__changed = asyncio.Condition()
        self.__negotiation = asyncio.Lock()
        self.__offers_answered = 0
        self.__refusal: Any = None
        self.__resync: asyncio.Task[None] | None = None
        self.sio.on("*", self.__record)
        self.sio.on("offer", self.__on_server_offer)
        self.sio.on("connect_error", self.__on_connect_error)

    @classmethod
    def from_join_url(cls, join_url: str, **options: Any) -> HeadlessParticipant:
        base_url, token = split_join_url(join_url)
        return cls(base_url, token, **options)

    @property
    def participant_id(self) -> str:
        return str((self.welcome or {}).get("participant_id", ""))

    @property
    def offers_answered(self) -> int:
        return self.__offers_answered

    # -- signalling -------------------------------------------------------------

    async def join(self) -> Body:
        """Connect with the join token; return the welcome message.

        Raises ``JoinRefused`` when the server turns the link down (expired, revoked...).
        """
        self.joined_at = time.monotonic()
        try:
            await self.sio.connect(
                self.base_url,
                auth={"token": self.__token},
                transports=["websocket"],
                wait_timeout=self.timeout,
            )
        except socketio.exceptions.ConnectionError as exc:
            refusal = self.__refusal
            if isinstance(refusal, Mapping) and isinstance(refusal.get("data"), Mapping):
                raise JoinRefused(refusal["data"]) from exc
            raise
        welcome: Body = await self.wait_for("welcome")
        self.welcome = welcome
        self.view = welcome.get("view") or {}
        self.version = welcome.get("version")
        return welcome

    async def call(self, event: str, payload: Mapping[str, Any] | None = None) -> Body:
        """Send one message and return its acknowledgement; raise if it was refused."""
        reply: Body = await self.sio.call(event, dict(payload or {}), timeout=self.timeout)
        if not reply.get("ok"):
            raise CommandRefused(event, reply.get("error") or {})
        return reply

    async def wait_for(self, name: str, condition: Callable[[Any], bool] = lambda _b: True) -> Any:
        """The first ``name`` event, already received or still to come, meeting ``condition``."""

        def found() -> Any:
            return next((b for n, b in self.events if n == name and condition(b)), None)

        async with asyncio.timeout(self.timeout):
            async with self.__changed:
                await self.__changed.wait_for(lambda: found() is not None)
                return found()

    async def wait_view(
        self, condition: Callable[[Body], bool], within: float | None = None
    ) -> Body:
        """Wait until the latest view of the session meets ``condition``: for ``within``
        seconds (the client's timeout by default; ``math.inf`` for a wait that someone
        else's pace decides, as a lobby's is: a chair admitting a hundred people one by one
        reaches the last long after any timeout meant for the server's answers)."""
        limit = self.timeout if within is None else within
        async with asyncio.timeout(None if math.isinf(limit) else limit):
            async with self.__changed:
                await self.__changed.wait_for(lambda: condition(self.view))
                return self.view

    async def leave(self) -> None:
        await self.call("leave")

    # -- media ------------------------------------------------------------------

    async def publish(self) -> None:
        """Offer this participant's microphone and camera; apply the server's answer."""
        async with self.__negotiation:
            sdp, sources = await self.media.create_offer()
            reply = await self.call("offer", {"sdp": sdp, "sources": dict(sources)})
            await self.media.accept_answer(reply["answer"]["sdp"])

    async def share_screen(self, on: bool) -> None:
        async with self.__negotiation:
            sdp, sources = await self.media.share_screen(on)
            reply = await self.call("offer", {"sdp": sdp, "sources": dict(sources)})
            await self.media.accept_answer(reply["answer"]["sdp"])

    def frames_from(self, publisher: str, source: Source) -> int:
        """Frames received so far of a publisher's track (0 if it was never sent here)."""
        counter = self.media.counter(publisher, source)
        return 0 if counter is None else counter.frames

    async def packets_from(self, publisher: str, source: Source) -> int:
        """RTP packets received so far of a publisher's track."""
        return await self.media.packets_received(publisher, source)

    async def wait_frames(
        self, publisher: str, source: Source, at_least: int, within: float | None = None
    ) -> int:
        """Wait until ``at_least`` frames of the track have arrived in all; the count reached."""
        deadline = time.monotonic() + (self.timeout if within is None else within)
        while self.frames_from(publisher, source) < at_least:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        return self.frames_from(publisher, source)

    async def report(self) -> list[TrackReport]:
        """Every track the server sends here, with what arrived of it."""
        reports: list[TrackReport] = []
        receivers = {
            t.mid: t.receiver for t in self.media.pc.getTransceivers() if t.mid is not None
        }
        for mid, key in sorted(self.media.tracks.items()):
            if key is None:
                continue
            counter = self.media.counters.get(mid)
            packets = lost = 0
            receiver = receivers.get(mid)
            if receiver is not None:
                stats = await receiver.getStats()
                for stat in stats.values():
                    if stat.type == "inbound-rtp":
                        packets += stat.packetsReceived
                        lost += max(0, stat.packetsLost)
            first = None
            if counter is not None and counter.first_frame_at is not None and self.joined_at:
                first = counter.first_frame_at - self.joined_at
            reports.append(
                TrackReport(
                    publisher=key.publisher,
                    source=key.source,
                    frames=0 if counter is None else counter.frames,
                    first_frame_after=first,
                    packets=packets,
                    packets_lost=lost,
                )
            )
        return reports

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
        await self.media.close()

    # -- handlers ---------------------------------------------------------------

    async def __record(self, event: str, *args: Any) -> None:
        body = args[0] if args else None
        async with self.__changed:
            self.events.append((event, body))
            if event == "session_event" and isinstance(body, dict):
                self.__follow(body)
            elif event == "goodbye" and isinstance(body, dict):
                self.goodbye = body
            self.__changed.notify_all()

    def __follow(self, body: Body) -> None:
        """Take a whole view; apply a message's changes if it follows the version held;
        otherwise (a message was lost) ask for the whole view, once, and drop changes until
        it arrives."""
        if "view" in body:
            self.view, self.version = body["view"], body.get("version")
        elif self.__resync is not None:
            return
        elif body.get("since") == self.version:
            self.view = apply_changes(self.view, body.get("changes") or {})
            self.version = body.get("version")
        else:
            self.__resync = asyncio.get_running_loop().create_task(self.__whole_view())

    async def __whole_view(self) -> None:
        try:
            reply = await self.call("view")
            async with self.__changed:
                self.resyncs += 1
                self.view, self.version = reply["view"], reply["version"]
                self.__changed.notify_all()
        finally:
            self.__resync = None

    async def __on_connect_error(self, data: Any) -> None:
        self.__refusal = data

    async def __on_server_offer(self, body: Body) -> None:
        await self.__record("offer", body)
        tracks = {
            mid: None if t is None else TrackKey(t["publisher"], t["source"])
            for mid, t in (body.get("tracks") or {}).items()
        }
        async with self.__negotiation:
            answer = await self.media.handle_offer(body["sdp"], tracks)
            try:
                await self.call("answer", {"sdp": answer})
            except socketio.exceptions.BadNamespaceError:
                return  # the server closed the connection meanwhile: nobody to answer
            self.__offers_answered += 1
