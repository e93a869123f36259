"""The recording page in a real Chromium: found by case number, the composed MP4 really plays
and a click on a timeline event seeks it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import expect

from recorder.integrity import seal_recording
from recorder.signing import ServerKey
from rooms.cases import Case, CaseType, Instance
from rooms.participants import Actor
from tests.browser.conftest import STAFF_PASSWORD, LiveServer, NewPage
from tests.recorder.recording_fixture import METADATA, make_recording, write_composed_mp4
from web.keys import RECORDINGS

SYSTEM = Actor(id="browser-test", is_system=True)


async def test_staff_find_a_recording_and_its_video_plays_and_seeks(
    live_server: LiveServer, new_page: NewPage
) -> None:
    service = live_server.service
    court = (await service.courts(SYSTEM))[0]
    case = Case(court.id, METADATA["case_number"], CaseType.CRIMINAL, Instance.FIRST_INSTANCE)
    start = datetime(2030, 3, 4, 1, 0, tzinfo=UTC)
    session = await service.schedule_hearing(SYSTEM, case, start, start + timedelta(hours=2))
    settings = live_server.settings
    paths = make_recording(settings.effective_recordings_dir, session_id=session.id, stopped=True)
    write_composed_mp4(paths.composed_video)
    seal_recording(paths, ServerKey.load_or_create(settings.data_dir))
    await live_server.app[RECORDINGS].register_recording(paths)
    await live_server.create_staff()

    page = await new_page("staff")
    await page.goto(live_server.url("/staff/recordings"))
    await page.fill("#login-username", "admin")
    await page.fill("#login-password", STAFF_PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.fill("#recordings-case", "123/2030")
    await page.get_by_role("button", name="Tìm").click()
    await expect(page.locator("#recordings")).to_contain_text("Sẵn sàng")  # a word, not a code
    await page.get_by_role("link", name=METADATA["case_number"]).click()
    await expect(page.locator("#verification")).to_contain_text("Đã kiểm tra")
    video = page.locator("#recording-video")
    await video.evaluate("v => { v.muted = true; return v.play(); }")
    await page.wait_for_function(
        "() => document.getElementById('recording-video').currentTime > 0.5"
    )
    resumed = page.locator("button.chapter", has_text="Tiếp tục ghi")
    await resumed.click()
    offset = float(await resumed.get_attribute("data-offset") or "0")
    await page.wait_for_function(
        f"() => Math.abs(document.getElementById('recording-video').currentTime - {offset}) < 0.5"
    )
