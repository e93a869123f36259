"""How late this process's event loop runs: the server watching its own load.

Everything live (RTP, ICE consent, socket.io pings, the silence timer) shares one event loop.
When the machine is busy the loop wakes late, and a late loop looks from inside exactly like
a silent link. A small worker sleeps a fixed short interval and records how late it woke;
the samples tell IT staff the server is overloaded before connections suffer, and tell the
silence verdict (``signaling.monitoring``) whether a silence may be ours.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["LagFigures", "LagSamples", "LoopLagMonitor", "OverloadAlarm"]

SAMPLE_INTERVAL_SECONDS = 0.05
"""How long the worker sleeps between samples: short enough to see a stall of a tenth of a
second, long enough to cost nothing."""
WINDOW_SECONDS = 30.0
"""Samples older than this are forgotten; the figures (p50, p99, max) cover this window."""


@dataclass(frozen=True, slots=True)
class LagFigures:
    """The loop's lateness over the recent window, in milliseconds."""

    p50_ms: float
    p99_ms: float
    max_ms: float
    samples: int
    window_seconds: float


class LagSamples:
    """Recent lateness samples, each stamped with the monotonic time it was taken (when the
    loop finally woke). A sample of ``lag`` taken at ``at`` means the loop could not run
    between ``at - lag`` and ``at``. Pure: times are given, nothing is awaited. Read from
    another thread than the one recording (a loop of its own watched by the monitoring), each
    query works on a snapshot: the C-level copy of a deque runs whole under the GIL."""

    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        if window <= 0:
            raise ValueError("the window must be positive")
        self.__window = window
        self.__samples: deque[tuple[float, float]] = deque()

    def record(self, at: float, lag: float) -> None:
        self.__samples.append((at, max(0.0, lag)))
        while self.__samples and self.__samples[0][0] < at - self.__window:
            self.__samples.popleft()

    def figures(self, now: float, pending: float = 0.0) -> LagFigures:
        """p50/p99/max of the window; ``pending`` is the lateness of a wake-up still overdue."""
        lags = sorted(lag for at, lag in tuple(self.__samples) if at >= now - self.__window)
        if pending > 0:
            bisect.insort(lags, pending)
        if not lags:
            return LagFigures(0.0, 0.0, 0.0, 0, self.__window)
        return LagFigures(
            p50_ms=_percentile(lags, 0.50) * 1000,
            p99_ms=_percentile(lags, 0.99) * 1000,
            max_ms=lags[-1] * 1000,
            samples=len(lags),
            window_seconds=self.__window,
        )

    def max_lag(self, now: float, within: float, pending: float = 0.0) -> float:
        """The worst lateness (seconds) of any stall that overlapped the last ``within``
        seconds."""
        overlapping = (lag for at, lag in tuple(self.__samples) if at >= now - within)
        return max(max(overlapping, default=0.0), pending)

    def late_seconds(self, now: float, within: float, threshold: float) -> float:
        """How much of the last ``within`` seconds the loop spent late by more than
        ``threshold``: a long stall counts whole, scattered small delays not at all."""
        start = now - within
        late = 0.0
        for at, lag in tuple(self.__samples):
            if lag >= threshold and at > start:
                late += at - max(at - lag, start)
        return late

    def steady_seconds(self, now: float, threshold: float) -> float:
        """Seconds since the loop last woke later than ``threshold`` (the whole window if it
        did not)."""
        for at, lag in reversed(tuple(self.__samples)):
            if lag >= threshold:
                return max(0.0, now - at)
        return self.__window


def _worst(figures: LagFigures) -> tuple[float, float]:
    return figures.max_ms, figures.p99_ms


