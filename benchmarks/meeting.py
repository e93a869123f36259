"""A leadership meeting admitted one person at a time, through the whole server.

``python -m benchmarks.meeting --points 50``: the real server (app, signalling, forwarding
gateway, SQLite) in a process of its own; the chair (publishing camera and microphone) in
this process; receive-only headless participants spread over client processes, each
joining the lobby with its personal link, then negotiating media once admitted. The chair
admits them one by one, as a chair clicking "admit" would, and the run reports what the
server sent during the admissions (messages, bytes, ``session_event`` among them), the
``admit`` acknowledgement times, the server's event-loop lag and CPU, and the connections
lost (socket.io closed or a media link that is not up at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import math
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from multiprocessing import get_context
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal

from aiohttp import web

from hearing_server.app import create_app
from hearing_server.cli import serving_loop
from hearing_server.settings import Settings
from rooms.cases import MeetingInfo
from rooms.participants import Actor
from rooms.points import PointKind
from rooms.roles import Role
from signaling.client import HeadlessParticipant
from signaling.forwarding import ForwardingGateway
from signaling.gateway import MediaGateway
from signaling.media import TrackKey
from signaling.media_loop import MediaLoopGateway
from signaling.server import SIGNALING
from web.keys import SERVICE

from .server import EventLoop, LoopDelay

MediaLoop = Literal["shared", "own"]
"""Settings.media_loop: the forwarder on the signalling loop or on one of its own."""

__all__ = ["MeetingReport", "join_once_admitted", "main"]

BENCH_ACTOR = Actor(id="benchmark", is_system=True)
ADMIT_INTERVAL = 0.15
"""Seconds between two admissions at least: a brisk chair, inside the rate limit (10/s)."""
HOLD_SECONDS = 10.0
"""How long the meeting runs after the last admission: a starved link shows by then."""
MEDIA_WAIT_SECONDS = 60.0


class SendCounter:
    """Every engine.io packet the server sends, counted with its size and socket.io event."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.by_event: Counter[str] = Counter()

    def reset(self) -> None:
        self.messages = self.bytes = 0
        self.by_event.clear()

    def wrap(self, send: Callable[[str, Any], Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        """Wraps engine.io's ``send_packet``, which every emit and acknowledgement reaches."""

        async def counted(sid: str, pkt: Any) -> None:
            data = pkt.data
            self.messages += 1
            self.bytes += len(data.encode() if isinstance(data, str) else data or b"")
            if isinstance(data, str) and data.startswith('2["'):
                self.by_event[data[3 : data.find('"', 3)]] += 1
            await send(sid, pkt)

        return counted


class CommandTimer:
    """Every command the service runs on a session: how many of each, and how long they took
    (lock wait, load, save, publish: what an ``admit`` acknowledgement waits behind)."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = {}

    def wrap(self, execute: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def timed(actor: Any, session_id: Any, action: str, *args: Any, **kw: Any) -> Any:
            started = time.monotonic()
            try:
                return await execute(actor, session_id, action, *args, **kw)
            finally:
                self.seconds.setdefault(action, []).append(time.monotonic() - started)

        return timed

    def summary(self) -> dict[str, dict[str, float]]:
        return {
            action: {
                "count": len(times),
                "p50_ms": round(percentile(times, 0.5) * 1000, 1),
                "max_ms": round(max(times) * 1000, 1),
            }
            for action, times in sorted(self.seconds.items())
        }


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# -- the server process ---------------------------------------------------------


async def _serve(
    points: int, pipe: Connection, media_loop: MediaLoop, profile: str | None = None
) -> None:
    loop = asyncio.get_running_loop()
    data = Path(tempfile.mkdtemp(prefix="meeting-bench-"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(
        data_dir=data,
        secret_key="benchmark-secret-key-benchmark-secret",
        port=port,
        public_base_url=f"http://127.0.0.1:{port}",
        ice_servers=[],
        media_silence_seconds=600,
        media_loop=media_loop,
    )
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    service = app[SERVICE]
    court = (await service.courts(BENCH_ACTOR))[0]
    now = service.clock()
    meeting = await service.schedule_meeting(
        BENCH_ACTOR,
        MeetingInfo(court.id, "Họp giao ban toàn ngành", "Văn phòng", "Chánh án"),
        now,
        now + timedelta(hours=2),
    )
    chair_person, chair = await service.add_participant(
        BENCH_ACTOR, meeting.id, "Chánh án", Role.CHAIR, meeting.central_point.id
    )
    tokens: list[tuple[str, str]] = []
    for n in range(1, points):
        site = await service.add_point(BENCH_ACTOR, meeting.id, f"Điểm cầu {n}", PointKind.COURT)
        person, link = await service.add_participant(
            BENCH_ACTOR, meeting.id, f"Điểm cầu {n}", Role.PARTICIPANT, site.id
        )
        tokens.append((person.id, link.token))
    sio = app[SIGNALING].sio
    counter = SendCounter()
    sio.eio.send_packet = counter.wrap(sio.eio.send_packet)
    commands = CommandTimer()
    service.execute = commands.wrap(service.execute)  # type: ignore[method-assign,assignment]
    publish = service.bus.publish

    async def timed_publish(events: Any, version: Any = None) -> None:
        started = time.monotonic()
        try:
            await publish(events, version)
        finally:
            commands.seconds.setdefault("(publish)", []).append(time.monotonic() - started)

    service.bus.publish = timed_publish  # type: ignore[method-assign]
    lag = LoopDelay(period=0.01)  # how late a 10 ms timer runs
    lag.start()
    gateway = app[SIGNALING].gateway
    media_lag: list[float] = []  # the media loop's own, when it has one
    if isinstance(gateway, MediaLoopGateway):
        gateway.lag.listen(media_lag.append)
    pipe.send({"url": f"http://127.0.0.1:{port}", "chair": chair.token, "people": tokens})
    cpu_at = 0.0
    profiler = cProfile.Profile()
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command == "begin":
            if profile is not None:
                profiler.enable()
            counter.reset()
            commands.seconds.clear()
            lag.samples.clear()
            media_lag.clear()
            cpu_at = time.process_time()
        elif command == "end":
            if profile is not None:
                profiler.disable()
                profiler.dump_stats(profile)
            pipe.send(
                {
                    **_usage(counter, lag, cpu_at, commands),
                    "media_lag_p99": percentile(media_lag, 0.99),
                    "media_lag_max": max(media_lag, default=0.0),
                    "media": await _media_state(app, str(meeting.id), str(chair_person.id)),
                }
            )
        else:
            break
    lag.stop()
    await runner.cleanup()
    pipe.send("closed")


def _usage(
    counter: SendCounter, lag: LoopDelay, cpu_at: float, commands: CommandTimer
) -> dict[str, Any]:
    return {
        "messages": counter.messages,
        "bytes": counter.bytes,
        "by_event": dict(counter.by_event),
        "lag_p50": percentile(lag.samples, 0.50),
        "lag_p99": percentile(lag.samples, 0.99),
        "lag_max": max(lag.samples, default=0.0),
        "cpu": time.process_time() - cpu_at,
        "commands": commands.summary(),
    }


async def _media_state(app: web.Application, session_id: str, chair_id: str) -> dict[str, Any]:
    """The server's side of every receiver's link to the chair's camera, by participant:
    whether the server joined its media, subscribed it, allows it, whether the RTP stream
    towards it started, and how many packets went out: where a receiver without video
    stopped."""
    gateway = app[SIGNALING].gateway
    if isinstance(gateway, MediaLoopGateway):
        return await gateway.inspect(lambda forwarder: _room_state(forwarder, session_id, chair_id))
    return _room_state(gateway, session_id, chair_id)


def _room_state(gateway: MediaGateway, session_id: str, chair_id: str) -> dict[str, Any]:
    room = gateway.room(session_id) if isinstance(gateway, ForwardingGateway) else None
    if room is None:
        return {}
    camera = TrackKey(chair_id, "camera")
    states: dict[str, Any] = {}
    for pid in room.participants:
        if pid == chair_id:
            continue
        peer = room.peer(pid)
        stream = peer.outgoing_stream(camera)
        states[pid] = {
            "connection": peer.connection_state,
            "subscribed": camera in peer.subscriptions,
            "allowed": peer.subscriptions.get(camera, False),
            "negotiated": camera in peer.outgoing_tracks.values(),
            "stream_ready": stream is not None and stream.ready,
            "packets": peer.forwarded_packets(camera),
        }
    fanout = room.fanout(chair_id, "camera")
    if fanout is not None:
        states["(chair camera)"] = {
            "keyframes_in": fanout.keyframes_in,
            "packets_in": fanout.packets_in,
            "sinks": fanout.sink_count,
            "silent_s": None
            if fanout.last_frame_at is None
            else round(time.monotonic() - fanout.last_frame_at, 2),
            "connection": room.peer(chair_id).connection_state,
        }
    return states


def _server_main(
    points: int,
    pipe: Connection,
    event_loop: EventLoop,
    media_loop: MediaLoop,
    profile: str | None = None,
) -> None:
    """The server process, on the loop ``serve`` runs (uvloop) unless told otherwise."""
    factory = serving_loop if event_loop == "uvloop" else None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(_serve(points, pipe, media_loop, profile))


# -- the receivers' processes ---------------------------------------------------


async def join_once_admitted(client: HeadlessParticipant, times: dict[str, float]) -> None:
    """Wait in the lobby until admitted, however long the chair takes (the last of a hundred
    is admitted minutes after joining, far beyond the client's timeout for the server's
    answers), then negotiate media and wait for the link; ``times`` gets the monotonic time
    of each stage reached."""
    await client.wait_view(
        lambda view: (view.get("you") or {}).get("state") == "in_session", within=math.inf
    )
    times["in_session"] = time.monotonic()
    await client.publish()
    times["answered"] = time.monotonic()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + MEDIA_WAIT_SECONDS
    while client.media.pc.connectionState != "connected":
        if loop.time() > deadline:
            raise TimeoutError(f"media link still {client.media.pc.connectionState}")
        await asyncio.sleep(0.1)
    times["connected"] = time.monotonic()


async def _receivers(url: str, people: list[tuple[str, str]], pipe: Connection) -> None:
    loop = asyncio.get_running_loop()
    clients = [
        HeadlessParticipant(url, token, audio=False, video=False, timeout=MEDIA_WAIT_SECONDS)
        for _, token in people
    ]
    for client in clients:
        await client.join()
    pipe.send("joined")

    stages: dict[str, dict[str, float]] = {c.participant_id: {} for c in clients}
    failures: dict[str, str] = {}

    async def once_admitted(client: HeadlessParticipant) -> None:
        try:
            await join_once_admitted(client, stages[client.participant_id])
        except Exception as exc:
            failures[client.participant_id] = f"{type(exc).__name__} {exc}".strip()
            raise

    admitted = [loop.create_task(once_admitted(c)) for c in clients]
    command = await loop.run_in_executor(None, pipe.recv)
    assert command == "report"
    await asyncio.wait(admitted, timeout=1)
    lost = [
        c.participant_id
        for c in clients
        if not c.sio.connected or c.media.pc.connectionState != "connected"
    ]
    goodbyes = Counter(str((c.goodbye or {}).get("reason")) for c in clients if c.goodbye)
    chair = people_chair(clients)
    frames = [c.frames_from(chair, "camera") for c in clients]
    states = {
        c.participant_id: {
            "admitted": (c.view.get("you") or {}).get("state") == "in_session",
            "connection": c.media.pc.connectionState,
            "offers_answered": c.offers_answered,
            "camera_offered": TrackKey(chair, "camera") in c.media.tracks.values(),
            "camera_frames": c.frames_from(chair, "camera"),
            "microphone_frames": c.frames_from(chair, "microphone"),
            "camera_packets": await c.packets_from(chair, "camera"),
            "failed": failures.get(c.participant_id),
        }
        for c in clients
        if c.frames_from(chair, "camera") == 0
    }
    for c in clients:
        counter = c.media.counter(chair, "camera")
        if counter is not None and counter.first_frame_at is not None:
            stages[c.participant_id]["first_video"] = counter.first_frame_at
    pipe.send(
        {
            "lost": lost,
            "goodbyes": dict(goodbyes),
            "frames": frames,
            "without_video": states,
            "stages": stages,
        }
    )
    await loop.run_in_executor(None, pipe.recv)
    for task in admitted:
        task.cancel()
    for client in clients:
        await client.close()
    pipe.send("closed")


def people_chair(clients: list[HeadlessParticipant]) -> str:
    """The chair's id as the receivers know it (the one chair of the meeting)."""
    for client in clients:
        for person in client.view.get("participants") or []:
            if person.get("role") == Role.CHAIR.value:
                return str(person["id"])
    return ""


def _receivers_main(url: str, people: list[tuple[str, str]], pipe: Connection) -> None:
    asyncio.run(_receivers(url, people, pipe))


# -- the run --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeetingReport:
    points: int
    client_processes: int
    server_loop: str
    messages: int
    bytes: int
    session_events: int
    server_offers: int
    admit_ack_p50_ms: float
    admit_ack_p95_ms: float
    admit_ack_max_ms: float
    loop_lag_p50_ms: float
    loop_lag_p99_ms: float
    loop_lag_max_ms: float
    media_loop: str
    media_loop_lag_p99_ms: float
    media_loop_lag_max_ms: float
    "The media loop's own lateness (50 ms timer) when it has one of its own, else 0."
    server_cpu_seconds: float
    wall_seconds: float
    connections_lost: int
    receivers_without_video: int
    chair: dict[str, Any]
    "The chair's camera: its link and what the server received of it."
    without_video: dict[str, dict[str, Any]]
    "Each receiver without the chair's video at the end: its side and the server's."
    goodbyes: dict[str, int]
    after_admission: dict[str, dict[str, float]]
    """Seconds from the chair's ``admit`` acknowledgement to each stage of the receivers'
    joins (p50 / p95 / max, and how many reached it): where a late receiver waits."""
    commands: dict[str, dict[str, float]]
    load_average: tuple[float, float, float]
    python: str


async def run(
    points: int,
    processes: int,
    event_loop: EventLoop = "uvloop",
    profile: str | None = None,
    media_loop: MediaLoop = "shared",
) -> MeetingReport:
    loop = asyncio.get_running_loop()
    ctx = get_context("spawn")
    server_pipe, theirs = ctx.Pipe()
    server = ctx.Process(
        target=_server_main, args=(points, theirs, event_loop, media_loop, profile), daemon=True
    )
    server.start()
    setup: dict[str, Any] = await loop.run_in_executor(None, server_pipe.recv)
    people: list[tuple[str, str]] = setup["people"]
    chair = HeadlessParticipant(setup["url"], setup["chair"], timeout=MEDIA_WAIT_SECONDS)
    await chair.join()
    await chair.publish()
    await chair.call("start")
    pipes: list[Connection] = []
    workers = []
    count = max(1, min(processes, len(people)))
    for index in range(count):
        mine, end = ctx.Pipe()
        worker = ctx.Process(
            target=_receivers_main, args=(setup["url"], people[index::count], end), daemon=True
        )
        worker.start()
        pipes.append(mine)
        workers.append(worker)
    for pipe in pipes:
        await loop.run_in_executor(None, pipe.recv)
    server_pipe.send("begin")
    started = time.monotonic()
    acks: list[float] = []
    admitted_at: dict[str, float] = {}
    for participant_id, _ in people:
        sent = time.monotonic()
        await chair.call("admit", {"participant_id": participant_id})
        admitted_at[participant_id] = time.monotonic()
        acks.append(admitted_at[participant_id] - sent)
        await asyncio.sleep(max(0.0, ADMIT_INTERVAL - acks[-1]))
    await asyncio.sleep(HOLD_SECONDS)
    server_pipe.send("end")
    usage: dict[str, Any] = await loop.run_in_executor(None, server_pipe.recv)
    wall = time.monotonic() - started
    reports = []
    for pipe in pipes:
        pipe.send("report")
        reports.append(await loop.run_in_executor(None, pipe.recv))
    for pipe in pipes:
        pipe.send("close")
        await loop.run_in_executor(None, pipe.recv)
    chair_connection = chair.media.pc.connectionState
    chair_frames_sent = chair.media.video_track.frames_sent if chair.media.video_track else 0
    await chair.close()
    server_pipe.send("quit")
    await loop.run_in_executor(None, server_pipe.recv)
    for process in (*workers, server):
        await loop.run_in_executor(None, process.join, 10)
    goodbyes: Counter[str] = Counter()
    for report in reports:
        goodbyes.update(report["goodbyes"])
    stages = {pid: times for report in reports for pid, times in report["stages"].items()}
    return MeetingReport(
        points=points,
        client_processes=count,
        server_loop=event_loop,
        messages=usage["messages"],
        bytes=usage["bytes"],
        session_events=usage["by_event"].get("session_event", 0),
        server_offers=usage["by_event"].get("offer", 0),
        admit_ack_p50_ms=round(statistics.median(acks) * 1000, 1),
        admit_ack_p95_ms=round(percentile(acks, 0.95) * 1000, 1),
        admit_ack_max_ms=round(max(acks) * 1000, 1),
        loop_lag_p50_ms=round(usage["lag_p50"] * 1000, 1),
        loop_lag_p99_ms=round(usage["lag_p99"] * 1000, 1),
        loop_lag_max_ms=round(usage["lag_max"] * 1000, 1),
        media_loop=media_loop,
        media_loop_lag_p99_ms=round(usage["media_lag_p99"] * 1000, 1),
        media_loop_lag_max_ms=round(usage["media_lag_max"] * 1000, 1),
        server_cpu_seconds=round(usage["cpu"], 2),
        wall_seconds=round(wall, 1),
        connections_lost=sum(len(r["lost"]) for r in reports),
        receivers_without_video=sum(f == 0 for r in reports for f in r["frames"]),
        chair={
            "server": usage["media"].get("(chair camera)"),
            "connection": chair_connection,
            "camera_frames_sent": chair_frames_sent,
        },
        without_video={
            pid: {"client": state, "server": usage["media"].get(pid)}
            for r in reports
            for pid, state in r["without_video"].items()
        },
        goodbyes=dict(goodbyes),
        after_admission=_after_admission(admitted_at, stages),
        commands=usage["commands"],
        load_average=os.getloadavg(),
        python=f"{sys.executable} {platform.python_version()}",
    )


STAGES = ("in_session", "answered", "connected", "first_video")
"""A receiver's join after its admission: it sees itself admitted, its offer is answered,
its media link is up, the chair's first video frame arrives."""


def _after_admission(
    admitted_at: dict[str, float], stages: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    summary: dict[str, dict[str, float]] = {}
    for stage in STAGES:
        delays = [
            times[stage] - admitted_at[pid]
            for pid, times in stages.items()
            if stage in times and pid in admitted_at
        ]
        summary[stage] = {
            "reached": len(delays),
            "p50_s": round(percentile(delays, 0.5), 3),
            "p95_s": round(percentile(delays, 0.95), 3),
            "max_s": round(max(delays, default=0.0), 3),
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=50, help="connection points, chair included")
    parser.add_argument("--processes", type=int, default=3, help="receiver client processes")
    parser.add_argument(
        "--loop",
        choices=("asyncio", "uvloop"),
        default="uvloop",
        help="the server's event loop (serve uses uvloop)",
    )
    parser.add_argument(
        "--media-loop",
        choices=("shared", "own"),
        default="shared",
        help="the forwarder on the signalling loop, or on a loop of its own (media_loop)",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="write a cProfile of the server process over the admissions to FILE",
    )
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}", flush=True)
    report = asyncio.run(run(args.points, args.processes, args.loop, args.profile, args.media_loop))
    print(json.dumps(asdict(report), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
