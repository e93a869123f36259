"""Court staff pages over HTTP, on SQLite and PostgreSQL: login cookie and form tokens,
scheduling through forms, join links, the sessions list, the monitor page and the audit log."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import docx
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from hearing_server.persistence import tables as t
from hearing_server.persistence.repositories import SessionFilter
from hearing_server.services import AuthenticationFailed, HearingService
from hearing_server.settings import Settings
from recorder.integrity import seal_recording
from recorder.signing import ServerKey
from rooms.cases import Case, CaseType, Instance, MeetingInfo
from rooms.errors import PermissionDenied
from rooms.ids import CourtId, ParticipantId, SessionId
from rooms.participants import Actor
from rooms.points import PointKind
from rooms.roles import Role, StaffRole
from rooms.short_codes import grouped
from tests.api.conftest import ADMIN_PASSWORD, CLI, _cheap_password_hashing  # noqa: F401
from tests.conftest import FakeClock
from tests.recorder.recording_fixture import START as RECORDING_START
from tests.recorder.recording_fixture import make_recording
from web.keys import RECORDINGS, SERVICE, SETTINGS
from web.qr import qr_svg

Client = TestClient[Any, Any]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FRESH_LINK = re.compile(r'id="fresh-url" type="text" readonly value="([^"]+)"')
CLERK_PASSWORD = "clerk-password-long"


@dataclass
class Reply:
    status: int
    text: str
    headers: dict[str, str]
    cookies: dict[str, Any]

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    def fresh_link(self) -> str:
        """The join link a page shows once, right after issuing it."""
        found = FRESH_LINK.search(self.text)
        assert found, self.text[:500]
        return unescape(found.group(1))

    def csrf(self) -> str:
        found = CSRF.search(self.text)
        assert found, self.text[:500]
        return found.group(1)


async def _reply(response: ClientResponse) -> Reply:
    return Reply(
        response.status, await response.text(), dict(response.headers), dict(response.cookies)
    )


@dataclass
class Browser:
    """A staff member's browser: the test client keeps the cookies between requests."""

    client: Client

    @property
    def service(self) -> HearingService:
        return self.client.server.app[SERVICE]

    async def get(self, path: str, **params: Any) -> Reply:
        async with self.client.get(path, params=params, allow_redirects=False) as response:
            return await _reply(response)

    async def post(self, path: str, data: dict[str, Any], csrf: str | None = "") -> Reply:
        """Post a form; by default with the form token of the page it came from."""
        form = dict(data)
        if csrf is not None:
            form["csrf_token"] = csrf or (await self.get("/staff/")).csrf()
        async with self.client.post(path, data=form, allow_redirects=False) as response:
            return await _reply(response)

    async def log_in(self, username: str, password: str, next_path: str = "") -> Reply:
        page = await self.get("/staff/login", **({"next": next_path} if next_path else {}))
        form = {"username": username, "password": password, "next": next_path}
        return await self.post("/staff/login", form, csrf=page.csrf())

    async def schedule_hearing(self, **fields: str) -> str:
        form = {
            "number": "88/2026/HS-ST",
            "title": "Vụ án cố ý gây thương tích",
            "case_type": "criminal",
            "instance": "first_instance",
            "penal_chapters": "14",
            "scheduled_start": "2026-11-23T14:00",
            "scheduled_end": "2026-11-23T16:30",
            "courtroom_name": "Phòng xử án số 1",
            **fields,
        }
        reply = await self.post("/staff/hearings/new", form)
        assert reply.status == 303, reply.text
        return reply.location.rsplit("/", 1)[1]


@pytest.fixture
async def admin(client: Client) -> Browser:
    """A logged-in administrator's browser."""
    service: HearingService = client.server.app[SERVICE]
    await service.add_user(CLI, "admin", StaffRole.ADMIN, ADMIN_PASSWORD, "Quản trị viên")
    browser = Browser(client)
    reply = await browser.log_in("admin", ADMIN_PASSWORD)
    assert reply.status == 303 and reply.location == "/staff/", reply.text
    return browser


async def _clerk(admin: Browser) -> Browser:
    await admin.service.add_user(CLI, "thuky", StaffRole.CLERK, CLERK_PASSWORD, "Thư ký Lan")
    admin.client.session.cookie_jar.clear()
    reply = await admin.log_in("thuky", CLERK_PASSWORD)
    assert reply.status == 303
    return admin


async def _court_id(service: HearingService) -> CourtId:
    return (await service.courts(CLI))[0].id


# ---------------------------------------------------------------------- logging in


async def test_pages_behind_the_login_send_visitors_to_it_and_back(client: Client) -> None:
    service: HearingService = client.server.app[SERVICE]
    await service.add_user(CLI, "admin", StaffRole.ADMIN, ADMIN_PASSWORD)
    browser = Browser(client)
    reply = await browser.get("/staff/audit", session="abc")
    assert reply.status == 303
    assert reply.location == "/staff/login?next=%2Fstaff%2Faudit%3Fsession%3Dabc"
    login = await browser.get("/staff/login", next="/staff/audit?session=abc")
    assert 'name="next" value="/staff/audit?session=abc"' in login.text
    assert login.headers["Cache-Control"] == "no-store"
    assert login.headers["X-Frame-Options"] == "DENY"
    done = await browser.log_in("admin", ADMIN_PASSWORD, next_path="/staff/audit?session=abc")
    assert (done.status, done.location) == (303, "/staff/audit?session=abc")
    cookie = done.cookies["staff_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/staff"
    assert not cookie["secure"]  # plain http here; https requests get a Secure cookie
    assert int(cookie["max-age"]) == 12 * 3600
    assert (await browser.get("/staff/audit")).status == 200


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/staff/",
        "/\\evil.example",
        "/api/v1/users",
        "/staffx",
    ],
)
async def test_after_login_only_staff_pages_of_this_site_are_followed(
    admin: Browser, target: str
) -> None:
    admin.client.session.cookie_jar.clear()
    reply = await admin.log_in("admin", ADMIN_PASSWORD, next_path=target)
    assert (reply.status, reply.location) == (303, "/staff/")


