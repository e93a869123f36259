"""Court staff pages in a real Chromium: log in, schedule a hearing with its points and
people, find it in the sessions list, and watch it live in the monitor."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect

from rooms.alerts import AlertKind
from rooms.cases import Case, CaseType, Instance
from rooms.participants import Actor
from rooms.roles import Role
from signaling.client import HeadlessParticipant
from tests.browser.conftest import (
    STAFF_PASSWORD,
    BrowserErrors,
    LiveServer,
    NewPage,
    Screenshot,
)
from tests.signaling.harness import Peer
from web.staff import pages as staff_pages

SYSTEM = Actor(id="browser-test", is_system=True)
HOST_CANDIDATES = """async () => {
  const pc = new RTCPeerConnection();
  pc.createDataChannel("probe");
  const found = [];
  const done = new Promise((resolve) => {
    pc.onicecandidate = (e) => (e.candidate ? found.push(e.candidate.candidate) : resolve());
  });
  await pc.setLocalDescription(await pc.createOffer());
  await done;
  pc.close();
  return found.filter((c) => c.includes(" typ host"));
}"""


async def test_the_browser_shows_host_addresses_not_mdns_names(
    live_server: LiveServer, new_page: NewPage
) -> None:
    """The conftest's merged ``--disable-features`` took effect (it also checks the switch)."""
    page = await new_page("probe")
    await page.goto("/")
    candidates = await page.evaluate(HOST_CANDIDATES)
    assert candidates, "no host candidates gathered"
    assert not any(".local" in c for c in candidates), candidates


async def _log_in(page: Page, password: str = STAFF_PASSWORD) -> None:
    await page.fill("#login-username", "admin")
    await page.fill("#login-password", password)
    await page.get_by_role("button", name="Đăng nhập").click()


async def _add_participant(page: Page, name: str, role: str, point: str) -> str:
    """Add a person on the session page; return the join link shown once for them."""
    await page.fill("#participant-name", name)
    await page.select_option("#participant-role", role)
    await page.select_option("#participant-point_id", label=point)
    await page.get_by_role("button", name="Thêm và cấp đường dẫn tham gia").click()
    await expect(page.locator("#fresh-title")).to_have_text(f"Đường dẫn tham gia của {name}")
    return await page.input_value("#fresh-url")


