"""Fan-out: one publisher to M receive-only participants; the largest M one core sustains.

Each step runs a fresh server process, one publisher (camera + microphone)
in the controlling process and M receivers in separate receiver processes,
then measures a steady window: the server process's CPU, and for every
receiver the frames it got of those the publisher sent in the window.

Frames sent in a receiver's window are known exactly from RTP timestamps
(the publisher stamps one frame every 1/30 s of video, 20 ms of audio), so
a gap is a lost frame whatever the timing of the readings.  A receiver can
also fall behind without losing anything (queues growing); the lag column
is how much further behind the publisher each receiver is at the end of the
window than at its start (publisher counts read at the receivers' instants).

M doubles until a step fails, then the gap is bisected.  A step passes when
every receiver got at least ``min_delivery`` of the audio and video frames,
fell no more than ``max_lag`` behind, and the server used less than
``cpu_limit`` of a core (the server is one thread: at a full core its queues
only grow).
"""

from __future__ import annotations

import asyncio
import bisect
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from signaling.media.synthetic import EncodedClip, ProbeClient, opus_tone_clip

from .load import (
    ClientHost,
    ReceiverPool,
    ReceiverSample,
    ServerProcess,
    TrackReading,
    camera_clip,
)
from .stats import median, p95

__all__ = ["FanoutStep", "SentLog", "Thresholds", "TrackWindow", "report_search", "search"]

PUBLISHER = "pub"

Kind = Literal["audio", "video"]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """What a step must meet to count as sustained."""

    min_delivery: float = 0.99
    "Share of the frames sent in the window every single receiver must get, audio and video."
    max_lag: float = 0.5
    "Seconds a receiver may fall further behind the publisher during the window."
    cpu_limit: float = 0.95
    "Server CPU, in cores, at or above which the server has no headroom left."
    load_limit: float = 0.9
    "Receiver process CPU, in cores, above which the load generator may be what failed."


@dataclass(frozen=True, slots=True)
class TrackWindow:
    """One receiver's view of one track over the measured window."""

    delivered: int
    "Frames received in the window."
    spanned: float
    "Frames the publisher sent between the first and last of them (RTP timestamps)."
    sent: float
    "Frames the publisher sent between the two readings (its counter at those instants)."
    frame_seconds: float

    @classmethod
    def between(
        cls, clip: EncodedClip, before: TrackReading, after: TrackReading, sent: float
    ) -> TrackWindow:
        if before.timestamp is None or after.timestamp is None:
            spanned = 0.0
        else:
            spanned = (after.timestamp - before.timestamp) / clip.frame_duration
        return cls(
            after.frames - before.frames, spanned, sent, clip.frame_duration / clip.clock_rate
        )

    @property
    def delivery(self) -> float:
        """Share of the frames sent that arrived; 0 if none arrived in the window."""
        return min(1.0, self.delivered / self.spanned) if self.spanned > 0 else 0.0

    @property
    def lag(self) -> float:
        """Seconds further behind the publisher at the end of the window than at its start."""
        return (self.sent - self.spanned) * self.frame_seconds


