"""Server CPU of the forwarding SFU against aiortc's stock MediaRelay (decode + re-encode).

The server room runs in its own process so its CPU time is measured apart
from the load generator's; clients count encoded frames without decoding.

    python -m benchmarks.sfu --participants 6 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcconfiguration import RTCBundlePolicy

from signaling.media import AllowAll, MediaRoom, Source, TrackKey
from signaling.media.synthetic import ProbeClient, vp8_test_pattern_clip

Tracks = Mapping[str, TrackKey | None]
Renegotiate = Callable[[str, str, Tracks], Awaitable[None]]


class RelayRoom:
    """Baseline: aiortc's MediaRelay, which decodes once and encodes per receiver."""

    def __init__(self, on_renegotiate: Renegotiate) -> None:
        self.__relay = MediaRelay()
        self.__on_renegotiate = on_renegotiate
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
                added.append((pc.addTransceiver(track, direction="sendonly"), key))
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


# -- server process -----------------------------------------------------------


async def serve(mode: str, port_queue: Any) -> None:
    writer_ref: list[asyncio.StreamWriter] = []

    async def send(message: dict[str, Any]) -> None:
        writer_ref[0].write((json.dumps(message) + "\n").encode())
        await writer_ref[0].drain()

    async def renegotiate(pid: str, sdp: str, tracks: Tracks) -> None:
        wire = {mid: None if k is None else [k.publisher, k.source] for mid, k in tracks.items()}
        await send({"op": "offer", "pid": pid, "sdp": sdp, "tracks": wire})

    room: MediaRoom | RelayRoom
    if mode == "sfu":
        room = MediaRoom("bench", policy=AllowAll(), on_renegotiate=renegotiate)
    else:
        room = RelayRoom(renegotiate)
    done = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer_ref.append(writer)
        while line := await reader.readline():
            msg = json.loads(line)
            if msg["op"] == "join":
                answer = await room.join(msg["pid"], msg["sdp"], msg["sources"])
                await send({"op": "answer", "pid": msg["pid"], "sdp": answer})
            elif msg["op"] == "answer":
                asyncio.get_running_loop().create_task(room.accept_answer(msg["pid"], msg["sdp"]))
            elif msg["op"] == "cpu":
                await send({"op": "cpu", "cpu": time.process_time(), "wall": time.monotonic()})
            elif msg["op"] == "quit":
                break
        await room.close()
        done.set()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port_queue.put(server.sockets[0].getsockname()[1])
    await done.wait()
    server.close()


def server_main(mode: str, port_queue: Any) -> None:
    asyncio.run(serve(mode, port_queue))


# -- load generator -----------------------------------------------------------


@dataclass
class Result:
    mode: str
    participants: int
    seconds: float
    server_cpu: float
    client_cpu: float
    streams: int
    video_sent: int
    video_delivered: int
    audio_sent: int
    audio_delivered: int
    join_to_first_frame: list[float]


