"""The composed MP4 of a real 4-party recording: plays, lasts the recorded time less pauses,
shows each participant's colour in a tile, is not silent, carries chapters and case tags."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from recorder.composition import CompositionSettings, compose_recording, grid, read_progress
from recorder.journal import read_journal
from recorder.timeline import build_timeline
from tests.recorder.recording_builder import METADATA, BuiltRecording, build_recording

SMALL = CompositionSettings(width=640, height=360, fps=10, preset="ultrafast")


@pytest.fixture(scope="module")
def composed(tmp_path_factory: pytest.TempPathFactory) -> BuiltRecording:
    built = build_recording(tmp_path_factory.mktemp("recordings"))
    compose_recording(built.paths, SMALL)
    return built


def test_timeline_places_segments_and_cuts_the_pause(tmp_path: Path) -> None:
    built = build_recording(tmp_path)
    timeline = build_timeline(built.paths.root, read_journal(built.paths.journal))
    assert timeline.duration == pytest.approx(built.recorded - built.paused)
    assert [(p.start, p.end) for p in timeline.pauses] == [(4.0, 5.0)]
    late = timeline.segments_of("p4-camera")
    assert [round(s.start, 3) for s in late] == [2.0, 5.0]
    assert timeline.cut(4.5) is None
    assert timeline.cut(5.5) == pytest.approx(4.5)
    titles = [(round(c.start, 3), c.title) for c in timeline.chapters]
    assert titles[0][0] == 0.0
    assert (1.0, "Đang xét xử / In session") in titles
    assert any(start == 4.0 and "Tạm ngừng ghi hình" in title for start, title in titles)
    assert timeline.speaker_at(0.2) is None
    assert timeline.speaker_at(3.0) == "p2"


def test_grid_shapes() -> None:
    assert [len({(r.x, r.y) for r in grid(n, 1280, 720)}) for n in (1, 2, 4, 6)] == [1, 2, 4, 6]
    assert {(r.w, r.h) for r in grid(4, 1280, 720)} == {(640, 360)}
    assert {(r.w, r.h) for r in grid(5, 1280, 720)} == {(426, 360)}
    screen = grid(3, 1280, 720, screen=True)
    assert screen[0].w == 960 and screen[0].h == 720


def _frame_at(path: Path, seconds: float) -> np.ndarray:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= seconds:
                return np.asarray(frame.to_ndarray(format="rgb24"))
    raise AssertionError(f"no frame at {seconds}s")


def _has_colour(picture: np.ndarray, colour: tuple[int, int, int]) -> bool:
    distance = np.abs(picture.astype(int) - np.array(colour)).sum(axis=2)
    return bool((distance < 60).sum() > 500)


def test_composed_video_plays_for_the_recorded_time_less_pauses(composed: BuiltRecording) -> None:
    video = composed.paths.composed_video
    assert video.is_file()
    assert not list(composed.paths.composed_dir.glob("*.part"))
    with av.open(str(video)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
        frames = sum(1 for _ in container.decode(video=0))
        duration = container.duration / 1_000_000
    expected = composed.recorded - composed.paused
    assert abs(duration - expected) < 1.0
    assert abs(frames / SMALL.fps - expected) < 1.0


def test_each_participant_tile_shows_their_colour(composed: BuiltRecording) -> None:
    early = _frame_at(composed.paths.composed_video, 1.0)
    late = _frame_at(composed.paths.composed_video, 3.0)
    for party in composed.parties:
        assert _has_colour(late, party.colour), party.name
        assert _has_colour(early, party.colour) == (party.joins < 1.0), party.name


def test_audio_is_mixed_and_not_silent(composed: BuiltRecording) -> None:
    for path in (composed.paths.composed_audio, composed.paths.composed_video):
        with av.open(str(path)) as container:
            samples = np.concatenate(
                [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
            )
        assert samples.size / 48_000 == pytest.approx(composed.recorded - composed.paused, abs=0.5)
        rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
        assert rms > 0.1
        spectrum = np.abs(np.fft.rfft(samples[48_000 * 3 : 48_000 * 4]))
        peaks = {round(f) for f in np.argsort(spectrum)[-12:]}
        for party in composed.parties:
            assert any(abs(peak - party.tone) <= 3 for peak in peaks), party.tone


def test_chapters_and_case_tags(composed: BuiltRecording) -> None:
    for path in (composed.paths.composed_audio, composed.paths.composed_video):
        with av.open(str(path)) as container:
            tags = container.metadata
            titles = [c["metadata"].get("title", "") for c in container.chapters()]
        for key, value in METADATA.items():
            assert tags.get(key) == value, key
        assert tags["start"].startswith("2030-03-04T01:30")
        assert tags["end"].startswith("2030-03-04T01:30:07")
        assert "Đang xét xử / In session" in titles
        assert any("Tạm ngừng ghi hình" in t for t in titles)
    progress = read_progress(composed.paths)
    assert progress is not None and progress["state"] == "done" and progress["percent"] == 100


def test_the_active_speaker_is_framed(composed: BuiltRecording) -> None:
    before = _frame_at(composed.paths.composed_video, 0.2)
    after = _frame_at(composed.paths.composed_video, 3.0)
    assert not _has_colour(before, (255, 196, 0))
    # p2 (the speaker) has the second tile of the 2x2 grid: top right.
    assert _has_colour(after[:180, 320:], (255, 196, 0))
    assert not _has_colour(after[:180, :320], (255, 196, 0))
    assert not _has_colour(after[180:], (255, 196, 0))
