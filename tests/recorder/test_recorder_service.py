"""The server's recorder driven as the signalling edge drives it: the session's commands,
the media room's track callbacks, real aiortc peers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from recorder.journal import JournalEntry, read_journal
from recorder.layout import RecordingPaths
from recorder.service import Recorder
from rooms.media import RecordingState
from rooms.session import CourtSession
from signaling.media import AllowAll
from tests.rooms.rooms_testkit import DEFENDANT, PJ, SESSION_ID, act, live_hearing
from tests.signaling_media.harness import Harness, wait_until


@pytest.fixture
def recorder(tmp_path: Path) -> Recorder:
    return Recorder(tmp_path / "recordings", segment_seconds=1.0, min_free_mb=0)


@pytest.fixture
async def harness(recorder: Recorder) -> AsyncIterator[Harness]:
    made = Harness(
        AllowAll(),
        on_track_published=lambda fanout: recorder.track_published(SESSION_ID, fanout),
        on_track_unpublished=lambda key: recorder.track_unpublished(SESSION_ID, key),
    )
    yield made
    await made.close()


def _messages(session: CourtSession) -> list[dict[str, Any]]:
    """The command's events as the broadcaster passes them on."""
    return [{"name": e.name, "payload": e.payload()} for e in session.collect_events()]


def _types(paths: RecordingPaths) -> list[JournalEntry]:
    return list(read_journal(paths.journal))


async def test_recording_follows_the_hearing_from_start_to_pause(
    recorder: Recorder, harness: Harness
) -> None:
    session = live_hearing().session
    await harness.join(PJ)
    await harness.join(DEFENDANT)
    assert await wait_until(lambda: len(harness.room.tracks) == 4, 10)
    assert recorder.recording(SESSION_ID) is None, "nothing is captured before recording"

    session.start_recording(act(PJ))
    session.version += 1
    await recorder.session_changed(session, _messages(session))
    running = recorder.recording(SESSION_ID)
    assert running is not None
    assert len(running.captures) == 4
    assert await wait_until(lambda: all(c.segments_closed for c in running.captures.values()), 15)

    await harness.leave(DEFENDANT)  # the room says the tracks went: their captures stop
    assert {key.publisher for key in running.captures} == {PJ}
    recorder.active_speaker(SESSION_ID, PJ)

    session.pause_recording(act(PJ))
    session.version += 1
    await recorder.session_changed(session, _messages(session))
    assert running.captures == {}, "a pause captures nothing"
    await recorder.close()

    entries = _types(running.paths)
    kinds = [e.type for e in entries]
    assert kinds[0] == "run_started"
    metadata = entries[0].data["metadata"]
    assert metadata["case_number"] and metadata["court"] and metadata["presiding_judge"]
    assert metadata["hearing_id"] == SESSION_ID
    assert "recording_paused" in kinds and kinds[-1] == "recording_stopped"
    stops = {e.data["track"]: e.data["reason"] for e in entries if e.type == "track_stopped"}
    assert sorted(r for t, r in stops.items() if t.startswith(f"{DEFENDANT}.")) == [
        "unpublished",
        "unpublished",
    ]
    speaker = [
        e for e in entries if e.type == "session_event" and e.data["event"] == "active_speaker"
    ]
    assert speaker[0].data["participant"] == PJ
    assert session.recording is RecordingState.PAUSED


def test_recording_is_refused_when_space_is_short(tmp_path: Path) -> None:
    refusal = Recorder(tmp_path, min_free_mb=10**12).refusal()
    assert refusal is not None
    assert "dung lượng" in refusal.vi and "free space" in refusal.en
    assert Recorder(tmp_path, min_free_mb=0).refusal() is None
