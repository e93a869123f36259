"""Cluster mode after a SIGKILL: three server processes' worth of apps on one PostgreSQL
database and one Redis. The node holding the courtroom dies without recording anyone's
departure (its heartbeat stops, its sockets close); a surviving node sweeps the people it
held as lost, once, and the hearing is suspended. People a live node holds are never swept.

A node "dies" here by being stopped: a shutdown records no departure and leaves what it held
in Redis, exactly what a SIGKILL leaves, only the heartbeat key expires on its TTL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from hearing_server.app import create_app
from hearing_server.persistence.database import Database
from hearing_server.presence import RedisPresence, holders_key, node_key
from hearing_server.settings import Settings
from rooms.alerts import AlertKind
from rooms.participants import Actor
from rooms.states import ParticipantState, SessionState
from tests.conftest import REDIS_URL, FakeClock
from tests.signaling.harness import Client, Hearing, Peer, schedule_hearing
from web.keys import PRESENCE

pytestmark = pytest.mark.redis

DEADLINE = 30.0


async def until(condition: Callable[[], Any], what: str) -> None:
    """Wait for an (async) condition, with a deadline generous for a loaded machine."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"not within {DEADLINE} s: {what}")
        await asyncio.sleep(0.05)


def presence_of(client: Client) -> RedisPresence:
    presence = client.server.app[PRESENCE]
    assert isinstance(presence, RedisPresence)
    return presence


async def sweeps_pass(*clients: Client, count: int = 3) -> None:
    """Each of these nodes completes ``count`` more sweeps."""
    targets = [(presence_of(c), presence_of(c).sweeps + count) for c in clients]
    await until(lambda: all(p.sweeps >= n for p, n in targets), f"{count} sweeps")


@pytest.fixture
def clustered(settings: Settings) -> Settings:
    if not settings.effective_database_url.startswith("postgresql"):
        pytest.skip("cluster mode runs on PostgreSQL")
    return settings.model_copy(
        update={
            "redis_url": REDIS_URL,
            "media_enabled": False,
            # Short enough for a test, long enough that a loaded machine never misses a beat.
            "node_heartbeat_seconds": 1.0,
            "lost_connection_sweep_seconds": 0.2,
            "unheld_connection_grace_seconds": 60,
        }
    )


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def nodes(clustered: Settings, clock: FakeClock) -> AsyncIterator[list[Client]]:
    database = Database(clustered.effective_database_url, clustered.jurisdiction())
    await database.upgrade()
    await database.dispose()
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(3):
            client = TestClient(TestServer(create_app(clustered, clock=clock)))
            await stack.enter_async_context(client)
            clients.append(client)
        yield clients


async def join_at(hearing: Hearing, node: Client, who: str) -> Peer:
    peer = Peer(who)
    hearing.peers.append(peer)
    await peer.connect(str(node.server.make_url("/")), {"token": hearing.tokens[who]})
    await peer.wait_for("welcome")
    return peer


