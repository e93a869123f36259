"""The bandwidth rules on numbers alone: when a receiver's video is paused, when it is tried
again, and what the publisher is asked for."""

from __future__ import annotations

import math

import pytest

from signaling.media.bandwidth import (
    BandwidthSettings,
    LinkGuard,
    RateMeter,
    ReceiverEstimate,
    allowance,
    receivers_cap,
    upstream_estimate,
)

SETTINGS = BandwidthSettings(margin=0.8, hold=2.0)
RATE = 1_000_000.0


def feed(guard: LinkGuard, estimate: float, start: float, seconds: float) -> float | None:
    """REMBs every half second from ``start``; the time the guard said to pause, if it did."""
    steps = int(seconds / 0.5) + 1
    for step in range(steps):
        now = start + step * 0.5
        if guard.estimate(estimate, RATE, now):
            return now
    return None


def test_an_estimate_that_covers_the_video_never_pauses_it() -> None:
    guard = LinkGuard(SETTINGS)
    assert feed(guard, 0.85 * RATE, 0.0, 30.0) is None
    assert not guard.limited


def test_a_short_estimate_pauses_the_video_after_the_hold() -> None:
    guard = LinkGuard(SETTINGS)
    assert feed(guard, 0.5 * RATE, 10.0, 10.0) == 12.0


def test_one_dip_is_not_a_short_link() -> None:
    guard = LinkGuard(SETTINGS)
    for second in range(20):
        low = second % 2 == 0  # short one REMB in two: never for two seconds running
        assert not guard.estimate((0.5 if low else 1.0) * RATE, RATE, float(second))


def test_estimates_far_apart_are_no_evidence_of_a_lasting_shortage() -> None:
    guard = LinkGuard(SETTINGS)
    assert not guard.estimate(0.5 * RATE, RATE, 0.0)
    assert not guard.estimate(0.5 * RATE, RATE, 0.0 + SETTINGS.estimate_max_age + 1)
    assert guard.estimate(0.5 * RATE, RATE, SETTINGS.estimate_max_age + 1 + SETTINGS.hold)


def test_no_video_rate_means_nothing_to_pause() -> None:
    guard = LinkGuard(SETTINGS)
    assert not any(guard.estimate(0.0, 0.0, second / 2) for second in range(20))


def test_the_wait_doubles_after_each_short_try_up_to_the_longest() -> None:
    guard = LinkGuard(SETTINGS)
    now = 0.0
    waits = []
    for _ in range(6):
        paused_at = feed(guard, 0.3 * RATE, now, 5.0)
        assert paused_at is not None
        wait = guard.pause(paused_at)
        assert guard.limited
        # while paused, estimates are stale and change nothing
        assert not guard.estimate(0.1 * RATE, RATE, paused_at + 1)
        waits.append(wait)
        now = paused_at + wait
        guard.resume(now)
        assert not guard.limited
    assert waits == [8.0, 16.0, 32.0, 60.0, 60.0, 60.0]


def test_a_long_good_spell_resets_the_wait() -> None:
    guard = LinkGuard(SETTINGS)
    assert guard.pause(0.0) == 8.0
    guard.resume(8.0)
    assert guard.pause(10.0) == 16.0
    guard.resume(26.0)
    assert feed(guard, RATE, 26.0, SETTINGS.good_spell) is None
    assert guard.pause(26.0 + SETTINGS.good_spell + 1) == 8.0


def test_a_try_forgets_the_estimates_before_it() -> None:
    guard = LinkGuard(SETTINGS)
    assert not guard.estimate(0.5 * RATE, RATE, 0.0)
    guard.pause(1.0)
    guard.resume(9.0)
    # the shortage has to last the whole hold after the try again
    assert not guard.estimate(0.5 * RATE, RATE, 9.5)
    assert not guard.estimate(0.5 * RATE, RATE, 11.0)
    assert guard.estimate(0.5 * RATE, RATE, 11.5)


