"""Handing out links in a real Chromium: the session page's list of every person's link
(copy, re-issue), the short link opening the join page, and the print view, printed to
PDF to prove it is one A4 page per person."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from playwright.async_api import Page, expect

from rooms import dates
from rooms.cases import Case, CaseType, Instance
from rooms.ids import SessionId
from rooms.participants import Actor
from rooms.points import PointKind
from rooms.roles import Role
from rooms.short_codes import grouped
from tests.browser.conftest import (
    STAFF_PASSWORD,
    BrowserErrors,
    LiveServer,
    NewPage,
    Screenshot,
)

CLI = Actor(id="cli", is_system=True)
A4_POINTS = (595, 842)
"""A4 in PDF points (1/72 inch), as Chromium writes the page box."""


async def _hearing(server: LiveServer) -> tuple[SessionId, dict[str, tuple[str, str, str]]]:
    """A hearing tomorrow with three people: name → (participant id, short link, link)."""
    service = server.service
    court = (await service.courts(CLI))[0]
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=1)
    case = Case(
        court_id=court.id,
        number="88/2026/HS-ST",
        case_type=CaseType.CRIMINAL,
        instance=Instance.FIRST_INSTANCE,
        title="Vụ án cố ý gây thương tích",
    )
    session = await service.schedule_hearing(CLI, case, start, start + timedelta(hours=3))
    detention = await service.add_point(
        CLI, session.id, "Trại tạm giam Chí Hòa", PointKind.DETENTION_CENTRE
    )
    people: dict[str, tuple[str, str, str]] = {}
    for name, role, point in (
        ("Trần Văn Chủ Tọa", Role.PRESIDING_JUDGE, session.central_point.id),
        ("Nguyễn Văn Bị Cáo", Role.DEFENDANT, detention.id),
        ("Lê Thị Người Bào Chữa", Role.DEFENCE_COUNSEL, detention.id),
    ):
        person, link = await service.add_participant(CLI, session.id, name, role, point)
        people[name] = (person.id, link.short_url, link.url)
    return session.id, people


async def _log_in(page: Page, to: str) -> None:
    await page.goto(to)
    await page.fill("#login-username", "admin")
    await page.fill("#login-password", STAFF_PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()


def _pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    """The size of every page of a PDF Chromium printed (its page objects' MediaBox)."""
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    return [(float(w), float(h)) for w, h in boxes]


async def test_a_clerk_copies_reissues_and_prints_every_link(
    live_server: LiveServer,
    new_page: NewPage,
    screenshot: Screenshot,
    browser_errors: BrowserErrors,
) -> None:
    await live_server.create_staff(display_name="Quản trị viên")
    session_id, people = await _hearing(live_server)
    page = await new_page("staff", viewport={"width": 1366, "height": 768})
    await page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=live_server.base_url
    )
    await _log_in(page, f"/staff/sessions/{session_id}")

    # Every person's link is listed, long and short, each with its own copy button.
    rows = page.locator("#links tbody tr")
    await expect(rows).to_have_count(3)
    defendant_id, defendant_short, defendant_url = people["Nguyễn Văn Bị Cáo"]
    row = page.locator(f"#link-{defendant_id}")
    await expect(row.locator(".short-url")).to_have_value(defendant_short)
    await expect(row.locator(".long-url")).to_have_value(defendant_url)
    short_box = await row.locator(".short-url").bounding_box()
    assert short_box is not None
    # The whole short link is readable in its box, not cut off before the code.
    assert await row.locator(".short-url").evaluate("e => e.scrollWidth <= e.clientWidth")
    await row.get_by_role("button", name="Sao chép đường dẫn rút gọn của Nguyễn Văn Bị Cáo").click()
    await expect(page.locator("#links .copy-status")).to_have_text("Đã sao chép.")
    assert await page.evaluate("navigator.clipboard.readText()") == defendant_short
    await page.locator("#links").scroll_into_view_if_needed()
    await screenshot(page, "session-links")

    # The short link opens the defendant's join page.
    visitor = await new_page("defendant")
    await visitor.goto(defendant_short)
    await expect(visitor).to_have_url(re.compile(r"/join/[^/]+$"))
    assert visitor.url == defendant_url
    await expect(visitor.locator("body")).to_contain_text("Nguyễn Văn Bị Cáo")

    # "Cấp đường dẫn mới" (after confirming) replaces the link and says the old one is gone.
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.get_by_role(
        "button", name="Cấp đường dẫn tham gia mới cho Nguyễn Văn Bị Cáo"
    ).first.click()
    await expect(page.locator("#fresh-link .replaced")).to_contain_text(
        "Đường dẫn cũ đã bị thu hồi"
    )
    new_short = await page.input_value("#fresh-short")
    assert new_short != defendant_short
    await expect(page.locator(f"#link-{defendant_id} .short-url")).to_have_value(new_short)
    await screenshot(page, "reissued")
    browser_errors.allow(r"status of 410 \(Gone\)")  # the refusal page of the old code
    await visitor.goto(defendant_short)
    await expect(visitor.locator(".refused-reason")).to_contain_text("đã bị thu hồi")
    await visitor.goto(new_short)
    await expect(visitor).to_have_url(re.compile(r"/join/[^/]+$"))

    # Print all: one sheet per person, with the short link and its QR code.
    async with page.context.expect_page() as opened:
        await page.get_by_role("link", name="In tất cả giấy mời").click()
    sheets_page = await opened.value
    await expect(sheets_page).to_have_url(re.compile(r"/links/print$"))
    sheets = sheets_page.locator("article.sheet")
    await expect(sheets).to_have_count(3)
    sheet = sheets_page.locator(f"#sheet-{defendant_id}")
    await expect(sheet).to_contain_text("Giấy mời tham gia phiên tòa trực tuyến")
    await expect(sheet).to_contain_text("Nguyễn Văn Bị Cáo")
    await expect(sheet).to_contain_text("Bị cáo")
    await expect(sheet.locator(".sheet-short")).to_have_text(new_short)
    await expect(sheet.locator(".sheet-code")).to_have_text(grouped(new_short.rsplit("/", 1)[1]))
    session = await live_server.service.session(CLI, session_id)
    when = dates.span(session.scheduled_start, session.scheduled_end, "Asia/Ho_Chi_Minh").vi
    await expect(sheet.locator(".sheet-when")).to_have_text(f"{when} (giờ Việt Nam)")
    qr = sheet.locator(".sheet-qr svg")
    box = await qr.bounding_box()
    assert box is not None and box["width"] > 150 and abs(box["width"] - box["height"]) < 1
    await screenshot(sheets_page, "print-view")

    # Printed, each person's sheet is exactly one A4 page; the toolbar stays off paper.
    await sheets_page.emulate_media(media="print")
    await sheets_page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    await expect(sheets_page.locator(".sheet-toolbar")).to_be_hidden()
    pdf = await sheets_page.pdf(prefer_css_page_size=True, print_background=True)
    pages = _pdf_pages(pdf)
    assert len(pages) == 3, pages
    assert all(abs(w - A4_POINTS[0]) < 2 and abs(h - A4_POINTS[1]) < 2 for w, h in pages), pages
    await screenshot(sheets_page, "print-media")

    # On a phone the list and the sheets still fit the screen.
    phone = await new_page(
        "phone",
        viewport={"width": 375, "height": 740},
        storage_state=await page.context.storage_state(),
    )
    for path in (f"/staff/sessions/{session_id}", f"/staff/sessions/{session_id}/links/print"):
        await phone.goto(path)
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} is {width}px wide on a 375px phone"
    await phone.goto(f"/staff/sessions/{session_id}#links")
    await phone.locator(f"#link-{defendant_id}").scroll_into_view_if_needed()
    await screenshot(phone, "session-links-phone")

    # One person's sheet alone, printed as a browser prints (print media).
    await sheets_page.goto(f"/staff/sessions/{session_id}/links/print?participant={defendant_id}")
    await expect(sheets_page.locator("article.sheet")).to_have_count(1)
    pdf = await sheets_page.pdf(prefer_css_page_size=True)
    assert len(_pdf_pages(pdf)) == 1
