"""The composed video's clock: time since the start, pauses cut out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recorder.clock import RecordingClock
from recorder.journal import JournalEntry

T0 = datetime(2030, 3, 4, 1, 30, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def entry(kind: str, seconds: float) -> JournalEntry:
    return JournalEntry(kind, at(seconds), seconds, 1)


def test_pauses_are_cut_out_and_a_moment_in_a_pause_falls_where_the_video_resumes() -> None:
    clock = RecordingClock.of(
        [
            entry("run_started", 0),
            entry("recording_paused", 10),
            entry("recording_resumed", 40),
            entry("recording_paused", 50),
            entry("recording_resumed", 60),
            entry("recording_stopped", 100),
        ]
    )
    assert clock is not None
    assert clock.offset(at(5)) == pytest.approx(5)
    assert clock.offset(at(25)) == pytest.approx(10)  # inside the first pause
    assert clock.offset(at(45)) == pytest.approx(15)
    assert clock.offset(at(70)) == pytest.approx(30)
    assert clock.offset(at(100)) == pytest.approx(60)
    assert clock.offset(at(-1)) is None and clock.offset(at(101)) is None


def test_a_recording_still_paused_or_running_has_no_end() -> None:
    clock = RecordingClock.of([entry("run_started", 0), entry("recording_paused", 10)])
    assert clock is not None and clock.ended is None
    assert clock.offset(at(3600)) == pytest.approx(10)
    assert RecordingClock.of([]) is None