async def test_wrong_credentials_are_refused_alike_for_unknown_and_known_users(
    admin: Browser,
) -> None:
    admin.client.session.cookie_jar.clear()
    wrong_password = await admin.log_in("admin", "not-the-password")
    unknown_user = await admin.log_in("nobody", ADMIN_PASSWORD)
    for reply in (wrong_password, unknown_user):
        assert reply.status == 401
        assert "Sai tên đăng nhập hoặc mật khẩu." in reply.text
        assert "staff_session" not in reply.cookies
    assert 'value="nobody"' in unknown_user.text and ADMIN_PASSWORD not in unknown_user.text
    english = await admin.get("/staff/login", lang="en")
    async with admin.client.post(
        "/staff/login?lang=en",
        data={"username": "admin", "password": "x", "csrf_token": english.csrf()},
        allow_redirects=False,
    ) as response:
        assert response.status == 401
        assert "Wrong username or password." in await response.text()
    refused = [
        e.entry
        for e in await admin.service.audit_trail(CLI)
        if e.entry.action == "auth.login" and e.entry.outcome == "refused"
    ]
    assert [e.actor for e in refused] == ["login:admin", "login:nobody", "login:admin"]


async def test_the_login_form_needs_its_own_token_back(client: Client) -> None:
    service: HearingService = client.server.app[SERVICE]
    await service.add_user(CLI, "admin", StaffRole.ADMIN, ADMIN_PASSWORD)
    browser = Browser(client)
    form = {"username": "admin", "password": ADMIN_PASSWORD}
    missing = await browser.post("/staff/login", form, csrf=None)
    assert missing.status == 403 and "staff_session" not in missing.cookies
    await browser.get("/staff/login")
    forged = await browser.post("/staff/login", form, csrf="made-up")
    assert forged.status == 403 and "staff_session" not in forged.cookies


async def test_every_staff_form_is_refused_without_the_login_s_token(admin: Browser) -> None:
    session_id = await admin.schedule_hearing()
    before = await admin.service.session(CLI, SessionId(session_id))
    for path in (
        f"/staff/sessions/{session_id}/cancel",
        f"/staff/sessions/{session_id}/points",
        "/staff/hearings/new",
        "/staff/logout",
    ):
        for token in (None, "0" * 64):
            reply = await admin.post(path, {"name": "X", "kind": "home"}, csrf=token)
            assert reply.status == 403, path
            assert "Không có thay đổi nào" in reply.text
    after = await admin.service.session(CLI, SessionId(session_id))
    assert after.version == before.version and after.state == before.state
    assert len(await admin.service.find_sessions(CLI, _all())) == 1
    assert (await admin.get("/staff/")).status == 200  # still logged in


async def test_log_out_forgets_the_cookie_and_is_audited(admin: Browser) -> None:
    token = next(c.value for c in admin.client.session.cookie_jar if c.key == "staff_session")
    reply = await admin.post("/staff/logout", {})
    assert (reply.status, reply.location) == (303, "/staff/login")
    assert reply.cookies["staff_session"].value == ""
    assert (await admin.get("/staff/")).status == 303
    actions = [e.entry.action for e in await admin.service.audit_trail(CLI)]
    assert actions[-1] == "auth.logout"
    # The token itself is revoked on the server: a copy of the cookie is worth nothing.
    with pytest.raises(AuthenticationFailed) as refused:
        await admin.service.authenticate_staff(token)
    assert refused.value.rule == "auth.token_revoked"
    async with admin.client.get(
        "/staff/", cookies={"staff_session": token}, allow_redirects=False
    ) as replay:
        assert replay.status == 303


async def test_another_courts_staff_are_refused_on_the_pages_and_audited(
    admin: Browser,
) -> None:
    session_id = await admin.schedule_hearing()
    service = admin.service
    hue = await service.add_court(CLI, "TAND-HUE", "TAND thành phố Huế", "Asia/Ho_Chi_Minh")
    await service.add_user(CLI, "thuky_hue", StaffRole.CLERK, CLERK_PASSWORD, court_id=hue.id)
    admin.client.session.cookie_jar.clear()
    assert (await admin.log_in("thuky_hue", CLERK_PASSWORD)).status == 303
    before = await service.session(CLI, SessionId(session_id))
    home = await admin.get("/staff/")
    assert home.status == 200 and session_id not in home.text
    page = await admin.get(f"/staff/sessions/{session_id}")
    assert page.status == 403
    cancel = await admin.post(f"/staff/sessions/{session_id}/cancel", {})
    assert cancel.status == 403
    after = await service.session(CLI, SessionId(session_id))
    assert after.state == before.state and after.version == before.version
    refused = [
        e.entry
        for e in await service.audit_trail(CLI)
        if e.entry.outcome == "refused" and e.entry.rule == "staff_permission.other_court"
    ]
    # The refused cancel tries to show the session page again, which is refused too.
    assert [e.action for e in refused] == ["session.read", "session.cancel", "session.read"]


async def test_the_login_page_says_when_to_try_again(admin: Browser) -> None:
    admin.client.session.cookie_jar.clear()
    for _ in range(5):
        assert (await admin.log_in("admin", "not-the-password")).status == 401
    throttled = await admin.log_in("admin", ADMIN_PASSWORD)
    assert throttled.status == 429 and throttled.headers["Retry-After"] == "1"
    assert "Đăng nhập sai quá nhiều lần" in throttled.text
    assert "staff_session" not in throttled.cookies


