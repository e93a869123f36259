"""The room's pictures stay on the screen while the court works its console: at 1366×768
the judge's and the chair's panels scroll beside the pictures, on a 375 px phone the
controls scroll below them. The screening lists start with nobody chosen and refuse a
person hidden from themselves; the consultation buttons wait for someone to be ticked.

Each check reads the boxes the browser laid out (``getBoundingClientRect``) after the page
or the side panel was scrolled to its very end, and the screenshots are of the screen as a
person sees it (the viewport, not the whole page).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import Page, ViewportSize, expect

from rooms.cases import Case, CaseType, Instance
from tests.browser.conftest import ARTIFACTS, STAFF_PASSWORD, LiveServer, NewPage
from tests.browser.test_hearing_browser import (
    CLI,
    headless_participants,
    join,
    open_link,
    person_action,
    schedule_hearing,
    sees_video_of,
)
from tests.browser.test_meeting_browser import schedule_meeting

WIDE: ViewportSize = {"width": 1366, "height": 768}
PHONE: ViewportSize = {"width": 375, "height": 740}

VIDEOS_OUT_OF_VIEW = """
() => {
  const out = [];
  for (const video of document.querySelectorAll("#videos video")) {
    const box = video.getBoundingClientRect();
    if (!box.width || !box.height) continue; // not shown (another page of tiles, no stage)
    const inside = box.top >= 0 && box.left >= 0
      && box.bottom <= window.innerHeight + 0.5 && box.right <= window.innerWidth + 0.5;
    if (!inside) {
      const where = video.closest("[data-participant]") || video.closest("figure, div");
      out.push(`${where.dataset.participant || where.id}: ${JSON.stringify(box)}`);
    }
  }
  return out;
}
"""

SCROLL_TO_END = """
() => {
  const side = document.querySelector("#side");
  side.scrollTop = side.scrollHeight;
  window.scrollTo(0, document.documentElement.scrollHeight);
  return {
    side: side.scrollHeight > side.clientHeight ? side.scrollTop : null,
    page: window.scrollY,
    pageHeight: document.documentElement.scrollHeight,
  };
}
"""


async def view(page: Page, name: str) -> None:
    """What the person sees now, kept for a human to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"console-layout-{name}.png"))


async def videos_stay_in_view(page: Page, name: str) -> None:
    """Every picture shown is inside the screen, before and after scrolling to the end."""
    shown = await page.locator("#videos video:visible").count()
    assert shown >= 2, f"{name}: only {shown} pictures shown"
    assert await page.evaluate(VIDEOS_OUT_OF_VIEW) == [], name
    scrolled = await page.evaluate(SCROLL_TO_END)
    assert scrolled["side"] or scrolled["page"], f"{name}: nothing scrolled: {scrolled}"
    assert await page.evaluate(VIDEOS_OUT_OF_VIEW) == [], f"{name} scrolled {scrolled}"
    await view(page, name)


async def page_height(page: Page) -> int:
    height: int = await page.evaluate("document.documentElement.scrollHeight")
    return height


