"""Live capture from real aiortc peers over loopback: segments decode and match the journal."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import av
import pytest

from recorder.capture import TrackCapture, TrackIdentity
from recorder.journal import JournalEntry, read_journal
from recorder.layout import RecordingPaths
from recorder.timeline import sender_report_shifts
from recorder.writer import LiveJournal
from signaling.media import AllowAll
from tests.signaling_media.harness import Harness, wait_until

SEGMENT_SECONDS = 1.0


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    made = Harness(AllowAll())
    yield made
    await made.close()


def _captures(harness: Harness, paths: RecordingPaths, journal: LiveJournal) -> list[TrackCapture]:
    captures = []
    for key, fanout in sorted(harness.room.tracks.items(), key=lambda item: str(item[0])):
        capture = TrackCapture(
            paths,
            journal,
            fanout,
            TrackIdentity(key.publisher, f"Người {key.publisher}", "witness", "remote"),
            track_id=f"{key.publisher}-{key.source}",
            segment_seconds=SEGMENT_SECONDS,
        )
        fanout.add_sink(capture)
        captures.append(capture)
    return captures


def _decoded_duration(path: Path) -> tuple[float, float]:
    """Seconds spanned by the decoded frames (last frame's length included), and one frame."""
    with av.open(str(path)) as container:
        stream = container.streams[0]
        times = [
            float(frame.pts * frame.time_base)
            for frame in container.decode(stream)
            if frame.pts is not None and frame.time_base is not None
        ]
    assert times, f"{path} decodes to nothing"
    if len(times) == 1:  # a last segment the stop cut after its keyframe: 1/30 s
        return 1 / 30, 1 / 30
    frame = (times[-1] - times[0]) / (len(times) - 1)
    return times[-1] - times[0] + frame, frame


def _closed(entries: list[JournalEntry]) -> list[JournalEntry]:
    return [e for e in entries if e.type == "segment_closed"]


async def _record(harness: Harness, tmp_path: Path, segments: int) -> RecordingPaths:
    paths = RecordingPaths.of(tmp_path, "session-1", "rec-1")
    journal = LiveJournal(paths)
    captures = _captures(harness, paths, journal)
    assert await wait_until(lambda: all(c.segments_closed >= segments for c in captures), 20)
    for capture in captures:
        capture.stop("left")
    journal.close()
    return paths


async def test_two_publishers_recorded_in_segments_that_decode(
    harness: Harness, tmp_path: Path
) -> None:
    await harness.join("a")
    await harness.join("b")
    assert await wait_until(lambda: len(harness.room.tracks) == 4, 10)

    paths = await _record(harness, tmp_path, segments=3)

    entries = list(read_journal(paths.journal))
    started = {e.data["track"]: e for e in entries if e.type == "track_started"}
    assert set(started) == {"a-camera", "a-microphone", "b-camera", "b-microphone"}
    assert started["a-camera"].data["codec"] == "video/VP8"
    assert started["b-microphone"].data["participant_id"] == "b"
    assert {e.data["track"] for e in entries if e.type == "track_stopped"} == set(started)
    for track in paths.tracks():
        assert track.open_segments() == []
        closed = [e for e in _closed(entries) if e.data["track"] == track.track_id]
        assert [e.data["number"] for e in closed] == list(range(1, len(closed) + 1))
        assert [paths.root / e.data["file"] for e in closed] == track.closed_segments()
        for entry in closed:
            segment = paths.root / entry.data["file"]
            assert segment.suffix == ".webm"
            assert entry.data["bytes"] == segment.stat().st_size
            duration, frame = _decoded_duration(segment)
            assert abs(duration - entry.data["duration"]) <= 2 * frame, segment
        # Full segments (not the last, cut by the stop) last the segment length; a video
        # segment runs on until the keyframe it asked for arrives, which on a busy machine
        # may take a while, so only its lower bound is fixed.
        for entry in closed[:-1]:
            if track.track_id.endswith("camera"):
                assert entry.data["duration"] >= SEGMENT_SECONDS - 0.1
            else:
                assert entry.data["duration"] == pytest.approx(SEGMENT_SECONDS, abs=0.5)
        # Consecutive segments follow each other on the track's timeline, without gaps.
        for before, after in itertools.pairwise(closed):
            assert after.data["first_pts"] > before.data["last_pts"]


async def test_every_video_segment_starts_on_a_keyframe_and_audio_has_opus_head(
    harness: Harness, tmp_path: Path
) -> None:
    await harness.join("a")
    assert await wait_until(lambda: len(harness.room.tracks) == 2, 10)

    paths = await _record(harness, tmp_path, segments=2)

    for segment in paths.track("a-camera").closed_segments():
        with av.open(str(segment)) as container:
            first = next(container.demux(container.streams.video[0]))
            assert first.is_keyframe
            assert container.streams.video[0].codec_context.width == 320
    for segment in paths.track("a-microphone").closed_segments():
        with av.open(str(segment)) as container:
            stream = container.streams.audio[0]
            assert stream.codec_context.extradata is not None
            assert stream.codec_context.extradata.startswith(b"OpusHead")


async def test_h264_segments_carry_their_parameter_sets(tmp_path: Path) -> None:
    harness = Harness(AllowAll(), video_codec="video/H264")
    try:
        await harness.join("a")
        assert await wait_until(lambda: len(harness.room.tracks) == 2, 10)
        paths = await _record(harness, tmp_path, segments=2)
    finally:
        await harness.close()

    entries = _closed(list(read_journal(paths.journal)))
    segments = paths.track("a-camera").closed_segments()
    assert segments and all(segment.suffix == ".mkv" for segment in segments)
    for segment in segments:
        with av.open(str(segment)) as container:
            extradata = container.streams.video[0].codec_context.extradata
            assert extradata is not None and extradata[0] == 1  # avcC holding SPS and PPS
        entry = next(e for e in entries if paths.root / e.data["file"] == segment)
        duration, frame = _decoded_duration(segment)
        assert abs(duration - entry.data["duration"]) <= 2 * frame


async def test_a_write_error_is_journalled_reported_and_recovered(
    harness: Harness, tmp_path: Path
) -> None:
    await harness.join("a")
    assert await wait_until(lambda: len(harness.room.tracks) == 2, 10)
    fanout = harness.room.fanout("a", "microphone")
    assert fanout is not None
    paths = RecordingPaths.of(tmp_path, "session-1", "rec-1")
    blocker = paths.track("a-microphone").root
    blocker.parent.mkdir(parents=True)
    blocker.write_bytes(b"")  # a file where the track's directory should be: every open fails
    reports: list[BaseException | None] = []
    journal = LiveJournal(paths)
    capture = TrackCapture(
        paths,
        journal,
        fanout,
        TrackIdentity("a", "A", "witness", "remote"),
        track_id="a-microphone",
        segment_seconds=SEGMENT_SECONDS,
        retry_seconds=0.2,
        on_failure=lambda _capture, error: reports.append(error),
    )
    fanout.add_sink(capture)
    assert await wait_until(lambda: capture.failed, 10)
    assert isinstance(reports[0], OSError)
    blocker.unlink()
    assert await wait_until(lambda: capture.segments_closed >= 1, 10)
    capture.stop("left")
    journal.close()

    kinds = [e.type for e in read_journal(paths.journal)]
    assert kinds.index("capture_failed") < kinds.index("capture_resumed")
    assert kinds.index("capture_resumed") < kinds.index("segment_closed")
    assert reports == [reports[0], None], "one report when it fails, one when it resumes"
    assert not capture.failed
    segments = paths.track("a-microphone").closed_segments()
    assert segments[0].name == "00001.webm"
    _decoded_duration(segments[0])


async def test_the_publishers_sender_reports_are_journalled_and_agree_across_its_tracks(
    harness: Harness, tmp_path: Path
) -> None:
    await harness.join("a")
    assert await wait_until(lambda: len(harness.room.tracks) == 2, 10)
    paths = RecordingPaths.of(tmp_path, "session-1", "rec-1")
    journal = LiveJournal(paths)
    captures = _captures(harness, paths, journal)

    def reported() -> bool:
        entries = list(read_journal(paths.journal))
        return {e.data["track"] for e in entries if e.type == "sender_report"} == {
            "a-camera",
            "a-microphone",
        }

    assert await wait_until(reported, 20), "no sender report from the publisher"
    for capture in captures:
        capture.stop("left")
    journal.close()

    entries = list(read_journal(paths.journal))
    started = {e.data["track"]: e for e in entries if e.type == "track_started"}
    for report in (e for e in entries if e.type == "sender_report"):
        track = started[report.data["track"]].data
        seconds = (report.data["pts"] - track["first_pts"]) / track["clock_rate"]
        assert 0 <= seconds < 20, "the report's instant is on the frames' own scale"
    shifts = sender_report_shifts(entries)
    assert shifts[(1, "a-microphone")] == 0.0
    assert abs(shifts[(1, "a-camera")]) < 0.5, shifts
