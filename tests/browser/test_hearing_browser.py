"""A hearing in real browsers: the judge and two remote parties open their personal links,
pass the device check, the parties wait in the lobby and chat with the court, the judge
admits them, everyone sees the others' video, the judge mutes one party and nobody receives
that party's audio any more, a party's network drops and it comes back by itself, and a
party leaves and joins again.

Media really flows through the server's forwarder; the checks read the decoded frames and
the browsers' own WebRTC statistics, not the page's flags.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.async_api import Page, expect

from rooms.cases import Case, CaseType, Instance
from rooms.ids import ParticipantId
from rooms.participants import Actor
from rooms.points import PointKind
from rooms.roles import Role
from signaling.client import HeadlessParticipant
from signaling.server import SIGNALING
from tests.browser.conftest import (
    MEDIA_TIMEOUT_MS,
    LiveServer,
    NewPage,
    Screenshot,
    record_figure,
)

CLI = Actor(id="browser-test", is_system=True)

PEERS_SCRIPT = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__peers = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__peers.push(this); }
  };
})();
"""
"""Test-side instrumentation: keep every peer connection the page makes, to read its stats."""

VIDEO_STATE = """
(id) => {
  const video = document.querySelector(`#tiles [data-participant="${id}"] video`);
  if (!video || !video.srcObject) return null;
  return { width: video.videoWidth, frames: video.getVideoPlaybackQuality().totalVideoFrames };
}
"""

VIDEO_PIXELS = """
(id) => {
  const video = document.querySelector(`#tiles [data-participant="${id}"] video`);
  const canvas = document.createElement("canvas");
  canvas.width = 64;
  canvas.height = 48;
  const context = canvas.getContext("2d");
  context.drawImage(video, 0, 0, 64, 48);
  return Array.from(context.getImageData(0, 0, 64, 48).data).join(",");
}
"""

AUDIO_PACKETS = """
async (publisher) => {
  const sink = document.querySelector(`#audio-sinks audio[data-publisher="${publisher}"]`);
  if (!sink || !sink.srcObject) return -1;
  const track = sink.srcObject.getAudioTracks()[0];
  let packets = -1;
  for (const peer of window.__peers) {
    if (peer.connectionState === "closed") continue;
    (await peer.getStats()).forEach((stats) => {
      if (stats.type === "inbound-rtp" && stats.trackIdentifier === track.id) {
        packets = stats.packetsReceived;
      }
    });
  }
  return packets;
}
"""


@dataclass
class Scheduled:
    links: dict[str, str]
    ids: dict[str, ParticipantId]


async def schedule_hearing(server: LiveServer) -> Scheduled:
    service = server.service
    court = (await service.courts(CLI))[0]
    start = datetime.now(UTC) + timedelta(minutes=10)
    case = Case(
        court_id=court.id,
        number="88/2026/HS-ST",
        case_type=CaseType.CRIMINAL,
        instance=Instance.FIRST_INSTANCE,
        title="Cố ý gây thương tích",
    )
    session = await service.schedule_hearing(CLI, case, start, start + timedelta(hours=3))
    detention = await service.add_point(
        CLI, session.id, "Trại tạm giam Chí Hòa", PointKind.DETENTION_CENTRE
    )
    home = await service.add_point(CLI, session.id, "Nhà riêng", PointKind.HOME)
    people = {
        "judge": ("Trần Văn Chủ Tọa", Role.PRESIDING_JUDGE, session.central_point.id),
        "defendant": ("Nguyễn Văn Bị Cáo", Role.DEFENDANT, detention.id),
        "victim": ("Phạm Thị Bị Hại", Role.VICTIM, home.id),
        "witness": ("Hoàng Văn Nhân Chứng", Role.WITNESS, home.id),
    }
    links: dict[str, str] = {}
    ids: dict[str, ParticipantId] = {}
    for key, (name, role, point) in people.items():
        participant, link = await service.add_participant(CLI, session.id, name, role, point)
        links[key], ids[key] = link.url, participant.id
    return Scheduled(links, ids)


