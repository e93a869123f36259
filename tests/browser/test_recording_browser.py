"""Recording a hearing from the judge's console, in real browsers: the judge starts it, a
party in the hearing room sees the red-dot indicator and hears the announcement, the judge
pauses it and the party sees "paused", then resumes it. A person waiting in the lobby is told
the lobby is not recorded. The server really records (its recorder writes segments of the
forwarded media), and the screenshots are taken at 1366 px and at 375 px.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, ViewportSize, expect

from recorder.layout import PART_SUFFIX
from rooms.ids import SessionId
from rooms.media import RecordingState
from tests.browser.conftest import (
    ARTIFACTS,
    MEDIA_TIMEOUT_MS,
    STAFF_PASSWORD,
    LiveServer,
    NewPage,
)
from tests.browser.test_hearing_browser import (
    CLI,
    join,
    open_link,
    schedule_hearing,
    sees_video_of,
)
from tests.conftest import fill_disk

WIDE: ViewportSize = {"width": 1366, "height": 768}
COMPOSED_WITHIN_MS = 120_000
"""A deadline, not a delay: composing the short hearing takes seconds on a quiet machine."""
PHONE: ViewportSize = {"width": 375, "height": 740}


def closed_segments(recordings: Path) -> list[Path]:
    """The media segments the recorder has finished (a ``.part`` file is still open)."""
    if not recordings.exists():
        return []
    return [
        path
        for path in recordings.rglob("*")
        if path.is_file() and path.suffix in (".webm", ".mkv") and PART_SUFFIX not in path.name
    ]


async def wait_for_segments(recordings: Path) -> list[Path]:
    """Segments appear once a few seconds of media were captured: wait for them, up to the
    media deadline (a busy machine delays the first keyframe, it must not fail the test)."""
    deadline = asyncio.get_running_loop().time() + MEDIA_TIMEOUT_MS / 1000
    while True:
        found = closed_segments(recordings)
        if found or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.25)


async def screen(page: Page, name: str) -> None:
    """The screen as the person sees it (the viewport: on a phone the pictures stick to its
    top, which a full-page capture would misplace)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"recording-{name}.png"))


async def session_of(page: Page) -> SessionId:
    """The session a join page belongs to, as its configuration names it."""
    script = "() => JSON.parse(document.getElementById('hearing-config').textContent).session_id"
    return SessionId(await page.evaluate(script))


async def announced(page: Page, text: str) -> None:
    await expect(page.locator("#announcer")).to_contain_text(text)


