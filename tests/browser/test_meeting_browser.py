"""A leadership meeting in real browsers: the chair's console pages through many connection
points, takes raised hands in order and gives the floor to one point at a time; the point
with the floor is shown large. One point uses a phone-sized screen.

Nine of the points are headless participants (signalling only, no media): they fill the
pages of tiles without costing the 2-core test host a browser each.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import Page, expect

from rooms.cases import MeetingInfo
from rooms.ids import ParticipantId
from rooms.participants import Actor
from rooms.points import PointKind
from rooms.roles import Role
from signaling.client import HeadlessParticipant
from tests.browser.conftest import MEDIA_TIMEOUT_MS, LiveServer, NewPage, Screenshot
from tests.browser.test_hearing_browser import (
    CLI,
    headless_participants,
    join,
    open_link,
    sees_video_of,
)

HEADLESS_POINTS = 9
PHONE = {"width": 375, "height": 812}


async def schedule_meeting(server: LiveServer) -> tuple[dict[str, str], dict[str, ParticipantId]]:
    service = server.service
    court = (await service.courts(Actor.system()))[0]
    start = datetime.now(UTC) + timedelta(minutes=10)
    info = MeetingInfo(court_id=court.id, title="Họp giao ban trực tuyến quý IV", chair="Chánh án")
    meeting = await service.schedule_meeting(CLI, info, start)
    people = [("chair", "Chánh án Nguyễn Văn Chủ Trì", Role.CHAIR, meeting.central_point.id)]
    for number in range(HEADLESS_POINTS + 1):
        point = await service.add_point(
            CLI, meeting.id, f"TAND khu vực {number + 1}", PointKind.COURT
        )
        people.append((f"point{number}", f"Điểm cầu {number + 1}", Role.PARTICIPANT, point.id))
    links: dict[str, str] = {}
    ids: dict[str, ParticipantId] = {}
    for key, name, role, point_id in people:
        participant, link = await service.add_participant(CLI, meeting.id, name, role, point_id)
        links[key], ids[key] = link.url, participant.id
    return links, ids


async def give_floor_from_queue(chair: Page, participant: str) -> None:
    hands = chair.locator("#hands")
    await expect(hands.locator(f'li[data-id="{participant}"]')).to_be_visible()
    await hands.locator(f'li[data-id="{participant}"] [data-command="give_floor"]').click()


async def test_the_chair_pages_through_points_and_gives_the_floor_one_at_a_time(
    live_server: LiveServer,
    new_page: NewPage,
    screenshot: Screenshot,
) -> None:
    links, ids = await schedule_meeting(live_server)

    chair = await open_link(new_page, "chair", links["chair"])
    await join(chair)
    await expect(chair.locator("#console-title")).to_have_text("Bảng điều khiển của người chủ trì")

    phone = await open_link(new_page, "phone point", links["point0"])
    await phone.set_viewport_size(PHONE)
    await join(phone)
    await expect(phone.locator("#lobby-state")).to_have_text(
        "Đang chờ ban tổ chức cho bạn vào họp."
    )
    others = [links[f"point{number}"] for number in range(1, HEADLESS_POINTS + 1)]
    async with headless_participants(*others) as headless:
        await run_meeting(chair, phone, headless, ids, screenshot)


async def run_meeting(
    chair: Page,
    phone: Page,
    headless: list[HeadlessParticipant],
    ids: dict[str, ParticipantId],
    screenshot: Screenshot,
) -> None:
    queue = chair.locator("#queue")
    await expect(queue.locator("li")).to_have_count(HEADLESS_POINTS + 1)
    for number in range(HEADLESS_POINTS + 1):
        await queue.locator(
            f'[data-command="admit"][data-participant="{ids[f"point{number}"]}"]'
        ).click()
    await expect(queue.locator("li")).to_have_count(0)
    await chair.click('[data-session="start"]')
    await expect(phone.locator("#room-state")).to_have_text("Cuộc họp đang diễn ra.")

    # Ten points in pages of nine tiles.
    tiles = chair.locator("#tiles .tile")
    await expect(tiles).to_have_count(HEADLESS_POINTS + 1)
    await expect(chair.locator("#tiles .tile:visible")).to_have_count(9)
    await expect(chair.locator("#page-info")).to_have_text("Trang 1/2")
    await chair.click("#page-next")
    await expect(chair.locator("#tiles .tile:visible")).to_have_count(1)
    await chair.click("#page-previous")
    await sees_video_of(chair, ids["point0"])

    # Hands are taken in the order they went up; the floor goes to one point at a time.
    await phone.locator("#room .hand-button").click()
    await headless[0].call("raise_hand")
    await expect(chair.locator("#hands li")).to_have_count(2)
    await expect(chair.locator("#hands li").first).to_have_attribute("data-id", ids["point0"])

    await give_floor_from_queue(chair, ids["point0"])
    await expect(chair.locator("#stage")).to_be_visible()
    await expect(chair.locator("#stage-label")).to_have_text("Điểm cầu 1 đang phát biểu")
    await chair.wait_for_function(
        "() => document.querySelector('#stage-video').videoWidth > 0", timeout=MEDIA_TIMEOUT_MS
    )
    await expect(phone.locator(f'[data-participant="{ids["chair"]}"]')).to_be_visible()
    await expect(phone.locator("#announcer")).to_have_text(
        "Bạn được quyền phát biểu. Micro của bạn đã bật."
    )
    await expect(chair.locator("#hands li")).to_have_count(1)
    await screenshot(chair, "chair-console")
    await screenshot(phone, "phone-room")

    await give_floor_from_queue(chair, ids["point1"])
    await expect(chair.locator(f'#tiles [data-participant="{ids["point1"]}"]')).to_have_class(
        "tile floor"
    )
    await expect(
        chair.locator(f'#tiles [data-participant="{ids["point0"]}"] .chip-floor')
    ).to_have_count(0)
    await expect(chair.locator("#stage")).to_be_hidden()  # the new speaker sends no camera
    await expect(chair.locator("#floor-holder")).to_have_text(
        "Điểm cầu 2 đang được quyền phát biểu."
    )
    await expect(chair.locator("#hands-empty")).to_be_visible()
