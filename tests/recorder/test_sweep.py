"""The start-up sweep on recordings crafted as a crash leaves them: segments written by the
capture's own writer from real encoded clips, an open one copied as the kernel holds it at
the instant of a SIGKILL, a torn journal line, no manifest."""

from __future__ import annotations

import shutil
from pathlib import Path

import av

from recorder.integrity import verify_recording
from recorder.journal import read_journal
from recorder.layout import RecordingPaths, TrackPaths
from recorder.manifest import build_manifest
from recorder.segments import SegmentWriter
from recorder.signing import ServerKey
from recorder.sweep import CRASH, sweep_recording, sweep_recordings
from recorder.timeline import build_timeline
from recorder.writer import LiveJournal
from signaling.media.synthetic import EncodedClip, opus_tone_clip, vp8_test_pattern_clip

VIDEO_START = 90_000 * 1000
AUDIO_START = 48_000 * 1000


def _frames(clip: EncodedClip, count: int, start_pts: int) -> list[tuple[bytes, int, bool]]:
    """``count`` frames of the clip looped from a keyframe, on the capture's pts scale."""
    return [
        (
            clip.frames[i % len(clip.frames)],
            start_pts + i * clip.frame_duration,
            i % len(clip.frames) in clip.keyframes,
        )
        for i in range(count)
    ]


def _close_segment(
    journal: LiveJournal,
    paths: RecordingPaths,
    track: TrackPaths,
    number: int,
    codec: str,
    clip: EncodedClip,
    frames: list[tuple[bytes, int, bool]],
    end_pts: int,
) -> None:
    """A closed segment journalled as the capture journals it."""
    writer = SegmentWriter(track, number, codec, clip.clock_rate, 2, frames[0][0])
    for data, pts, key in frames:
        writer.write(data, pts, key)
    closed = writer.close(end_pts)
    journal.append(
        "segment_closed",
        track=track.track_id,
        file=str(closed.path.relative_to(paths.root)),
        number=closed.number,
        first_pts=closed.first_pts,
        last_pts=closed.last_pts,
        time_base_den=closed.time_base_den,
        duration=round(closed.duration, 6),
        packets=closed.packets,
        bytes=closed.bytes,
        sha256=closed.sha256,
    )


def _crashed_open_segment(
    track: TrackPaths,
    number: int,
    codec: str,
    clip: EncodedClip,
    frames: list[tuple[bytes, int, bool]],
) -> Path:
    """The open segment as a SIGKILL leaves it: the bytes the muxer had handed the kernel."""
    writer = SegmentWriter(track, number, codec, clip.clock_rate, 2, frames[0][0])
    for data, pts, key in frames:
        writer.write(data, pts, key)
    left = writer.part.with_name(writer.part.name + ".left")
    shutil.copyfile(writer.part, left)
    writer.discard()
    left.rename(writer.part)
    return writer.part


def _crashed_recording(root: Path) -> RecordingPaths:
    video, audio = vp8_test_pattern_clip(), opus_tone_clip()
    paths = RecordingPaths.of(root, "session-1", "rec-1")
    journal = LiveJournal(paths)
    journal.append(
        "run_started",
        recording_id="rec-1",
        session_id="session-1",
        metadata={"case_number": "12/2030/HS-ST", "court": "TAND-Q1"},
    )
    for track, kind, clip, start in (
        ("judge.camera.1", "video", video, VIDEO_START),
        ("judge.microphone.2", "audio", audio, AUDIO_START),
    ):
        journal.append(
            "track_started",
            track=track,
            participant_id="judge",
            name="Nguyễn Văn A",
            role="presiding_judge",
            point="Phòng xử án",
            source="camera" if kind == "video" else "microphone",
            kind=kind,
            codec=clip.mime_type,
            clock_rate=clip.clock_rate,
            first_pts=start,
        )
    camera, microphone = paths.track("judge.camera.1"), paths.track("judge.microphone.2")
    # Two seconds of video and audio in a closed segment each, then the open second one:
    # three seconds of video the muxer flushed a cluster a second of; audio that never got
    # past its header.
    shots = _frames(video, 90, VIDEO_START)
    _close_segment(journal, paths, camera, 1, "VP8", video, shots[:60], shots[60][1])
    _crashed_open_segment(camera, 2, "VP8", video, _frames(video, 100, shots[60][1]))
    sound = _frames(audio, 100, AUDIO_START)
    _close_segment(journal, paths, microphone, 1, "OPUS", audio, sound, sound[-1][1] + 960)
    open_audio = microphone.segment(2, "webm").with_name("00002.webm.part")
    open_audio.write_bytes(b"\x1a\x45\xdf\xa3")  # the EBML magic and nothing after it
    journal.close()
    with open(paths.journal, "a", encoding="utf-8") as handle:
        handle.write('{"type":"segment_clo')  # the line being written when it died
    (paths.root / "manifest.json.tmp").write_bytes(b"{")
    return paths