async def open_link(new_page: NewPage, name: str, url: str) -> Page:
    page = await new_page(name)
    await page.add_init_script(PEERS_SCRIPT)
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.goto(url)
    return page


@asynccontextmanager
async def headless_participants(*links: str) -> AsyncIterator[list[HeadlessParticipant]]:
    """People joined without a browser (signalling only, no media), closed afterwards."""
    joined = [HeadlessParticipant.from_join_url(link, audio=False, video=False) for link in links]
    try:
        for participant in joined:
            await participant.join()
        yield joined
    finally:
        await asyncio.gather(*(participant.close() for participant in joined))


async def pass_device_check(page: Page) -> None:
    await page.click("#check-start")
    await expect(page.locator("#check-tone")).to_be_enabled()
    await page.click("#check-tone")
    await page.click("#check-heard-yes")
    await expect(page.locator("#join-button")).to_be_enabled()
    for check in ("camera", "microphone", "speaker", "network"):
        state = page.locator(f'[data-check="{check}"] .check-state')
        await expect(state).to_have_attribute("data-state", "ok")
    await expect(page.locator("#check-verdict")).to_have_attribute("data-tone", "ok")


async def join(page: Page) -> None:
    await pass_device_check(page)
    await page.click("#join-button")


FIRST_PICTURE_MS = """() => {
  const room = performance.getEntriesByName("hearing:room")[0];
  const picture = performance.getEntriesByName("hearing:first-remote-picture")[0];
  return room && picture ? picture.startTime - room.startTime : null;
}"""
"""From the page entering the room (the admission) to the first remote picture it shows."""


async def sees_video_of(page: Page, *participants: str) -> None:
    """Each person's tile renders frames: a real picture, more frames over time, and pixels
    that change (a black or frozen frame would not)."""
    for participant in participants:
        await page.wait_for_function(
            f"(id) => {{ const s = ({VIDEO_STATE})(id); return s && s.width > 0 && s.frames > 5 }}",
            arg=participant,
            timeout=MEDIA_TIMEOUT_MS,
        )
    for participant in participants:
        frames = (await page.evaluate(VIDEO_STATE, participant))["frames"]
        pixels = await page.evaluate(VIDEO_PIXELS, participant)
        await page.wait_for_function(
            f"([id, frames, pixels]) => ({VIDEO_STATE})(id).frames > frames"
            f" && ({VIDEO_PIXELS})(id) !== pixels",
            arg=[participant, frames, pixels],
            timeout=MEDIA_TIMEOUT_MS,
            polling=200,
        )


async def audio_packets(page: Page, publisher: str) -> int:
    packets: int = await page.evaluate(AUDIO_PACKETS, publisher)
    return packets


async def audio_flow(page: Page, *publishers: str, seconds: float = 1.5) -> dict[str, int]:
    """Packets of each publisher's audio this page received during ``seconds``."""
    start = {p: await audio_packets(page, p) for p in publishers}
    await asyncio.sleep(seconds)
    return {p: await audio_packets(page, p) - start[p] for p in publishers}


async def audio_flow_until(
    page: Page,
    publishers: tuple[str, ...],
    holds: Callable[[dict[str, int]], bool],
    seconds: float = 1.5,
) -> dict[str, int]:
    """Measure windows of audio until one shows what ``holds`` wants, or the media deadline
    passes: a busy machine delays packets, it must not fail the test; a rule that never takes
    effect still does. Returns the last window for the assertion's message."""
    deadline = asyncio.get_running_loop().time() + MEDIA_TIMEOUT_MS / 1000
    while True:
        flow = await audio_flow(page, *publishers, seconds=seconds)
        if holds(flow) or asyncio.get_running_loop().time() > deadline:
            return flow


async def person_action(page: Page, participant: str, command: str) -> None:
    """Open a person's action menu in the console's list and give one command."""
    entry = page.locator(f'#people li[data-id="{participant}"]')
    menu = entry.locator("details")
    if await menu.get_attribute("open") is None:
        await entry.locator("summary").click()
    await entry.locator(f'button[data-command="{command}"]:not([data-lock])').click()


