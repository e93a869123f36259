"""The server watching its own event loop: lateness samples and their figures, the overload
alarm's episodes, and the worker measuring a real stall of the loop it runs on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from signaling.loop_lag import LagSamples, LoopLagMonitor, OverloadAlarm
from tests.loop_stall import stall_event_loop


def test_figures_cover_the_window_and_forget_older_samples() -> None:
    samples = LagSamples(window=10.0)
    for i in range(100):
        samples.record(at=float(i) / 10, lag=0.001)
    samples.record(at=9.95, lag=0.4)
    figures = samples.figures(now=10.0)
    assert figures.samples == 101
    assert figures.p50_ms == pytest.approx(1.0)
    assert figures.p99_ms == pytest.approx(1.0)
    assert figures.max_ms == pytest.approx(400.0)

    samples.record(at=25.0, lag=0.002)
    later = samples.figures(now=25.0)
    assert (later.samples, later.max_ms) == (1, pytest.approx(2.0))
    # A stall still in progress counts before the worker wakes from it.
    assert samples.figures(now=25.0, pending=3.0).max_ms == pytest.approx(3000.0)
    assert LagSamples().figures(now=0.0).samples == 0


def test_percentiles_are_nearest_rank() -> None:
    samples = LagSamples(window=10.0)
    for i, lag in enumerate((0.001, 0.002, 0.003, 0.004)):
        samples.record(at=float(i), lag=lag)
    figures = samples.figures(now=4.0)
    assert (figures.p50_ms, figures.p99_ms, figures.max_ms) == pytest.approx((2.0, 4.0, 4.0))


def test_late_time_counts_long_stalls_whole_and_small_delays_not_at_all() -> None:
    samples = LagSamples(window=30.0)
    samples.record(at=1.0, lag=0.1)  # under the threshold
    samples.record(at=5.0, lag=2.0)  # stalled from 3.0 to 5.0
    samples.record(at=8.0, lag=1.0)  # stalled from 7.0 to 8.0
    assert samples.late_seconds(now=8.0, within=6.0, threshold=0.25) == pytest.approx(3.0)
    # Only the part of a stall inside the window counts.
    assert samples.late_seconds(now=8.0, within=4.5, threshold=0.25) == pytest.approx(2.5)
    assert samples.max_lag(now=8.0, within=2.0) == pytest.approx(1.0)
    assert samples.max_lag(now=8.0, within=4.0) == pytest.approx(2.0)
    assert samples.steady_seconds(now=10.0, threshold=0.25) == pytest.approx(2.0)
    assert samples.steady_seconds(now=10.0, threshold=5.0) == pytest.approx(30.0)


def test_one_alert_per_overload_episode_and_none_again_soon_after() -> None:
    alarm = OverloadAlarm(threshold=0.25, sustain=3.0, coalesce=60.0)
    assert not alarm.observe(now=1.0, late_seconds=2.0, steady_seconds=0.0)
    assert alarm.observe(now=2.0, late_seconds=3.5, steady_seconds=0.0)
    assert alarm.overloaded
    # Still overloaded: the same episode, no second alert.
    assert not alarm.observe(now=4.0, late_seconds=6.0, steady_seconds=0.0)
    # Steady for less than the window: still the same episode.
    assert not alarm.observe(now=8.0, late_seconds=1.0, steady_seconds=3.0)
    assert alarm.overloaded
    assert not alarm.observe(now=12.0, late_seconds=0.0, steady_seconds=6.0)
    assert not alarm.overloaded
    # It tips over again within a minute of the alert: an episode, but no new alert.
    assert not alarm.observe(now=20.0, late_seconds=4.0, steady_seconds=0.0)
    assert alarm.overloaded
    assert not alarm.observe(now=30.0, late_seconds=0.0, steady_seconds=6.0)
    # Long after: a new episode is a new alert.
    assert alarm.observe(now=100.0, late_seconds=4.0, steady_seconds=0.0)


def test_the_alarm_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        OverloadAlarm(threshold=0.0, sustain=3.0, coalesce=60.0)
    with pytest.raises(ValueError):
        LagSamples(window=0.0)
    with pytest.raises(ValueError):
        LoopLagMonitor(interval=0.0)


async def _wait_until(condition: Callable[[], bool], within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_the_worker_measures_a_real_stall_of_its_loop_and_stops_cleanly() -> None:
    monitor = LoopLagMonitor(interval=0.02)
    seen: list[float] = []
    monitor.listen(seen.append)
    monitor.start()
    try:
        await _wait_until(lambda: monitor.figures().samples >= 3)
        await stall_event_loop(0.4)
        # Before the worker wakes, whoever runs first already sees the stall.
        assert monitor.max_lag(within=1.0) >= 0.35
        assert monitor.steady_seconds(threshold=0.25) < 0.1
        await _wait_until(lambda: max(seen) >= 0.35)
        figures = monitor.figures()
        assert figures.max_ms >= 350 and figures.p50_ms < 350
        assert monitor.late_seconds(within=5.0, threshold=0.25) >= 0.35
    finally:
        await monitor.stop()
    assert monitor.pending() == 0.0
    samples = len(seen)
    await asyncio.sleep(0.1)
    assert len(seen) == samples


def test_a_monitor_answers_for_a_watched_loop_by_the_worse_of_the_two() -> None:
    """The media loop of its own is watched through signalling's monitor."""
    now = 100.0
    signalling = LoopLagMonitor(monotonic=lambda: now)
    media = LoopLagMonitor(monotonic=lambda: now)
    signalling.also_watch(media)
    signalling.samples.record(99.0, 0.01)
    media.samples.record(99.5, 0.8)
    assert signalling.max_lag(5) == pytest.approx(0.8)
    assert signalling.figures().max_ms == pytest.approx(800)
    assert signalling.late_seconds(5, 0.5) == pytest.approx(0.8)
    assert signalling.steady_seconds(0.5) == pytest.approx(0.5)
    assert media.max_lag(5) == pytest.approx(0.8)  # the watched one answers for itself only
    signalling.samples.record(99.9, 2.0)
    assert signalling.max_lag(5) == pytest.approx(2.0)
    assert signalling.steady_seconds(0.5) == pytest.approx(0.1)
