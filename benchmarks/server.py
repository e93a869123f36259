"""The server side of the media benchmarks, run in a process of its own.

Its CPU time is then the server's alone: load generator processes connect
to it over a loopback socket and speak a small JSON-lines protocol.

Client → server: ``join {pid, sdp, sources}`` (reply ``answer {pid, sdp}`` or
``error {pid, message}``), ``answer {pid, sdp}`` to a server offer,
``cpu`` (reply ``cpu {cpu, wall, frames_in: {audio, video}, loop_delay}``: process CPU
seconds, monotonic time, frames received from publishers so far (forwarding room only),
the event loop's worst lateness since the previous ``cpu``),
``quit`` (the server closes the room and exits).
Server → client: ``offer {pid, sdp, tracks}`` on the connection that joined ``pid``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcconfiguration import RTCBundlePolicy

from signaling.media import (
    FORWARDING_MODES,
    AllowAll,
    MediaRoom,
    NegotiationError,
    Source,
    TrackKey,
)

__all__ = ["LoopDelay", "Mode", "RelayRoom", "server_main"]

logger = logging.getLogger(__name__)

Mode = Literal["rtp", "frame", "relay"]
"""``rtp``: the forwarding MediaRoom at RTP level (the default); ``frame``: the same room
forwarding whole frames that aiortc's senders re-packetise (the older path); ``relay``:
aiortc's MediaRelay (decode + re-encode)."""

Tracks = Mapping[str, TrackKey | None]
Renegotiate = Callable[[str, str, Tracks], Awaitable[None]]


class RelayRoom:
    """Baseline: aiortc's MediaRelay, which decodes once and encodes per receiver."""

    def __init__(self, on_renegotiate: Renegotiate, video_codec: str = "video/VP8") -> None:
        self.__relay = MediaRelay()
        self.__on_renegotiate = on_renegotiate
        self.__video_codec = video_codec
        self.__pcs: dict[str, RTCPeerConnection] = {}
        self.__tracks: dict[TrackKey, MediaStreamTrack] = {}
        self.__mids: dict[str, dict[str, TrackKey]] = {}
        self.__pending: dict[str, list[TrackKey]] = {}
        self.__locks: dict[str, asyncio.Lock] = {}
        self.__connected: dict[str, asyncio.Event] = {}
        self.__tasks: set[asyncio.Task[None]] = set()

    async def join(self, pid: str, sdp: str, sources: Mapping[str, Source]) -> str:
        pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        self.__pcs[pid] = pc
        self.__locks[pid] = asyncio.Lock()
        self.__connected[pid] = connected = asyncio.Event()
        self.__mids[pid] = {}
        self.__pending[pid] = [k for k in self.__tracks if k.publisher != pid]

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState == "connected":
                connected.set()

        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        new = []
        for transceiver in pc.getTransceivers():
            mid = transceiver.mid
            if mid is not None and mid in sources and transceiver.receiver.track is not None:
                key = TrackKey(pid, sources[mid])
                self.__tracks[key] = transceiver.receiver.track
                new.append(key)
        await pc.setLocalDescription(await pc.createAnswer())
        for other in self.__pcs:
            if other != pid:
                self.__pending[other].extend(new)
                self.__schedule(other)
        self.__schedule(pid)
        return str(pc.localDescription.sdp)

    def __schedule(self, pid: str) -> None:
        task = asyncio.get_running_loop().create_task(self.__negotiate(pid))
        self.__tasks.add(task)
        task.add_done_callback(self.__tasks.discard)

    async def __negotiate(self, pid: str) -> None:
        await self.__connected[pid].wait()
        async with self.__locks[pid]:
            pc = self.__pcs[pid]
            if not self.__pending[pid]:
                return
            while pc.signalingState != "stable":  # noqa: ASYNC110 - aiortc has no awaitable for it
                await asyncio.sleep(0.02)
            added = []
            for key in self.__pending[pid]:
                track = self.__relay.subscribe(self.__tracks[key])
                transceiver = pc.addTransceiver(track, direction="sendonly")
                if key.kind == "video":  # encode what the forwarder would forward
                    codecs = RTCRtpSender.getCapabilities("video").codecs
                    wanted = (self.__video_codec.lower(), "video/rtx")
                    transceiver.setCodecPreferences(
                        [c for c in codecs if c.mimeType.lower() in wanted]
                    )
                added.append((transceiver, key))
            self.__pending[pid] = []
            await pc.setLocalDescription(await pc.createOffer())
            for transceiver, key in added:
                self.__mids[pid][str(transceiver.mid)] = key
            sdp = pc.localDescription.sdp
            tracks = dict(self.__mids[pid])
        await self.__on_renegotiate(pid, sdp, tracks)

    async def accept_answer(self, pid: str, sdp: str) -> None:
        await self.__pcs[pid].setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def close(self) -> None:
        for task in list(self.__tasks):
            task.cancel()
        for pc in self.__pcs.values():
            await pc.close()