def in_state(state: str) -> Callable[[dict[str, Any]], bool]:
    """A headless participant's latest view shows it in ``state``."""
    return lambda view: bool(view.get("you", {}).get("state") == state)


async def test_a_hearing_from_the_join_links_to_leaving(
    live_server: LiveServer, new_page: NewPage, screenshot: Screenshot
) -> None:
    hearing = await schedule_hearing(live_server)
    ids = hearing.ids

    judge = await open_link(new_page, "judge", hearing.links["judge"])
    await join(judge)
    await expect(judge.locator("#room")).to_be_visible()
    await expect(judge.locator("#console-title")).to_have_text(
        "Bảng điều khiển của Thẩm phán chủ tọa"
    )

    defendant = await open_link(new_page, "defendant", hearing.links["defendant"])
    await pass_device_check(defendant)
    await screenshot(defendant, "join-device-check")
    await defendant.click("#join-button")
    victim = await open_link(new_page, "victim", hearing.links["victim"])
    await join(victim)
    for party in (defendant, victim):
        await expect(party.locator("#lobby")).to_be_visible()
        await expect(party.locator("#lobby-state")).to_have_text(
            "Đang chờ Tòa án cho bạn vào phiên."
        )
        await expect(party.locator("#tiles video")).to_have_count(0)

    # The lobby: the court sees who waits (with their camera) and chats with them.
    queue = judge.locator("#queue")
    await expect(queue.locator("li")).to_have_count(2)
    await judge.wait_for_function(
        "(id) => { const v = document.querySelector(`#queue video[data-publisher='${id}']`);"
        " return v && v.videoWidth > 0; }",
        arg=ids["defendant"],
        timeout=MEDIA_TIMEOUT_MS,
    )
    await defendant.fill("#chat-text", "Tôi đã sẵn sàng.")
    await defendant.click("#chat-form button[type=submit]")
    await expect(judge.locator("#chat-log")).to_contain_text("Tôi đã sẵn sàng.")
    await judge.select_option("#chat-to", ids["defendant"])
    await judge.fill("#chat-text", "Xin chờ trong giây lát.")
    await judge.click("#chat-form button[type=submit]")
    await expect(defendant.locator("#chat-log")).to_contain_text("Xin chờ trong giây lát.")
    await expect(victim.locator("#chat-log .message")).to_have_count(0)
    await screenshot(defendant, "lobby")

    # Admission needs the identity check first: the queue offers that step, in one click
    # with the admission for the judge (who may verify), or on its own.
    first = queue.locator(f'li[data-id="{ids["defendant"]}"]')
    both = first.locator('[data-command="admit"][data-verify-first]')
    await expect(both).to_contain_text("Xác nhận danh tính")
    await both.click()
    second = queue.locator(f'li[data-id="{ids["victim"]}"]')
    await second.locator('[data-command="verify_identity"]').click()
    await expect(second.locator('[data-command="verify_identity"]')).to_have_count(0)
    await second.locator('[data-command="admit"]').click()
    await expect(queue.locator("li")).to_have_count(0)
    await judge.click('[data-session="start"]')
    for page in (judge, defendant, victim):
        await expect(page.locator("#room")).to_be_visible()
        await expect(page.locator("#room-state")).to_have_text("Phiên tòa đang diễn ra.")

    await sees_video_of(judge, ids["defendant"], ids["victim"])
    await sees_video_of(defendant, ids["judge"], ids["victim"])
    await sees_video_of(victim, ids["judge"], ids["defendant"])
    await screenshot(judge, "judge-console")
    for name, page in (("defendant", defendant), ("victim", victim)):
        waited = await page.evaluate(FIRST_PICTURE_MS)
        assert waited is not None and waited >= 0, "the page marks entering and a first picture"
        record_figure("browser_first_picture_after_admission_ms", round(waited), party=name)

    # The judge shares a screen: it is shown large to the others.
    await judge.click("#screen-button")
    await expect(victim.locator("#stage-label")).to_have_text(
        "Trần Văn Chủ Tọa đang chia sẻ màn hình"
    )
    await victim.wait_for_function(
        "() => document.querySelector('#stage-video').videoWidth > 0", timeout=MEDIA_TIMEOUT_MS
    )
    await screenshot(victim, "hearing-room")
    await judge.click("#screen-button")
    await expect(victim.locator("#stage")).to_be_hidden()

    # The judge mutes the defendant: the server stops forwarding that audio to everyone.
    def both_heard(flow: dict[str, int]) -> bool:
        return flow[ids["defendant"]] > 20 and flow[ids["judge"]] > 20

    before = await audio_flow_until(victim, (ids["defendant"], ids["judge"]), both_heard)
    assert both_heard(before), before
    await person_action(judge, ids["defendant"], "mute")
    await expect(defendant.locator("#mic-button")).to_have_attribute("aria-pressed", "true")
    await expect(
        victim.locator(f'[data-participant="{ids["defendant"]}"] .chip-muted')
    ).to_be_visible()

    # Packets already on their way still arrive: wait for a window without them.
    def only_from(speaker: str, least: int) -> Callable[[dict[str, int]], bool]:
        return lambda flow: flow[ids["defendant"]] == 0 and flow[ids[speaker]] > least

    at_victim = await audio_flow_until(
        victim, (ids["defendant"], ids["judge"]), only_from("judge", 20)
    )
    assert only_from("judge", 20)(at_victim), at_victim
    at_judge = await audio_flow_until(
        judge, (ids["defendant"], ids["victim"]), only_from("victim", 5), seconds=0.5
    )
    assert only_from("victim", 5)(at_judge), at_judge

    # The defendant's network drops; the page reconnects with the same link by itself and
    # the person is back in the hearing, seeing and seen.
    dropped = connection_of(live_server, ids["defendant"])
    await defendant.context.set_offline(True)  # Chromium closes the page's sockets at once
    await expect(defendant.locator("#connection-banner")).to_be_visible()
    await expect(defendant.locator("#quality")).to_have_attribute("data-level", "lost")
    await defendant.context.set_offline(False)
    await expect(defendant.locator("#connection-banner")).to_be_hidden(timeout=MEDIA_TIMEOUT_MS)
    assert connection_of(live_server, ids["defendant"]) not in (None, dropped)
    await expect(defendant.locator("#room")).to_be_visible()
    await sees_video_of(defendant, ids["judge"], ids["victim"])
    await sees_video_of(judge, ids["defendant"])

    # The victim leaves, then comes back through the lobby.
    await victim.locator("#room .leave-button").click()
    await expect(victim.locator("#ended-title")).to_have_text("Bạn đã rời phiên")
    await expect(judge.locator(f'#tiles [data-participant="{ids["victim"]}"]')).to_have_count(0)
    await victim.click("#rejoin")
    await join(victim)
    await expect(victim.locator("#lobby")).to_be_visible()
    entry = queue.locator(f'li[data-id="{ids["victim"]}"]')
    await entry.locator('[data-command="admit"]').click()
    await expect(victim.locator("#room")).to_be_visible()
    await sees_video_of(victim, ids["judge"], ids["defendant"])
    await sees_video_of(judge, ids["victim"])


