"""Which ended recordings the server composes at start: never queued, or queued or running
when the server died; not one composed, failed for good, or still recording."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hearing_server.app import create_app
from hearing_server.recording_pipeline import needs_composition
from hearing_server.settings import Settings
from recorder.composition import write_progress
from recorder.integrity import seal_recording, verify_recording
from recorder.signing import ServerKey
from rooms.participants import Actor
from rooms.recordings import RecordingStatus
from tests.conftest import FakeClock
from tests.media_e2e.test_recording_pipeline import eventually
from tests.recorder.recording_fixture import make_recording, write_composed_mp4
from tests.signaling.harness import schedule_hearing
from web.keys import RECORDINGS, WEBHOOKS


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


async def test_a_recording_composed_as_the_server_died_is_sealed_and_announced_at_start(
    settings: Settings, clock: FakeClock
) -> None:
    if settings.effective_database_url.startswith("postgresql"):
        pytest.skip("the start-up path is the same on both engines; SQLite migrates itself")
    async with TestClient(TestServer(create_app(settings, clock=clock))) as first:
        hearing = await schedule_hearing(first)
        hook = await first.server.app[WEBHOOKS].register(
            Actor.system(), "http://registry.test/hooks", ["recording.ready"]
        )
    paths = make_recording(
        settings.effective_recordings_dir,
        segments=1,
        pause=False,
        stopped=True,
        session_id=hearing.session_id,
        recording_id="r-died",
    )
    key = ServerKey.load_or_create(settings.data_dir)
    seal_recording(paths, key)  # sealed at the end of the hearing, before composition
    write_composed_mp4(paths.composed_video, seconds=1)
    write_progress(paths, "done", 100.0)

    async with TestClient(TestServer(create_app(settings, clock=clock))) as second:
        webhooks = second.server.app[WEBHOOKS]

        async def announced() -> list[str] | None:
            found = await webhooks.deliveries(Actor.system(), hook.id)
            return [d.kind for d in found] or None

        assert await eventually(announced, 30, "recording.ready") == ["recording.ready"]
        recording = await second.server.app[RECORDINGS].get(Actor.system(), "r-died")
        assert recording.status is RecordingStatus.READY
    manifest = json.loads(paths.manifest.read_bytes())
    assert [c["file"] for c in manifest["composed"]] == ["composed/hearing.mp4"]
    assert verify_recording(paths, key.public_key_pem).ok
