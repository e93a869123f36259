"""A full disk under a running recording, for real: the recordings live on a small filesystem
the test mounts and fills. Capture fails, a ``recording_failed`` alert reaches the monitor
and the presiding judge's console, capture resumes by itself once space is back, and the
sealed manifest shows the gap; no segment left behind is corrupt."""

from __future__ import annotations

import json
from pathlib import Path

import av
import pytest

from hearing_server.settings import Settings
from recorder.integrity import verify_recording
from recorder.journal import read_journal
from recorder.layout import RecordingPaths
from recorder.signing import ServerKey
from rooms.alerts import AlertKind
from rooms.participants import Actor
from rooms.roles import StaffRole
from tests.conftest import fill_disk
from tests.media_e2e.conftest import MediaHearing
from tests.media_e2e.test_recording_pipeline import eventually
from tests.signaling.harness import staff_token


@pytest.fixture
def media_settings(settings: Settings, small_disk: Path) -> Settings:
    return settings.model_copy(
        update={
            "ice_servers": [],
            "recordings_dir": small_disk / "recordings",
            "recording_segment_seconds": 1.0,
            "recording_min_free_mb": 0,
        }
    )


def _recording(settings: Settings) -> RecordingPaths | None:
    found = RecordingPaths.all_in(settings.effective_recordings_dir)
    return found[0] if found else None


async def test_a_full_disk_alerts_the_court_and_recording_resumes_with_the_gap_recorded(
    media_hearing: MediaHearing, media_settings: Settings, small_disk: Path
) -> None:
    media = media_hearing
    hearing = media.hearing
    judge = await media.join("judge")
    await media.join("clerk")
    token = await staff_token(hearing.client, "kythuat", StaffRole.IT_STAFF)
    monitor = await hearing.connect("monitor", {"staff_token": token})
    await monitor.wait_for("welcome")
    assert (await monitor.call("watch", {"session_id": hearing.session_id}))["ok"]
    await judge.call("start")
    await media.wait_flowing("clerk", "judge", "camera")
    await judge.call("start_recording")

    async def recording() -> RecordingPaths | None:
        paths = _recording(media_settings)
        if paths is None:
            return None
        closed = [len(t.closed_segments()) for t in paths.tracks()]
        return paths if len(closed) == 4 and min(closed) >= 1 else None

    paths = await eventually(recording, 30, "a closed segment of each of four tracks")
    filler = fill_disk(small_disk)

    alert = await monitor.wait_for("alert", lambda a: a["kind"] == "recording_failed")
    assert alert["session_id"] == hearing.session_id and alert["message"]["vi"]

    async def on_console() -> dict[str, object] | None:
        return next(
            (b for n, b in judge.events if n == "alert" and b["kind"] == "recording_failed"),
            None,
        )

    assert (await eventually(on_console, 10, "the alert on the judge's console"))["id"] == alert[
        "id"
    ]
    kinds = {a.kind for a in await hearing.service.alerts(Actor.system(), hearing.session_id)}
    assert AlertKind.RECORDING_FAILED in kinds

    filler.unlink()

    async def resumed() -> bool | None:
        entries = read_journal(paths.journal)
        return True if any(e.type == "capture_resumed" for e in entries) else None

    await eventually(resumed, 30, "capture resumed once space is back")
    await judge.call("close")

    async def sealed() -> dict[str, object] | None:
        if not paths.manifest_signature.is_file():
            return None
        manifest: dict[str, object] = json.loads(paths.manifest.read_bytes())
        return manifest

    manifest = await eventually(sealed, 30, "the manifest sealed")
    gaps = [g for g in manifest["gaps"] if g["kind"] == "capture_failed"]  # type: ignore[attr-defined]
    assert gaps and all(g["from"] and g["to"] for g in gaps), manifest["gaps"]
    key = ServerKey.load_or_create(media_settings.data_dir)
    assert verify_recording(paths, key.public_key_pem).ok
    assert not list(paths.root.rglob("*.part"))
    for track in paths.tracks():
        for segment in track.closed_segments():
            with av.open(str(segment)) as container:
                assert sum(1 for _ in container.decode(container.streams[0])) > 0, segment