async def test_the_judges_controls_take_effect_on_the_parties_pages(
    live_server: LiveServer, new_page: NewPage, screenshot: Screenshot
) -> None:
    hearing = await schedule_hearing(live_server)
    ids = hearing.ids
    judge = await open_link(new_page, "judge", hearing.links["judge"])
    await join(judge)
    defendant = await open_link(new_page, "defendant", hearing.links["defendant"])
    await join(defendant)
    async with headless_participants(hearing.links["victim"], hearing.links["witness"]) as (
        victim,
        witness,
    ):
        queue = judge.locator("#queue")
        await expect(queue.locator("li")).to_have_count(3)
        for party in ("defendant", "victim"):
            entry = queue.locator(f'li[data-id="{ids[party]}"]')
            await entry.locator('[data-command="verify_identity"]').click()
            await entry.locator('[data-command="admit"]').click()
        await judge.click('[data-session="start"]')
        await expect(defendant.locator("#room-state")).to_have_text("Phiên tòa đang diễn ra.")

        # A witness waits outside until called, and goes back when dismissed.
        called = queue.locator(f'li[data-id="{ids["witness"]}"]')
        await expect(called.locator('[data-command="admit"]')).to_have_count(0)
        await called.locator('[data-command="verify_identity"]').click()
        await called.locator('[data-command="call_witness"]').click()
        await witness.wait_view(in_state("in_session"))
        await person_action(judge, ids["witness"], "dismiss_witness")
        await witness.wait_view(in_state("in_lobby"))

        # Suspending with a reason, and resuming, reach the parties' pages.
        await judge.fill("#session-reason", "Nghỉ giải lao 15 phút")
        await judge.click('[data-session="suspend"]')
        await expect(defendant.locator("#room-state")).to_have_text(
            "Phiên tòa đang tạm ngừng. Nghỉ giải lao 15 phút"
        )
        await expect(judge.locator('[data-session="suspend"]')).to_be_disabled()
        await judge.click('[data-session="resume"]')
        await expect(defendant.locator("#room-state")).to_have_text("Phiên tòa đang diễn ra.")

        # Muting everyone with the lock disables the party's own microphone button; the
        # floor unmutes the one who gets it.
        await judge.check("#mute-all-lock")
        await judge.click("#mute-all")
        await expect(defendant.locator("#mic-button")).to_be_disabled()
        await expect(defendant.locator("#lock-note")).to_be_visible()
        await person_action(judge, ids["defendant"], "unlock")
        await expect(defendant.locator("#mic-button")).to_be_enabled()
        await expect(defendant.locator("#mic-button")).to_have_attribute("aria-pressed", "true")
        await person_action(judge, ids["defendant"], "give_floor")
        await expect(defendant.locator("#mic-button")).to_have_attribute("aria-pressed", "false")
        await expect(defendant.locator("#announcer")).to_have_text(
            "Bạn được quyền phát biểu. Micro của bạn đã bật."
        )

        # A private consultation room: the defendant leaves the judge's picture and back.
        await judge.check(f'#people input[data-select="{ids["defendant"]}"]')
        await judge.fill("#consultation-name", "Trao đổi với luật sư")
        await judge.click("#consultation-form button[type=submit]")
        await expect(defendant.locator("#room-state")).to_contain_text("Trao đổi với luật sư")
        tile = judge.locator(f'#tiles [data-participant="{ids["defendant"]}"]')
        await expect(tile).to_have_count(0)
        await judge.check(f'#people input[data-select="{ids["defendant"]}"]')
        await judge.click("#consultation-return")
        await expect(tile).to_have_count(1)

        # Screening: the victim is hidden from the defendant, then the measure is lifted.
        await judge.select_option("#screening-protected", ids["victim"])
        await judge.select_option("#screening-hidden", ids["defendant"])
        await judge.click("#screening-form button[type=submit]")
        await expect(judge.locator("#screenings li")).to_have_text(
            "Nguyễn Văn Bị Cáo không thấy được Phạm Thị Bị Hại Bỏ"
        )
        await screenshot(judge, "judge-console-controls")
        await judge.locator("#screenings button").click()
        await expect(judge.locator("#screenings li")).to_have_count(0)

        # Removing a person and closing the session end their connections.
        await person_action(judge, ids["victim"], "remove")
        goodbye = await victim.wait_for("goodbye")
        assert goodbye["reason"] == "participant.removed"
        await judge.click('[data-session="close"]')
        await expect(defendant.locator("#ended-title")).to_have_text("Phiên tòa đã kết thúc")
        await expect(defendant.locator("#rejoin")).to_be_hidden()


