"""What court IT staff see: link quality measured by the server, and alerts that stay until
someone acknowledges them — raised by real silences, real drops and real device checks."""

from __future__ import annotations

import pytest
from aiortc import RTCRtpSender

from hearing_server.settings import Settings
from rooms.participants import Actor
from rooms.roles import StaffRole
from signaling.client import CommandRefused
from signaling.media.synthetic import SyntheticVideoTrack
from tests.media_e2e.conftest import MediaHearing
from tests.signaling.harness import Peer, person_state, staff_token, state_event


@pytest.fixture
def media_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"ice_servers": [], "link_report_seconds": 0.3, "media_silence_seconds": 1.5}
    )


async def monitor(media: MediaHearing, username: str = "it_staff") -> Peer:
    token = await staff_token(media.hearing.client, username, StaffRole.IT_STAFF)
    peer = await media.hearing.connect("monitor", {"staff_token": token})
    await peer.wait_for("welcome")
    return peer


def sender_of(media: MediaHearing, who: str, kind: str) -> RTCRtpSender:
    for transceiver in media.people[who].media.pc.getTransceivers():
        if transceiver.sender.track is not None and transceiver.sender.track.kind == kind:
            return transceiver.sender
    raise AssertionError(f"{who} sends no {kind}")


async def test_staff_and_the_participant_see_the_link_quality_the_server_measures(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    it = await monitor(media)
    await media.join("judge")
    clerk = await media.join("clerk")
    watched = await it.call("watch", {"session_id": media.hearing.session_id})
    assert watched["ok"] and watched["alerts"] == []

    judge_id = media.id("judge")

    def judge_connected(body: dict[str, object]) -> bool:
        link = body["participants"].get(judge_id)  # type: ignore[attr-defined]
        return bool(link and link["connection"] == "connected" and link["bitrate_in_kbps"] > 50)

    report = await it.wait_for("quality", judge_connected)
    link = report["participants"][judge_id]
    assert link["level"] in ("good", "fair")
    assert 0 <= link["loss"] <= 1
    assert link["silent_seconds"] is not None and link["silent_seconds"] < 1.5

    own = await clerk.wait_for("quality", lambda b: b["connection"] == "connected")
    assert own["participant_id"] == media.id("clerk")
    assert {"level", "loss", "rtt_ms", "jitter_ms", "bitrate_in_kbps"} <= set(own)


async def test_media_that_stops_marks_the_person_disconnected_and_alerts_until_it_resumes(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    it = await monitor(media)
    await media.join("judge")
    clerk = await media.join("clerk")
    await media.join("defendant")
    await media.admit("defendant")
    await it.call("watch", {"session_id": media.hearing.session_id})
    await media.wait_flowing("clerk", "defendant", "camera")

    # The defendant's computer stops sending anything (camera and microphone frozen).
    video, audio = sender_of(media, "defendant", "video"), sender_of(media, "defendant", "audio")
    video.replaceTrack(None)
    audio.replaceTrack(None)

    alert = await it.wait_for("alert", lambda a: a["kind"] == "media_silent")
    assert alert["participant_id"] == media.id("defendant")
    assert "Nguyễn Văn Bị Cáo" in alert["message"]["vi"]
    await clerk.wait_for("session_event", person_state(media.id("defendant"), "disconnected"))
    [silence] = [
        e for e in await media.hearing.audit("participant.disconnect") if e.actor == "system"
    ]
    assert silence.detail["reason"] == "media_silence"

    # Media again: the defendant is back where the silence found them, without rejoining.
    video.replaceTrack(SyntheticVideoTrack())
    await clerk.wait_for("session_event", person_state(media.id("defendant"), "in_session"))
    await media.wait_flowing("clerk", "defendant", "camera")


async def test_a_failed_device_check_alerts_staff_and_an_acknowledgement_is_kept(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    it = await monitor(media)
    other = await monitor(media, "it_staff_2")
    victim = await media.join("victim", publish=False)
    for peer in (it, other):
        await peer.call("watch", {"session_id": media.hearing.session_id})

    await victim.call(
        "device_check",
        {"passed": False, "camera": "denied", "microphone": "ok", "network": "ok"},
    )
    alert = await it.wait_for("alert", lambda a: a["kind"] == "device_check_failed")
    assert "camera: denied" in alert["message"]["en"]
    assert alert["acknowledged_by"] is None

    reply = await it.call(
        "acknowledge_alert", {"session_id": media.hearing.session_id, "alert_id": alert["id"]}
    )
    assert reply["ok"], reply
    seen = await other.wait_for(
        "alert", lambda a: a["id"] == alert["id"] and a["acknowledged_by"] is not None
    )
    assert seen["acknowledged_at"] is not None
    again = await other.call(
        "acknowledge_alert", {"session_id": media.hearing.session_id, "alert_id": alert["id"]}
    )
    assert again["error"]["rule"] == "alert.already_acknowledged"
    assert (await other.call("watch", {"session_id": media.hearing.session_id}))["alerts"] == []

    trail = await media.hearing.service.audit_trail(Actor.system(), media.hearing.session_id)
    outcomes = [(e.entry.action, e.entry.outcome) for e in trail]
    assert ("participant.device_check", "failed") in outcomes
    assert ("alert.acknowledge", "accepted") in outcomes
    assert ("alert.acknowledge", "refused") in outcomes


async def test_a_passed_device_check_is_recorded_without_an_alert(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    victim = await media.join("victim", publish=False)
    result = {"passed": True, "camera": "ok", "microphone": "ok", "speaker": "ok"}
    await victim.call("device_check", result)
    [check] = await media.hearing.audit("participant.device_check")
    assert check.outcome == "accepted" and check.detail["camera"] == "ok"
    assert await media.hearing.service.alerts(Actor.system(), media.hearing.session_id) == []
    with pytest.raises(CommandRefused) as refused:
        await victim.call("device_check", {"passed": True, "camera": "great"})
    assert refused.value.error["code"] == "malformed"


async def test_losing_the_courtroom_alerts_staff_that_the_hearing_was_suspended(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    it = await monitor(media)
    judge = await media.join("judge", publish=False)
    clerk = await media.join("clerk", publish=False)
    await media.join("defendant", publish=False)
    await it.call("watch", {"session_id": media.hearing.session_id})
    await judge.call("start")

    await clerk.close()
    await judge.close()
    kinds = set()
    for kind in ("disconnected", "courtroom_lost"):
        kinds.add((await it.wait_for("alert", lambda a, k=kind: a["kind"] == k))["kind"])
    assert kinds == {"disconnected", "courtroom_lost"}
    await media.people["defendant"].wait_for("session_event", state_event("suspended"))
