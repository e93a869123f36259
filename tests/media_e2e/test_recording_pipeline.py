"""A recorded hearing through the whole stack: headless participants publish real media, the
judge records, the hearing closes, and the recording is in the catalogue by its case number,
verifies, is composed into an MP4 that decodes, and a ``recording.ready`` webhook goes out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import av
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hearing_server.app import create_app
from hearing_server.persistence.repositories import RecordingFilter
from hearing_server.settings import Settings
from recorder.integrity import verify_recording
from recorder.journal import read_journal
from recorder.layout import RecordingPaths
from recorder.signing import ServerKey
from rooms.participants import Actor
from rooms.recordings import RecordingStatus
from rooms.roles import StaffRole
from tests.conftest import FakeClock
from tests.media_e2e.conftest import MediaHearing
from tests.signaling.harness import schedule_hearing, staff_token
from web.keys import RECORDINGS, WEBHOOK_DISPATCHER

API = "/api/v1"
CASE = "45/2026/HS-ST"
T = TypeVar("T")


@pytest.fixture
def media_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"ice_servers": [], "recording_segment_seconds": 1.0, "recording_min_free_mb": 0}
    )


@dataclass
class Receiver:
    """The case registry's webhook endpoint."""

    bodies: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(json.loads(await request.read()))
        return web.Response(status=204)


@pytest.fixture
async def registry() -> AsyncIterator[tuple[Receiver, str]]:
    box = Receiver()
    app = web.Application()
    app.router.add_post("/hooks", box.handle)
    server = TestServer(app)
    await server.start_server()
    yield box, str(server.make_url("/hooks"))
    await server.close()