async def test_the_judge_and_a_party_keep_the_pictures_in_view_on_a_wide_screen_and_a_phone(
    live_server: LiveServer, new_page: NewPage
) -> None:
    hearing = await schedule_hearing(live_server)
    ids = hearing.ids
    judge = await open_link(new_page, "judge", hearing.links["judge"])
    await judge.set_viewport_size(WIDE)
    await join(judge)
    defendant = await open_link(new_page, "defendant", hearing.links["defendant"])
    await defendant.set_viewport_size(PHONE)
    await join(defendant)
    async with headless_participants(hearing.links["victim"], hearing.links["witness"]):
        queue = judge.locator("#queue")
        await expect(queue.locator("li")).to_have_count(3)
        for party in ("defendant", "victim"):
            entry = queue.locator(f'li[data-id="{ids[party]}"]')
            await entry.locator('[data-command="verify_identity"]').click()
            await entry.locator('[data-command="admit"]').click()
        await judge.click('[data-session="start"]')
        await expect(defendant.locator("#room-state")).to_have_text("Phiên tòa đang diễn ra.")
        await sees_video_of(judge, ids["defendant"])
        await sees_video_of(defendant, ids["judge"])

        # The judge's page is one screen high: only the side panel scrolls.
        assert await page_height(judge) <= WIDE["height"]
        await videos_stay_in_view(judge, "judge-wide")
        await videos_stay_in_view(defendant, "party-phone")

        # Working the controls at the far end of the panel keeps the pictures in place.
        await judge.select_option("#chat-to", ids["defendant"])
        await judge.fill("#chat-text", "Đề nghị bị cáo giữ trật tự.")
        await judge.click("#chat-form button[type=submit]")
        await expect(defendant.locator("#chat-log")).to_contain_text("giữ trật tự")
        await person_action(judge, ids["victim"], "mute")
        await expect(
            judge.locator(f'#tiles [data-participant="{ids["victim"]}"] .chip-muted')
        ).to_be_visible()
        assert await judge.evaluate(VIDEOS_OUT_OF_VIEW) == []
        await defendant.locator("#chat-text").fill("Tôi xin trình bày.")
        await defendant.click("#chat-form button[type=submit]")
        await expect(judge.locator("#chat-log")).to_contain_text("Tôi xin trình bày.")
        assert await defendant.evaluate(VIDEOS_OUT_OF_VIEW) == []

        # The same people on the other kind of screen.
        await judge.set_viewport_size(PHONE)
        await defendant.set_viewport_size(WIDE)
        await videos_stay_in_view(judge, "judge-phone")
        await videos_stay_in_view(defendant, "party-wide")
        width = await judge.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the judge's console is {width}px wide on a phone"

        # A shared screen takes the stage; the pictures still fit.
        await defendant.set_viewport_size(PHONE)
        await judge.set_viewport_size(WIDE)
        await judge.click("#screen-button")
        await defendant.wait_for_function(
            "() => document.querySelector('#stage-video').videoWidth > 0"
        )
        await videos_stay_in_view(defendant, "party-phone-screen")
        await judge.click("#screen-button")
        await expect(defendant.locator("#stage")).to_be_hidden()


async def test_screening_starts_unchosen_and_consultation_waits_for_a_tick(
    live_server: LiveServer, new_page: NewPage
) -> None:
    hearing = await schedule_hearing(live_server)
    ids = hearing.ids
    judge = await open_link(new_page, "judge", hearing.links["judge"])
    await judge.set_viewport_size(WIDE)
    await join(judge)
    links = (hearing.links["defendant"], hearing.links["victim"])
    async with headless_participants(*links):
        queue = judge.locator("#queue")
        await expect(queue.locator("li")).to_have_count(2)
        for party in ("defendant", "victim"):
            entry = queue.locator(f'li[data-id="{ids[party]}"]')
            await entry.locator('[data-command="verify_identity"]').click()
            await entry.locator('[data-command="admit"]').click()
        # Judge, defendant and victim take part (the invited witness is listed too, not
        # counted: counting the list's entries passed only while the victim's admission was
        # still on its way, and failed on a busy machine where it had already arrived).
        await expect(judge.locator("#people-count")).to_have_text("3")

        # Nobody is chosen at first; applying asks for a choice and sends nothing.
        for select in ("#screening-protected", "#screening-hidden"):
            await expect(judge.locator(select)).to_have_value("")
            await expect(judge.locator(f"{select} option").first).to_have_text("Chọn người")
        apply = judge.locator("#screening-form button[type=submit]")
        await apply.click()
        error = judge.locator("#screening-error")
        await expect(error).to_have_text(
            "Hãy chọn người được bảo vệ và người không được nhìn thấy họ."
        )
        await expect(judge.locator("#screening-protected")).to_be_focused()

        # The same person on both sides is refused on the page.
        await judge.select_option("#screening-protected", ids["victim"])
        await expect(error).to_be_hidden()
        await judge.select_option("#screening-hidden", ids["victim"])
        await apply.click()
        await expect(error).to_have_text(
            "Hãy chọn hai người khác nhau: không thể giấu một người với chính người đó."
        )
        await expect(judge.locator("#screening-hidden")).to_have_attribute("aria-invalid", "true")
        await expect(judge.locator("#screenings li")).to_have_count(0)

        # Two different people: applied, and the lists are back to nobody.
        await judge.select_option("#screening-hidden", ids["defendant"])
        await apply.click()
        await expect(judge.locator("#screenings li")).to_have_count(1)
        await expect(judge.locator("#screening-protected")).to_have_value("")
        await expect(error).to_be_hidden()

        # The consultation buttons are off until someone is ticked, and say why.
        move = judge.locator("#consultation-form button[type=submit]")
        back = judge.locator("#consultation-return")
        why = await judge.locator("#consultation-hint").inner_text()
        assert "Đánh dấu" in why, why
        for button in (move, back):
            await expect(button).to_be_disabled()
            await expect(button).to_have_accessible_description(why)
        box = judge.locator(f'#people input[data-select="{ids["defendant"]}"]')
        await box.check()
        await expect(move).to_be_enabled()
        await box.uncheck()
        await expect(move).to_be_disabled()
        await box.check()
        await move.click()
        await expect(judge.locator(f'#people li[data-id="{ids["defendant"]}"]')).to_contain_text(
            "Trao đổi riêng"
        )
        await expect(move).to_be_disabled()
        await view(judge, "judge-screening")