@dataclass(frozen=True, slots=True)
class FanoutStep:
    """One measured window with ``receivers`` receive-only participants."""

    receivers: int
    seconds: float
    server_cpu: float
    "Server process CPU seconds in the window."
    server_wall: float
    "Seconds between the server's two readings (a little more than ``seconds``)."
    ingress: float
    "Share of the publisher's video frames that reached the server (before fan-out)."
    load_cpu: tuple[float, ...]
    "CPU seconds of each receiver process in the window."
    load_wall: tuple[float, ...]
    "Seconds between each receiver process's two readings."
    video: dict[str, TrackWindow]
    audio: dict[str, TrackWindow]
    packets_delivered: int
    "RTP packets received by all receivers in the window."
    first_video_after: list[float] = field(default_factory=list)
    "Seconds from each receiver's join to its first video frame."
    codecs: frozenset[str] = frozenset()
    "Video codecs the receivers saw."
    server_loop_delay: float = 0.0
    "Worst lateness of the server's event loop in the window, in seconds."
    load_loop_delay: float = 0.0
    "Worst lateness of a receiver process's event loop in the window, in seconds."
    bandwidth_pauses: int = 0
    "Receivers' video paused for bandwidth (their REMB) by the end of the window."
    not_flowing: int = 0
    "Receivers that had no video when the window started."
    disconnected: int = 0
    "Connections (receivers' or the publisher's) down at the end of the window."

    @property
    def server_cores(self) -> float:
        return self.server_cpu / self.server_wall

    @property
    def load_cores(self) -> float:
        """CPU of the busiest receiver process, in cores."""
        shares = [cpu / wall for cpu, wall in zip(self.load_cpu, self.load_wall, strict=True)]
        return max(shares, default=0.0)

    def windows(self, kind: Kind) -> list[TrackWindow]:
        return list((self.video if kind == "video" else self.audio).values())

    def worst(self, kind: Kind) -> float:
        """The lowest share of the frames sent that any one receiver got."""
        return min((w.delivery for w in self.windows(kind)), default=0.0)

    def delivery(self, kind: Kind) -> float:
        """Frames delivered over frames sent, all receivers together."""
        windows = self.windows(kind)
        return sum(w.delivered for w in windows) / max(1.0, sum(w.spanned for w in windows))

    def lag(self) -> float:
        """The most any receiver fell behind in the window, audio or video, in seconds."""
        lags = [w.lag for kind in ("video", "audio") for w in self.windows(kind)]
        return max(lags, default=0.0)

    def __server_cpu_in_window(self) -> float:
        """Server CPU seconds over the receivers' counting window (the rate times its length)."""
        return self.server_cores * statistics.fmean(self.load_wall)

    def server_us_per_packet(self) -> float:
        return self.__server_cpu_in_window() / max(1, self.packets_delivered) * 1e6

    def server_us_per_frame(self) -> float:
        frames = sum(w.delivered for kind in ("video", "audio") for w in self.windows(kind))
        return self.__server_cpu_in_window() / max(1, frames) * 1e6

    def failures(self, limits: Thresholds) -> list[str]:
        """Why the step does not count as sustained (empty: it does)."""
        reasons = []
        if self.not_flowing:
            reasons.append(f"{self.not_flowing} never got video")
        if self.disconnected:
            reasons.append(f"{self.disconnected} connections lost")
        if min(self.worst("video"), self.worst("audio")) < limits.min_delivery:
            reasons.append("frames lost")
        if self.lag() > limits.max_lag:
            reasons.append("falling behind")
        if self.server_cores >= limits.cpu_limit:
            reasons.append("server CPU")
        return reasons

    def sustained(self, limits: Thresholds) -> bool:
        return not self.failures(limits)

    def verdict(self, limits: Thresholds) -> str:
        reasons = self.failures(limits)
        if not reasons:
            return "ok"
        if self.load_cores >= limits.load_limit:
            reasons.append("load generator busy too")
        return "FAIL: " + ", ".join(reasons)


class SentLog:
    """The publisher's sent-frame counts over time, read at the instants receivers were.

    Receivers are counted in other processes, a pipe round trip away; reading
    the publisher's counters at those same instants (the monotonic clock is
    the machine's) keeps a busy receiver process from skewing the lag.
    """

    def __init__(self, publisher: ProbeClient, step: float = 0.01) -> None:
        assert publisher.video_track is not None and publisher.audio_track is not None
        self.__video = publisher.video_track
        self.__audio = publisher.audio_track
        self.__step = step
        self.__times: list[float] = []
        self.__counts: list[tuple[int, int]] = []

    def record(self) -> None:
        """Take one reading now."""
        self.__times.append(time.monotonic())
        self.__counts.append((self.__video.frames_sent, self.__audio.frames_sent))

    async def run(self) -> None:
        while True:
            self.record()
            await asyncio.sleep(self.__step)

    def at(self, when: float) -> tuple[float, float]:
        """(video, audio) frames sent by ``when``, interpolated between two readings."""
        index = bisect.bisect_left(self.__times, when)
        if index == 0 or index == len(self.__times):
            raise ValueError("no publisher reading around that time")
        t0, t1 = self.__times[index - 1], self.__times[index]
        (v0, a0), (v1, a1) = self.__counts[index - 1], self.__counts[index]
        weight = (when - t0) / max(t1 - t0, 1e-9)
        return v0 + (v1 - v0) * weight, a0 + (a1 - a0) * weight