async def test_a_forged_or_deactivated_login_counts_as_logged_out(admin: Browser) -> None:
    jar = admin.client.session.cookie_jar
    jar.clear()
    jar.update_cookies({"staff_session": "forged.token.value"})
    reply = await admin.get("/staff/monitor")
    assert reply.status == 303 and reply.location == "/staff/login?next=%2Fstaff%2Fmonitor"
    assert reply.cookies["staff_session"].value == ""

    clerk = await _clerk(admin)
    assert (await clerk.get("/staff/")).status == 200
    async with clerk.service.database.engine.begin() as conn:
        await conn.execute(
            update(t.staff_users).where(t.staff_users.c.username == "thuky").values(active=False)
        )
    assert (await clerk.get("/staff/")).status == 303


# ---------------------------------------------------------------------- scheduling


async def test_a_hearing_is_scheduled_to_record_from_its_start(admin: Browser) -> None:
    form = await admin.get("/staff/hearings/new")
    assert 'name="record_automatically"' in form.text
    assert "Tự động ghi âm, ghi hình khi phiên tòa bắt đầu" in form.text
    recorded = await admin.schedule_hearing(record_automatically="on")
    plain = await admin.schedule_hearing()
    for session_id, expected in ((recorded, True), (plain, False)):
        session = await admin.service.session(CLI, SessionId(session_id))
        assert session.record_automatically is expected
        page = await admin.get(f"/staff/sessions/{session_id}")
        shown = page.text.split('id="record-automatically">', 1)[1].split("<", 1)[0]
        assert shown == ("Có" if expected else "Không")


async def test_a_hearing_is_scheduled_and_furnished_with_points_people_and_links(
    admin: Browser,
) -> None:
    form = await admin.get("/staff/hearings/new")
    assert form.status == 200 and 'for="hearing-number"' in form.text
    session_id = await admin.schedule_hearing(closed_hearing="on")
    page = await admin.get(f"/staff/sessions/{session_id}")
    assert page.status == 200
    assert "88/2026/HS-ST" in page.text and "Phòng xử án số 1" in page.text
    assert "14:00–16:30, thứ Hai 23/11/2026" in page.text  # court time, not UTC
    session = await admin.service.session(CLI, SessionId(session_id))
    assert session.case is not None and session.case.closed_hearing
    assert session.case.penal_chapters == frozenset({14})
    assert session.scheduled_start == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)

    added = await admin.post(
        f"/staff/sessions/{session_id}/points",
        {"name": "Trại tạm giam Chí Hòa", "kind": "detention_centre", "location": "TP.HCM"},
    )
    assert (added.status, added.location) == (303, f"/staff/sessions/{session_id}#points")
    session = await admin.service.session(CLI, SessionId(session_id))
    remote = next(p for p in session.points.values() if p.name == "Trại tạm giam Chí Hòa")

    person = await admin.post(
        f"/staff/sessions/{session_id}/participants",
        {"name": "Nguyễn Văn B", "role": "defendant", "point_id": remote.id},
    )
    assert person.status == 201
    url = person.fresh_link()
    assert url.startswith("http://hearings.test/join/")
    assert "Đường dẫn tham gia của Nguyễn Văn B" in person.text
    assert f'data-canonical="/staff/sessions/{session_id}"' in person.text
    joined = await admin.service.resolve_join_token(url.rsplit("/", 1)[1])
    assert joined.participant.name == "Nguyễn Văn B"

    first_short = joined.invitation.short_code
    assert f"http://hearings.test/j/{first_short}" in person.text

    # "Cấp đường dẫn mới" replaces the link: the old one is revoked at once, and the page
    # says so.
    second = await admin.post(
        f"/staff/sessions/{session_id}/participants/{joined.participant.id}/links", {}
    )
    assert second.status == 201 and url not in second.text
    assert "Đường dẫn cũ đã bị thu hồi" in second.text
    second_url = second.fresh_link()
    with pytest.raises(AuthenticationFailed) as refused:
        await admin.service.resolve_join_token(url.rsplit("/", 1)[1])
    assert refused.value.rule == "join.token_revoked"
    renewed = await admin.service.resolve_join_token(second_url.rsplit("/", 1)[1])
    assert renewed.participant.id == joined.participant.id
    assert f"http://hearings.test/j/{renewed.invitation.short_code}" in second.text
    with pytest.raises(AuthenticationFailed):
        await admin.service.resolve_short_code(first_short, "192.0.2.1")
    invitations = [
        i
        for i in await admin.service.invitations(CLI, SessionId(session_id))
        if i.participant_id == joined.participant.id
    ]
    # (Both issued at the test clock's same instant: compared without an order.)
    assert {i.id: i.replaced_by for i in invitations} == {
        joined.invitation.id: renewed.invitation.id,
        renewed.invitation.id: None,
    }
    page = await admin.get(f"/staff/sessions/{session_id}")
    assert page.text.count("đã thay bằng đường dẫn mới") == 1
    assert page.text.count("còn hiệu lực đến") == 1
    # The list of links shows the current link, long and short, and never the old one.
    assert second_url in page.text and url not in page.text
    assert f"http://hearings.test/j/{renewed.invitation.short_code}" in page.text
    assert first_short not in page.text

    revoked = await admin.post(
        f"/staff/sessions/{session_id}/links/{renewed.invitation.id}/revoke", {}
    )
    assert revoked.status == 303
    with pytest.raises(AuthenticationFailed):
        await admin.service.resolve_join_token(second_url.rsplit("/", 1)[1])
    page = await admin.get(f"/staff/sessions/{session_id}")
    assert page.text.count("đã thu hồi") == 1 and "còn hiệu lực đến" not in page.text
    assert "http://hearings.test/join/" not in page.text  # no valid link left to show
    assert "Chưa có đường dẫn còn hiệu lực." in page.text

    cancelled = await admin.post(f"/staff/sessions/{session_id}/cancel", {})
    assert cancelled.status == 303
    session = await admin.service.session(CLI, SessionId(session_id))
    assert session.state == "cancelled"
    actions = [e.entry.action for e in await admin.service.audit_trail(CLI, session_id)]
    for action in (
        "hearing.schedule",
        "session.add_point",
        "session.add_participant",
        "link.issue",
        "link.revoke",
        "session.cancel",
    ):
        assert action in actions