class LoopDelay:
    """How late the event loop runs a timer: a saturated process shows it first.

    ``worst()`` returns the largest delay since the previous call, so each
    measured window reports its own; ``samples`` keeps every delay for percentiles (cleared
    by whoever reads them).
    """

    def __init__(self, period: float = 0.05) -> None:
        self.__period = period
        self.__worst = 0.0
        self.samples: list[float] = []
        self.__task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.__task = asyncio.get_running_loop().create_task(self.__run())

    def stop(self) -> None:
        if self.__task is not None:
            self.__task.cancel()

    def worst(self) -> float:
        worst, self.__worst = self.__worst, 0.0
        return worst

    async def __run(self) -> None:
        while True:
            due = time.monotonic() + self.__period
            await asyncio.sleep(self.__period)
            late = time.monotonic() - due
            self.samples.append(late)
            self.__worst = max(self.__worst, late)


def encode_line(message: Mapping[str, Any]) -> bytes:
    return (json.dumps(message) + "\n").encode()


async def serve(mode: Mode, video_codec: str, port_queue: Any) -> None:
    """Run one room until a client sends ``quit``; put the listening port on ``port_queue``."""
    links: dict[str, asyncio.StreamWriter] = {}

    async def send(writer: asyncio.StreamWriter, message: Mapping[str, Any]) -> None:
        writer.write(encode_line(message))
        await writer.drain()

    async def renegotiate(pid: str, sdp: str, tracks: Tracks) -> None:
        if done.is_set():  # closing: the clients have gone
            return
        wire = {mid: None if k is None else [k.publisher, k.source] for mid, k in tracks.items()}
        await send(links[pid], {"op": "offer", "pid": pid, "sdp": sdp, "tracks": wire})

    room: MediaRoom | RelayRoom
    if mode in FORWARDING_MODES:
        room = MediaRoom(
            "bench",
            policy=AllowAll(),
            on_renegotiate=renegotiate,
            video_codec=video_codec,
            forwarding="frame" if mode == "frame" else "rtp",
        )
    else:
        room = RelayRoom(renegotiate, video_codec)
    done = asyncio.Event()
    answers: set[asyncio.Task[None]] = set()

    delay = LoopDelay()
    delay.start()

    def usage() -> dict[str, Any]:
        frames_in = {"audio": 0, "video": 0}
        bandwidth_pauses = 0
        if isinstance(room, MediaRoom):
            for fanout in room.tracks.values():
                frames_in[fanout.kind] += fanout.frames_in
            bandwidth_pauses = sum(room.peer(pid).bandwidth_pauses for pid in room.participants)
        return {
            "cpu": time.process_time(),
            "wall": time.monotonic(),
            "frames_in": frames_in,
            "bandwidth_pauses": bandwidth_pauses,
            "loop_delay": delay.worst(),
        }

    async def join(writer: asyncio.StreamWriter, msg: dict[str, Any]) -> None:
        links[msg["pid"]] = writer
        try:
            answer = await room.join(msg["pid"], msg["sdp"], msg["sources"])
        except (NegotiationError, ValueError) as exc:
            await send(writer, {"op": "error", "pid": msg["pid"], "message": str(exc)})
            return
        await send(writer, {"op": "answer", "pid": msg["pid"], "sdp": answer})

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            msg = json.loads(line)
            if msg["op"] == "join":
                await join(writer, msg)
            elif msg["op"] == "answer":
                task = asyncio.get_running_loop().create_task(
                    room.accept_answer(msg["pid"], msg["sdp"])
                )
                answers.add(task)
                task.add_done_callback(answers.discard)
            elif msg["op"] == "cpu":
                await send(writer, {"op": "cpu", **usage()})
            elif msg["op"] == "quit":
                done.set()
                break

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port_queue.put(server.sockets[0].getsockname()[1])
    await done.wait()
    server.close()
    delay.stop()
    for task in list(answers):
        task.cancel()
    await room.close()


EventLoop = Literal["asyncio", "uvloop"]
"""The server process's event loop: the standard library's or uvloop's (libuv)."""


def server_main(
    mode: Mode, video_codec: str, port_queue: Any, event_loop: EventLoop = "asyncio"
) -> None:
    """Process entry point."""
    factory = None
    if event_loop == "uvloop":
        import uvloop  # only this loop's benchmark needs it

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(serve(mode, video_codec, port_queue))
