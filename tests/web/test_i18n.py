"""Pages speak Vietnamese by default and English on request; every string is translated."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from web.i18n import LOCALE_DIR, area_catalogues, language, make_environment
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
    catalogue = language("vi").translations
    untranslated = sorted(m for m in extracted(area) if catalogue.gettext(m) == m)
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


def test_dates_are_shown_in_the_court_time_zone_and_language() -> None:
    moment = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    vi = make_environment("vi", TEMPLATES).from_string("{{ when|time('Asia/Ho_Chi_Minh') }}")
    en = make_environment("en", TEMPLATES).from_string("{{ when|date('Asia/Ho_Chi_Minh') }}")
    assert vi.render(when=moment) == "08:30"
    assert en.render(when=moment) == "Monday, November 23, 2026"


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
