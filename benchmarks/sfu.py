"""Server CPU of the forwarding SFU, RTP-level against frame-level, and aiortc's MediaRelay.

The server room runs in its own process so its CPU time is measured apart
from the load generator's; clients count encoded frames without decoding.

    python -m benchmarks.sfu --participants 6 --seconds 20
    python -m benchmarks.sfu --fanout                 # 1 publisher to M receivers
    python -m benchmarks.sfu --codec h264             # either mode, H.264 instead of VP8
    python -m benchmarks.sfu --beside-composition     # the hearing alone, then beside composition
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass

from signaling.media.synthetic import ProbeClient
from tests.recorder.composition_load import CompositionLoad

from . import fanout
from .load import CODECS, ClientHost, ServerProcess, camera_clip, packets_received
from .sampling import SamplingProfile, print_hot_spots
from .server import EventLoop, Mode
from .stats import median, p95


@dataclass
class Result:
    mode: str
    video_codec: str
    participants: int
    seconds: float
    "Length of the window frames and packets were counted in."
    server_cores: float
    "Server process CPU over the window, in cores."
    client_cores: float
    streams: int
    video_sent: int
    video_delivered: int
    audio_sent: int
    audio_delivered: int
    packets_delivered: int
    "RTP packets received by all clients, audio and video."
    join_to_first_frame: list[float]
    bandwidth_pauses: int = 0
    "Receivers' video paused for bandwidth (REMB), from the first join to the window's end."


async def run(
    mode: Mode,
    participants: int,
    seconds: float,
    video_codec: str,
    event_loop: EventLoop = "uvloop",
    profile: bool = False,
) -> Result:
    clip = camera_clip(video_codec)  # encode before timing anything
    server = ServerProcess(mode, video_codec, event_loop)
    host = ClientHost()
    await host.connect(await server.start())
    clients = host.clients
    for index in range(participants):
        await host.join(ProbeClient(f"p{index}", decode=False, video_clip=clip))
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

    async def packets() -> int:
        return sum([await packets_received(client) for client in clients.values()])

    sampling = SamplingProfile(server.pid, seconds) if profile else None
    if sampling is not None:
        sampling.start()
    usage_start = await host.server_usage()
    client_cpu_start = time.process_time()
    counted_start = time.monotonic()
    v_sent0, v_got0, a_sent0, a_got0 = totals()
    packets0 = await packets()
    await asyncio.sleep(seconds)
    counted = time.monotonic() - counted_start
    v_sent1, v_got1, a_sent1, a_got1 = totals()
    packets1 = await packets()
    client_cpu = time.process_time() - client_cpu_start
    usage_end = await host.server_usage()

    joins: list[float] = []
    for pid, client in clients.items():
        for other in clients:
            counter = client.counter(other, "camera")
            if other != pid and counter is not None and counter.first_frame_at is not None:
                # time from the later of the two joins to the first picture
                start = max(host.join_started[pid], host.join_started[other])
                joins.append(counter.first_frame_at - start)

    spots = None if sampling is None else await sampling.result()
    await host.quit_server()
    await host.close()
    await server.join()
    if sampling is not None:
        print_hot_spots(spots, sampling.problem)
    receivers = participants - 1
    return Result(
        mode=mode,
        video_codec=video_codec,
        participants=participants,
        seconds=counted,
        server_cores=(usage_end.cpu - usage_start.cpu) / (usage_end.wall - usage_start.wall),
        client_cores=client_cpu / (time.monotonic() - counted_start),
        streams=participants * receivers * 2,
        video_sent=(v_sent1 - v_sent0) * receivers,
        video_delivered=v_got1 - v_got0,
        audio_sent=(a_sent1 - a_sent0) * receivers,
        audio_delivered=a_got1 - a_got0,
        packets_delivered=packets1 - packets0,
        join_to_first_frame=joins,
        bandwidth_pauses=usage_end.bandwidth_pauses,
    )


def expected(result: Result) -> int:
    return result.video_sent + result.audio_sent


def per_frame_us(result: Result) -> float:
    """Server CPU per delivered frame: fair even when the server is saturated."""
    delivered = result.video_delivered + result.audio_delivered
    return result.server_cores * result.seconds / max(1, delivered) * 1e6


def per_packet_us(result: Result) -> float:
    """Server CPU per RTP packet the clients received (the figure compared with Janus)."""
    return result.server_cores * result.seconds / max(1, result.packets_delivered) * 1e6


def report(result: Result) -> None:
    cores = result.server_cores
    joins = result.join_to_first_frame
    print(
        f"== {result.mode}: {result.participants} participants, {result.seconds:.0f} s, "
        f"{result.video_codec} =="
    )
    print(f"server CPU total:           {cores * 100:6.1f} % of a core")
    print(
        f"server CPU per stream:      {cores * 100 / result.streams:6.2f} % of a core "
        f"({result.streams} forwarded streams, audio+video)"
    )
    print(f"load generator CPU:         {result.client_cores * 100:6.1f} % of a core")
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
    print(
        f"server CPU per delivered RTP packet: "
        f"{per_packet_us(result):6.1f} µs "
        f"({result.packets_delivered} packets)"
    )
    if joins:
        print(
            f"join-to-first-frame:        median {median(joins):.2f} s, "
            f"p95 {p95(joins):.2f} s ({len(joins)} pairs)"
        )
    if result.mode == "rtp":
        print(f"video paused for bandwidth:  {result.bandwidth_pauses} times (receivers' REMB)")


def delivery(result: Result) -> float:
    return (result.video_delivered + result.audio_delivered) / max(expected(result), 1)


def beside_composition(
    participants: int, seconds: float, video_codec: str, event_loop: EventLoop
) -> None:
    """The same hearing alone and beside the server's own background work: live media must
    not notice composition (it runs niced, in its own process)."""
    alone = asyncio.run(run("rtp", participants, seconds, video_codec, event_loop))
    report(alone)
    with CompositionLoad() as load:
        beside = asyncio.run(run("rtp", participants, seconds, video_codec, event_loop))
        done, failed = load.compositions, load.failures
    report(beside)
    print(
        f"== delivery alone {delivery(alone):.2%}, beside composition {delivery(beside):.2%} "
        f"({done} compositions finished during the run, {failed} failed) =="
    )
    print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--codec", choices=sorted(CODECS), default="vp8", help="video codec")
    parser.add_argument(
        "--loop",
        choices=("asyncio", "uvloop"),
        default="uvloop",
        help="server event loop (serve uses uvloop)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="measured window (default: 20 for the hearing, 15 per fan-out step)",
    )
    hearing = parser.add_argument_group("hearing: N participants, each receiving all others")
    hearing.add_argument("--participants", type=int, default=6)
    hearing.add_argument(
        "--baseline-participants",
        type=int,
        default=None,
        help="participants for the MediaRelay baseline (default: same; 0 skips it)",
    )
    hearing.add_argument(
        "--beside-composition",
        action="store_true",
        help="the RTP-level hearing alone, then beside compositions running one after another",
    )
    hearing.add_argument(
        "--no-profile",
        dest="profile",
        action="store_false",
        help="skip the py-spy profile of the RTP-level server over its window",
    )
    spread = parser.add_argument_group("fan-out: 1 publisher to M receive-only participants")
    spread.add_argument("--fanout", action="store_true", help="run the fan-out search instead")
    spread.add_argument("--start", type=int, default=5, help="first M (then doubled)")
    spread.add_argument("--max-receivers", type=int, default=320)
    spread.add_argument(
        "--receivers", type=int, default=None, help="measure this one M instead of searching"
    )
    spread.add_argument(
        "--receiver-processes",
        type=int,
        default=1,
        help="processes the receivers are spread over (1 leaves the other core to the server)",
    )
    spread.add_argument("--min-delivery", type=float, default=0.99)
    spread.add_argument(
        "--max-lag", type=float, default=0.5, help="seconds a receiver may fall behind"
    )
    spread.add_argument("--cpu-limit", type=float, default=0.95, help="server cores")
    args = parser.parse_args()
    video_codec = CODECS[args.codec]
    if args.fanout:
        limits = fanout.Thresholds(
            min_delivery=args.min_delivery, max_lag=args.max_lag, cpu_limit=args.cpu_limit
        )
        start = args.start if args.receivers is None else args.receivers
        largest = args.max_receivers if args.receivers is None else args.receivers
        steps = asyncio.run(
            fanout.search(
                start=start,
                max_receivers=largest,
                seconds=15.0 if args.seconds is None else args.seconds,
                video_codec=video_codec,
                processes=args.receiver_processes,
                limits=limits,
                refine=args.receivers is None,
            )
        )
        fanout.report_search(steps, limits, largest)
        return
    seconds = 20.0 if args.seconds is None else args.seconds
    if args.beside_composition:
        beside_composition(args.participants, seconds, video_codec, args.loop)
        return
    rtp = asyncio.run(
        run("rtp", args.participants, seconds, video_codec, args.loop, profile=args.profile)
    )
    report(rtp)
    frame = asyncio.run(run("frame", args.participants, seconds, video_codec, args.loop))
    report(frame)
    ratio = per_packet_us(frame) / max(per_packet_us(rtp), 1e-9)
    print(f"== frame-level / RTP-level server CPU per delivered RTP packet: {ratio:.2f}x ==")
    baseline_n = (
        args.participants if args.baseline_participants is None else args.baseline_participants
    )
    if baseline_n > 0:
        relay = asyncio.run(run("relay", baseline_n, seconds, video_codec, args.loop))
        report(relay)
        ratio = per_packet_us(relay) / max(per_packet_us(rtp), 1e-9)
        print(f"== MediaRelay / RTP-level server CPU per delivered RTP packet: {ratio:.1f}x ==")
    print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
