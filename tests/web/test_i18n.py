"""Pages speak Vietnamese by default and English on request; every string is translated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from rooms import dates
from rooms.alerts import ALERT_TEXT, AlertKind
from rooms.states import SESSION_STATE_LABELS, SessionState
from rooms.text import Text
from signaling.edge import GOODBYES
from web.i18n import LOCALE_DIR, area_catalogues, language, make_environment, preferred_locale
from web.pages import TEMPLATES

ROOT = Path(__file__).resolve().parents[2]
AREAS = sorted(path.stem for path in LOCALE_DIR.glob("*.cfg"))


def extracted(area: str) -> set[str]:
    with (LOCALE_DIR / f"{area}.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "t": None}
    return {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords
        )
    }


@pytest.mark.parametrize("area", AREAS)
def test_every_string_of_an_area_has_a_vietnamese_translation(area: str) -> None:
    """Run ``scripts/extract-messages`` and translate what this lists."""
    # A word both languages share ("camera") is translated by itself: what counts is an
    # entry with a reviewed (not fuzzy) text.
    translated = {
        str(message.id)
        for catalogue in area_catalogues("vi").values()
        for message in catalogue
        if message.id and message.string and not message.fuzzy
    }
    untranslated = sorted(extracted(area) - translated)
    assert untranslated == []


def test_a_string_shared_by_two_areas_reads_the_same_in_both() -> None:
    readings: dict[str, dict[str, str]] = {}
    for area, catalogue in area_catalogues("vi").items():
        for message in catalogue:
            if message.id and message.string:
                readings.setdefault(str(message.id), {})[area] = str(message.string)
    differing = {m: r for m, r in readings.items() if len(set(r.values())) > 1}
    assert differing == {}


def test_strings_used_by_scripts_reach_the_browser_only_in_their_language() -> None:
    assert language("en").script == {}
    assert all(text for text in language("vi").script.values())


def test_dates_are_written_one_way_in_the_court_time_zone_and_language() -> None:
    moment = datetime(2026, 12, 2, 3, 47, 30, tzinfo=UTC)  # 10:47:30 in Hanoi, a Wednesday
    end = moment + timedelta(hours=3)
    zone = "Asia/Ho_Chi_Minh"
    template = (
        "{{ when|datetime(zone) }} | {{ when|date(zone) }} | {{ when|time(zone) }} | "
        "{{ when|timespan(end, zone) }} | {{ zone|zone_name }}"
    )
    vi = make_environment("vi", TEMPLATES).from_string(template)
    en = make_environment("en", TEMPLATES).from_string(template)
    assert vi.render(when=moment, end=end, zone=zone) == (
        "10:47, thứ Tư 02/12/2026 | thứ Tư 02/12/2026 | 10:47 | "
        "10:47–13:47, thứ Tư 02/12/2026 | giờ Việt Nam"
    )
    assert en.render(when=moment, end=end, zone=zone) == (
        "10:47, Wednesday 2 December 2026 | Wednesday 2 December 2026 | 10:47 | "
        "10:47–13:47, Wednesday 2 December 2026 | Vietnam time"
    )
    # A slot past midnight names both days; Sunday is "Chủ nhật", not "thứ Một".
    late = datetime(2026, 12, 5, 16, 0, tzinfo=UTC)
    assert dates.span(late, late + timedelta(hours=2), zone).vi == (
        "23:00, thứ Bảy 05/12/2026 – 01:00, Chủ nhật 06/12/2026"
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en", "en"),
        ("en-GB,en;q=0.9", "en"),
        ("fr-FR,fr;q=0.9,en;q=0.8,vi;q=0.5", "en"),
        ("en;q=0.4,vi-VN;q=0.9", "vi"),
        ("de,fr", "vi"),
        ("en;q=0", "vi"),
        ("", "vi"),
        ("en;q=bogus,,;", "vi"),
    ],
)
def test_the_browser_preference_picks_the_best_language_we_speak(
    header: str, expected: str
) -> None:
    assert preferred_locale(header) == expected


async def test_accept_language_is_honoured_when_no_choice_was_made(
    client: TestClient[Any, Any],
) -> None:
    english = await client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert english.headers["Content-Language"] == "en"
    assert 'lang="en"' in await english.text()
    assert "Accept-Language" in english.headers["Vary"]
    assert "lang" not in english.cookies  # the browser's preference is not a choice to keep
    # A choice made on the page (?lang=, then its cookie) wins over the browser.
    chosen = await client.get("/?lang=vi", headers={"Accept-Language": "en"})
    assert chosen.headers["Content-Language"] == "vi"
    remembered = await client.get("/", headers={"Accept-Language": "en"})
    assert remembered.headers["Content-Language"] == "vi"


async def test_a_join_link_cut_short_is_refused_in_the_participants_words(
    client: TestClient[Any, Any],
) -> None:
    for path in ("/join/", "/join"):
        response = await client.get(path)
        body = await response.text()
        assert response.status == 404
        assert "thiếu phần mã tham gia" in body and "404: Not Found" not in body
    english = await client.get("/join/?lang=en")
    assert "This link lacks its join code" in await english.text()


def test_the_monitor_scripts_get_their_column_headers_in_vietnamese() -> None:
    """ "State" and "Microphone" are also template strings of the hearing page: the script
    of the monitor still receives them."""
    script = language("vi").script
    assert script["State"] == "Trạng thái"
    assert script["Microphone"] == "Micro"


COURT_WORDS = {
    "Suspend": "Tạm ngừng",  # the hearing's and the meeting's button alike
    "The hearing is suspended.": "Phiên tòa đang tạm ngừng.",
    "Resume": "Tiếp tục",
    "Postpone": "Hoãn",
    "Close": "Kết thúc",
    "Invite into the courtroom": "Mời vào phòng xử án",
    "Case number": "Số thụ lý",
    "Protective measures for a participant": "Biện pháp bảo vệ người tham gia tố tụng",
    "Apply the protective measure": "Áp dụng biện pháp bảo vệ",
    "Chair's console": "Bảng điều khiển của người chủ trì",
    "Admit to the meeting": "Cho vào họp",
    "not muted": "micro đang bật",
    "Camera": "Camera",
    "camera": "camera",
}


@pytest.mark.parametrize(("message", "vietnamese"), COURT_WORDS.items())
def test_the_pages_use_the_courts_own_words(message: str, vietnamese: str) -> None:
    assert language("vi").translations.gettext(message) == vietnamese


def test_no_vietnamese_text_uses_the_words_the_codes_do_not() -> None:
    """The procedure codes say "tạm ngừng", a witness is invited into the courtroom ("triệu
    tập" is the summons before the hearing), a case has a "số thụ lý"."""
    wrong = ("tạm dừng", "triệu tập", "số hồ sơ", "che chắn", "máy quay", "không bị tắt")
    texts = [
        str(message.string)
        for catalogue in area_catalogues("vi").values()
        for message in catalogue
        if message.id
    ]
    for module in ("rooms", "signaling", "recorder", "hearing_server", "web"):
        for path in (ROOT / module).rglob("*.py"):
            texts.append(path.read_text())
    found = {word for word in wrong for text in texts if word in text.lower()}
    assert found == set()


def test_the_domain_states_and_alerts_read_as_a_court_writes() -> None:
    assert SESSION_STATE_LABELS[SessionState.SUSPENDED].vi == "Tạm ngừng"
    poor = ALERT_TEXT[AlertKind.CONNECTION_POOR].format(
        name="Bị cáo", loss=0, rtt_ms=450, jitter_ms=12
    )
    assert poor.vi == (
        "Đường truyền của Bị cáo kém: mất 0% gói tin, độ trễ 450 ms, độ dao động 12 ms."
    )
    assert "đã bị đóng" in GOODBYES["connection.replaced"].vi
    # A fact that is itself bilingual fills each language with its own words.
    failed = ALERT_TEXT[AlertKind.DEVICE_CHECK_FAILED].format(
        name="Bị cáo", detail=Text("micro: không tìm thấy", "microphone: not found")
    )
    assert failed.vi == "Kiểm tra thiết bị của Bị cáo không đạt: micro: không tìm thấy."
    assert failed.en == "Bị cáo's device check failed: microphone: not found."


async def test_the_front_page_is_vietnamese_unless_english_is_chosen(
    client: TestClient[Any, Any],
) -> None:
    page = await (await client.get("/")).text()
    assert 'lang="vi"' in page and "Trạng thái" in page
    response = await client.get("/?lang=en")
    assert response.headers["Content-Language"] == "en"
    assert "Status" in await response.text()
    assert response.cookies["lang"].value == "en"
    # The choice is remembered by the cookie (the test client keeps it).
    again = await client.get("/")
    assert again.headers["Content-Language"] == "en"
    assert (await client.get("/?lang=klingon")).headers["Content-Language"] == "en"


async def test_the_socketio_browser_client_is_served_from_its_npm_package(
    client: TestClient[Any, Any],
) -> None:
    response = await client.get("/static/vendor/socket.io.min.js")
    assert response.status == 200
    assert "socket.io" in (await response.text())[:400].lower()
    assert (await client.get("/static/vendor/other.js")).status == 404