async def test_staff_log_in_schedule_a_hearing_and_watch_it_live(
    live_server: LiveServer,
    new_page: NewPage,
    screenshot: Screenshot,
    browser_errors: BrowserErrors,
) -> None:
    await live_server.create_staff(display_name="Quản trị viên")
    page = await new_page("staff")
    await page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=live_server.base_url
    )

    # Log in: a wrong password is refused on the page, then the right one goes through.
    await page.goto("/staff/monitor")
    await expect(page).to_have_url(live_server.url("/staff/login?next=%2Fstaff%2Fmonitor"))
    await screenshot(page, "login")
    browser_errors.allow(r"status of 401 \(Unauthorized\)")
    await _log_in(page, "wrong-password-here")
    await expect(page.locator(".refusal")).to_have_text("Sai tên đăng nhập hoặc mật khẩu.")
    await _log_in(page)
    await expect(page).to_have_url(live_server.url("/staff/monitor"))
    await expect(page.locator("#monitor-status")).to_have_attribute("data-state", "live")

    # Schedule a hearing starting shortly, on the court's clock.
    await page.get_by_role("link", name="Lên lịch phiên tòa").first.click()
    start = datetime.now(ZoneInfo(live_server.settings.court.time_zone)) + timedelta(minutes=30)
    await page.fill("#hearing-number", "77/2026/HS-ST")
    await page.fill("#hearing-title", "Vụ án trộm cắp tài sản")
    await page.select_option("#hearing-case_type", "criminal")
    await page.check("#hearing-chapter-16")
    await page.fill("#hearing-scheduled_start", start.strftime("%Y-%m-%dT%H:%M"))
    await page.fill("#hearing-courtroom_name", "Phòng xử án số 1")
    await screenshot(page, "new-hearing")
    await page.get_by_role("button", name="Lưu lịch phiên tòa").click()
    await expect(page.locator("h1")).to_contain_text("77/2026/HS-ST")
    session_path = page.url.removeprefix(live_server.base_url)
    session_id = session_path.rsplit("/", 1)[1]

    # A remote point, then the judge in the courtroom and the defendant at the detention centre.
    await page.fill("#point-name", "Trại tạm giam Chí Hòa")
    await page.select_option("#point-kind", "detention_centre")
    await page.get_by_role("button", name="Lưu điểm cầu").click()
    await expect(page.locator("#points tbody tr")).to_have_count(2)
    judge_link = await _add_participant(
        page, "Trần Văn Chủ Tọa", "presiding_judge", "Phòng xử án số 1"
    )
    await expect(page).to_have_url(live_server.url(session_path))  # reload will not re-post
    await page.locator('#fresh-link [data-copy="fresh-url"]').click()
    await expect(page.locator("#fresh-link .copy-status")).to_have_text("Đã sao chép.")
    assert await page.evaluate("navigator.clipboard.readText()") == judge_link
    defendant_link = await _add_participant(
        page, "Nguyễn Văn Bị Cáo", "defendant", "Trại tạm giam Chí Hòa"
    )
    assert defendant_link.startswith(live_server.url("/join/")) and defendant_link != judge_link
    await expect(page.locator("#participants tbody tr")).to_have_count(2)
    await screenshot(page, "session")

    # The sessions list shows it.
    await page.get_by_role("link", name="Các phiên").click()
    row = page.locator(f'tr[data-session-id="{session_id}"]')
    await expect(row).to_contain_text("77/2026/HS-ST")
    await expect(row).to_contain_text("Đã lên lịch")
    await screenshot(page, "sessions")

    # The defendant connects: the lobby opens and the session is live.
    defendant = await Peer("defendant").connect(
        live_server.base_url, {"token": defendant_link.rsplit("/", 1)[1]}
    )
    judge = HeadlessParticipant.from_join_url(judge_link)
    try:
        await page.get_by_role("link", name="Giám sát trực tiếp").click()
        section = page.locator(f"#session-{session_id}")
        await expect(section).to_contain_text("Đang chờ bắt đầu")
        defendant_row = section.locator("tr", has_text="Nguyễn Văn Bị Cáo")
        await expect(defendant_row).to_contain_text("Đang chờ trong phòng chờ")
        await expect(page.locator("#monitor-status")).to_have_attribute("data-state", "live")

        # The judge connects and sends camera and microphone: the monitor learns it from the
        # session's events (no reload), then sees the link measured by the server.
        await judge.join()
        judge_row = section.locator("tr", has_text="Trần Văn Chủ Tọa")
        await expect(judge_row).to_contain_text("Đang tham gia")
        await expect(judge_row).to_contain_text("Thẩm phán chủ tọa phiên tòa")
        await judge.publish()
        await expect(judge_row.locator(".connection")).to_have_text("đã kết nối")
        await expect(judge_row.locator(".quality .level")).to_have_text("tốt")
        await expect(judge_row.locator(".quality .numbers")).to_contain_text("gửi lên máy chủ")

        # A failed device check raises an alert, which staff acknowledge.
        reply = await defendant.call(
            "device_check",
            {"passed": False, "camera": "denied", "microphone": "ok", "detail": "NotAllowed"},
        )
        assert reply["ok"], reply
        alert = page.locator(".alert-device_check_failed")
        await expect(alert).to_contain_text("Kiểm tra thiết bị không đạt")
        await expect(alert).to_contain_text("Nguyễn Văn Bị Cáo")
        # Its time is written as every staff page writes one, in the court's zone.
        day = r"\d\d:\d\d, (thứ (Hai|Ba|Tư|Năm|Sáu|Bảy)|Chủ nhật) \d\d/\d\d/\d{4}"
        await expect(alert).to_contain_text(re.compile(day))
        await screenshot(page, "monitor-alert")
        await alert.get_by_role("button", name="Xác nhận đã biết").click()
        await expect(alert).to_contain_text("Đã xác nhận bởi Quản trị viên")

        # The judge starts the hearing; the monitor follows.
        await judge.call("start")
        await expect(section.locator(".session-state")).to_contain_text("Đang diễn ra")
        await screenshot(page, "monitor")

        # On a phone the monitor still fits the screen.
        phone = await new_page(
            "phone",
            viewport={"width": 375, "height": 740},
            storage_state=await page.context.storage_state(),
        )
        await phone.goto("/staff/monitor")
        await expect(phone.locator(f"#session-{session_id}")).to_contain_text("Đang tham gia")
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the monitor is {width}px wide on a 375px phone"
        await screenshot(phone, "monitor-phone")
    finally:
        await judge.close()
        await defendant.close()

    # The audit log shows what was done and that its chain holds.
    await page.get_by_role("link", name="Nhật ký thao tác").first.click()
    await expect(page.locator("#chain-result")).to_contain_text("Đã kiểm tra chuỗi băm")
    await expect(page.locator("table.audit")).to_contain_text("Xác nhận đã xem cảnh báo")
    await screenshot(page, "audit")

    # In English on request; logging out ends the page session.
    await page.goto("/staff/?lang=en")
    await expect(page.locator("h1")).to_contain_text("Sessions")
    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(live_server.url("/staff/login"))