async def eventually(
    check: Callable[[], Awaitable[T | None]], within: float, what: str, every: float = 0.2
) -> T:
    """What the server shows, as soon as it shows it (polled; the deadline only bounds it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        found = await check()
        if found is not None:
            return found
        assert loop.time() < deadline, f"never: {what}"
        await asyncio.sleep(every)


def closed_segments(recordings_dir: Path) -> dict[str, int]:
    return {
        track.track_id: len(track.closed_segments())
        for recording in RecordingPaths.all_in(recordings_dir)
        for track in recording.tracks()
    }


async def test_a_recorded_hearing_is_found_verified_composed_and_announced(
    media_hearing: MediaHearing, media_settings: Settings, registry: tuple[Receiver, str]
) -> None:
    media = media_hearing
    client = media.hearing.client
    box, url = registry
    admin = {"Authorization": f"Bearer {await staff_token(client, 'it2', StaffRole.ADMIN)}"}

    async def api(method: str, path: str, body: Any = None) -> Any:
        async with client.request(method, API + path, json=body, headers=admin) as reply:
            assert reply.status < 300, await reply.text()
            return await reply.json() if reply.status != 204 else None

    await api("POST", "/webhooks", {"url": url, "events": ["recording.ready"]})
    await media.join("judge")
    await media.join("clerk")
    await media.join("defendant")
    await media.admit("defendant")
    judge = media.people["judge"]
    await judge.call("start")
    await media.wait_flowing("clerk", "defendant", "camera")
    await judge.call("start_recording")

    # Found by its case number while it records.
    async def listed() -> list[Any] | None:
        found: list[Any] = await api("GET", f"/recordings?case_number={CASE}")
        return found or None

    recording = (await eventually(listed, 10, "the recording in the catalogue"))[0]
    assert recording["state"] == "recording"

    # Media flows into segments: two closed ones of every recorded track (six tracks).
    recordings_dir = media_settings.effective_recordings_dir

    async def segments() -> dict[str, int] | None:
        counts = closed_segments(recordings_dir)
        return counts if len(counts) == 6 and min(counts.values()) >= 2 else None

    await eventually(segments, 30, "two closed segments of each of six tracks")
    await judge.call("close")

    async def ready() -> dict[str, Any] | None:
        found = await api("GET", f"/recordings?case_number={CASE}")
        assert found[0]["state"] != "failed", found
        return found[0] if found[0]["state"] == "ready" else None

    done = await eventually(ready, 180, "the composed recording", every=0.5)
    assert done["id"] == recording["id"] and done["ended_at"] is not None
    detail = await api("GET", f"/recordings/{done['id']}")
    assert detail["verification"]["ok"] is True, detail["verification"]
    files = {f["file"] for f in detail["files"]}
    assert {"composed/hearing.mp4", "composed/audio.m4a", "manifest.json"} <= files
    listed_composed = [c["file"] for c in detail["manifest"]["composed"]]
    assert listed_composed == ["composed/audio.m4a", "composed/hearing.mp4"]
    assert {p["role"] for p in detail["manifest"]["participants"]} == {
        "presiding_judge",
        "clerk",
        "defendant",
    }

    composed = recordings_dir / detail["recording"]["session_id"] / done["id"]
    with av.open(str(composed / "composed" / "hearing.mp4")) as mp4:
        assert mp4.metadata.get("case_number") == CASE
        frames = []
        for frame in mp4.decode(video=0):
            frames.append(frame)
            if len(frames) == 5:
                break
    assert len(frames) == 5 and frames[0].width > 0

    # The case registry hears of it once.
    dispatcher = client.server.app[WEBHOOK_DISPATCHER]

    async def announced() -> list[dict[str, Any]] | None:
        await dispatcher.send_due()
        return box.bodies or None

    bodies = await eventually(announced, 20, "the recording.ready webhook")
    assert [(b["type"], b["session_id"]) for b in bodies] == [
        ("recording.ready", detail["recording"]["session_id"])
    ]
    assert bodies[0]["data"]["recording_id"] == done["id"]
    assert bodies[0]["data"]["case_number"] == CASE
    assert "composed/hearing.mp4" in bodies[0]["data"]["files"]


async def test_a_recording_running_at_shutdown_is_sealed_and_composed_at_the_next_start(
    media_settings: Settings, clock: FakeClock
) -> None:
    if media_settings.effective_database_url.startswith("postgresql"):
        pytest.skip("media does not depend on the database")
    async with TestClient(TestServer(create_app(media_settings, clock=clock))) as first:
        media = MediaHearing(await schedule_hearing(first))
        try:
            await media.join("judge")
            await media.join("clerk")
            judge = media.people["judge"]
            await judge.call("start")
            await media.wait_flowing("clerk", "judge", "camera")
            await judge.call("start_recording")

            async def segments() -> dict[str, int] | None:
                counts = closed_segments(media_settings.effective_recordings_dir)
                return counts if len(counts) == 4 and min(counts.values()) >= 1 else None

            await eventually(segments, 30, "a closed segment of each of four tracks")
        finally:
            await media.close()
            await media.hearing.close()
    (paths,) = RecordingPaths.all_in(media_settings.effective_recordings_dir)
    stops = [e for e in read_journal(paths.journal) if e.type == "recording_stopped"]
    assert [e.data["reason"] for e in stops] == ["server stopped"]
    key = ServerKey.load_or_create(media_settings.data_dir)
    assert verify_recording(paths, key.public_key_pem).ok, "sealed on the way out"
    assert not paths.composed_video.exists()

    async with TestClient(TestServer(create_app(media_settings, clock=clock))) as second:
        catalog = second.server.app[RECORDINGS]

        async def composed() -> bool | None:
            found = await catalog.search(Actor.system(), RecordingFilter(case_number=CASE))
            assert [r.status for r in found] != [RecordingStatus.FAILED]
            return True if [r.status for r in found] == [RecordingStatus.READY] else None

        await eventually(composed, 180, "the recording composed after the restart", every=0.5)
    assert verify_recording(paths, key.public_key_pem).ok
    assert paths.composed_video.is_file()