def connection_of(server: LiveServer, participant: str) -> str | None:
    """The socket.io id of the participant's welcomed connection to the server."""
    for connection in server.app[SIGNALING].registry:
        if connection.participant_id == participant and connection.ready:
            return connection.sid
    return None


async def test_a_locked_defendant_speaks_and_writes_in_the_private_room(
    live_server: LiveServer, new_page: NewPage, screenshot: Screenshot
) -> None:
    """Issue 10: the court's lock binds in the hearing room; in a private room the defendant
    switches their own microphone and writes to the people of that room only."""
    hearing = await schedule_hearing(live_server)
    ids = hearing.ids
    judge = await open_link(new_page, "judge", hearing.links["judge"])
    await join(judge)
    defendant = await open_link(new_page, "defendant", hearing.links["defendant"])
    await join(defendant)
    async with headless_participants(hearing.links["victim"]) as (companion,):
        queue = judge.locator("#queue")
        for party in ("defendant", "victim"):
            entry = queue.locator(f'li[data-id="{ids[party]}"]')
            await entry.locator('[data-command="verify_identity"]').click()
            await entry.locator('[data-command="admit"]').click()
        await judge.click('[data-session="start"]')
        await judge.check("#mute-all-lock")
        await judge.click("#mute-all")
        mic = defendant.locator("#mic-button")
        await expect(mic).to_be_disabled()

        for party in ("defendant", "victim"):
            await judge.check(f'#people input[data-select="{ids[party]}"]')
        await judge.fill("#consultation-name", "Trao đổi riêng")
        await judge.click("#consultation-form button[type=submit]")
        await expect(defendant.locator("#room-state")).to_contain_text("Trao đổi riêng")
        await expect(mic).to_be_enabled()
        await expect(defendant.locator("#lock-note")).to_be_hidden()
        await expect(defendant.locator("#private-lock-note")).to_be_visible()
        await mic.click()
        await expect(mic).to_have_attribute("aria-pressed", "false")

        await defendant.check("#chat-room")
        await defendant.fill("#chat-text", "Tôi nên trả lời thế nào?")
        await defendant.click("#chat-form button[type=submit]")
        said = await companion.wait_for("chat", lambda m: m["text"] == "Tôi nên trả lời thế nào?")
        assert said["room"] is not None
        await expect(defendant.locator("#chat-log")).to_contain_text("gửi phòng riêng")
        await screenshot(defendant, "private-room-unlocked")
        await expect(judge.locator("#chat-log li")).to_have_count(0)

        for party in ("defendant", "victim"):
            await judge.check(f'#people input[data-select="{ids[party]}"]')
        await judge.click("#consultation-return")
        await expect(mic).to_be_disabled()
        await expect(mic).to_have_attribute("aria-pressed", "true")
        await expect(defendant.locator("#lock-note")).to_be_visible()
        await expect(defendant.locator("#chat-room-choice")).to_be_hidden()


async def test_the_judge_verifies_and_invites_a_witness_in_one_click(
    live_server: LiveServer, new_page: NewPage, screenshot: Screenshot
) -> None:
    """Issue 10: before the identity check the queue offers the step that is needed, not a
    call that would be refused; the witness is invited, not summoned."""
    hearing = await schedule_hearing(live_server)
    ids = hearing.ids
    judge = await open_link(new_page, "judge", hearing.links["judge"])
    await join(judge)
    async with headless_participants(hearing.links["witness"]) as (witness,):
        entry = judge.locator(f'#queue li[data-id="{ids["witness"]}"]')
        both = entry.locator('button[data-command="call_witness"][data-verify-first]')
        await expect(both).to_have_text("Xác nhận danh tính và mời vào phòng xử án")
        await expect(entry.locator('button[data-command="call_witness"]')).to_have_count(1)
        await expect(entry).not_to_contain_text("Triệu tập")
        await screenshot(judge, "queue-witness-unverified")
        await both.click()
        seen = await witness.wait_view(in_state("in_session"))
        assert seen["you"]["verified"] is True
