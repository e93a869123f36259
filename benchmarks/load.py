"""The load generator side of the media benchmarks: probe clients signalled over a socket.

Clients never decode: they count encoded frames through the same tap the
server uses, so what they cost is receiving, not decoding.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import time
from collections.abc import Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from signaling.media import NegotiationError, Source, TrackKey
from signaling.media.synthetic import (
    EncodedClip,
    EncodedFrameCounter,
    ProbeClient,
    h264_test_pattern_clip,
    vp8_test_pattern_clip,
)

from .server import EventLoop, LoopDelay, Mode, encode_line, server_main

__all__ = [
    "CODECS",
    "ClientHost",
    "ReceiverPool",
    "ReceiverSample",
    "ServerProcess",
    "ServerUsage",
    "TrackReading",
    "camera_clip",
    "packets_received",
]

CODECS = {"vp8": "video/VP8", "h264": "video/H264"}
"""``--codec`` choices and the room codec each selects."""

JOINS_AT_ONCE = 4
"""Receivers a receiver process has connecting at the same time."""


def camera_clip(video_codec: str) -> EncodedClip:
    """The 640x480 30 fps ~500 kbit/s test pattern in the room's codec (encoded once)."""
    if video_codec == "video/H264":
        return h264_test_pattern_clip()
    return vp8_test_pattern_clip()


class ServerProcess:
    """The room in a spawned process of its own."""

    def __init__(self, mode: Mode, video_codec: str, event_loop: EventLoop = "uvloop") -> None:
        ctx = multiprocessing.get_context("spawn")
        self.__ports = ctx.Queue()
        self.__process = ctx.Process(
            target=server_main, args=(mode, video_codec, self.__ports, event_loop), daemon=True
        )
        self.port = 0

    @property
    def pid(self) -> int:
        """The server process's id (once started)."""
        pid = self.__process.pid
        if pid is None:
            raise RuntimeError("the server process has not started")
        return pid

    async def start(self) -> int:
        self.__process.start()
        self.port = await asyncio.get_running_loop().run_in_executor(None, self.__ports.get)
        return self.port

    async def join(self) -> None:
        """Wait for the process to exit (after a client sent ``quit``)."""
        await asyncio.get_running_loop().run_in_executor(None, self.__process.join, 15)
        if self.__process.is_alive():
            self.__process.kill()


@dataclass(frozen=True, slots=True)
class ServerUsage:
    """Counters of the server process at one moment."""

    cpu: float
    "CPU seconds used so far."
    wall: float
    "The server's monotonic clock when it read ``cpu``."
    video_in: int
    "Video frames received from publishers so far (forwarding room only)."
    audio_in: int
    loop_delay: float
    "Worst lateness of the server's event loop since the previous reading, in seconds."
    bandwidth_pauses: int = 0
    "Times a receiver's video was paused for bandwidth so far (its REMB)."


class ClientHost:
    """The probe clients of one process, signalled over one connection to the server."""

    def __init__(self) -> None:
        self.clients: dict[str, ProbeClient] = {}
        self.join_started: dict[str, float] = {}
        self.__reader: asyncio.StreamReader | None = None
        self.__writer: asyncio.StreamWriter | None = None
        self.__answers: dict[str, asyncio.Future[str]] = {}
        self.__usage: list[asyncio.Future[ServerUsage]] = []
        self.__tasks: set[asyncio.Task[None]] = set()

    async def connect(self, port: int) -> None:
        self.__reader, self.__writer = await asyncio.open_connection("127.0.0.1", port)
        self.__spawn(self.__read_loop())

    async def join(self, client: ProbeClient) -> None:
        """Offer the client's media to the server and apply the answer."""
        pid = client.participant_id
        self.clients[pid] = client
        sdp, sources = await client.create_offer()
        answer = self.__answers[pid] = asyncio.get_running_loop().create_future()
        self.join_started[pid] = time.monotonic()
        await self.__send({"op": "join", "pid": pid, "sdp": sdp, "sources": sources})
        await client.accept_answer(await answer)

    async def server_usage(self) -> ServerUsage:
        """The server process's CPU time and frames received so far."""
        future: asyncio.Future[ServerUsage] = asyncio.get_running_loop().create_future()
        self.__usage.append(future)
        await self.__send({"op": "cpu"})
        return await future

    async def quit_server(self) -> None:
        await self.__send({"op": "quit"})

    async def close(self) -> None:
        for client in self.clients.values():
            await client.close()
        for task in list(self.__tasks):
            task.cancel()
        if self.__writer is not None:
            self.__writer.close()

    async def __send(self, message: dict[str, Any]) -> None:
        assert self.__writer is not None
        self.__writer.write(encode_line(message))
        await self.__writer.drain()

    def __spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.__tasks.add(task)
        task.add_done_callback(self.__tasks.discard)

    async def __answer_offer(self, msg: dict[str, Any]) -> None:
        tracks = {
            mid: None if v is None else TrackKey(v[0], v[1]) for mid, v in msg["tracks"].items()
        }
        answer = await self.clients[msg["pid"]].handle_offer(msg["sdp"], tracks)
        await self.__send({"op": "answer", "pid": msg["pid"], "sdp": answer})

    async def __read_loop(self) -> None:
        assert self.__reader is not None
        while line := await self.__reader.readline():
            msg = json.loads(line)
            if msg["op"] == "answer":
                self.__answers.pop(msg["pid"]).set_result(msg["sdp"])
            elif msg["op"] == "error":
                self.__answers.pop(msg["pid"]).set_exception(NegotiationError(msg["message"]))
            elif msg["op"] == "offer":
                self.__spawn(self.__answer_offer(msg))
            elif msg["op"] == "cpu":
                frames_in = msg["frames_in"]
                usage = ServerUsage(
                    msg["cpu"],
                    msg["wall"],
                    frames_in["video"],
                    frames_in["audio"],
                    msg["loop_delay"],
                    msg.get("bandwidth_pauses", 0),
                )
                self.__usage.pop(0).set_result(usage)