async def run(mode: str, participants: int, seconds: float) -> Result:
    vp8_test_pattern_clip()  # encode before timing anything
    ctx = multiprocessing.get_context("spawn")
    port_queue = ctx.Queue()
    process = ctx.Process(target=server_main, args=(mode, port_queue), daemon=True)
    process.start()
    port = await asyncio.get_running_loop().run_in_executor(None, port_queue.get)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    clients: dict[str, ProbeClient] = {}
    answers: dict[str, asyncio.Future[str]] = {}
    cpu_reply: list[asyncio.Future[dict[str, float]]] = []

    async def send(message: dict[str, Any]) -> None:
        writer.write((json.dumps(message) + "\n").encode())
        await writer.drain()

    async def read_loop() -> None:
        while line := await reader.readline():
            msg = json.loads(line)
            if msg["op"] == "answer":
                answers.pop(msg["pid"]).set_result(msg["sdp"])
            elif msg["op"] == "offer":
                tracks = {
                    mid: None if v is None else TrackKey(v[0], v[1])
                    for mid, v in msg["tracks"].items()
                }
                answer = await clients[msg["pid"]].handle_offer(msg["sdp"], tracks)
                await send({"op": "answer", "pid": msg["pid"], "sdp": answer})
            elif msg["op"] == "cpu":
                cpu_reply.pop(0).set_result(msg)

    async def server_cpu() -> float:
        future: asyncio.Future[dict[str, float]] = asyncio.get_running_loop().create_future()
        cpu_reply.append(future)
        await send({"op": "cpu"})
        return (await future)["cpu"]

    reading = asyncio.get_running_loop().create_task(read_loop())
    join_started: dict[str, float] = {}
    for index in range(participants):
        pid = f"p{index}"
        client = ProbeClient(pid, decode=False)
        clients[pid] = client
        sdp, sources = await client.create_offer()
        answers[pid] = asyncio.get_running_loop().create_future()
        join_started[pid] = time.monotonic()
        await send({"op": "join", "pid": pid, "sdp": sdp, "sources": sources})
        await client.accept_answer(await answers[pid])
        await asyncio.sleep(0.3)

    def everyone_flowing() -> bool:
        return all(
            (c := client.counter(other, "camera")) is not None and c.frames > 0
            for pid, client in clients.items()
            for other in clients
            if other != pid
        )

    deadline = time.monotonic() + 20
    while not everyone_flowing() and time.monotonic() < deadline:  # noqa: ASYNC110 - polling counters
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)

    def totals() -> tuple[int, int, int, int]:
        v_sent = sum(c.video_track.frames_sent for c in clients.values() if c.video_track)
        a_sent = sum(c.audio_track.frames_sent for c in clients.values() if c.audio_track)
        v_got = a_got = 0
        for client in clients.values():
            for counter in client.counters.values():
                if counter.kind == "video":
                    v_got += counter.frames
                else:
                    a_got += counter.frames
        return v_sent, v_got, a_sent, a_got

    cpu_start = await server_cpu()
    client_cpu_start = time.process_time()
    v_sent0, v_got0, a_sent0, a_got0 = totals()
    await asyncio.sleep(seconds)
    v_sent1, v_got1, a_sent1, a_got1 = totals()
    cpu_end = await server_cpu()
    client_cpu = time.process_time() - client_cpu_start

    joins: list[float] = []
    for pid, client in clients.items():
        for other in clients:
            counter = client.counter(other, "camera")
            if other != pid and counter is not None and counter.first_frame_at is not None:
                # time from the later of the two joins to the first picture
                start = max(join_started[pid], join_started[other])
                joins.append(counter.first_frame_at - start)

    await send({"op": "quit"})
    for client in clients.values():
        await client.close()
    reading.cancel()
    writer.close()
    process.join(10)
    fanout = participants - 1
    return Result(
        mode=mode,
        participants=participants,
        seconds=seconds,
        server_cpu=cpu_end - cpu_start,
        client_cpu=client_cpu,
        streams=participants * fanout * 2,
        video_sent=(v_sent1 - v_sent0) * fanout,
        video_delivered=v_got1 - v_got0,
        audio_sent=(a_sent1 - a_sent0) * fanout,
        audio_delivered=a_got1 - a_got0,
        join_to_first_frame=joins,
    )


def expected(result: Result) -> int:
    return result.video_sent + result.audio_sent


def per_frame_us(result: Result) -> float:
    """Server CPU per delivered frame: fair even when the server is saturated."""
    delivered = result.video_delivered + result.audio_delivered
    return result.server_cpu / max(1, delivered) * 1e6


def report(result: Result) -> None:
    cores = result.server_cpu / result.seconds
    joins = sorted(result.join_to_first_frame)
    p95 = joins[min(len(joins) - 1, round(0.95 * (len(joins) - 1)))] if joins else float("nan")
    print(f"== {result.mode}: {result.participants} participants, {result.seconds:.0f} s ==")
    print(f"server CPU total:           {cores * 100:6.1f} % of a core")
    print(
        f"server CPU per stream:      {cores * 100 / result.streams:6.2f} % of a core "
        f"({result.streams} forwarded streams, audio+video)"
    )
    print(
        f"load generator CPU:         {result.client_cpu / result.seconds * 100:6.1f} % of a core"
    )
    print(
        f"video frames delivered:     {result.video_delivered} / {result.video_sent} expected "
        f"({100 * result.video_delivered / max(1, result.video_sent):.1f} %)"
    )
    print(
        f"audio frames delivered:     {result.audio_delivered} / {result.audio_sent} expected "
        f"({100 * result.audio_delivered / max(1, result.audio_sent):.1f} %)"
    )
    delivered = result.video_delivered + result.audio_delivered
    print(
        f"server CPU per delivered frame: {per_frame_us(result):6.1f} µs (audio+video)"
        + ("  [SATURATED: frames dropped]" if delivered < 0.95 * expected(result) else "")
    )
    if joins:
        print(
            f"join-to-first-frame:        median {statistics.median(joins):.2f} s, "
            f"p95 {p95:.2f} s ({len(joins)} pairs)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--participants", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--baseline-participants",
        type=int,
        default=None,
        help="participants for the MediaRelay baseline (default: same; 0 skips it)",
    )
    args = parser.parse_args()
    sfu = asyncio.run(run("sfu", args.participants, args.seconds))
    report(sfu)
    baseline_n = (
        args.participants if args.baseline_participants is None else args.baseline_participants
    )
    if baseline_n > 0:
        relay = asyncio.run(run("relay", baseline_n, args.seconds))
        report(relay)
        ratio = per_frame_us(relay) / max(per_frame_us(sfu), 1e-9)
        print(f"== MediaRelay / SFU server CPU per delivered frame: {ratio:.1f}x ==")


if __name__ == "__main__":
    main()
