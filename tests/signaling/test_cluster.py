"""Cluster mode: two server processes' worth of apps sharing Redis and one database. Domain
events reach every connection whichever process holds it; chat crosses processes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hearing_server.app import create_app
from hearing_server.settings import Settings
from tests.conftest import REDIS_URL, FakeClock
from tests.signaling.harness import Hearing, Peer, schedule_hearing, state_event

pytestmark = pytest.mark.redis


@pytest.fixture
async def two_nodes(settings: Settings, clock: FakeClock) -> AsyncIterator[tuple[Hearing, str]]:
    if settings.effective_database_url.startswith("postgresql"):
        pytest.skip("one database engine is enough to show the fan-out")
    clustered = settings.model_copy(update={"redis_url": REDIS_URL})
    async with (
        TestClient(TestServer(create_app(clustered, clock=clock))) as first,
        TestClient(TestServer(create_app(clustered, clock=clock))) as second,
    ):
        hearing = await schedule_hearing(first)
        try:
            yield hearing, str(second.server.make_url("/"))
        finally:
            await hearing.close()


async def test_events_and_chat_reach_people_on_the_other_node(
    two_nodes: tuple[Hearing, str],
) -> None:
    hearing, other_url = two_nodes
    judge, _ = await hearing.join("judge")
    clerk = Peer("clerk")
    hearing.peers.append(clerk)
    await clerk.connect(other_url, {"token": hearing.tokens["clerk"]})
    await clerk.wait_for("welcome")
    defendant, _ = await hearing.join("defendant")

    await hearing.admit(clerk, "defendant")
    assert (await judge.call("start"))["ok"]
    for peer in (judge, clerk, defendant):
        await peer.wait_for("session_event", state_event("in_session"))
    # Each node serves its own connections: nobody gets an event twice.
    starts = [b for b in clerk.received("session_event") if state_event("in_session")(b)]
    assert len(starts) == 1

    assert (await defendant.call("chat", {"text": "Xin chào"}))["ok"]
    message = await clerk.wait_for("chat")
    assert message["text"] == "Xin chào"
    assert len(judge.received("chat")) == 1
