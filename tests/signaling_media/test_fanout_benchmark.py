"""The fan-out benchmark's arithmetic, and one real step so `--fanout` cannot rot unseen."""

from __future__ import annotations

import pytest

from benchmarks.fanout import FanoutStep, Thresholds, TrackWindow, run_step
from benchmarks.load import TrackReading
from signaling.media.synthetic import opus_tone_clip, vp8_test_pattern_clip


def test_delivery_counts_gaps_in_rtp_time_and_lag_counts_falling_behind() -> None:
    video = vp8_test_pattern_clip()  # 3000 ticks a frame at 90 kHz
    before = TrackReading(frames=100, timestamp=300_000)
    # 300 frames' worth of timestamps went by; 297 arrived; the publisher sent 315
    after = TrackReading(frames=397, timestamp=300_000 + 300 * 3000)
    window = TrackWindow.between(video, before, after, sent=315)
    assert window.delivered == 297 and window.spanned == 300
    assert window.delivery == pytest.approx(0.99)
    assert window.lag == pytest.approx(15 / 30)  # half a second further behind

    audio = opus_tone_clip()  # 960 ticks a frame at 48 kHz
    silent = TrackWindow.between(audio, TrackReading(5, 4800), TrackReading(5, 4800), sent=50)
    assert silent.delivery == 0 and silent.lag == pytest.approx(1.0)
    never = TrackWindow.between(audio, TrackReading(0, None), TrackReading(0, None), sent=50)
    assert never.delivery == 0


async def test_one_step_with_two_receivers_in_their_own_process() -> None:
    step: FanoutStep = await run_step(2, 2.0, "video/VP8", processes=1, settle=0.5)
    assert set(step.video) == {"r0", "r1"} and step.not_flowing == 0
    assert step.codecs == {"video/VP8"}
    assert step.disconnected == 0
    assert step.worst("video") >= 0.9 and step.worst("audio") >= 0.9
    assert all(window.delivered >= 30 for window in step.video.values())  # of about 60
    assert step.server_cpu > 0 and step.load_cpu[0] > 0
    assert step.packets_delivered > 2 * 60  # video and audio, both receivers
    assert step.ingress >= 0.9
    assert step.verdict(Thresholds(min_delivery=0.0, max_lag=60, cpu_limit=2.0)) == "ok"