def _windows(
    log: SentLog,
    clips: tuple[EncodedClip, EncodedClip],
    before: Sequence[ReceiverSample],
    after: Sequence[ReceiverSample],
) -> tuple[dict[str, TrackWindow], dict[str, TrackWindow]]:
    video_clip, audio_clip = clips
    video: dict[str, TrackWindow] = {}
    audio: dict[str, TrackWindow] = {}
    for first, last in zip(before, after, strict=True):
        (v0, a0), (v1, a1) = log.at(first.taken_at), log.at(last.taken_at)
        for pid in last.video:
            video[pid] = TrackWindow.between(video_clip, first.video[pid], last.video[pid], v1 - v0)
            audio[pid] = TrackWindow.between(audio_clip, first.audio[pid], last.audio[pid], a1 - a0)
    return video, audio


async def _everyone_flowing(pool: ReceiverPool, within: float) -> int:
    """Wait until every receiver has video; how many still have none."""
    deadline = time.monotonic() + within
    while True:
        missing = sum(
            reading.frames == 0
            for sample in await pool.sample()
            for reading in sample.video.values()
        )
        if not missing or time.monotonic() > deadline:
            return missing
        await asyncio.sleep(0.5)


async def run_step(
    receivers: int, seconds: float, video_codec: str, processes: int, settle: float = 2.0
) -> FanoutStep:
    """Measure one window with ``receivers`` receive-only participants."""
    clip = camera_clip(video_codec)  # encoded before anything is timed
    server = ServerProcess("rtp", video_codec)
    port = await server.start()
    host = ClientHost()
    await host.connect(port)
    publisher = ProbeClient(PUBLISHER, decode=False, video_clip=clip)
    await host.join(publisher)
    log = SentLog(publisher)
    recording = asyncio.get_running_loop().create_task(log.run())
    pool = ReceiverPool(port, [f"r{index}" for index in range(receivers)], PUBLISHER, processes)
    try:
        await pool.join()
        not_flowing = await _everyone_flowing(pool, within=20)
        await asyncio.sleep(settle)
        asked_before = time.monotonic()
        server_before = await host.server_usage()
        before = await pool.sample()
        await asyncio.sleep(seconds)
        after = await pool.sample()
        asked_after = time.monotonic()
        server_after = await host.server_usage()
        publisher_down = publisher.pc.connectionState != "connected"
    finally:
        recording.cancel()
        log.record()  # the receivers' last sample may be newer than the last tick
        await pool.close()
        await host.quit_server()
        await host.close()
        await server.join()

    video, audio = _windows(log, (clip, opus_tone_clip()), before, after)
    sent_to_server = log.at(asked_after)[0] - log.at(asked_before)[0]
    return FanoutStep(
        receivers=receivers,
        seconds=seconds,
        server_cpu=server_after.cpu - server_before.cpu,
        server_wall=server_after.wall - server_before.wall,
        ingress=(server_after.video_in - server_before.video_in) / max(1.0, sent_to_server),
        load_cpu=tuple(b.cpu - a.cpu for a, b in zip(before, after, strict=True)),
        load_wall=tuple(b.taken_at - a.taken_at for a, b in zip(before, after, strict=True)),
        video=video,
        audio=audio,
        packets_delivered=sum(s.packets for s in after) - sum(s.packets for s in before),
        first_video_after=[t for s in after for t in s.first_video_after.values()],
        codecs=frozenset(c for s in after for c in s.video_codecs),
        server_loop_delay=server_after.loop_delay,
        load_loop_delay=max(s.loop_delay for s in after),
        not_flowing=not_flowing,
        disconnected=sum(s.disconnected for s in after) + publisher_down,
        bandwidth_pauses=server_after.bandwidth_pauses,
    )


HEADER = (
    f"{'M':>5} | {'server CPU':>10} | {'µs/pkt':>6} | {'µs/frame':>8} | {'ingress':>7} | "
    f"{'video (worst rx)':>16} | {'audio (worst)':>13} | {'lag':>6} | "
    f"{'loop delay srv/rx':>17} | {'rx CPU':>6} | {'1st frame med/p95':>17} | result"
)


