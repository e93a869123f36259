"""What court IT staff see: link quality measured by the server, and alerts that stay until
someone acknowledges them — raised by real silences, real drops and real device checks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiortc import RTCRtpSender

from hearing_server.settings import Settings
from rooms.alerts import Alert, AlertKind
from rooms.participants import Actor
from rooms.roles import StaffRole
from rooms.states import SessionState
from signaling.client import CommandRefused, HeadlessParticipant
from signaling.media.synthetic import SyntheticAudioTrack, SyntheticVideoTrack
from tests.loop_stall import stall_event_loop
from tests.media_e2e.conftest import MediaHearing
from tests.signaling.harness import Peer, person_state, staff_token, state_event


@pytest.fixture
def media_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "ice_servers": [],
            "link_report_seconds": 0.3,
            "media_silence_seconds": SILENCE_LIMIT,
            # Far above what joining costs on a busy machine, far below the stalls below.
            "loop_lag_alert_ms": LAG_ALERT_MS,
            "loop_lag_alert_seconds": 2.0,
        }
    )


SILENCE_LIMIT = 1.5
LAG_ALERT_MS = 1000
PUBLISHERS = ("judge", "clerk", "defendant")


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
    assert link["video_paused_for_bandwidth"] == 0  # IT staff would see a starved link here

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
    assert "camera: access denied" in alert["message"]["en"]
    assert "camera: bị chặn quyền truy cập" in alert["message"]["vi"]  # in words, not codes
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


async def event_after(
    peer: Peer | HeadlessParticipant,
    name: str,
    condition: Callable[[Any], bool],
    after: int = 0,
    within: float = 30.0,
) -> int:
    """Index of the first ``name`` event after event ``after`` that meets ``condition``; the
    deadline is generous, the server is slow on purpose here."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        for index in range(after, len(peer.events)):
            event, body = peer.events[index]
            if event == name and condition(body):
                return index
        assert loop.time() < deadline, f"no such {name} in time"
        await asyncio.sleep(0.05)


async def overload_alerts(media: MediaHearing, within: float = 30.0) -> list[Alert]:
    """The open "server overloaded" alerts, once there is one."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        alerts = await media.hearing.service.alerts(Actor.system(), media.hearing.session_id)
        found = [a for a in alerts if a.kind is AlertKind.SERVER_OVERLOADED]
        if found:
            return found
        assert loop.time() < deadline, "no overload alert in time"
        await asyncio.sleep(0.1)


def quality_of_all(condition: Callable[[list[float]], bool]) -> Callable[[Any], bool]:
    """A monitor's session-wide quality report whose participants' silences meet
    ``condition``."""

    def match(body: Any) -> bool:
        links = body.get("participants")
        silences = [link["silent_seconds"] or 0.0 for link in (links or {}).values()]
        return bool(silences) and condition(silences)

    return match


async def hearing_in_session_with_media(media: MediaHearing) -> Peer:
    it = await monitor(media)
    judge = await media.join("judge")
    await media.join("clerk")
    await media.join("defendant")
    await media.admit("defendant")
    await it.call("watch", {"session_id": media.hearing.session_id})
    await judge.call("start")
    for receiver, publisher in (("clerk", "judge"), ("judge", "clerk"), ("clerk", "defendant")):
        await media.wait_flowing(receiver, publisher, "camera")
    return it


async def test_a_stall_of_the_server_itself_alerts_staff_but_loses_no_courtroom(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    it = await hearing_in_session_with_media(media)
    before = len(it.events)

    # The stall holds everyone's media back (in a real overload, frames wait in the socket
    # buffers and are read late; here the participants share the loop and stop sending until
    # the server has looked), so the server finds the courtroom silent right after it.
    senders = [sender_of(media, who, kind) for who in PUBLISHERS for kind in ("video", "audio")]
    for sender in senders:
        sender.replaceTrack(None)
    await stall_event_loop(3 * SILENCE_LIMIT)
    seen = await event_after(
        it, "quality", quality_of_all(lambda s: min(s) >= SILENCE_LIMIT), before
    )
    for sender in senders:
        kind = sender.kind
        sender.replaceTrack(SyntheticVideoTrack() if kind == "video" else SyntheticAudioTrack())
    # ...told IT staff it is overloaded, with the figure (the stall's, or an earlier one's
    # on a machine this busy: one alert an episode, none again within a minute)...
    [overloaded] = await overload_alerts(media)
    assert overloaded.session_id is None and overloaded.participant_id is None
    assert "Máy chủ quá tải" in overloaded.message.vi
    late_ms = int(overloaded.message.en.split("up to ")[1].split(" ms")[0])
    assert late_ms >= LAG_ALERT_MS
    # ...and once media flows again, and a verdict has been taken since, nobody is lost.
    await event_after(it, "quality", quality_of_all(lambda s: max(s) < SILENCE_LIMIT), seen + 1)
    await media.wait_flowing("clerk", "judge", "camera")
    assert await media.hearing.audit("participant.disconnect") == []
    session = await media.hearing.service.session(Actor.system(), media.hearing.session_id)
    assert session.state is SessionState.IN_SESSION
    # (Packets the stall dropped may count as a poor link: that is true, and no loss.)
    kinds = {a.kind for a in await media.hearing.service.alerts(Actor.system(), session.id)}
    assert kinds - {AlertKind.CONNECTION_POOR} == {AlertKind.SERVER_OVERLOADED}
    # The alert is about the whole server: whoever starts watching any session sees it.
    watched = await it.call("watch", {"session_id": media.hearing.session_id})
    assert "server_overloaded" in [a["kind"] for a in watched["alerts"]]


async def test_a_link_that_really_dies_while_the_server_stalls_still_suspends_the_hearing(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    it = await hearing_in_session_with_media(media)

    # The presiding judge's computer drops its media connection as the server stalls.
    await media.people["judge"].media.pc.close()
    await stall_event_loop(3 * SILENCE_LIMIT)

    await overload_alerts(media)
    defendant = media.people["defendant"]
    await event_after(defendant, "session_event", state_event("suspended"))
    courtroom = it.events[await event_after(it, "alert", lambda a: a["kind"] == "courtroom_lost")]
    assert courtroom[1]["participant_id"] == media.id("judge")
    disconnects = await media.hearing.audit("participant.disconnect")
    assert [e.detail["participant"] for e in disconnects] == [media.id("judge")]
    assert disconnects[0].detail["reason"] == "media_silence"
