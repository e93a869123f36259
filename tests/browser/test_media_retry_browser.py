"""A media link that fails to connect is retried with back-off and the person is told.

The server's real forwarder sits behind a gateway that, on the test's say, refuses the next
offers or holds one unanswered until the page's request deadline passes: the two ways the
page used to be left without a picture. The page itself is not touched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from playwright.async_api import expect

from rooms.forwarding import ForwardingPlan
from signaling.forwarding import NEGOTIATION_FAILED, ForwardingGateway
from signaling.gateway import MediaGateway, MediaRefused, ServerOfferSender
from signaling.server import SIGNALING
from tests.browser.conftest import MEDIA_TIMEOUT_MS, LiveServer, NewPage, Screenshot
from tests.browser.test_hearing_browser import join, open_link, schedule_hearing

OFFER_DEADLINE_MS = 8000
"""The page's deadline for any request (signal.js): a held offer fails after it."""


class FlakyGateway(ForwardingGateway):
    """The real forwarder; ``refuse`` offers are refused first, then one is held while
    ``hold`` is set (until the test sets the event), and later offers go through."""

    refuse: int = 0
    hold: asyncio.Event | None = None
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
        if self.refuse:
            self.refuse -= 1
            raise MediaRefused("media.negotiation", NEGOTIATION_FAILED.format(detail="test"))
        if self.hold is not None:
            held, self.hold = self.hold, None
            await held.wait()
            raise MediaRefused("media.negotiation", NEGOTIATION_FAILED.format(detail="late"))
        return await super().offer(session_id, participant_id, sdp, sources, plan)


@pytest.fixture
def gateways() -> list[FlakyGateway]:
    return []


def built_with(kind: type[ForwardingGateway], gateways: list[Any]) -> dict[str, Any]:
    """App options that build the server's forwarder as ``kind``, kept in ``gateways``."""

    def build(send_offer: ServerOfferSender) -> MediaGateway:
        gateway = kind(send_offer)
        gateways.append(gateway)
        return gateway

    return {"media": build}


@pytest.fixture
def app_options(gateways: list[FlakyGateway]) -> dict[str, Any]:
    return built_with(FlakyGateway, gateways)


async def link_state(server: LiveServer, participant_id: str) -> str:
    """How the server's own peer of the participant is connected ("none": no peer)."""
    gateway = server.app[SIGNALING].gateway
    for session_id in gateway.sessions():
        report = (await gateway.links(session_id)).get(participant_id)
        if report:
            return report.connection
    return "none"


async def test_a_failed_offer_is_retried_with_back_off_until_the_picture_comes(
    live_server: LiveServer,
    new_page: NewPage,
    screenshot: Screenshot,
    gateways: list[FlakyGateway],
) -> None:
    hearing = await schedule_hearing(live_server)
    participant = hearing.ids["defendant"]
    (gateway,) = gateways
    released = asyncio.Event()
    gateway.refuse, gateway.hold = 2, released

    page = await open_link(new_page, "defendant", hearing.links["defendant"])
    await join(page)
    await expect(page.locator("#lobby")).to_be_visible()
    banner = page.locator("#media-banner")
    attempt = banner.locator(".media-attempt")
    advice = banner.locator(".media-advice")

    # Two refusals: the page says it is trying again, counting.
    await expect(attempt).to_have_text("Đang kết nối lại hình ảnh, âm thanh… (lần 1)")
    await expect(advice).to_be_hidden()
    await expect(attempt).to_have_text("Đang kết nối lại hình ảnh, âm thanh… (lần 2)")
    # The third offer is never answered: after the deadline the page gives up on it, tells
    # the person what to check, and tries again.
    await expect(attempt).to_have_text(
        "Đang kết nối lại hình ảnh, âm thanh… (lần 3)", timeout=OFFER_DEADLINE_MS * 3
    )
    await expect(advice).to_be_visible()
    await expect(advice).to_contain_text("tải lại trang")
    await expect(banner.locator(".media-reload")).to_be_visible()
    await screenshot(page, "retrying")
    released.set()

    # The fourth goes through: the link connects and the message goes away.
    await expect(banner).to_be_hidden(timeout=MEDIA_TIMEOUT_MS)
    await expect(page.locator("#announcer")).to_have_text("Hình ảnh, âm thanh đã kết nối lại.")
    assert await link_state(live_server, participant) == "connected"
    assert gateway.offers == 4, gateway.offers
    await expect(page.locator("#error-toast")).to_be_hidden()