async def test_the_chair_keeps_the_pictures_in_view_on_a_wide_screen_and_a_phone(
    live_server: LiveServer, new_page: NewPage
) -> None:
    links, ids = await schedule_meeting(live_server)
    chair = await open_link(new_page, "chair", links["chair"])
    await chair.set_viewport_size(WIDE)
    await join(chair)
    point = await open_link(new_page, "point", links["point0"])
    await point.set_viewport_size(PHONE)
    await join(point)
    others = [links[f"point{number}"] for number in range(1, 6)]
    async with headless_participants(*others):
        queue = chair.locator("#queue")
        await expect(queue.locator("li")).to_have_count(6)
        for number in range(6):
            await queue.locator(
                f'[data-command="admit"][data-participant="{ids[f"point{number}"]}"]'
            ).click()
        await chair.click('[data-session="start"]')
        await expect(point.locator("#room-state")).to_have_text("Cuộc họp đang diễn ra.")
        await sees_video_of(chair, ids["point0"])
        await sees_video_of(point, ids["chair"])
        assert await page_height(chair) <= WIDE["height"]
        await videos_stay_in_view(chair, "chair-wide")
        await videos_stay_in_view(point, "point-phone")

        await point.locator("#room .hand-button").click()
        hands = chair.locator("#hands")
        await hands.locator(f'li[data-id="{ids["point0"]}"] [data-command="give_floor"]').click()
        await expect(chair.locator("#stage")).to_be_visible()
        await chair.wait_for_function("() => document.querySelector('#stage-video').videoWidth > 0")
        await videos_stay_in_view(chair, "chair-wide-speaker")

        await chair.set_viewport_size(PHONE)
        await point.set_viewport_size(WIDE)
        await videos_stay_in_view(chair, "chair-phone-speaker")
        await videos_stay_in_view(point, "point-wide")


WIDER_THAN_SCREEN = """
() => [...document.querySelectorAll("body *")]
  .filter((node) => node.getBoundingClientRect().right > window.innerWidth + 0.5)
  .map((node) => `${node.tagName}.${node.className}: ${node.getBoundingClientRect().right}`)
"""


async def fits_the_phone(page: Page, url: str) -> None:
    await page.goto(url)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], (url, await page.evaluate(WIDER_THAN_SCREEN))


async def test_the_staff_session_list_fits_a_phone(
    live_server: LiveServer, new_page: NewPage
) -> None:
    """Live, today's and coming sessions, a long case number and title, both languages."""
    hearing = await schedule_hearing(live_server)
    await schedule_meeting(live_server)
    court = (await live_server.service.courts(CLI))[0]
    start = datetime.now(UTC) + timedelta(days=1)
    long_case = Case(
        court.id,
        "12345/2026/KDTM-PT",
        CaseType.CIVIL,
        Instance.APPEAL,
        "Tranh chấp hợp đồng tín dụng giữa Ngân hàng thương mại cổ phần và Công ty TNHH",
    )
    await live_server.service.schedule_hearing(CLI, long_case, start)
    await live_server.create_staff(display_name="Quản trị viên")
    page = await new_page("staff", viewport=PHONE)
    await page.goto("/staff/login?next=/staff/")
    await page.fill("#login-username", "admin")
    await page.fill("#login-password", STAFF_PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    async with headless_participants(hearing.links["judge"]) as (judge,):
        await judge.call("start")
        await page.goto("/staff/")
        await expect(page.locator("table.rows tbody tr")).to_have_count(3)
        await expect(page.locator("#live-title")).to_contain_text("(1)")
        await fits_the_phone(page, "/staff/?lang=en")
        await fits_the_phone(page, "/staff/?lang=vi")
        await page.screenshot(
            path=str(ARTIFACTS / "console-layout-staff-sessions-phone.png"), full_page=True
        )