async def _hearing_with_people(admin: Browser) -> tuple[str, dict[str, Any]]:
    """A hearing with its presiding judge (an official link), a defendant and a witness,
    each with a link: who, and the link handed out."""
    session_id = SessionId(await admin.schedule_hearing())
    service = admin.service
    session = await service.session(CLI, session_id)
    remote = await service.add_point(
        CLI, session_id, "Trại tạm giam Chí Hòa", PointKind.DETENTION_CENTRE
    )
    court_point = session.central_point.id
    people: dict[str, Any] = {}
    for key, name, role, point in (
        ("judge", "Trần Thị Thẩm Phán", Role.PRESIDING_JUDGE, court_point),
        ("defendant", "Lê Văn Đức", Role.DEFENDANT, remote.id),
        ("witness", "Phạm Thị Hà", Role.WITNESS, remote.id),
    ):
        people[key] = await service.add_participant(CLI, session_id, name, role, point)
    return session_id, people


async def test_the_session_page_lists_every_persons_link_to_copy_print_and_export(
    admin: Browser,
) -> None:
    session_id, people = await _hearing_with_people(admin)
    page = await admin.get(f"/staff/sessions/{session_id}")
    assert page.status == 200
    assert 'id="links"' in page.text and "Đường dẫn tham gia của từng người" in page.text
    for person, link in people.values():
        assert f'value="{link.short_url}"' in page.text
        assert f'value="{link.url}"' in page.text
        assert f'data-copy="short-{person.id}"' in page.text
        assert f'data-copy="long-{person.id}"' in page.text
        assert f"/links/print?participant={person.id}" in page.text
        assert grouped(link.invitation.short_code) in page.text
    assert f'href="/staff/sessions/{session_id}/links/print"' in page.text
    assert f'href="/staff/sessions/{session_id}/links.csv"' in page.text

    # A clerk may not issue the presiding judge's link, so the list does not show it.
    clerk = await _clerk(admin)
    page = await clerk.get(f"/staff/sessions/{session_id}")
    judge_link = people["judge"][1]
    assert judge_link.short_url not in page.text and judge_link.url not in page.text
    assert people["defendant"][1].short_url in page.text
    sheets = await clerk.get(f"/staff/sessions/{session_id}/links/print")
    assert sheets.text.count('<article class="sheet"') == 2
    assert "Trần Thị Thẩm Phán" not in sheets.text
    alone = await clerk.get(
        f"/staff/sessions/{session_id}/links/print", participant=people["judge"][0].id
    )
    assert alone.status == 404 and judge_link.short_url not in alone.text


async def test_the_print_view_has_one_a4_sheet_per_person(admin: Browser) -> None:
    session_id, people = await _hearing_with_people(admin)
    court = (await admin.service.courts(CLI))[0]
    sheets = await admin.get(f"/staff/sessions/{session_id}/links/print")
    assert sheets.status == 200
    assert sheets.headers["Cache-Control"] == "no-store"
    assert '<link rel="stylesheet" href="/static/staff/link-sheets.css">' in sheets.text
    assert sheets.text.count('<article class="sheet"') == 3
    assert sheets.text.count("<svg") == 3
    for person, link in people.values():
        start = sheets.text.index(f'id="sheet-{person.id}"')
        sheet = sheets.text[start : sheets.text.index("</article>", start)]
        assert court.name in sheet
        assert "Giấy mời tham gia phiên tòa trực tuyến" in sheet
        assert "88/2026/HS-ST" in sheet and "Vụ án cố ý gây thương tích" in sheet
        assert person.name in sheet and person.role.label.vi in sheet
        assert "Trại tạm giam Chí Hòa" in sheet or "Phòng xử án số 1" in sheet
        assert "14:00–16:30, thứ Hai 23/11/2026 (giờ Việt Nam)" in sheet
        assert link.short_url in sheet and link.url in sheet
        assert grouped(link.invitation.short_code) in sheet
        # The QR code is of the short link, drawn on the server.
        assert str(qr_svg(link.short_url, "Mã QR của đường dẫn rút gọn")) in sheet
        for prepare in (
            "camera và micro",
            "căn cước công dân hoặc hộ chiếu",
            "nơi yên tĩnh",
            "Cách kiểm tra thiết bị",
            "không được đưa cho người khác",
        ):
            assert prepare in sheet, prepare

    defendant, link = people["defendant"]
    one = await admin.get(f"/staff/sessions/{session_id}/links/print", participant=defendant.id)
    assert one.status == 200 and one.text.count('<article class="sheet"') == 1
    assert link.short_url in one.text and people["witness"][1].short_url not in one.text
    nobody = await admin.get(f"/staff/sessions/{session_id}/links/print", participant="nobody")
    assert nobody.status == 404
    assert "Không có người này trong danh sách đường dẫn của phiên." in nobody.text

    # In English the sheet speaks English, the time still in the court's zone.
    english = await admin.get(
        f"/staff/sessions/{session_id}/links/print", participant=defendant.id, lang="en"
    )
    assert "Invitation to an online hearing" in english.text
    assert "14:00–16:30, Monday 23 November 2026 (Vietnam time)" in english.text
    # Each print-out and export is a copy of credentials taken away: audited.
    exports = [
        e.entry
        for e in await admin.service.audit_trail(CLI, session_id)
        if e.entry.action == "link.export"
    ]
    assert [e.detail["format"] for e in exports] == ["print", "print", "print", "print"]


