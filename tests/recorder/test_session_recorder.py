"""The session recorder follows the domain's plan with real aiortc peers: what the domain
records is captured, a mute stops the microphone's capture, a consultation writes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from recorder.journal import JournalEntry, read_journal
from recorder.layout import RecordingPaths
from recorder.session import SessionRecorder, identities_of, metadata_of
from rooms.session import CourtSession
from signaling.media import AllowAll, TrackKey
from tests.rooms.rooms_testkit import DEFENDANT, LAWYER, PJ, act, live_hearing
from tests.signaling_media.harness import Harness, wait_until


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    made = Harness(AllowAll())
    yield made
    await made.close()


def _entries(paths: RecordingPaths, kind: str) -> list[JournalEntry]:
    return [e for e in read_journal(paths.journal) if e.type == kind]


async def _recording(
    harness: Harness, tmp_path: Path, session: CourtSession
) -> tuple[SessionRecorder, RecordingPaths]:
    await harness.join(PJ)
    await harness.join(DEFENDANT)
    assert await wait_until(lambda: len(harness.room.tracks) == 4, 10)
    session.start_recording(act(PJ))
    session.version += 1
    paths = RecordingPaths.of(tmp_path, session.id, "rec-1")
    recorder = SessionRecorder.start(
        paths, metadata_of(session, "Nguyễn Văn Chủ"), identities_of(session), segment_seconds=1.0
    )
    recorder.follow(session.forwarding_plan(), harness.room.tracks)
    return recorder, paths


async def test_mute_stops_the_audio_capture_and_the_rest_goes_on(
    harness: Harness, tmp_path: Path
) -> None:
    session = live_hearing().session
    recorder, paths = await _recording(harness, tmp_path, session)
    assert len(recorder.captures) == 4
    assert await wait_until(lambda: all(c.segments_closed for c in recorder.captures.values()), 15)

    session.mute(act(PJ), DEFENDANT)
    session.version += 1
    recorder.follow(session.forwarding_plan(), harness.room.tracks)
    microphone = TrackKey(DEFENDANT, "microphone")
    assert microphone not in recorder.captures
    assert await wait_until(lambda: bool(_entries(paths, "track_stopped")), 10)
    stopped = _entries(paths, "track_stopped")
    assert [(e.data["track"], e.data["reason"]) for e in stopped] == [
        (f"{DEFENDANT}.microphone.{_number(paths, microphone)}", "muted")
    ]
    camera = recorder.captures[TrackKey(DEFENDANT, "camera")]
    before = camera.segments_closed
    assert await wait_until(lambda: camera.segments_closed > before, 10), "video goes on"
    await recorder.stop("closed")

    run = _entries(paths, "run_started")[0].data
    assert run["metadata"]["case_number"] == session.case.number if session.case else False
    assert run["metadata"]["presiding_judge"] == "Nguyễn Văn Chủ"
    started = {e.data["track"]: e.data for e in _entries(paths, "track_started")}
    judge = next(d for d in started.values() if d["participant_id"] == PJ)
    assert (judge["name"], judge["role"]) == ("Nguyễn Văn Chủ", "presiding_judge")
    assert judge["point"]
    assert _entries(paths, "recording_stopped")[0].data["reason"] == "closed"
    assert all(track.open_segments() == [] for track in paths.tracks())


def _number(paths: RecordingPaths, key: TrackKey) -> int:
    started = _entries(paths, "track_started")
    track = next(
        e.data["track"]
        for e in started
        if e.data["participant_id"] == key.publisher and e.data["source"] == key.source
    )
    return int(track.rsplit(".", 1)[1])


async def test_a_consultation_leaves_nothing_on_disk(harness: Harness, tmp_path: Path) -> None:
    session = live_hearing().session
    session.move_to_consultation(act(PJ), [DEFENDANT, LAWYER], "Phòng trao đổi")
    recorder, paths = await _recording(harness, tmp_path, session)
    assert {key.publisher for key in recorder.captures} == {PJ}
    assert await wait_until(
        lambda: all(c.segments_closed >= 2 for c in recorder.captures.values()), 15
    )
    assert {t.track_id.split(".")[0] for t in paths.tracks()} == {PJ}
    assert all(e.data["participant_id"] == PJ for e in _entries(paths, "track_started"))

    session.return_from_consultation(act(PJ), [DEFENDANT, LAWYER])
    session.version += 1
    recorder.follow(session.forwarding_plan(), harness.room.tracks)
    assert {key.publisher for key in recorder.captures} == {PJ, DEFENDANT}, "back: recorded"
    session.move_to_consultation(act(PJ), [DEFENDANT, LAWYER], "Phòng trao đổi")
    session.version += 1
    recorder.follow(session.forwarding_plan(), harness.room.tracks)
    assert {key.publisher for key in recorder.captures} == {PJ}, "in consultation again: not"
    await recorder.stop("closed")

    stopped = {
        e.data["track"]: e.data["reason"]
        for e in _entries(paths, "track_stopped")
        if e.data["track"].startswith(f"{DEFENDANT}.")
    }
    assert set(stopped.values()) <= {"unrecorded"}