async def test_the_judge_records_and_everyone_in_the_room_sees_it(
    live_server: LiveServer, new_page: NewPage
) -> None:
    hearing = await schedule_hearing(live_server)
    ids = hearing.ids

    judge = await open_link(new_page, "judge", hearing.links["judge"])
    await judge.set_viewport_size(WIDE)
    await join(judge)
    await expect(judge.locator("#room")).to_be_visible()
    controls = judge.locator(".recording-controls")
    await expect(controls.locator("#recording-status")).to_have_text("Chưa ghi hình")
    start = controls.locator('[data-recording-command="start"]')
    pause = controls.locator('[data-recording-command="pause"]')
    resume = controls.locator('[data-recording-command="resume"]')
    # Before the hearing starts, recording cannot: the button says so by being off, and
    # the hint says why.
    await expect(start).to_be_disabled()
    await expect(controls.locator("#recording-hint")).to_contain_text("khi phiên tòa đang diễn ra")

    defendant = await open_link(new_page, "defendant", hearing.links["defendant"])
    await defendant.set_viewport_size(PHONE)
    await join(defendant)
    victim = await open_link(new_page, "victim", hearing.links["victim"])
    await victim.set_viewport_size(PHONE)
    await join(victim)
    for party in (defendant, victim):
        await expect(party.locator("#lobby")).to_be_visible()
        await expect(party.locator("#lobby-not-recorded")).to_have_text(
            "Phòng chờ không được ghi âm, ghi hình."
        )

    queue = judge.locator("#queue")
    entry = queue.locator(f'li[data-id="{ids["defendant"]}"]')
    await entry.locator('[data-command="admit"][data-verify-first]').click()
    await expect(entry).to_have_count(0)
    await judge.click('[data-session="start"]')
    await expect(defendant.locator("#room-state")).to_have_text("Phiên tòa đang diễn ra.")
    await sees_video_of(defendant, ids["judge"])
    await sees_video_of(judge, ids["defendant"])
    await expect(defendant.locator("#recording-indicator")).to_be_hidden()

    # The judge starts recording: the party sees the red dot and is told.
    await expect(start).to_be_enabled()
    await start.click()
    indicator = defendant.locator("#recording-indicator")
    await expect(indicator).to_be_visible()
    await expect(indicator).to_have_attribute("data-recording", "recording")
    await expect(indicator).to_have_text("Đang ghi hình")
    await expect(defendant.locator("#recording-notice")).to_have_text("Bắt đầu ghi âm, ghi hình.")
    await announced(defendant, "Bắt đầu ghi âm, ghi hình.")
    await expect(judge.locator("#recording-indicator")).to_have_text("Đang ghi hình")
    await expect(controls.locator("#recording-status")).to_have_text("Đang ghi hình")
    await expect(start).to_be_hidden()
    await expect(pause).to_be_visible()
    # The one waiting in the lobby is not recorded and is not shown the indicator.
    await expect(victim.locator("#lobby-not-recorded")).to_be_visible()
    await expect(victim.locator("#recording-indicator")).to_be_hidden()

    session_id = await session_of(judge)
    session = await live_server.service.session(CLI, session_id)
    assert session.recording is RecordingState.RECORDING
    # The server really records: closed segments of the forwarded media appear on disk.
    recordings = live_server.settings.effective_recordings_dir / session.id
    segments = await wait_for_segments(recordings)
    assert segments, f"no closed segment under {recordings}"

    await screen(defendant, "party-recording-375")
    await screen(judge, "judge-recording-1366")
    await screen(victim, "lobby-not-recorded-375")

    # The judge pauses: the party sees "paused" and is told.
    await pause.click()
    await expect(indicator).to_have_attribute("data-recording", "paused")
    await expect(indicator).to_have_text("Tạm ngừng ghi hình")
    await announced(defendant, "Tạm ngừng ghi âm, ghi hình.")
    await expect(defendant.locator("#recording-notice")).to_have_text("Tạm ngừng ghi âm, ghi hình.")
    await expect(controls.locator("#recording-status")).to_have_text("Tạm ngừng ghi hình")
    await expect(resume).to_be_visible()
    await screen(defendant, "party-paused-375")
    await screen(judge, "judge-paused-1366")

    # And resumes it.
    await resume.click()
    await expect(indicator).to_have_attribute("data-recording", "recording")
    await announced(defendant, "Tiếp tục ghi âm, ghi hình.")
    await expect(pause).to_be_visible()

    # The party goes to a private room: not recorded, and the page says so instead of
    # showing the indicator (the domain decides which rooms a recording covers).
    await judge.locator(f'#people input[data-select="{ids["defendant"]}"]').check()
    await judge.fill("#consultation-name", "Trao đổi riêng")
    await judge.click("#consultation-form button[type=submit]")
    await expect(defendant.locator("#room-not-recorded")).to_have_text(
        "Phòng riêng này không được ghi âm, ghi hình."
    )
    await expect(indicator).to_be_hidden()
    await screen(defendant, "private-room-375")
    await judge.locator(f'#people input[data-select="{ids["defendant"]}"]').check()
    await judge.click("#consultation-return")
    await expect(indicator).to_be_visible()
    await expect(defendant.locator("#room-not-recorded")).to_be_hidden()

    # The other widths: the judge on a phone, the party on a wide screen.
    await judge.set_viewport_size(PHONE)
    await defendant.set_viewport_size(WIDE)
    await expect(judge.locator("#recording-indicator")).to_be_visible()
    await screen(judge, "judge-recording-375")
    await controls.scroll_into_view_if_needed()
    await expect(pause).to_be_in_viewport()
    await screen(judge, "judge-controls-375")
    await screen(defendant, "party-recording-1366")

    # The judge closes the hearing: the recording is sealed and composed, and a staff
    # member finds it by its case number, plays it, and reads that it verifies.
    await judge.set_viewport_size(WIDE)
    await judge.click('[data-session="close"]')
    await expect(defendant.locator("#ended")).to_be_visible()
    await live_server.create_staff()
    staff = await new_page("staff")
    await staff.goto(live_server.url("/staff/recordings"))
    await staff.fill("#login-username", "admin")
    await staff.fill("#login-password", STAFF_PASSWORD)
    await staff.get_by_role("button", name="Đăng nhập").click()
    await staff.fill("#recordings-case", "88/2026/HS-ST")
    await staff.get_by_role("button", name="Tìm").click()
    await staff.get_by_role("link", name="88/2026/HS-ST").click()
    # While it is composed the page shows the progress and reads itself again.
    video = staff.locator("#recording-video")
    await expect(video).to_be_visible(timeout=COMPOSED_WITHIN_MS)
    await expect(staff.locator("#recording-state")).to_have_text("Sẵn sàng")
    await expect(staff.locator("#verification")).to_contain_text("Đã kiểm tra")
    await video.evaluate("v => { v.muted = true; return v.play(); }")
    await staff.wait_for_function(
        "() => document.getElementById('recording-video').currentTime > 0.5"
    )
    await expect(staff.locator("#chapters button", has_text="Tạm ngừng ghi")).to_be_visible()
    # The minutes' entries of the hearing are moments of the recording too.
    await expect(
        staff.locator("#minutes-moments button", has_text="Tạm ngừng ghi âm, ghi hình.")
    ).to_be_visible()
    await screen(staff, "staff-plays-the-hearing-1366")