async def test_the_links_download_as_csv_from_the_session_page(admin: Browser) -> None:
    session_id, people = await _hearing_with_people(admin)
    async with admin.client.get(f"/staff/sessions/{session_id}/links.csv") as response:
        assert response.status == 200
        assert response.content_type == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        raw = await response.read()
    assert raw.startswith("\ufeff".encode())
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Họ và tên,Vai trò,Điểm cầu,Đường dẫn rút gọn")
    for person, link in people.values():
        assert f"{person.name},{person.role.label.vi}," in text
        assert link.short_url in text and link.url in text


async def test_a_meeting_sheet_asks_for_no_identity_document(admin: Browser) -> None:
    service = admin.service
    court_id = await _court_id(service)
    meeting = await service.schedule_meeting(
        CLI,
        MeetingInfo(court_id, "Họp giao ban quý IV", "Văn phòng", "Chánh án"),
        datetime(2026, 12, 2, 7, 0, tzinfo=UTC),
        datetime(2026, 12, 2, 9, 0, tzinfo=UTC),
        "Phòng họp trực tuyến",
    )
    await service.add_participant(
        CLI, meeting.id, "Nguyễn Thị Mai", Role.PARTICIPANT, meeting.central_point.id
    )
    sheet = await admin.get(f"/staff/sessions/{meeting.id}/links/print")
    assert sheet.status == 200
    assert "Giấy mời tham gia cuộc họp trực tuyến" in sheet.text
    assert "Nguyễn Thị Mai" in sheet.text and "Họp giao ban quý IV" in sheet.text
    assert "căn cước" not in sheet.text


async def test_a_form_the_domain_refuses_comes_back_with_the_input_and_its_reason(
    admin: Browser,
) -> None:
    form = {
        "number": "1/2026/HS-ST",
        "title": "Vụ án gián điệp",
        "case_type": "criminal",
        "instance": "first_instance",
        "penal_chapters": "13",
        "scheduled_start": "2026-12-01T08:00",
        "courtroom_name": "Phòng xử án số 3",
    }
    reply = await admin.post("/staff/hearings/new", form)
    assert reply.status == 422
    assert "Chương XIII Bộ luật Hình sự không được" in reply.text
    assert 'value="Vụ án gián điệp"' in reply.text and 'value="13"' in reply.text
    async with admin.client.post(
        "/staff/hearings/new?lang=en",
        data={**form, "penal_chapters": "", "state_secret": "on", "csrf_token": reply.csrf()},
        allow_redirects=False,
    ) as response:
        english = await response.text()
    assert response.status == 422
    assert "A case involving state secrets may not be heard online." in english
    assert 'name="state_secret" type="checkbox" value="on" checked' in english
    assert await admin.service.find_sessions(CLI, _all()) == []
    refused = [e.entry for e in await admin.service.audit_trail(CLI) if e.entry.rule]
    assert [e.rule for e in refused][-2:] == ["policy.penal_chapter", "policy.state_secret"]


async def test_penal_code_chapters_are_picked_by_numeral_and_name(admin: Browser) -> None:
    form = await admin.get("/staff/hearings/new")
    assert "Chương XVI — Các tội xâm phạm sở hữu" in form.text
    boxes = re.findall(r'name="penal_chapters" type="checkbox" value="(\d+)"', form.text)
    assert boxes == [str(n) for n in range(13, 27)]  # the chapters of crimes, XIII to XXVI
    # The chapters the court's rules exclude say so before the clerk submits.
    excluded = re.findall(r'for="hearing-chapter-(\d+)">[^<]*<small class="muted">', form.text)
    assert excluded == ["13", "26"]

    session_id = await admin.schedule_hearing(penal_chapters=["14", "16"])  # type: ignore[arg-type]
    page = await admin.get(f"/staff/sessions/{session_id}")
    assert "Chương XIV — Các tội xâm phạm tính mạng" in page.text
    assert "Chương XVI — Các tội xâm phạm sở hữu" in page.text
    session = await admin.service.session(CLI, SessionId(session_id))
    assert session.case is not None and session.case.penal_chapters == frozenset({14, 16})

    refused = await admin.post(
        "/staff/hearings/new",
        {
            "number": "5/2026/HS-ST",
            "case_type": "criminal",
            "instance": "first_instance",
            "penal_chapters": ["16", "13"],
            "scheduled_start": "2026-11-23T14:00",
            "courtroom_name": "Phòng xử án",
        },
    )
    assert "Chương XIII" in refused.text
    # The ticked boxes stay ticked for the clerk to correct.
    assert 'value="16" checked' in refused.text and 'value="13" checked' in refused.text


async def test_fields_that_cannot_be_read_are_marked_one_by_one(admin: Browser) -> None:
    reply = await admin.post(
        "/staff/hearings/new",
        {"number": "", "case_type": "", "scheduled_start": "tomorrow", "penal_chapters": "XIV"},
    )
    assert reply.status == 422
    assert 'id="hearing-number-error"' in reply.text and 'aria-invalid="true"' in reply.text
    assert "Trường này là bắt buộc." in reply.text
    assert "Hãy nhập ngày và giờ." in reply.text
    assert "Hãy chọn một trong các lựa chọn." in reply.text
    assert "Hãy chọn các chương trong danh sách." in reply.text
    assert 'value="tomorrow"' in reply.text