def test_an_injected_back_off_is_followed() -> None:
    quick = BandwidthSettings(margin=0.8, hold=0.5, first_retry=1.0, max_retry=3.0)
    guard = LinkGuard(quick)
    assert [guard.pause(float(t)) for t in range(4)] == [1.0, 2.0, 3.0, 3.0]


@pytest.mark.parametrize(
    "settings",
    [
        {"margin": 0.0},
        {"margin": 1.5},
        {"first_retry": 0.0},
        {"first_retry": 10.0, "max_retry": 5.0},
        {"hold": 0.0},
        {"rate_window": -1.0},
    ],
)
def test_settings_that_make_no_sense_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BandwidthSettings(**settings)


def test_the_rate_meter_smooths_a_steady_rate_and_follows_a_change() -> None:
    meter = RateMeter(2.0)
    total = 0
    assert meter.sample(total, 0.0) == 0.0
    for tick in range(1, 21):  # 125 kB/s = 1 Mbit/s for 10 s
        total += 62_500
        rate = meter.sample(total, tick * 0.5)
    assert rate == pytest.approx(1_000_000)
    for tick in range(21, 41):  # then nothing for 10 s
        rate = meter.sample(total, tick * 0.5)
    assert rate < 0.01 * 1_000_000


def test_samples_close_together_keep_the_last_rate() -> None:
    meter = RateMeter(2.0)
    meter.sample(0, 0.0)
    assert meter.sample(125_000, 1.0) == pytest.approx(1_000_000)
    # many receivers reporting within a few milliseconds: no burst of noise
    assert meter.sample(200_000, 1.01) == pytest.approx(1_000_000)


def test_a_browsers_estimate_for_several_videos_is_shared_in_proportion() -> None:
    assert allowance(900_000, 300_000, 900_000) == pytest.approx(300_000)
    assert allowance(600_000, 1_000_000, 1_500_000) == pytest.approx(400_000)
    assert allowance(600_000, 1_000_000, 0.0) == 600_000
    assert allowance(600_000, 0.0, 1_000_000) == 600_000


def fresh(bitrate: float | None, at: float = 9.0, limited: bool = False) -> ReceiverEstimate:
    return ReceiverEstimate(bitrate, at, limited)


def test_the_cap_is_the_best_receivers_estimate() -> None:
    cap, until = receivers_cap([fresh(200_000), fresh(900_000, at=8.0), fresh(500_000)], 10, 5)
    assert cap == 900_000
    assert until == 13.0  # the oldest of them goes stale then


def test_one_weak_receiver_alone_never_caps() -> None:
    weak = fresh(100_000, at=2.0, limited=True)  # paused for bandwidth: its estimate stands
    cap, _ = receivers_cap([weak, fresh(3_000_000)], 10, 5)
    assert cap == 3_000_000
    assert upstream_estimate(2_000_000, cap) == 2_000_000


def test_when_every_receiver_is_short_the_best_of_them_caps() -> None:
    receivers = [fresh(150_000, at=1.0, limited=True), fresh(400_000, at=2.0, limited=True)]
    cap, until = receivers_cap(receivers, 10, 5)
    assert cap == 400_000
    assert until == math.inf  # paused receivers' estimates do not go stale
    assert upstream_estimate(2_000_000, cap) == 400_000


def test_a_receiver_that_says_nothing_recent_leaves_the_publisher_free() -> None:
    assert receivers_cap([fresh(100_000), fresh(None)], 10, 5) == (None, math.inf)
    assert receivers_cap([fresh(100_000), fresh(200_000, at=4.0)], 10, 5) == (None, math.inf)
    assert receivers_cap([], 10, 5) == (None, math.inf)
    assert upstream_estimate(2_000_000, None) == 2_000_000


def test_the_publisher_is_never_asked_for_more_than_reaches_the_server() -> None:
    assert upstream_estimate(500_000, 3_000_000.0) == 500_000