# -- receive-only participants in a process of their own (fan-out) -------------


async def packets_received(client: ProbeClient) -> int:
    """RTP packets the client has received so far, every track together."""
    report = await client.pc.getStats()
    return sum(s.packetsReceived for s in report.values() if s.type == "inbound-rtp")


@dataclass(frozen=True, slots=True)
class TrackReading:
    """One receiver's count of one track at one moment."""

    frames: int
    timestamp: int | None
    "RTP timestamp of the last frame; frames sent between two readings span their difference."


@dataclass(frozen=True, slots=True)
class ReceiverSample:
    """What one receiver process has received so far, and its own CPU time."""

    taken_at: float
    cpu: float
    video: dict[str, TrackReading]
    audio: dict[str, TrackReading]
    packets: int
    "RTP packets received by all of the process's receivers."
    disconnected: int
    "Receivers whose connection is not (or no longer) up."
    first_video_after: dict[str, float]
    "Seconds from each receiver's join to its first video frame (only those that got one)."
    video_codecs: frozenset[str]
    loop_delay: float
    "Worst lateness of the process's event loop since its previous sample, in seconds."


async def _sample(host: ClientHost, publisher: str, delay: LoopDelay) -> ReceiverSample:
    taken_at, cpu = time.monotonic(), time.process_time()
    video: dict[str, TrackReading] = {}
    audio: dict[str, TrackReading] = {}
    first: dict[str, float] = {}
    codecs: set[str] = set()
    sources: tuple[tuple[Source, dict[str, TrackReading]], ...] = (
        ("camera", video),
        ("microphone", audio),
    )
    for pid, client in host.clients.items():
        for source, readings in sources:
            counter = client.counter(publisher, source)
            if not isinstance(counter, EncodedFrameCounter):
                readings[pid] = TrackReading(0, None)
                continue
            readings[pid] = TrackReading(counter.frames, counter.last_timestamp)
            if source == "camera" and counter.first_frame_at is not None:
                first[pid] = counter.first_frame_at - host.join_started[pid]
                if counter.mime_type:
                    codecs.add(counter.mime_type)
    packets = 0  # after the frame counts, which must be taken together
    for client in host.clients.values():
        packets += await packets_received(client)
    return ReceiverSample(
        taken_at=taken_at,
        cpu=cpu,
        video=video,
        audio=audio,
        packets=packets,
        disconnected=sum(c.pc.connectionState != "connected" for c in host.clients.values()),
        first_video_after=first,
        video_codecs=frozenset(codecs),
        loop_delay=delay.worst(),
    )


async def _receivers(port: int, pids: list[str], publisher: str, commands: Connection) -> None:
    host = ClientHost()
    await host.connect(port)
    loop = asyncio.get_running_loop()
    delay = LoopDelay()
    delay.start()
    # A few joins at a time, each until its connection is up: a burst of DTLS
    # handshakes would stall the server long enough for ICE consent checks
    # (0.5 s, 6 misses) to drop connections, which no real hearing does.
    connecting = asyncio.Semaphore(JOINS_AT_ONCE)

    async def join(pid: str) -> None:
        async with connecting:
            client = ProbeClient(pid, audio=False, video=False, decode=False)
            await host.join(client)
            deadline = loop.time() + 10
            while client.pc.connectionState != "connected" and loop.time() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)

    while True:
        command = await loop.run_in_executor(None, commands.recv)
        if command == "join":
            await asyncio.gather(*(join(pid) for pid in pids))
            commands.send("joined")
        elif command == "sample":
            commands.send(await _sample(host, publisher, delay))
        else:
            break
    delay.stop()
    await host.close()
    commands.send("closed")


def _receivers_main(port: int, pids: list[str], publisher: str, commands: Connection) -> None:
    asyncio.run(_receivers(port, pids, publisher, commands))


class ReceiverPool:
    """Receive-only probe clients spread over processes, so their CPU is not the server's."""

    def __init__(self, port: int, pids: Iterable[str], publisher: str, processes: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        everyone = list(pids)
        self.__pipes: list[Connection] = []
        self.__processes: list[BaseProcess] = []
        for index in range(max(1, min(processes, len(everyone)))):
            share = everyone[index :: max(1, processes)]
            mine, theirs = ctx.Pipe()
            process = ctx.Process(
                target=_receivers_main, args=(port, share, publisher, theirs), daemon=True
            )
            process.start()
            self.__pipes.append(mine)
            self.__processes.append(process)

    async def __ask(self, command: str) -> list[Any]:
        loop = asyncio.get_running_loop()
        for pipe in self.__pipes:
            pipe.send(command)
        return [await loop.run_in_executor(None, pipe.recv) for pipe in self.__pipes]

    async def join(self) -> None:
        """Join every receiver (each process joins its share)."""
        await self.__ask("join")

    async def sample(self) -> list[ReceiverSample]:
        return await self.__ask("sample")

    async def close(self) -> None:
        await self.__ask("close")
        loop = asyncio.get_running_loop()
        for process in self.__processes:
            await loop.run_in_executor(None, process.join, 10)
            if process.is_alive():
                process.kill()