async def test_a_fourth_remote_point_is_refused_on_the_session_page(admin: Browser) -> None:
    session_id = await admin.schedule_hearing()
    for n in range(3):
        added = await admin.post(
            f"/staff/sessions/{session_id}/points", {"name": f"Điểm cầu {n}", "kind": "court"}
        )
        assert added.status == 303
    refused = await admin.post(
        f"/staff/sessions/{session_id}/points", {"name": "Điểm cầu 4", "kind": "home"}
    )
    assert refused.status == 422
    assert "tối đa 3 điểm cầu thành phần" in refused.text
    assert 'value="Điểm cầu 4"' in refused.text
    missing = await admin.post(
        f"/staff/sessions/{session_id}/participants", {"name": "", "role": "x", "point_id": ""}
    )
    assert missing.status == 422 and "Trường này là bắt buộc." in missing.text
    unknown = await admin.get("/staff/sessions/no-such-session")
    assert unknown.status == 404 and "Không tìm thấy phiên" in unknown.text


async def test_a_meeting_is_scheduled_with_its_main_room(admin: Browser) -> None:
    assert (await admin.get("/staff/meetings/new")).status == 200
    reply = await admin.post(
        "/staff/meetings/new",
        {
            "title": "Họp giao ban tháng 11",
            "organiser": "Văn phòng",
            "chair": "Chánh án",
            "scheduled_start": "2026-11-24T09:00",
            "main_point_name": "Hội trường A",
        },
    )
    assert reply.status == 303
    page = await admin.get(reply.location)
    assert "Họp giao ban tháng 11" in page.text and "Hội trường A" in page.text
    assert 'value="chair"' in page.text and 'value="defendant"' not in page.text
    empty = await admin.post("/staff/meetings/new", {"title": "", "scheduled_start": ""})
    assert empty.status == 422


# ---------------------------------------------------------------------- sessions list


async def test_the_home_page_lists_live_today_s_and_coming_sessions(
    admin: Browser, clock: FakeClock
) -> None:
    service = admin.service
    court = await _court_id(service)
    live = await _hearing(service, court, "1/2026/HS-ST", clock.now - timedelta(days=2))
    await _open(service, live)
    today = await _hearing(service, court, "2/2026/HS-ST", clock.now + timedelta(hours=3))
    coming = await _hearing(service, court, "3/2026/DS-ST", clock.now + timedelta(days=3))
    past = await _hearing(service, court, "4/2026/HS-ST", clock.now - timedelta(days=1))
    page = await admin.get("/staff/")
    assert page.status == 200
    sections = page.text.split('id="today-title"')
    assert live in sections[0] and today not in sections[0]
    today_part, coming_part = sections[1].split('id="upcoming-title"')
    assert today in today_part and coming in coming_part
    assert past not in page.text

    filtered = await admin.get("/staff/", day="2026-11-26", kind="hearing")
    assert coming in filtered.text and today not in filtered.text
    by_state = await admin.get("/staff/?state=open&state=scheduled")
    assert live in by_state.text and past in by_state.text
    assert 'value="open" checked' in by_state.text
    nothing = await admin.get("/staff/", kind="meeting")
    assert "Không có." in nothing.text
    unreadable = await admin.get("/staff/", day="23-11", state="nope")
    assert unreadable.status == 200 and "không đọc được" in unreadable.text


async def test_long_lists_are_paged(admin: Browser, clock: FakeClock) -> None:
    service = admin.service
    court = await _court_id(service)
    for n in range(51):
        await _hearing(service, court, f"{n}/2026/HS-ST", clock.now + timedelta(minutes=n))
    first = await admin.get("/staff/", kind="hearing")
    assert first.text.count("<tr data-session-id") == 50 and "offset=50" in first.text
    second = await admin.get("/staff/", kind="hearing", offset="50")
    assert second.text.count("<tr data-session-id") == 1 and "offset=0" in second.text


# ---------------------------------------------------------------------- monitor and audit


async def test_the_monitor_page_lists_live_sessions_and_carries_the_socket_credentials(
    admin: Browser, clock: FakeClock
) -> None:
    service = admin.service
    court = await _court_id(service)
    live = await _hearing(service, court, "5/2026/HS-ST", clock.now)
    await _open(service, live)
    await _hearing(service, court, "6/2026/HS-ST", clock.now)
    page = await admin.get("/staff/monitor")
    assert page.status == 200
    assert f'id="session-{live}"' in page.text and "6/2026/HS-ST" not in page.text
    assert "Bị cáo" in page.text and "Đang chờ trong phòng chờ" in page.text
    config = re.search(r'id="monitor-config">(.*?)</script>', page.text)
    assert config is not None
    token = re.search(r'"staff_token": "([^"]+)"', config[1])
    assert token is not None
    actor, _user = await service.authenticate_staff(token[1])
    assert actor.staff_role is StaffRole.ADMIN
    assert "/static/vendor/socket.io.min.js" in page.text


async def test_a_clerk_may_schedule_but_not_monitor_or_read_the_audit_log(
    admin: Browser,
) -> None:
    clerk = await _clerk(admin)
    home = await clerk.get("/staff/")
    assert home.status == 200
    assert 'href="/staff/monitor"' not in home.text and 'href="/staff/audit"' not in home.text
    assert await clerk.schedule_hearing()
    monitor = await clerk.get("/staff/monitor")
    audit = await clerk.get("/staff/audit")
    assert monitor.status == 403 and "staff_permission.monitor" in monitor.text
    assert audit.status == 403 and "staff_permission.view_audit" in audit.text
    assert "Hash" not in audit.text and "Chuỗi băm" not in audit.text