async def test_the_monitor_picks_up_sessions_that_go_live_and_drops_ended_ones(
    live_server: LiveServer,
    new_page: NewPage,
    screenshot: Screenshot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(staff_pages, "MONITOR_REFRESH_SECONDS", 1)
    await live_server.create_staff()
    service = live_server.service
    court = (await service.courts(Actor.system()))[0]
    start = datetime.now(UTC) + timedelta(minutes=5)
    case = Case(court.id, "12/2026/DS-ST", CaseType.CIVIL, Instance.FIRST_INSTANCE, "Tranh chấp")
    session = await service.schedule_hearing(SYSTEM, case, start)
    _judge, link = await service.add_participant(
        SYSTEM, session.id, "Lê Văn Thẩm Phán", Role.PRESIDING_JUDGE, session.central_point.id
    )

    page = await new_page("staff")
    await page.goto("/staff/login?next=/staff/monitor")
    await _log_in(page)
    await expect(page.locator("#no-sessions")).to_be_visible()

    judge = Peer("judge")
    await judge.connect(live_server.base_url, {"token": link.token})
    try:
        section = page.locator(f"#session-{session.id}")
        await expect(section).to_contain_text("12/2026/DS-ST")
        await expect(section).to_contain_text("Lê Văn Thẩm Phán")
        await expect(page.locator("#no-sessions")).to_be_hidden()
        await screenshot(page, "picked-up")
        for command in ("start", "close"):
            assert (await judge.call(command))["ok"]
        await expect(section).to_have_count(0)
        await expect(page.locator("#no-sessions")).to_be_visible()
    finally:
        await judge.close()


async def test_staff_close_a_suspended_session_nobody_resumes(
    live_server: LiveServer,
    new_page: NewPage,
    screenshot: Screenshot,
    browser_errors: BrowserErrors,
) -> None:
    """Issue 10: an abandoned suspended hearing is ended from its page, with a reason."""
    browser_errors.allow(r"status of 422 \(Unprocessable Entity\)")  # the blank reason
    await live_server.create_staff()
    service = live_server.service
    court = (await service.courts(Actor.system()))[0]
    start = datetime.now(UTC) + timedelta(minutes=5)
    case = Case(court.id, "31/2026/HS-ST", CaseType.CRIMINAL, Instance.FIRST_INSTANCE, "Bỏ dở")
    session = await service.schedule_hearing(SYSTEM, case, start)
    for action, command in (
        ("session.open_lobby", lambda s: s.open_lobby(SYSTEM)),
        ("session.start", lambda s: s.start(SYSTEM)),
        ("session.suspend", lambda s: s.suspend(SYSTEM, "courtroom_connection_lost")),
    ):
        await service.execute(SYSTEM, session.id, action, command)

    page = await new_page("staff")
    await page.goto(f"/staff/login?next=/staff/sessions/{session.id}")
    await _log_in(page)
    form = page.locator("#end-session")
    await expect(form).to_be_visible()
    await form.locator("#end-reason").fill("   ")
    await form.get_by_role("button", name="Xác nhận kết thúc hoặc hoãn").click()  # spaces only
    await expect(page.locator("#end-session")).to_contain_text("Hãy ghi lý do.")
    await page.locator("#end-session").get_by_label("Kết thúc phiên", exact=True).check()
    await page.fill("#end-reason", "Phòng xử án không kết nối lại")
    await screenshot(page, "end-abandoned")
    confirm = page.locator("#end-session").get_by_role("button", name="Xác nhận kết thúc hoặc hoãn")
    await confirm.click()
    await expect(page.locator("#end-session")).to_have_count(0)
    ended = await service.session(SYSTEM, session.id)
    assert ended.state.value == "closed"


async def test_the_monitor_groups_alerts_by_session_and_acknowledges_them_together(
    live_server: LiveServer, new_page: NewPage, screenshot: Screenshot
) -> None:
    """Issue 10: dozens of alerts of an abandoned session are one group, taken in one click."""
    await live_server.create_staff()
    service = live_server.service
    court = (await service.courts(Actor.system()))[0]
    start = datetime.now(UTC) + timedelta(minutes=5)
    case = Case(court.id, "40/2026/HS-ST", CaseType.CRIMINAL, Instance.FIRST_INSTANCE, "Nhiều")
    session = await service.schedule_hearing(SYSTEM, case, start)
    judge_person, link = await service.add_participant(
        SYSTEM, session.id, "Lê Văn Thẩm Phán", Role.PRESIDING_JUDGE, session.central_point.id
    )
    for _ in range(3):
        await service.raise_alert(
            session.id, judge_person.id, AlertKind.DISCONNECTED, name=judge_person.name
        )
    judge = Peer("judge")
    await judge.connect(live_server.base_url, {"token": link.token})
    try:
        page = await new_page("staff")
        await page.goto("/staff/login?next=/staff/monitor")
        await _log_in(page)
        group = page.locator(f"#alerts-of-{session.id}")
        await expect(group.locator(".alert")).to_have_count(3)
        await expect(group.locator("h3")).to_contain_text("3 chưa xác nhận")
        await screenshot(page, "alerts-grouped")
        await group.get_by_role(
            "button", name="Xác nhận đã biết mọi cảnh báo của phiên này"
        ).click()
        await expect(group.locator(".alert.acknowledged")).to_have_count(3)
        await expect(group.locator(".acknowledge-all")).to_have_count(0)
        assert await service.alerts(SYSTEM, session.id) == []
    finally:
        await judge.close()
