"""A media link that is answered but never connects (ICE checks that never succeed) is given
up after the configured deadline, started again, and connects; the person is told.

The first offer is answered by a peer of its own that is closed at once: the answer is a true
one, but nothing listens where it says, so the browser's connectivity checks go unanswered
and its link stays in "checking" — the state a page used to be left in without a picture.
Later offers go to the server's real forwarder.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from playwright.async_api import expect

from rooms.forwarding import ForwardingPlan
from signaling.forwarding import ForwardingGateway
from tests.browser.conftest import MEDIA_TIMEOUT_MS, LiveServer, NewPage
from tests.browser.test_hearing_browser import join, open_link, schedule_hearing
from tests.browser.test_media_retry_browser import built_with, link_state

CONNECT_SECONDS = 4


class StrandingGateway(ForwardingGateway):
    """The real forwarder, except that the first ``strand`` offers are answered by a peer
    that is closed as soon as it has answered."""

    strand: int = 1
    offers: int = 0

    async def offer(
        self,
        session_id: str,
        participant_id: str,
        sdp: str,
        sources: Mapping[str, str],
        plan: ForwardingPlan,
    ) -> str:
        self.offers += 1
        if self.strand:
            self.strand -= 1
            gone = RTCPeerConnection()
            try:
                await gone.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
                await gone.setLocalDescription(await gone.createAnswer())
                return gone.localDescription.sdp
            finally:
                await gone.close()
        return await super().offer(session_id, participant_id, sdp, sources, plan)


@pytest.fixture
def gateways() -> list[StrandingGateway]:
    return []


@pytest.fixture
def app_options(gateways: list[StrandingGateway]) -> dict[str, Any]:
    return built_with(StrandingGateway, gateways)


@pytest.fixture
def settings_options() -> dict[str, Any]:
    return {"media_connect_seconds": CONNECT_SECONDS}


async def test_a_link_that_never_connects_is_started_again_after_the_deadline(
    live_server: LiveServer, new_page: NewPage, gateways: list[StrandingGateway]
) -> None:
    hearing = await schedule_hearing(live_server)
    participant = hearing.ids["defendant"]
    (gateway,) = gateways

    page = await open_link(new_page, "defendant", hearing.links["defendant"])
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text))
    await join(page)
    await expect(page.locator("#lobby")).to_be_visible()
    banner = page.locator("#media-banner")
    # Stuck in "checking": after the deadline the page says it is connecting again...
    await expect(banner.locator(".media-attempt")).to_have_text(
        "Đang kết nối lại hình ảnh, âm thanh… (lần 1)", timeout=MEDIA_TIMEOUT_MS
    )
    # ...and the second link, answered truly, connects and the message goes away.
    await expect(banner).to_be_hidden(timeout=MEDIA_TIMEOUT_MS)
    await expect(page.locator("#announcer")).to_have_text("Hình ảnh, âm thanh đã kết nối lại.")
    assert await link_state(live_server, participant) == "connected"
    assert gateway.offers == 2, gateway.offers
    # It was the deadline that gave up on the first link, not a failure the browser saw.
    assert any("not connected in time" in w for w in warnings), warnings
