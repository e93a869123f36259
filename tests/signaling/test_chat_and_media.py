"""Chat between parties and the court, and the WebRTC messages handed to the media gateway."""

from __future__ import annotations

import pytest

from hearing_server.settings import Settings
from recorder.service import LOW_SPACE
from rooms.ids import ParticipantId
from rooms.media import MediaSource, RecordingState
from signaling.gateway import IceCandidateInfo
from tests.signaling.conftest import ANSWER_SDP, RecordingGateway
from tests.signaling.harness import Hearing

OFFER = "v=0\r\no=- 7 2 IN IP4 127.0.0.1\r\ns=-\r\n"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """This module's server runs without media, unless a test brings its own gateway."""
    return settings.model_copy(update={"media_enabled": False})


async def test_a_party_writes_to_the_court_and_only_the_court_reads_it(hearing: Hearing) -> None:
    judge, _ = await hearing.join("judge")
    clerk, _ = await hearing.join("clerk")
    defendant, _ = await hearing.join("defendant")
    victim, _ = await hearing.join("victim")
    await hearing.admit(clerk, "victim")

    sent = await defendant.call("chat", {"text": "  Tôi không nghe rõ.  "})
    assert sent["ok"]
    for peer in (judge, clerk, defendant):
        message = await peer.wait_for("chat")
        assert message["text"] == "Tôi không nghe rõ."
        assert message["from"] == {
            "id": hearing.ids["defendant"],
            "name": "Nguyễn Văn Bị Cáo",
            "role": "defendant",
        }
        assert message["id"] == sent["id"]
    assert victim.received("chat") == []

    to_party = await defendant.call("chat", {"text": "hi", "to": hearing.ids["victim"]})
    assert to_party["error"]["rule"] == "permission.chat_with_court"

    reply = await clerk.call("chat", {"text": "Xin chờ.", "to": hearing.ids["defendant"]})
    assert reply["ok"]
    answered = await defendant.wait_for("chat", lambda m: m["text"] == "Xin chờ.")
    assert answered["to"] == hearing.ids["defendant"]
    await judge.wait_for("chat", lambda m: m["text"] == "Xin chờ.")

    audited = await hearing.audit("chat.message")
    assert [(e.outcome, e.detail.get("length")) for e in audited] == [
        ("accepted", len("Tôi không nghe rõ.")),
        ("refused", 2),
        ("accepted", 8),
    ]
    assert all("text" not in e.detail for e in audited)
    assert all("không nghe" not in str(e.detail) for e in audited)


async def test_offers_answers_and_candidates_go_to_the_gateway(
    media_hearing: tuple[Hearing, RecordingGateway],
) -> None:
    hearing, gateway = media_hearing
    defendant, welcome = await hearing.join("defendant")
    assert welcome["media"]["enabled"] is True
    pid = hearing.ids["defendant"]

    reply = await defendant.call(
        "offer", {"sdp": OFFER, "sources": {"0": "microphone", "1": "camera"}}
    )
    assert reply["answer"] == {"type": "answer", "sdp": ANSWER_SDP}
    candidate = "candidate:1 1 UDP 2122252543 192.0.2.1 50000 typ host"
    assert (await defendant.call("ice_candidate", {"candidate": candidate, "sdp_mid": "0"}))["ok"]
    assert (await defendant.call("ice_candidate", {"candidate": None}))["ok"]
    assert (await defendant.call("renegotiate"))["ok"]
    server_offer = await defendant.wait_for("offer")
    assert server_offer == {
        "type": "offer",
        "sdp": "v=0\r\nserver",
        "tracks": {"0": {"publisher": "x", "source": "camera"}},
    }
    assert (await defendant.call("answer", {"sdp": OFFER}))["ok"]

    assert gateway.calls == [
        ("offer", (pid, OFFER, {"0": "microphone", "1": "camera"})),
        ("ice_candidate", (pid, IceCandidateInfo(candidate, "0", None))),
        ("ice_candidate", (pid, IceCandidateInfo(None, None, None))),
        ("renegotiate", pid),
        ("answer", (pid, OFFER)),
    ]


async def test_media_plans_follow_events_that_change_them(
    media_hearing: tuple[Hearing, RecordingGateway],
) -> None:
    hearing, gateway = media_hearing
    judge, _ = await hearing.join("judge")
    clerk, _ = await hearing.join("clerk")
    defendant, _ = await hearing.join("defendant")
    judge_id = ParticipantId(hearing.ids["judge"])
    defendant_id = ParticipantId(hearing.ids["defendant"])
    mic, camera = MediaSource.MICROPHONE, MediaSource.CAMERA

    _, waiting = gateway.plans[-1]
    assert waiting.may_receive(judge_id, defendant_id, camera)  # the court sees who waits
    assert not waiting.may_receive(defendant_id, judge_id, camera)
    await hearing.admit(clerk, "defendant")
    assert (await judge.call("start"))["ok"]
    assert (await judge.call("mute", {"participant_id": defendant_id}))["ok"]
    await judge.wait_for("session_event", lambda b: b["event"]["name"] == "media_control_changed")

    _, muted = gateway.plans[-1]
    assert muted.may_receive(defendant_id, judge_id, mic)
    assert not muted.may_receive(judge_id, defendant_id, mic)
    assert muted.may_receive(judge_id, defendant_id, camera)
    assert muted.is_newer_than(waiting)
    versions = [plan.version for _, plan in gateway.plans]
    assert versions == sorted(versions)
    count = len(gateway.plans)
    assert (await defendant.call("raise_hand"))["ok"]  # no media consequence
    await judge.wait_for("session_event", lambda b: b["event"]["name"] == "hand_changed")
    assert len(gateway.plans) == count
    told = [name for _, names in gateway.changes for name in names]
    assert "media_control_changed" in told and "hand_changed" in told, "the recorder hears all"

    await defendant.sio.disconnect()
    await judge.wait_for(
        "session_event", lambda b: b["event"]["payload"].get("current") == "disconnected"
    )
    assert ("leave", defendant_id) in gateway.calls


async def test_without_media_negotiation_is_refused_clearly(hearing: Hearing) -> None:
    defendant, welcome = await hearing.join("defendant")
    assert welcome["media"]["enabled"] is False

    reply = await defendant.call("offer", {"sdp": OFFER, "sources": {"0": "camera"}})

    assert reply["error"]["code"] == "media_error"
    assert reply["error"]["rule"] == "media.disabled"
    [audited] = await hearing.audit("signal.message")
    assert audited.rule == "media.disabled"


async def test_recording_is_refused_with_a_reason_when_it_cannot_be_written(
    media_hearing: tuple[Hearing, RecordingGateway],
) -> None:
    hearing, gateway = media_hearing
    judge, _ = await hearing.join("judge")
    assert (await judge.call("start"))["ok"]
    gateway.refusal = LOW_SPACE.format(free_mb=12, min_mb=1024)

    reply = await judge.call("start_recording", {"ref": "r"})
    error = await judge.wait_for("error", lambda b: b["event"] == "start_recording")

    assert reply["ok"] is False
    assert error["rule"] == "recording.unavailable"
    assert "12 MB" in error["message"]["vi"] and "free space" in error["message"]["en"]
    assert (await hearing.session()).recording is RecordingState.OFF
    refusals = await hearing.audit("session.start_recording")
    assert [(e.outcome, e.rule) for e in refusals] == [("refused", "recording.unavailable")]

    gateway.refusal = None
    assert (await judge.call("start_recording"))["ok"]
    assert (await hearing.session()).recording is RecordingState.RECORDING
