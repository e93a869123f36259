"""What the view tells everyone about recording: its state, whether their room is recorded,
and a hearing that records from its start (with a server that can and one that cannot)."""

from __future__ import annotations

from typing import Any

from recorder.service import LOW_SPACE
from rooms.media import RecordingState
from tests.signaling.conftest import RecordingGateway
from tests.signaling.harness import CLI, Hearing, Peer, events_of, state_event


def _recording_event(current: str, previous: str = "off") -> Any:
    def match(body: Any) -> bool:
        return any(
            e["name"] == "recording_state_changed"
            and (e["payload"]["previous"], e["payload"]["current"]) == (previous, current)
            for e in events_of(body)
        )

    return match


async def _record_from_start(hearing: Hearing) -> None:
    await hearing.service.execute(
        CLI,
        hearing.session_id,
        "session.update",
        lambda s: s.update_details(CLI, record_automatically=True),
    )


async def _in_session(hearing: Hearing) -> tuple[Peer, Peer, Peer]:
    judge, _ = await hearing.join("judge")
    clerk, _ = await hearing.join("clerk")
    defendant, _ = await hearing.join("defendant")
    await hearing.admit(clerk, "defendant")
    return judge, clerk, defendant


async def test_everyone_taking_part_is_told_the_recording_state_and_their_room(
    media_hearing: tuple[Hearing, RecordingGateway],
) -> None:
    hearing, _ = media_hearing
    judge, clerk, defendant = await _in_session(hearing)
    victim, welcome = await hearing.join("victim")
    # Waiting in the lobby: the room is not recorded, and nothing more about recording.
    assert welcome["view"]["you"]["room_recorded"] is False
    assert "recording" not in welcome["view"]["session"]
    assert (await judge.call("start"))["ok"]
    await defendant.wait_for("session_event", state_event("in_session"))
    view = defendant.views[hearing.session_id]
    assert view["session"]["recording"] == "off"
    assert view["session"]["record_automatically"] is False
    assert view["you"]["room_recorded"] is True

    assert (await judge.call("start_recording"))["ok"]
    started = await defendant.wait_for("session_event", _recording_event("recording"))
    assert started["view"]["session"]["recording"] == "recording"
    assert (await judge.call("pause_recording"))["ok"]
    paused = await defendant.wait_for("session_event", _recording_event("paused", "recording"))
    assert paused["view"]["session"]["recording"] == "paused"
    assert (await clerk.call("start_recording"))["ok"]  # resumes
    resumed = await defendant.wait_for("session_event", _recording_event("recording", "paused"))
    assert resumed["view"]["session"]["recording"] == "recording"
    assert victim.views[hearing.session_id]["you"]["room_recorded"] is False
    # The lobby hears nothing of recording (its own room is never recorded).
    assert all(
        b["event"]["name"] != "recording_state_changed" for b in victim.received("session_event")
    )

    # A private room is not recorded (the default policy), and the person is told so.
    moved = await clerk.call(
        "move_to_consultation",
        {"participant_ids": [hearing.ids["defendant"]], "room_name": "Trao đổi"},
    )
    assert moved["ok"], moved
    await defendant.wait_for(
        "session_event", lambda b: b["view"]["you"]["state"] == "in_consultation"
    )
    assert defendant.views[hearing.session_id]["you"]["room_recorded"] is False
    entries = {p["id"]: p for p in judge.views[hearing.session_id]["participants"]}
    assert entries[hearing.ids["defendant"]]["room_recorded"] is False
    assert entries[hearing.ids["judge"]]["room_recorded"] is True


async def test_a_hearing_that_records_from_its_start_starts_recording_with_it(
    media_hearing: tuple[Hearing, RecordingGateway],
) -> None:
    hearing, gateway = media_hearing
    await _record_from_start(hearing)
    judge, _clerk, defendant = await _in_session(hearing)
    assert judge.views[hearing.session_id]["session"]["record_automatically"] is True

    assert (await judge.call("start"))["ok"]
    message = await defendant.wait_for("session_event", _recording_event("recording"))
    event = next(e for e in events_of(message) if e["name"] == "recording_state_changed")
    assert event["payload"]["reason"] == "automatic"
    assert message["view"]["session"]["recording"] == "recording"
    assert (await hearing.session()).recording is RecordingState.RECORDING
    assert any("recording_state_changed" in names for _, names in gateway.changes)


async def test_a_server_that_cannot_record_starts_the_hearing_and_tells_the_judge_why(
    media_hearing: tuple[Hearing, RecordingGateway],
) -> None:
    hearing, gateway = media_hearing
    await _record_from_start(hearing)
    judge, _clerk, _defendant = await _in_session(hearing)
    gateway.refusal = LOW_SPACE.format(free_mb=12, min_mb=1024)

    reply = await judge.call("start")
    assert reply["ok"], reply
    told = await judge.wait_for(
        "session_event",
        lambda b: b["event"]["name"] == "recording_not_started",
    )
    payload = told["event"]["payload"]
    assert payload["rule"] == "recording.unavailable"
    assert "12 MB" in payload["message"]["vi"] and "free space" in payload["message"]["en"]
    assert told["view"]["session"]["state"] == "in_session"
    assert told["view"]["session"]["recording"] == "off"
    session = await hearing.session()
    assert session.state.value == "in_session" and session.recording is RecordingState.OFF
    [started] = await hearing.audit("session.start")
    assert started.outcome == "accepted"


async def test_a_recording_paused_by_a_suspension_stays_paused_where_it_cannot_be_written(
    media_hearing: tuple[Hearing, RecordingGateway],
) -> None:
    hearing, gateway = media_hearing
    judge, _clerk, defendant = await _in_session(hearing)
    assert (await judge.call("start"))["ok"]
    assert (await judge.call("start_recording"))["ok"]
    assert (await judge.call("suspend", {"reason": "nghỉ giải lao"}))["ok"]
    await defendant.wait_for("session_event", _recording_event("paused", "recording"))
    gateway.refusal = LOW_SPACE.format(free_mb=12, min_mb=1024)

    assert (await judge.call("resume"))["ok"]
    told = await judge.wait_for(
        "session_event", lambda b: b["event"]["name"] == "recording_not_started"
    )
    assert told["event"]["payload"]["reason"] == "resumed"
    assert told["view"]["session"]["state"] == "in_session"
    assert told["view"]["session"]["recording"] == "paused"
    session = await hearing.session()
    assert session.recording is RecordingState.PAUSED and not session.recording_paused_by_suspension

    gateway.refusal = None
    assert (await judge.call("start_recording"))["ok"]
    await defendant.wait_for("session_event", _recording_event("recording", "paused"))
