"""Cluster mode: the server queues a recording's composition on Redis, a composition worker
(``hearing-server recordings worker``, here in-process) composes it, and the server that
recorded it sees it finished: sealed again with the composed files, marked ready."""

from __future__ import annotations

import json

import pytest

from hearing_server.persistence.repositories import RecordingFilter
from hearing_server.settings import Settings
from recorder.composition import read_progress
from recorder.integrity import verify_recording
from recorder.jobs import composition_worker
from recorder.layout import RecordingPaths
from recorder.signing import ServerKey
from rooms.participants import Actor
from rooms.recordings import RecordingStatus
from tests.conftest import REDIS_URL
from tests.media_e2e.conftest import MediaHearing
from tests.media_e2e.test_recording_pipeline import CASE, closed_segments, eventually
from web.keys import RECORDINGS

pytestmark = pytest.mark.redis


@pytest.fixture
def media_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "ice_servers": [],
            "redis_url": REDIS_URL,
            "recording_segment_seconds": 1.0,
            "recording_min_free_mb": 0,
        }
    )


@pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")
async def test_composition_goes_through_the_redis_queue_to_a_worker(
    media_hearing: MediaHearing, media_settings: Settings
) -> None:
    media = media_hearing
    await media.join("judge")
    await media.join("clerk")
    judge = media.people["judge"]
    await judge.call("start")
    await media.wait_flowing("clerk", "judge", "camera")
    await judge.call("start_recording")
    recordings_dir = media_settings.effective_recordings_dir

    async def segments() -> dict[str, int] | None:
        counts = closed_segments(recordings_dir)
        return counts if len(counts) == 4 and min(counts.values()) >= 1 else None

    await eventually(segments, 30, "a closed segment of each of four tracks")
    await judge.call("close")
    (paths,) = RecordingPaths.all_in(recordings_dir)

    async def queued() -> bool | None:
        return True if (read_progress(paths) or {}).get("state") == "queued" else None

    await eventually(queued, 30, "the composition queued on Redis")
    assert not paths.composed_video.exists(), "nothing composes it in the server itself"

    worker = composition_worker(REDIS_URL, burst=True)
    try:
        await worker.main()
    finally:
        await worker.close()
    assert paths.composed_video.is_file()

    catalog = media.hearing.client.server.app[RECORDINGS]

    async def ready() -> bool | None:
        found = await catalog.search(Actor.system(), RecordingFilter(case_number=CASE))
        return True if [r.status for r in found] == [RecordingStatus.READY] else None

    await eventually(ready, 30, "the server seeing the recording composed")
    manifest = json.loads(paths.manifest.read_bytes())
    composed = [c["file"] for c in manifest["composed"]]
    assert composed == ["composed/audio.m4a", "composed/hearing.mp4"]
    key = ServerKey.load_or_create(media_settings.data_dir)
    assert verify_recording(paths, key.public_key_pem).ok
