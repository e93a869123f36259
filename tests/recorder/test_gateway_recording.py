"""The forwarder hands the recorder its tracks: a real peer through ForwardingGateway."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recorder.journal import read_journal
from recorder.service import Recorder
from signaling.forwarding import ForwardingGateway
from signaling.gateway import OutgoingTrack
from signaling.media import TrackKey
from signaling.media.synthetic import ProbeClient
from tests.rooms.rooms_testkit import PJ, SESSION_ID, act, live_hearing
from tests.signaling_media.harness import small_clip, wait_until


async def test_a_hearing_recorded_through_the_gateway(tmp_path: Path) -> None:
    clients: dict[str, ProbeClient] = {}
    gateway: ForwardingGateway

    async def send_offer(
        session_id: str, participant_id: str, sdp: str, tracks: Mapping[str, OutgoingTrack | None]
    ) -> None:
        keys = {
            mid: None if t is None else TrackKey(t.publisher, t.source)  # type: ignore[arg-type]
            for mid, t in tracks.items()
        }
        answer = await clients[participant_id].handle_offer(sdp, keys)
        await gateway.answer(session_id, participant_id, answer)

    recorder = Recorder(tmp_path, segment_seconds=1.0, min_free_mb=0)
    gateway = ForwardingGateway(send_offer, recorder=recorder)
    session = live_hearing().session
    client = clients[PJ] = ProbeClient(PJ, audio=True, video=True, video_clip=small_clip())
    try:
        sdp, sources = await client.create_offer()
        answer = await gateway.offer(SESSION_ID, PJ, sdp, dict(sources), session.forwarding_plan())
        await client.accept_answer(answer)
        assert gateway.recording_refusal() is None
        session.start_recording(act(PJ))
        session.version += 1
        events: list[dict[str, Any]] = [
            {"name": e.name, "payload": e.payload()} for e in session.collect_events()
        ]
        await gateway.apply_plan(SESSION_ID, session.forwarding_plan())
        await gateway.session_changed(session, events)
        running = recorder.recording(SESSION_ID)
        assert running is not None
        assert await wait_until(lambda: len(running.captures) == 2, 10), "tracks came later"
        assert await wait_until(
            lambda: all(c.segments_closed for c in running.captures.values()), 15
        )
    finally:
        await gateway.close()  # closes the recorder too
        await client.close()

    entries = list(read_journal(running.paths.journal))
    assert entries[0].type == "run_started" and entries[-1].type == "recording_stopped"
    assert {e.data["source"] for e in entries if e.type == "track_started"} == {
        "camera",
        "microphone",
    }
