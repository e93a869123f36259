"""The timeline from journal entries alone: runs anchored, pauses cut, an open pause closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recorder.journal import JournalEntry
from recorder.timeline import build_timeline

START = datetime(2030, 1, 2, 3, 0, tzinfo=UTC)


def _entry(entry_type: str, at: float, mono: float, run: int, **data: object) -> JournalEntry:
    return JournalEntry(entry_type, START + timedelta(seconds=at), mono, run, data)


def _segment(at: float, mono_first: float, mono_last: float, run: int) -> JournalEntry:
    return _entry(
        "segment_closed",
        at,
        mono_last,
        run,
        track="p1-camera",
        file=f"tracks/p1-camera/{run:05d}.webm",
        number=run,
        first_pts=round(mono_first * 90_000),
        last_pts=round(mono_last * 90_000),
        time_base_den=90_000,
    )


def test_a_restart_is_placed_by_its_own_runs_anchor() -> None:
    """After a crash the monotonic clock starts again: run 2's pts are read on run 2's clock."""
    entries = [
        _entry("run_started", 0.0, 1000.0, 1, metadata={}),
        _entry("track_started", 0.0, 1000.0, 1, track="p1-camera", kind="video"),
        _segment(4.0, 1000.0, 1004.0, 1),
        _entry("run_started", 10.0, 5.0, 2, metadata={}),
        _segment(14.0, 6.0, 9.0, 2),
    ]
    timeline = build_timeline(Path("/r"), entries)
    placed = [(round(s.start, 6), round(s.end, 6)) for s in timeline.segments]
    assert placed == [(0.0, 4.0), (11.0, 14.0)]
    assert timeline.segments[1].path == Path("/r/tracks/p1-camera/00002.webm")
    assert timeline.duration == pytest.approx(14.0)


def test_pauses_are_cut_and_a_pause_never_resumed_runs_to_the_end() -> None:
    entries = [
        _entry("run_started", 0.0, 0.0, 1, metadata={}),
        _entry("recording_paused", 2.0, 2.0, 1, reason="judge"),
        _entry("recording_resumed", 5.0, 5.0, 1, reason="judge"),
        _entry("recording_paused", 8.0, 8.0, 1, reason="suspended"),
        _entry("recording_stopped", 9.0, 9.0, 1, reason="closed"),
    ]
    timeline = build_timeline(Path("/r"), entries)
    assert [(p.start, p.end) for p in timeline.pauses] == [(2.0, 5.0), (8.0, 9.0)]
    assert timeline.duration == pytest.approx(5.0)
    assert timeline.cut(6.0) == pytest.approx(3.0)
    assert timeline.clamped(3.0) == pytest.approx(2.0)
    assert [round(c.start, 3) for c in timeline.chapters] == [0.0, 2.0, 5.0]
    assert timeline.end == START + timedelta(seconds=9)


def test_a_journal_without_a_run_is_refused() -> None:
    with pytest.raises(ValueError, match="run_started"):
        build_timeline(Path("/r"), [])


def _ntp(seconds: float) -> int:
    return round(seconds * 2**32)


def test_sender_reports_line_up_one_persons_camera_with_their_microphone() -> None:
    """The camera's first frame came 80 ms later than the microphone's, so its timestamps
    were put 80 ms late on the server's clock; the publisher's reports (one NTP clock for
    both) move the camera back, and leave another person's lone track alone."""
    entries = [
        _entry("run_started", 0.0, 1000.0, 1, metadata={}),
        _entry(
            "track_started",
            0.0,
            1000.0,
            1,
            track="p1.microphone.1",
            participant_id="p1",
            source="microphone",
            kind="audio",
            clock_rate=48_000,
        ),
        _entry(
            "track_started",
            0.0,
            1000.0,
            1,
            track="p1.camera.2",
            participant_id="p1",
            source="camera",
            kind="video",
            clock_rate=90_000,
        ),
        _entry(
            "track_started",
            0.0,
            1000.0,
            1,
            track="p2.camera.3",
            participant_id="p2",
            source="camera",
            kind="video",
            clock_rate=90_000,
        ),
        # The same publisher instant (NTP 50.0 s) is server second 1001.0 on the
        # microphone's scale and 1001.08 on the camera's; later reports agree.
        *(
            _entry("sender_report", 1 + n, 1001 + n, 1, track=track, ntp=_ntp(50 + n), pts=pts)
            for n in range(3)
            for track, pts in (
                ("p1.microphone.1", round((1001.0 + n) * 48_000)),
                ("p1.camera.2", round((1001.08 + n) * 90_000)),
                ("p2.camera.3", round((1001.3 + n) * 90_000)),
            )
        ),
        *(
            _entry(
                "segment_closed",
                4.0,
                1004.0,
                1,
                track=track,
                file=f"tracks/{track}/00001.webm",
                number=1,
                first_pts=round(first * den),
                last_pts=round((first + 3.0) * den),
                time_base_den=den,
            )
            for track, first, den in (
                ("p1.microphone.1", 1000.5, 48_000),
                ("p1.camera.2", 1000.58, 90_000),
                ("p2.camera.3", 1000.5, 90_000),
            )
        ),
    ]
    timeline = build_timeline(Path("/r"), entries)
    starts = {s.track_id: round(s.start, 3) for s in timeline.segments}
    assert starts == {"p1.microphone.1": 0.5, "p1.camera.2": 0.5, "p2.camera.3": 0.5}
    assert build_timeline(Path("/r"), [e for e in entries if e.type != "sender_report"])