# ---------------------------------------------------------------------- a server that cannot


RECORDS_FROM_START = "Việc ghi âm, ghi hình sẽ tự động bắt đầu khi phiên tòa bắt đầu."


class TestOnAServerThatCannotRecord:
    """The real recorder with a free-space floor no disk meets: it refuses as on a full disk."""

    @pytest.fixture
    def settings_options(self) -> dict[str, Any]:
        return {"recording_min_free_mb": 10**9}

    async def test_the_hearing_starts_and_the_judge_reads_why_nothing_is_recorded(
        self, live_server: LiveServer, new_page: NewPage
    ) -> None:
        hearing = await schedule_hearing(live_server)
        judge = await open_link(new_page, "judge", hearing.links["judge"])
        await judge.set_viewport_size(WIDE)
        session_id = await session_of(judge)
        await live_server.service.execute(
            CLI,
            session_id,
            "session.update",
            lambda s: s.update_details(CLI, record_automatically=True),
        )
        await join(judge)
        controls = judge.locator(".recording-controls")
        await expect(controls.locator("#recording-hint")).to_have_text(RECORDS_FROM_START)

        await judge.click('[data-session="start"]')
        await expect(judge.locator("#room-state")).to_have_text("Phiên tòa đang diễn ra.")
        problem = controls.locator("#recording-problem")
        await expect(problem).to_contain_text("Không tự động bắt đầu ghi âm, ghi hình được.")
        await expect(problem).to_contain_text("Không đủ dung lượng để ghi")
        toast = judge.locator("#error-toast")
        await expect(toast).to_contain_text("Không đủ dung lượng để ghi")
        await expect(controls.locator("#recording-status")).to_have_text("Chưa ghi hình")
        await expect(judge.locator("#recording-indicator")).to_be_hidden()
        await screen(judge, "not-started-1366")
        await judge.set_viewport_size(PHONE)
        await screen(judge, "not-started-375")
        # The refusal stays until the judge has read it and dismissed it.
        await toast.get_by_role("button", name="Đóng thông báo").click()
        await expect(toast).to_be_hidden()

        # Starting by hand is refused in the same words, and nothing is recorded.
        await judge.set_viewport_size(WIDE)
        await judge.evaluate(
            "() => { document.querySelector('#recording-problem').textContent = ''; }"
        )
        await controls.locator('[data-recording-command="start"]').click()
        await expect(problem).to_contain_text("Không đủ dung lượng để ghi")
        await expect(toast).to_contain_text("Không đủ dung lượng để ghi")
        await expect(problem).not_to_contain_text("tự động")
        session = await live_server.service.session(CLI, session_id)
        assert session.recording is RecordingState.OFF
        assert session.state.value == "in_session"


# ---------------------------------------------------------------------- a disk that fills up


class TestWhenTheDiskFillsUp:
    """The recordings on a small filesystem the test mounts, then fills while recording."""

    @pytest.fixture
    def settings_options(self, small_disk: Path) -> dict[str, Any]:
        return {
            "recordings_dir": small_disk / "recordings",
            "recording_segment_seconds": 1.0,
            "recording_min_free_mb": 0,
        }

    async def test_the_judge_is_told_at_once_that_the_recording_cannot_be_written(
        self, live_server: LiveServer, new_page: NewPage, small_disk: Path
    ) -> None:
        hearing = await schedule_hearing(live_server)
        judge = await open_link(new_page, "judge", hearing.links["judge"])
        await judge.set_viewport_size(WIDE)
        await join(judge)
        await judge.click('[data-session="start"]')
        await expect(judge.locator("#room-state")).to_have_text("Phiên tòa đang diễn ra.")
        controls = judge.locator(".recording-controls")
        await controls.locator('[data-recording-command="start"]').click()
        await expect(judge.locator("#recording-indicator")).to_be_visible()
        assert await wait_for_segments(small_disk / "recordings"), "nothing was recorded"

        filler = fill_disk(small_disk)
        try:
            toast = judge.locator("#error-toast")
            await expect(toast).to_contain_text(
                "Không ghi được bản ghi phiên tòa", timeout=MEDIA_TIMEOUT_MS
            )
            await expect(judge.locator("#announcer")).to_contain_text(
                "Không ghi được bản ghi phiên tòa"
            )
            await screen(judge, "disk-full-1366")
        finally:
            filler.unlink()