async def test_the_nodes_left_alive_sweep_what_a_dead_node_held_once(
    nodes: list[Client], redis: Redis
) -> None:
    dying, survivor, other = nodes
    hearing = await schedule_hearing(survivor)
    try:
        judge = await join_at(hearing, dying, "judge")
        clerk = await join_at(hearing, dying, "clerk")
        defendant = await join_at(hearing, survivor, "defendant")
        await hearing.admit(clerk, "defendant")
        assert (await judge.call("start"))["ok"]
        holders = await redis.hgetall(holders_key(hearing.session_id))  # type: ignore[misc]
        dead_node = presence_of(dying).node_id
        assert {k.decode(): v.decode() for k, v in holders.items()} == {
            hearing.ids["judge"]: dead_node,
            hearing.ids["clerk"]: dead_node,
            hearing.ids["defendant"]: presence_of(survivor).node_id,
        }

        # Every node alive: however often they sweep, nobody is lost.
        await sweeps_pass(survivor, other)
        assert (await hearing.session()).state is SessionState.IN_SESSION
        assert await hearing.audit("participant.disconnect") == []

        await dying.close()  # SIGKILL: nobody's departure recorded, the heartbeat stops
        assert await hearing.audit("participant.disconnect") == []
        await until(lambda: _no_key(redis, node_key(dead_node)), "the heartbeat expires")
        # Both survivors sweep at the same instant (and on their timers too): one records.
        swept = await asyncio.gather(presence_of(survivor).sweep(), presence_of(other).sweep())
        assert sum(swept) <= 2

        async def suspended() -> bool:
            return (await hearing.session()).state is SessionState.SUSPENDED

        await until(suspended, "the hearing is suspended")
        await until(lambda: _disconnects_recorded(hearing, 2), "both courtroom losses are recorded")
        await sweeps_pass(survivor, other)

        session = await hearing.session()
        people = session.participants
        assert people[hearing.ids["judge"]].state is ParticipantState.DISCONNECTED
        assert people[hearing.ids["clerk"]].state is ParticipantState.DISCONNECTED
        assert people[hearing.ids["defendant"]].state is ParticipantState.IN_SESSION
        disconnects = await hearing.audit("participant.disconnect")
        assert sorted(e.detail["participant"] for e in disconnects) == sorted(
            [hearing.ids["judge"], hearing.ids["clerk"]]
        )
        assert all(e.outcome == "accepted" for e in disconnects)  # nobody tried twice
        assert {e.detail["reason"] for e in disconnects} == {"node_lost"}
        alerts = await hearing.service.alerts(Actor.system(), hearing.session_id)
        lost = sorted(a.participant_id for a in alerts if a.kind is AlertKind.DISCONNECTED)
        assert lost == sorted([hearing.ids["judge"], hearing.ids["clerk"]])
        assert [a.kind for a in alerts].count(AlertKind.COURTROOM_LOST) == 1
        holders = await redis.hgetall(holders_key(hearing.session_id))  # type: ignore[misc]
        assert set(holders) == {hearing.ids["defendant"].encode()}

        # The judge comes back on a live node, is held by it, and is not swept again.
        judge = await join_at(hearing, survivor, "judge")
        await sweeps_pass(survivor, other)
        assert len(await hearing.audit("participant.disconnect")) == 2
        assert defendant.sio.connected and judge.sio.connected
    finally:
        await hearing.close()


async def test_someone_no_node_holds_is_swept_after_the_grace_period(
    nodes: list[Client], redis: Redis, clock: FakeClock
) -> None:
    """Redis lost what the dead node held (restarted, flushed): nobody holds the judge, who
    is swept once the grace for a join not yet recorded in Redis is over, not before."""
    dying, survivor, _other = nodes
    hearing = await schedule_hearing(survivor)
    try:
        judge = await join_at(hearing, dying, "judge")
        clerk = await join_at(hearing, survivor, "clerk")
        await dying.close()
        await redis.hdel(holders_key(hearing.session_id), hearing.ids["judge"])  # type: ignore[misc]

        await sweeps_pass(survivor)
        person = (await hearing.session()).participants[hearing.ids["judge"]]
        assert person.state is not ParticipantState.DISCONNECTED

        clock.advance(timedelta(seconds=61))
        await until(lambda: _disconnects_recorded(hearing, 1), "the unheld judge is swept")
        disconnects = await hearing.audit("participant.disconnect")
        assert [e.detail["participant"] for e in disconnects] == [hearing.ids["judge"]]
        assert disconnects[0].detail["reason"] == "connection_unheld"
        assert clerk.sio.connected and not judge.sio.connected
    finally:
        await hearing.close()


async def _no_key(redis: Redis, key: str) -> bool:
    return not await redis.exists(key)


async def _disconnects_recorded(hearing: Hearing, count: int) -> bool:
    return len(await hearing.audit("participant.disconnect")) >= count