async def test_the_audit_page_filters_pages_and_verifies_the_chain(admin: Browser) -> None:
    first = await admin.schedule_hearing()
    second = await admin.schedule_hearing(number="99/2026/HS-ST")
    await admin.post(f"/staff/sessions/{second}/cancel", {})
    page = await admin.get("/staff/audit")
    total = len(await admin.service.audit_trail(CLI))
    assert page.status == 200
    assert f"toàn bộ {total} mục" in page.text
    assert page.text.count('<tr class="outcome-') == total
    by_session = await admin.get("/staff/audit", session=second)
    assert "hearing.schedule" in by_session.text and "session.cancel" in by_session.text
    assert first not in by_session.text.split('id="entries-title"')[1]
    refused = await admin.get("/staff/audit", outcome="refused")
    assert "auth.login" not in refused.text.split('id="entries-title"')[1]
    actions = await admin.get("/staff/audit", action="session.", actor="staff:")
    rows = actions.text.split('id="entries-title"')[1]
    assert "session.cancel" in rows and "hearing.schedule" not in rows


async def test_the_audit_page_names_people_and_actions_and_reads_its_details(
    admin: Browser,
) -> None:
    session_id = SessionId(await admin.schedule_hearing())
    service = admin.service
    session = await service.session(CLI, session_id)
    person, _link = await service.add_participant(
        CLI, session_id, "Nguyễn Văn Bị Cáo", Role.DEFENDANT, session.central_point.id
    )
    await service.execute(
        Actor(id=person.id), session_id, "participant.join", lambda s: s.join(person.id)
    )
    with pytest.raises(PermissionDenied):  # a defendant may not open the hearing
        await service.execute(
            Actor(id=person.id), session_id, "session.start", lambda s: s.start(Actor(id=person.id))
        )
    for n in range(12):  # enough entries for a # of two digits and more
        await service.audit_edge(CLI, f"test.{n}", None, "accepted", {"n": n})

    page = await admin.get("/staff/audit", session=session_id)
    rows = page.text.split('id="entries-title"')[1]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", rows, re.S)
    assert "Quản trị viên (Quản trị hệ thống)" in cells  # the staff account, by name
    assert "Nguyễn Văn Bị Cáo (Bị cáo)" in cells  # the participant, by name and role
    assert "Lên lịch phiên tòa" in cells and "Vào phiên" in cells  # actions in words
    assert not any(cell.startswith(("staff:", "hearing.", "{")) for cell in cells)
    # Details as facts: events in words, people, roles and points by name.
    assert "Sự kiện:</span> thêm người tham gia" in rows
    assert "Vai trò:</span> Bị cáo" in rows and "Người:</span> Nguyễn Văn Bị Cáo" in rows
    assert "Số thụ lý:</span> 88/2026/HS-ST" in rows
    assert '<td data-label="#" class="nowrap">' in rows
    # A refusal says why in words, beside its rule's code.
    assert re.search(r"Lý do từ chối:</span> [A-ZĐÂ][^<]{10,}", rows), rows
    english = await admin.get("/staff/audit", session=session_id, lang="en")
    assert "Nguyễn Văn Bị Cáo (Defendant)" in english.text and "Schedule a hearing" in english.text


async def test_the_header_names_the_account_and_its_role_in_the_page_language(
    admin: Browser,
) -> None:
    home = await admin.get("/staff/")
    assert 'class="who">Quản trị viên <small>(Quản trị hệ thống)</small>' in home.text
    # The first administrator of older installs is called "Administrator": its role's name.
    await admin.service.add_user(CLI, "root", StaffRole.ADMIN, ADMIN_PASSWORD, "Administrator")
    admin.client.session.cookie_jar.clear()
    assert (await admin.log_in("root", ADMIN_PASSWORD)).status == 303
    assert 'class="who">Quản trị hệ thống</span>' in (await admin.get("/staff/")).text
    assert 'class="who">Administrator</span>' in (await admin.get("/staff/", lang="en")).text


async def test_audit_pages_follow_one_another(admin: Browser, clock: FakeClock) -> None:
    for n in range(60):
        await admin.service.audit_edge(CLI, f"test.{n}", None, "accepted", {"n": n})
    total = len(await admin.service.audit_trail(CLI))
    newest = await admin.get("/staff/audit")
    assert newest.text.count('<tr class="outcome-') == 50
    assert f"sau #{total - 50}" in newest.text
    first = await admin.get("/staff/audit", action="test.")
    assert first.text.count('<tr class="outcome-') == 50 and "after=" in first.text
    cursor = re.search(r'href="\?([^"]*after=(\d+)[^"]*)">Các mục tiếp theo', first.text)
    assert cursor is not None
    rest = await admin.get("/staff/audit?" + unescape(cursor[1]))
    assert rest.text.count('<tr class="outcome-') == 10


async def test_pages_speak_english_on_request_and_the_front_page_links_to_them(
    admin: Browser,
) -> None:
    english = await admin.get("/staff/", lang="en")
    assert 'lang="en"' in english.text and "Live now" in english.text
    assert 'href="/staff/recordings">Recordings</a>' in english.text
    vietnamese = await admin.get("/staff/", lang="vi")
    assert "Đang hoạt động" in vietnamese.text and "Bản ghi" in vietnamese.text
    front = await admin.get("/")
    assert 'href="/staff/login"' in front.text


# ---------------------------------------------------------------------- helpers


def _all() -> SessionFilter:
    return SessionFilter()


async def _hearing(service: HearingService, court: CourtId, number: str, start: datetime) -> str:
    case = Case(court, number, CaseType.CRIMINAL, Instance.FIRST_INSTANCE, "Vụ án " + number)
    session = await service.schedule_hearing(CLI, case, start, start + timedelta(hours=2))
    return session.id


