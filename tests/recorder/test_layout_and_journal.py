"""The recording tree's names and the journal's crash tolerance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recorder.journal import Journal, JournalEntry, read_journal
from recorder.layout import RecordingPaths, TrackPaths

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_ids_that_could_leave_the_tree_are_refused(tmp_path: Path) -> None:
    for bad in ("..", "../x", "a/b", "", ".hidden"):
        with pytest.raises(ValueError):
            RecordingPaths.of(tmp_path, bad, "r1")
    paths = RecordingPaths.of(tmp_path, "s1", "r1")
    with pytest.raises(ValueError):
        paths.track("../../etc")


def test_closed_segments_are_listed_in_order_without_open_ones(tmp_path: Path) -> None:
    track = RecordingPaths.of(tmp_path, "s1", "r1").track("p1-camera-1")
    track.root.mkdir(parents=True)
    for number in (2, 10, 1):
        track.segment(number, "webm").write_bytes(b"x")
    TrackPaths.part_of(track.segment(11, "webm")).write_bytes(b"x")
    (track.root / "notes.txt").write_text("stranger")
    assert [p.name for p in track.closed_segments()] == ["00001.webm", "00002.webm", "00010.webm"]
    assert [p.name for p in track.open_segments()] == ["00011.webm.part"]


def test_a_torn_last_line_is_skipped_and_the_next_run_appends_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path, sync=False)
    journal.append(JournalEntry("run_started", T0, 10.0, 1, {"recording_id": "r1"}))
    journal.append(JournalEntry("recording_paused", T0, 11.0, 1, {"reason": "suspended"}))
    journal.close()
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"type":"track_started","at":"2030-')  # the process died here
    again = Journal(path, sync=False)
    again.append(JournalEntry("run_started", T0 + timedelta(seconds=60), 3.0, 2))
    again.close()
    entries = list(read_journal(path))
    assert [(e.type, e.run) for e in entries] == [
        ("run_started", 1),
        ("recording_paused", 1),
        ("run_started", 2),
    ]
    assert entries[1].data == {"reason": "suspended"}
    assert entries[0].wall_time_of(12.5) == T0 + timedelta(seconds=2.5)


def test_entries_refuse_unknown_types_and_naive_times() -> None:
    with pytest.raises(ValueError):
        JournalEntry("made_up", T0, 0.0, 1)
    with pytest.raises(ValueError):
        JournalEntry("run_started", datetime(2030, 1, 1), 0.0, 1)


def test_a_writer_keeps_its_lock_through_a_failed_write() -> None:
    """A full disk (``/dev/full`` refuses every write) drops the write handle, never the
    lock: the start-up sweep of another server must not take a live recording."""
    device = Path("/dev/full")
    writer = Journal(device, sync=False)
    entry = JournalEntry("recording_paused", datetime(2030, 1, 1, tzinfo=UTC), 1.0, 1, {})
    with pytest.raises(OSError):
        writer.append(entry)
    other = Journal(device, sync=False)
    try:
        assert not other.try_lock()
        writer.close()
        assert other.try_lock()
    finally:
        other.close()
        writer.close()
