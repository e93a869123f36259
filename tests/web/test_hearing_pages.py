"""The page behind a personal join link: what it shows, in which language, which controls the
permission table gives each role, and the clear refusal of a link that cannot be used."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from hearing_server.services import HearingService
from rooms.cases import MeetingInfo
from rooms.permissions import Action, may
from rooms.points import PointKind
from rooms.roles import Role
from tests.conftest import FakeClock
from tests.signaling.harness import CLI, START, Hearing, schedule_hearing
from web.keys import SERVICE

Client = TestClient[Any, Any]
CONFIG = re.compile(r'<script type="application/json" id="hearing-config">(.*?)</script>', re.S)


async def page(client: Client, token: str, **params: str) -> tuple[int, str, dict[str, str]]:
    async with client.get(f"/join/{token}", params=params) as response:
        return response.status, await response.text(), dict(response.headers)


def config_of(html: str) -> dict[str, Any]:
    found = CONFIG.search(html)
    assert found is not None, "the page carries its script's configuration"
    loaded: dict[str, Any] = json.loads(found.group(1))
    return loaded


async def test_a_join_link_shows_the_session_the_person_the_rules_and_the_device_check(
    client: Client,
) -> None:
    hearing = await schedule_hearing(client)
    status, html, headers = await page(client, hearing.tokens["defendant"])

    assert status == 200
    assert 'lang="vi"' in html
    for shown in (
        "Tòa án nhân dân",  # the court
        "45/2026/HS-ST",
        "Trộm cắp tài sản",
        "Nguyễn Văn Bị Cáo",
        "Bị cáo",  # the role label from rooms.roles
        "08:00",  # 01:00 UTC in the court's zone (Asia/Ho_Chi_Minh)
        "Nội quy",
        "Bắt đầu kiểm tra",
        'id="check-preview"',
        'id="check-meter"',
        'id="check-tone"',
    ):
        assert shown in html, shown
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"
    config = config_of(html)
    assert config["token"] == hearing.tokens["defendant"]
    assert config["participant_id"] == hearing.ids["defendant"]
    assert config["role_labels"]["defendant"] == "Bị cáo"
    assert config["session_states"]["suspended"] == "Tạm ngừng"
    assert config["session_commands"]["resume"] == ["suspended"]
    assert "window.I18N" in html and "/static/vendor/socket.io.min.js" in html


async def test_the_page_speaks_english_on_request(client: Client) -> None:
    hearing = await schedule_hearing(client)
    status, html, headers = await page(client, hearing.tokens["defendant"], lang="en")

    assert status == 200
    assert headers["Content-Language"] == "en"
    assert "Defendant" in html and "Start the check" in html and "Bị cáo" not in html
    assert config_of(html)["role_labels"]["presiding_judge"] == "Presiding judge"


async def test_each_role_sees_the_controls_the_permission_table_grants(client: Client) -> None:
    hearing = await schedule_hearing(client)
    pages = {who: (await page(client, token))[1] for who, token in hearing.tokens.items()}
    roles = {
        "judge": Role.PRESIDING_JUDGE,
        "clerk": Role.CLERK,
        "defendant": Role.DEFENDANT,
        "victim": Role.VICTIM,
    }
    controls = {
        Action.START: 'data-session="start"',
        Action.ADMIT: 'id="queue"',
        Action.GIVE_FLOOR: 'id="hands"',
        Action.MANAGE_CONSULTATION: 'id="consultation-form"',
        Action.SET_SCREENING: 'id="screening-form"',
        Action.MUTE_OTHERS: 'id="mute-all"',
        Action.SHARE_SCREEN: 'id="screen-button"',
    }
    for who, role in roles.items():
        config = config_of(pages[who])
        assert set(config["permissions"]) == {a.value for a in Action if may(role, a)}, who
        for action, marker in controls.items():
            assert (marker in pages[who]) == may(role, action), (who, action)
    assert "Bảng điều khiển của Thẩm phán chủ tọa" in pages["judge"]
    assert "Bảng điều khiển của Thư ký phiên tòa" in pages["clerk"]
    assert 'class="panel console"' not in pages["defendant"]
    assert config_of(pages["judge"])["identity_check_roles"].count("defendant") == 1


async def test_a_meeting_chair_gets_the_chair_console(client: Client) -> None:
    service: HearingService = client.server.app[SERVICE]
    court = (await service.courts(CLI))[0]
    meeting = await service.schedule_meeting(
        CLI, MeetingInfo(court_id=court.id, title="Họp giao ban quý IV"), START
    )
    remote = await service.add_point(CLI, meeting.id, "TAND tỉnh Bình Dương", PointKind.COURT)
    _, chair = await service.add_participant(
        CLI, meeting.id, "Chánh án", Role.CHAIR, meeting.central_point.id
    )
    _, point = await service.add_participant(
        CLI, meeting.id, "Điểm cầu Bình Dương", Role.PARTICIPANT, remote.id
    )

    _, chair_page, _ = await page(client, chair.token)
    _, point_page, _ = await page(client, point.token)

    assert "Họp giao ban quý IV" in chair_page and "Số thụ lý" not in chair_page
    assert "Bảng điều khiển của người chủ trì" in chair_page
    assert 'data-console="chair"' in chair_page and 'id="hands"' in chair_page
    assert "chủ trì cuộc họp cho phép" in point_page  # the meeting's own rules
    assert 'class="panel console"' not in point_page
    assert config_of(point_page)["kind"] == "meeting"


async def test_forged_and_malformed_links_show_only_a_clear_refusal(client: Client) -> None:
    hearing = await schedule_hearing(client)
    token = hearing.tokens["defendant"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    for bad in (forged, "not-a-token"):
        status, html, headers = await page(client, bad)
        assert status == 404
        assert "Không thể sử dụng đường dẫn này" in html
        assert "45/2026/HS-ST" not in html and "hearing-config" not in html
        assert headers["Cache-Control"] == "no-store"
    status, html, _ = await page(client, forged, lang="en")
    assert status == 404 and "This link cannot be used" in html
    assert "This join link is not valid." in html


async def test_revoked_and_expired_links_are_gone(client: Client, clock: FakeClock) -> None:
    hearing = await schedule_hearing(client)
    service = hearing.service
    invitation = (await hearing.invitations("victim"))[0]
    await service.revoke_link(CLI, hearing.session_id, invitation.id)

    status, html, _ = await page(client, hearing.tokens["victim"])
    assert status == 410 and "thu hồi" in html and "Phạm Thị Bị Hại" not in html

    clock.advance(timedelta(hours=17))  # the planned end (4 h) plus the grace (12 h) is past
    status, html, _ = await page(client, hearing.tokens["defendant"], lang="en")
    assert status == 410 and "expired" in html and "Nguyễn Văn Bị Cáo" not in html


async def test_a_link_to_a_session_that_has_ended_is_gone(client: Client) -> None:
    hearing: Hearing = await schedule_hearing(client)
    await hearing.service.execute(
        CLI, hearing.session_id, "session.cancel", lambda session: session.cancel(CLI)
    )

    status, html, _ = await page(client, hearing.tokens["judge"])

    assert status == 410
    assert "đã kết thúc, bị hoãn hoặc bị hủy" in html and "hearing-config" not in html


async def test_the_scripts_and_styles_of_the_pages_are_served(client: Client) -> None:
    for name in ("app.js", "signal.js", "media.js", "devicecheck.js", "hearing.css"):
        async with client.get(f"/static/hearing/{name}") as response:
            assert response.status == 200, name
            assert len(await response.read()) > 500, name
    async with client.get("/static/hearing/app.js") as response:
        assert "javascript" in response.content_type


async def test_the_room_page_keeps_pictures_apart_and_says_what_a_failed_link_needs(
    client: Client,
) -> None:
    """The pictures come before the controls (they stick there, hearing.css); the page
    carries the media retry message, and the judge's screening and consultation forms
    start with nobody chosen."""
    hearing = await schedule_hearing(client)
    _, judge, _ = await page(client, hearing.tokens["judge"])
    _, party, _ = await page(client, hearing.tokens["defendant"])

    for html in (judge, party):
        videos = html.index('id="videos"')
        assert videos < html.index('id="tiles"') < html.index('class="hearing-main"')
        assert videos < html.index('id="self-tile"') < html.index('id="stage"')
        assert 'id="media-banner"' in html and "hãy tải lại trang" in html
        assert '<button type="button" class="media-reload">Tải lại trang</button>' in html
    assert '<form id="screening-form" class="inline-form" novalidate>' in judge
    assert 'id="screening-error" class="error" role="alert" hidden' in judge
    moves = re.findall(r'<button [^>]*aria-describedby="consultation-hint"[^>]*>', judge)
    assert len(moves) == 2 and all(" disabled" in button for button in moves), moves
    assert 'id="screening-form"' not in party