def row(step: FanoutStep, limits: Thresholds) -> str:
    first = f"{median(step.first_video_after):.2f}/{p95(step.first_video_after):.2f} s"
    return (
        f"{step.receivers:>5} | {step.server_cores * 100:>8.1f} % | "
        f"{step.server_us_per_packet():>6.1f} | {step.server_us_per_frame():>8.1f} | "
        f"{step.ingress * 100:>5.1f} % | "
        f"{step.delivery('video') * 100:>6.2f} % ({step.worst('video') * 100:5.1f}) | "
        f"{step.delivery('audio') * 100:>6.2f} % ({step.worst('audio') * 100:3.0f}) | "
        f"{step.lag():>4.2f} s | "
        f"{step.server_loop_delay * 1000:>5.0f}/{step.load_loop_delay * 1000:<5.0f} ms | "
        f"{step.load_cores * 100:>5.0f}% | "
        f"{first:>17} | {step.verdict(limits)}"
    )


async def search(
    *,
    start: int,
    max_receivers: int,
    seconds: float,
    video_codec: str,
    processes: int,
    limits: Thresholds,
    resolution: float = 0.1,
    refine: bool = True,
) -> list[FanoutStep]:
    """Double M from ``start`` until a step fails, then bisect to ``resolution`` of M.

    Without ``refine`` the failing step ends the search (one-step runs).
    """
    print(HEADER, flush=True)
    steps: list[FanoutStep] = []

    async def measure(receivers: int) -> bool:
        step = await run_step(receivers, seconds, video_codec, processes)
        steps.append(step)
        print(row(step, limits), flush=True)
        return step.sustained(limits)

    passed, failed = 0, None
    receivers = start
    while receivers <= max_receivers:
        if not await measure(receivers):
            failed = receivers
            break
        passed = receivers
        receivers *= 2
    while refine and failed is not None and failed - passed > max(1, round(passed * resolution)):
        middle = (passed + failed) // 2
        if await measure(middle):
            passed = middle
        else:
            failed = middle
    return steps


def report_search(steps: Sequence[FanoutStep], limits: Thresholds, max_receivers: int) -> None:
    """The conclusion under the table."""
    sustained = [s for s in steps if s.sustained(limits)]
    best = max(sustained, key=lambda s: s.receivers, default=None)
    failures = [s for s in steps if not s.sustained(limits)]
    codecs = ", ".join(sorted({c for s in steps for c in s.codecs})) or "none"
    print(f"video codec received: {codecs}")
    pauses = ", ".join(f"M={s.receivers}: {s.bandwidth_pauses}" for s in steps)
    print(f"video paused for bandwidth (receivers' REMB): {pauses}")
    if best is None:
        print(f"== fan-out: not sustained even at {steps[0].receivers} receivers ==")
        return
    print(
        f"== fan-out: largest M sustained: {best.receivers} receivers "
        f"(server {best.server_cores * 100:.0f} % of a core, worst receiver "
        f"{best.worst('video') * 100:.1f} % of video frames) =="
    )
    fitted = sorted({s.receivers: s for s in sustained}.values(), key=lambda s: s.receivers)
    if len(fitted) >= 2:
        fit = statistics.linear_regression(
            [s.receivers for s in fitted], [s.server_cores for s in fitted]
        )
        if fit.slope > 0:
            reach = (limits.cpu_limit - fit.intercept) / fit.slope
            print(
                f"   server CPU per added receiver: {fit.slope * 100:.2f} % of a core "
                f"(+{fit.intercept * 100:.1f} % fixed); one core would reach "
                f"{limits.cpu_limit * 100:.0f} % at about M = {reach:.0f} "
                "(extrapolated from the sustained steps, not measured)"
            )
    if not failures:
        print(f"   (no step failed: stopped at the largest M asked for, {max_receivers})")
        return
    first_failure = min(failures, key=lambda s: s.receivers)
    if first_failure.load_cores >= limits.load_limit:
        print(
            "   the first failing step also had a receiver process at "
            f"{first_failure.load_cores * 100:.0f} % of a core: the load generator, not "
            "only the server, may be the limit; the server figure is then a lower bound"
        )
