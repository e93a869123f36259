"""Composition jobs: a child killed half-way leaves nothing that looks finished and the retry
succeeds; the arq queue on the real Redis composes a recording."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import av
import pytest

from hearing_server.cli import main
from recorder.composition import read_progress
from recorder.jobs import LocalJobs, RedisJobs, composition_worker, enqueue_composition
from tests.recorder.recording_builder import build_recording

REDIS_URL = "redis://127.0.0.1:6379/0"


def _wait_for(condition: object, what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


def test_killed_composition_leaves_no_finished_file_and_retry_succeeds(tmp_path: Path) -> None:
    built = build_recording(tmp_path, segments=6, size=(320, 240))
    paths = built.paths
    jobs = LocalJobs(niceness=0)
    child = jobs.start(paths)
    video_part = paths.composed_video.with_name(paths.composed_video.name + ".part")
    _wait_for(lambda: video_part.exists() or not child.is_alive(), "the video being written")
    assert child.is_alive(), "the composition ended before it could be killed"
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert child.exitcode == -signal.SIGKILL
    assert not paths.composed_video.exists()
    assert video_part.exists()
    assert jobs.run(paths)
    assert not video_part.exists()
    with av.open(str(paths.composed_video)) as container:
        assert sum(1 for _ in container.decode(video=0)) > 0
    progress = read_progress(paths)
    assert progress is not None and progress["state"] == "done"


async def test_local_enqueue_composes_in_a_child(tmp_path: Path) -> None:
    built = build_recording(tmp_path, segments=2)
    jobs = LocalJobs()
    await enqueue_composition(built.paths, jobs)
    await jobs.wait_all()
    assert built.paths.composed_audio.is_file() and built.paths.composed_video.is_file()


@pytest.mark.redis
@pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")
async def test_arq_queue_composes_on_a_worker(tmp_path: Path) -> None:
    built = build_recording(tmp_path, segments=2)
    queue = f"test:composition:{uuid.uuid4().hex}"
    await RedisJobs(REDIS_URL, queue_name=queue).enqueue(built.paths)
    assert (read_progress(built.paths) or {}).get("state") == "queued"
    worker = composition_worker(REDIS_URL, queue_name=queue, burst=True)
    try:
        await worker.main()
    finally:
        await worker.close()
    assert worker.jobs_complete == 1 and worker.jobs_failed == 0
    assert built.paths.composed_video.is_file()
    assert (read_progress(built.paths) or {}).get("state") == "done"


def test_the_cli_composes_by_id_and_shows_progress(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEARING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HEARING_RECORDINGS_DIR", str(tmp_path / "recordings"))
    monkeypatch.delenv("HEARING_REDIS_URL", raising=False)
    built = build_recording(tmp_path / "recordings", segments=2)
    assert main(["recordings", "compose", "r-builder", "--wait"]) == 0
    shown = capsys.readouterr().out
    assert "done 100.0%" in shown
    assert built.paths.composed_video.is_file()
    assert main(["recordings", "compose", "no-such-recording"]) == 2
