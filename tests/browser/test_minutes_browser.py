"""The clerk keeps the minutes in Chromium during a hearing: the floor given appears as an
entry, the clerk types what was said, it is saved as typed, and a reload finds it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import expect

from rooms.cases import Case, CaseType, Instance
from rooms.participants import Actor
from rooms.roles import Role
from tests.browser.conftest import LiveServer, NewPage
from tests.browser.test_hearing_browser import CLI, headless_participants, join, open_link


async def test_the_clerk_writes_a_speaking_turn_and_finds_it_after_a_reload(
    live_server: LiveServer, new_page: NewPage
) -> None:
    service = live_server.service
    court = (await service.courts(CLI))[0]
    start = datetime.now(UTC) + timedelta(minutes=10)
    case = Case(court.id, "5/2026/HS-ST", CaseType.CRIMINAL, Instance.FIRST_INSTANCE)
    session = await service.schedule_hearing(CLI, case, start, start + timedelta(hours=2))
    room = session.central_point.id
    judge, judge_link = await service.add_participant(
        CLI, session.id, "Trần Văn Chủ Tọa", Role.PRESIDING_JUDGE, room
    )
    clerk, clerk_link = await service.add_participant(
        CLI, session.id, "Lê Thị Thư Ký", Role.CLERK, room
    )
    page = await open_link(new_page, "clerk", clerk_link.url)
    await join(page)
    async with headless_participants(judge_link.url):
        pj = Actor.participant(judge.id)
        await service.execute(CLI, session.id, "start", lambda s: s.start(pj))
        await service.execute(CLI, session.id, "floor", lambda s: s.give_floor(pj, clerk.id))
        turn = page.locator("#minutes-entries li", has_text="được phát biểu").locator("textarea")
        await expect(turn).to_be_visible()
        await turn.fill("Thư ký đọc danh sách những người được triệu tập.")
        await expect(page.locator("#minutes-status")).to_have_text("Đã lưu.")

        await page.reload()
        await join(page)
        turn = page.locator("#minutes-entries li", has_text="được phát biểu").locator("textarea")
        await expect(turn).to_have_value("Thư ký đọc danh sách những người được triệu tập.")

        # The clerk moves on to the questioning: a heading opens it, and the question the
        # clerk inserts next stands under it.
        await page.select_option("#minutes-section", "questioning")
        await expect(page.locator("#minutes-status")).to_contain_text("Phần xét hỏi")
        await page.select_option("#minutes-kind", "question")
        await page.select_option("#minutes-speaker", judge.id)
        await page.click("#minutes-insert button[type=submit]")
        # (Found by its words, not its place: the server may append entries of its own,
        # such as the reload's dropped connection, at any moment.)
        question = page.locator("#minutes-entries > li", has_text="Trần Văn Chủ Tọa hỏi")
        await expect(question).to_have_attribute("data-section", "questioning")
        heading = page.locator("#minutes-entries > li.minutes-heading", has_text="Phần xét hỏi")
        await expect(heading).to_have_count(1)
        assert await page.evaluate(
            """() => {
              const items = [...document.querySelectorAll('#minutes-entries > li')];
              const heading = items.findIndex((li) => li.textContent.includes('Phần xét hỏi'));
              const question = items.findIndex((li) => li.textContent.includes('Chủ Tọa hỏi'));
              return heading >= 0 && heading < question;
            }"""
        ), "the question stands under its section's heading"