def _decoded_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(container.streams[0]))


def test_a_crashed_recording_is_salvaged_marked_closed_and_sealed(tmp_path: Path) -> None:
    key = ServerKey.load_or_create(tmp_path / "data")
    paths = _crashed_recording(tmp_path / "recordings")

    swept = sweep_recording(paths, key)

    assert swept is not None and swept.crashed and swept.sealed
    assert swept.salvaged == ("tracks/judge.camera.1/00002.webm.part",)
    assert swept.lost == ("tracks/judge.microphone.2/00002.webm.part",)
    assert not list(paths.root.rglob("*.part")) and not list(paths.root.glob("*.tmp"))
    camera = paths.track("judge.camera.1").closed_segments()
    assert [p.name for p in camera] == ["00001.webm", "00002.webm"]
    assert _decoded_frames(camera[0]) == 60
    salvaged = _decoded_frames(camera[1])
    assert 30 <= salvaged <= 100, "at most the last cluster (a second) may be lost"
    for segment in paths.track("judge.microphone.2").closed_segments():
        assert _decoded_frames(segment) > 0

    entries = list(read_journal(paths.journal))
    stops = [e for e in entries if e.type == "track_stopped"]
    assert {e.data["track"] for e in stops} == {"judge.camera.1", "judge.microphone.2"}
    assert {e.data["reason"] for e in stops} == {CRASH}
    assert entries[-1].type == "recording_stopped" and entries[-1].data["reason"] == CRASH
    saved = next(e for e in entries if e.type == "segment_closed" and e.data.get("salvaged"))
    assert saved.data["packets"] == salvaged
    assert all(e.run == 1 for e in entries), "the sweep writes on the crashed run's clock"

    manifest = build_manifest(paths)
    kinds = [g["kind"] for g in manifest["gaps"]]
    assert kinds == ["segment_lost", "crash"]
    assert manifest["gaps"][0]["file"] == "tracks/judge.microphone.2/00002.webm.part"
    assert manifest["unfinished"] == []
    result = verify_recording(paths, key.public_key_pem)
    assert result.ok, result.problems
    assert result.checked_files == 3 + 1  # three segments and the journal

    # The salvaged segment sits where it was captured: right after the first one.
    timeline = build_timeline(paths.root, entries)
    first, second = timeline.segments_of("judge.camera.1")
    assert abs(second.start - (first.end + 1 / 30)) < 0.01
    assert timeline.duration < 10, "the composed file ends at the crash, not at the sweep"


def test_a_second_sweep_changes_nothing(tmp_path: Path) -> None:
    key = ServerKey.load_or_create(tmp_path / "data")
    paths = _crashed_recording(tmp_path / "recordings")
    sweep_recording(paths, key)
    journal, manifest = paths.journal.read_bytes(), paths.manifest.read_bytes()

    again = sweep_recordings(tmp_path / "recordings", key)

    assert [(s.crashed, s.sealed, s.salvaged, s.lost) for s in again] == [(False, False, (), ())]
    assert paths.journal.read_bytes() == journal and paths.manifest.read_bytes() == manifest


def test_a_recording_a_live_writer_holds_is_left_alone(tmp_path: Path) -> None:
    key = ServerKey.load_or_create(tmp_path / "data")
    paths = _crashed_recording(tmp_path / "recordings")
    live = LiveJournal(paths)
    live.append("session_event", event="still_recording", details={}, participant=None)
    try:
        assert sweep_recording(paths, key) is None
        assert len(list(paths.root.rglob("*.part"))) == 2
        assert not paths.manifest.exists()
    finally:
        live.close()
    assert sweep_recording(paths, key) is not None


def test_an_ended_recording_left_unsealed_is_sealed(tmp_path: Path) -> None:
    key = ServerKey.load_or_create(tmp_path / "data")
    paths = _crashed_recording(tmp_path / "recordings")
    sweep_recording(paths, key)
    paths.manifest_signature.unlink()  # died between the manifest and its signature

    swept = sweep_recording(paths, key)

    assert swept is not None and swept.sealed and not swept.crashed
    assert verify_recording(paths, key.public_key_pem).ok