def _percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of an ordered, non-empty list."""
    rank = math.ceil(share * len(ordered))
    return ordered[max(0, min(len(ordered), rank) - 1)]


class LoopLagMonitor:
    """The worker that samples the loop it runs on, started and stopped with the link
    monitoring; a stall is seen even before the worker wakes from it (``pending``)."""

    def __init__(
        self,
        *,
        interval: float = SAMPLE_INTERVAL_SECONDS,
        window: float = WINDOW_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval <= 0:
            raise ValueError("the sampling interval must be positive")
        self.interval = interval
        self.samples = LagSamples(window)
        self.__monotonic = monotonic
        self.__listeners: list[Callable[[float], None]] = []
        self.__expected_at: float | None = None
        self.__task: asyncio.Task[None] | None = None
        self.__others: list[LoopLagMonitor] = []

    def also_watch(self, other: LoopLagMonitor) -> None:
        """Answer for ``other``'s loop too, by the worse of the two: the media loop of its
        own (signaling.media_loop) is where consent checks and RTCP wait, and a stall there
        is the server's overload as much as one of signalling. ``other`` runs its own
        worker on its own loop; this one's start and stop leave it alone."""
        self.__others.append(other)
        for listener in self.__listeners:
            other.listen(listener)

    def now(self) -> float:
        return self.__monotonic()

    def pending(self, now: float | None = None) -> float:
        """Lateness of the wake-up the worker is still waiting for: after a stall, whoever
        runs first sees the stall before the worker has recorded it."""
        if self.__expected_at is None:
            return 0.0
        return max(0.0, (self.now() if now is None else now) - self.__expected_at)

    def figures(self) -> LagFigures:
        now = self.now()
        own = self.samples.figures(now, self.pending(now))
        return max((own, *(other.figures() for other in self.__others)), key=_worst)

    def max_lag(self, within: float) -> float:
        now = self.now()
        own = self.samples.max_lag(now, within, self.pending(now))
        return max((own, *(other.max_lag(within) for other in self.__others)))

    def late_seconds(self, within: float, threshold: float) -> float:
        now = self.now()
        pending = self.pending(now)
        late = self.samples.late_seconds(now, within, threshold)
        own = late + (min(pending, within) if pending >= threshold else 0.0)
        return max((own, *(other.late_seconds(within, threshold) for other in self.__others)))

    def steady_seconds(self, threshold: float) -> float:
        now = self.now()
        own = 0.0 if self.pending(now) >= threshold else self.samples.steady_seconds(now, threshold)
        return min((own, *(other.steady_seconds(threshold) for other in self.__others)))

    def listen(self, listener: Callable[[float], None]) -> None:
        """Be told every sample's lateness in seconds (a metrics histogram); a watched
        loop's samples come from its own thread."""
        self.__listeners.append(listener)
        for other in self.__others:
            other.listen(listener)

    def start(self) -> None:
        self.__task = asyncio.get_running_loop().create_task(self.__run())

    async def stop(self) -> None:
        """Cancel the worker and wait until it has exited."""
        task, self.__task = self.__task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def __run(self) -> None:
        try:
            while True:
                self.__expected_at = self.now() + self.interval
                await asyncio.sleep(self.interval)
                woke = self.now()
                lag = max(0.0, woke - self.__expected_at)
                self.__expected_at = None
                self.samples.record(woke, lag)
                for listener in self.__listeners:
                    listener(lag)
        finally:
            self.__expected_at = None


class OverloadAlarm:
    """When to tell IT staff the server is overloaded: once the loop has been late by more
    than ``threshold`` for ``sustain`` seconds of the last ``2 × sustain``, one alert for the
    whole episode; the episode ends when the loop has been steady for that long, and a new
    one within ``coalesce`` seconds of the last alert raises none (a server that keeps
    tipping over must not bury staff in alerts). Pure: times are given."""

    def __init__(self, threshold: float, sustain: float, coalesce: float) -> None:
        if threshold <= 0 or sustain <= 0:
            raise ValueError("the overload threshold and duration must be positive")
        self.threshold = threshold
        self.sustain = sustain
        self.window = 2 * sustain
        self.coalesce = coalesce
        self.__in_episode = False
        self.__last_alert_at: float | None = None

    @property
    def overloaded(self) -> bool:
        return self.__in_episode

    def observe(self, now: float, late_seconds: float, steady_seconds: float) -> bool:
        """Whether to raise an alert now. ``late_seconds``: the loop's late time in the last
        ``window`` seconds; ``steady_seconds``: since it was last late."""
        if self.__in_episode:
            if steady_seconds >= self.window:
                self.__in_episode = False
            return False
        if late_seconds < self.sustain:
            return False
        self.__in_episode = True
        if self.__last_alert_at is not None and now - self.__last_alert_at < self.coalesce:
            return False
        self.__last_alert_at = now
        return True