async def _open(service: HearingService, session_id: str) -> None:
    """A defendant arrives, which opens the lobby, as a connection through signalling would."""
    sid = SessionId(session_id)
    session = await service.session(CLI, sid)
    point = session.central_point.id
    person, _link = await service.add_participant(CLI, sid, "Trần Văn C", Role.DEFENDANT, point)
    await service.execute(
        Actor.participant(person.id), sid, "participant.join", lambda s: s.join(person.id)
    )
    person_state = (await service.session(CLI, sid)).participants[ParticipantId(person.id)].state
    assert person_state == "in_lobby"


async def test_the_minutes_download_as_docx_from_the_session_page(admin: Browser) -> None:
    session_id = await admin.schedule_hearing()
    page = await admin.get(f"/staff/sessions/{session_id}")
    assert f"/staff/sessions/{session_id}/minutes.docx" in page.text
    async with admin.client.get(f"/staff/sessions/{session_id}/minutes.docx") as response:
        assert response.status == 200
        assert response.headers["Content-Disposition"].endswith('bien-ban-88-2026-HS-ST.docx"')
        document = docx.Document(io.BytesIO(await response.read()))
    assert "BIÊN BẢN PHIÊN TÒA" in [p.text for p in document.paragraphs]
    admin.client.session.cookie_jar.clear()
    async with admin.client.get(
        f"/staff/sessions/{session_id}/minutes.docx", allow_redirects=False
    ) as response:
        assert response.status in (302, 303)


async def test_the_recording_page_plays_the_minutes_from_their_moment_and_names_roles(
    admin: Browser, clock: FakeClock, settings: Settings
) -> None:
    clock.now = RECORDING_START - timedelta(hours=1)
    admin.client.session.cookie_jar.clear()  # the login of 2026 has long expired in 2030
    assert (await admin.log_in("admin", ADMIN_PASSWORD)).status == 303
    session_id = SessionId(
        await admin.schedule_hearing(
            scheduled_start="2030-03-04T08:00", scheduled_end="2030-03-04T11:00"
        )
    )
    service = admin.service
    session = await service.session(CLI, session_id)
    judge, _link = await service.add_participant(
        CLI, session_id, "Trần Văn Chủ Tọa", Role.PRESIDING_JUDGE, session.central_point.id
    )
    pj = Actor.participant(judge.id)
    clock.now = RECORDING_START + timedelta(seconds=0.5)  # inside the recording's first second
    await service.execute(pj, session_id, "participant.join", lambda s: s.join(judge.id))
    await service.execute(pj, session_id, "session.start", lambda s: s.start(pj))
    paths = make_recording(settings.effective_recordings_dir, session_id=session_id, stopped=True)
    seal_recording(paths, ServerKey.load_or_create(settings.data_dir))
    await admin.client.server.app[RECORDINGS].register_recording(paths)

    page = await admin.get(f"/staff/recordings/{paths.recording_id}")
    assert page.status == 200, page.text
    moments = page.text.split('id="minutes-moments"')[1].split("</ol>")[0]
    offsets = [float(o) for o in re.findall(r'data-offset="([\d.]+)"', moments)]
    assert offsets and all(o == pytest.approx(0.5) for o in offsets), moments
    assert "Thẩm phán chủ tọa phiên tòa" in unescape(moments)
    people = page.text.split('id="people-title"')[1]
    assert "Nguyễn Văn A · Thẩm phán chủ tọa phiên tòa" in people
    assert "presiding_judge" not in people
    timeline = page.text.split('id="chapters"')[1].split("</ol>")[0]
    assert "Trần Thị B · Bị cáo · camera" in unescape(timeline), timeline


async def _sign_minutes(service: HearingService, session_id: str) -> None:
    """The presiding judge and the clerk of the hearing sign its minutes."""
    sid = SessionId(session_id)
    point = (await service.session(CLI, sid)).central_point.id
    for name, role in (("Nguyễn Văn Chủ", Role.PRESIDING_JUDGE), ("Lê Thị Thư", Role.CLERK)):
        person, _link = await service.add_participant(CLI, sid, name, role, point)
        now = service.clock()
        await service.change_minutes(
            person,
            sid,
            "minutes.sign",
            lambda m, p=person, r=role, at=now: m.sign(r, p, at),
            {},
        )


async def test_the_signed_pdf_and_the_case_file_download_from_the_session_page(
    admin: Browser,
) -> None:
    session_id = await admin.schedule_hearing()
    page = await admin.get(f"/staff/sessions/{session_id}")
    assert "minutes.pdf" not in page.text and "case-file.zip" not in page.text
    async with admin.client.get(f"/staff/sessions/{session_id}/minutes.pdf") as response:
        assert response.status == 409  # not signed: the refusal page, no file
    await _sign_minutes(admin.service, session_id)
    page = await admin.get(f"/staff/sessions/{session_id}", lang="vi")
    assert f"/staff/sessions/{session_id}/minutes.pdf" in page.text
    assert "Tải biên bản đã ký (PDF)" in page.text and "Tải hồ sơ vụ án (ZIP)" in page.text
    async with admin.client.get(f"/staff/sessions/{session_id}/minutes.pdf") as response:
        assert response.status == 200 and response.content_type == "application/pdf"
        assert response.headers["Content-Disposition"].endswith('bien-ban-88-2026-HS-ST.pdf"')
        assert (await response.read()).startswith(b"%PDF")
    async with admin.client.get(f"/staff/sessions/{session_id}/case-file.zip") as response:
        assert response.status == 200 and response.content_type == "application/zip"
        assert response.headers["Content-Disposition"].endswith('ho-so-88-2026-HS-ST.zip"')
        bundle = zipfile.ZipFile(io.BytesIO(await response.read()))
    assert {"index.json", "index.p7s", "minutes/bien-ban-88-2026-HS-ST.pdf"} <= set(
        bundle.namelist()
    )
    exports = admin.client.server.app[SETTINGS].data_dir / "exports"
    assert list(exports.iterdir()) == []  # the download's file is removed once sent
