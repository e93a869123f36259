"""Which ended recordings the server composes at start: never queued, or queued or running
when the server died; not one composed, failed for good, or still recording."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearing_server.recording_pipeline import needs_composition
from recorder.composition import write_progress
from tests.recorder.recording_fixture import make_recording, write_composed_mp4


@pytest.mark.parametrize(
    ("progress", "expected"),
    [(None, True), ("queued", True), ("running", True), ("failed", False), ("done", False)],
)
def test_an_ended_recording_is_composed_unless_its_composition_finished(
    tmp_path: Path, progress: str | None, expected: bool
) -> None:
    paths = make_recording(tmp_path, segments=1, pause=False, stopped=True)
    if progress is not None:
        write_progress(paths, progress, 50.0)
    assert needs_composition(paths) is expected


def test_a_recording_still_running_or_already_composed_is_not(tmp_path: Path) -> None:
    running = make_recording(tmp_path, segments=1, pause=False, recording_id="r-running")
    assert not needs_composition(running)
    composed = make_recording(
        tmp_path, segments=1, pause=False, stopped=True, recording_id="r-composed"
    )
    write_composed_mp4(composed.composed_video, seconds=1)
    assert not needs_composition(composed)
