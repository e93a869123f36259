"""Events reach subscribers in this process, or in every process through real Redis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from hearing_server.bus import EventMessage, LocalEventBus, RedisEventBus
from rooms import ParticipantId, SessionId
from rooms.events import ParticipantStateChanged, SessionStateChanged
from tests.conftest import REDIS_URL

EVENTS = [
    SessionStateChanged(
        session_id=SessionId("s1"), actor="pj", previous="open", current="in_session"
    ),
    ParticipantStateChanged(
        session_id=SessionId("s1"),
        actor="clerk",
        participant_id=ParticipantId("p1"),
        previous="in_lobby",
        current="in_session",
    ),
]


async def test_local_bus_delivers_in_order_and_survives_a_broken_subscriber() -> None:
    bus = LocalEventBus()
    got: list[EventMessage] = []

    async def broken(_: EventMessage) -> None:
        raise RuntimeError("subscriber bug")

    async def keep(message: EventMessage) -> None:
        got.append(message)

    bus.subscribe(broken)
    bus.subscribe(keep)
    await bus.publish(EVENTS)
    assert [m["name"] for m in got] == ["session_state_changed", "participant_state_changed"]
    assert got[1]["payload"]["participant_id"] == "p1" and got[1]["affects_media"] is True


@pytest.mark.redis
async def test_redis_bus_delivers_to_every_process() -> None:
    channel = f"hearing:test-events:{datetime.now(UTC).timestamp()}"
    publisher_redis, listener_redis = Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)
    publisher = RedisEventBus(publisher_redis, channel)
    listener = RedisEventBus(listener_redis, channel)
    got: list[EventMessage] = []
    done = asyncio.Event()

    async def keep(message: EventMessage) -> None:
        got.append(message)
        if len(got) == len(EVENTS):
            done.set()

    listener.subscribe(keep)
    await listener.start()
    try:
        await publisher.publish(EVENTS)
        await asyncio.wait_for(done.wait(), timeout=5)
    finally:
        await listener.stop()
        await publisher_redis.aclose()
        await listener_redis.aclose()
    assert [m["name"] for m in got] == ["session_state_changed", "participant_state_changed"]
    assert got[0]["payload"]["current"] == "in_session"
