"""What every page shares: the favicon a browser asks for on each of them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from aiohttp.test_utils import TestClient

from tests.signaling.harness import schedule_hearing

Client = TestClient[Any, Any]
SVG = "{http://www.w3.org/2000/svg}svg"
ICON_LINK = re.compile(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">')


async def _fetch(client: Client, path: str) -> tuple[int, str, bytes]:
    async with client.get(path) as response:
        return response.status, response.content_type, await response.read()


async def test_the_favicon_is_a_small_svg_served_where_browsers_look(client: Client) -> None:
    status, content_type, icon = await _fetch(client, "/static/favicon.svg")
    assert (status, content_type) == (200, "image/svg+xml")
    root = ET.fromstring(icon)
    assert root.tag == SVG and root.get("viewBox") == "0 0 32 32"
    assert len(icon) < 2048
    # Browsers that ignore the page's link still ask for /favicon.ico: they get the same icon.
    assert await _fetch(client, "/favicon.ico") == (200, "image/svg+xml", icon)


async def test_every_kind_of_page_links_the_favicon(client: Client) -> None:
    hearing = await schedule_hearing(client)
    pages = ["/", "/staff/login", f"/join/{hearing.tokens['defendant']}", "/join/not-a-token"]
    for path in pages:
        async with client.get(path) as response:
            html = await response.text()
        assert ICON_LINK.findall(html) == ["/static/favicon.svg"], path
