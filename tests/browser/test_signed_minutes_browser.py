"""After the hearing, a party opens their join link in Chromium and reads the signed minutes:
read only, in the official layout, with the signed PDF to download, which verifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.async_api import expect

from hearing_server.document_signing import trusted_certificates, verify_pdf
from rooms.cases import Case, CaseType, Instance
from rooms.participants import Actor
from rooms.roles import Role
from tests.browser.conftest import LiveServer, NewPage, Screenshot

CLI = Actor(id="cli", is_system=True)


async def test_a_party_reads_the_signed_minutes_after_the_hearing(
    live_server: LiveServer, new_page: NewPage, screenshot: Screenshot, tmp_path: Path
) -> None:
    service = live_server.service
    court = (await service.courts(CLI))[0]
    start = datetime.now(UTC) - timedelta(minutes=30)
    case = Case(court.id, "7/2026/HS-ST", CaseType.CRIMINAL, Instance.FIRST_INSTANCE, "Trộm cắp")
    session = await service.schedule_hearing(CLI, case, start, start + timedelta(hours=2))
    room = session.central_point.id
    people = {}
    for name, role in (
        ("Trần Văn Chủ Tọa", Role.PRESIDING_JUDGE),
        ("Lê Thị Thư Ký", Role.CLERK),
        ("Phạm Văn Bị Cáo", Role.DEFENDANT),
    ):
        people[role] = await service.add_participant(CLI, session.id, name, role, room)
    judge = Actor.participant(people[Role.PRESIDING_JUDGE][0].id)
    for person, _ in people.values():
        await service.execute(CLI, session.id, "join", lambda s, p=person.id: s.join(p))
    await service.execute(CLI, session.id, "start", lambda s: s.start(judge))
    await service.execute(CLI, session.id, "close", lambda s: s.close(judge))
    for role in (Role.CLERK, Role.PRESIDING_JUDGE):
        person = people[role][0]
        now = service.clock()
        await service.change_minutes(
            person,
            session.id,
            "minutes.sign",
            lambda m, p=person, r=role, at=now: m.sign(r, p, at),
            {},
        )

    page = await new_page("defendant")
    await page.goto(people[Role.DEFENDANT][1].url)
    document = page.locator("article.minutes-document")
    await expect(document).to_contain_text("BIÊN BẢN PHIÊN TÒA")
    await expect(document).to_contain_text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    await expect(document).to_contain_text("Trần Văn Chủ Tọa")
    await expect(page.locator("textarea, input[type=text], button")).to_have_count(0)
    await screenshot(page, "signed-minutes")

    async with page.expect_download() as arriving:
        await page.get_by_role("link", name="Tải biên bản đã ký (PDF)").click()
    download = await arriving.value
    target = tmp_path / download.suggested_filename
    await download.save_as(target)
    assert target.name == "bien-ban-7-2026-HS-ST.pdf"
    verdict = await verify_pdf(target.read_bytes(), trusted_certificates(live_server.settings))
    assert verdict.ok, verdict.problem
