"""A server that stops without telling the domain (SIGKILL, power cut) left everyone "in
session". The next start, by the real app factory on the same database, treats the
connections the old process held as lost: the hearing is suspended, staff are alerted, and
people who come back return as after any lost connection.

The first server here is stopped while its clients are still connected; like a SIGKILL, that
records nobody's departure (a shutdown only says goodbye), which is what the test needs."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from hearing_server.app import create_app
from hearing_server.settings import Settings
from rooms.alerts import AlertKind
from rooms.participants import Actor
from rooms.states import ParticipantState, SessionState
from tests.conftest import FakeClock
from tests.signaling.harness import Hearing, schedule_hearing
from web.keys import SERVICE

Client = TestClient[Any, Any]


async def _live_hearing_left_behind(settings: Settings, clock: FakeClock) -> Hearing:
    async with TestClient(TestServer(create_app(settings, clock=clock))) as first:
        hearing = await schedule_hearing(first)
        judge, _ = await hearing.join("judge")
        clerk, _ = await hearing.join("clerk")
        await hearing.join("defendant")
        await hearing.admit(clerk, "defendant")
        assert (await judge.call("start"))["ok"]
        await hearing.join("victim")  # still waiting in the lobby when the server dies
    await hearing.close()
    return hearing


async def test_a_restart_treats_the_connections_the_dead_server_held_as_lost(
    client: Client, settings: Settings, clock: FakeClock
) -> None:
    await client.close()  # the shared fixture's server migrated the database; start our own
    left = await _live_hearing_left_behind(settings, clock)

    async with TestClient(TestServer(create_app(settings, clock=clock))) as second:
        hearing = Hearing(second, left.session_id, left.tokens, left.ids)
        service = second.server.app[SERVICE]
        session = await hearing.session()
        assert session.state is SessionState.SUSPENDED
        assert {p.state for p in session.participants.values()} == {ParticipantState.DISCONNECTED}
        alerts = await service.alerts(Actor.system(), hearing.session_id)
        lost = sorted(a.participant_id for a in alerts if a.kind is AlertKind.DISCONNECTED)
        assert lost == sorted(hearing.ids.values())
        assert [a.kind for a in alerts].count(AlertKind.COURTROOM_LOST) == 1
        disconnects = await hearing.audit("participant.disconnect")
        assert {e.detail["reason"] for e in disconnects} == {"server_restart"}

        # People come back as after any lost connection: to where the drop found them.
        _judge, welcome = await hearing.join("judge")
        assert welcome["view"]["you"]["state"] == "in_session"
        _victim, welcome = await hearing.join("victim")
        assert welcome["view"]["you"]["state"] == "in_lobby"
        count, breaks = await service.verify_audit(Actor.system())
        assert breaks == [] and count > 0
    await hearing.close()

    # The next start sweeps those two again, and nobody already known to be gone.
    async with TestClient(TestServer(create_app(settings, clock=clock))) as third:
        hearing = Hearing(third, left.session_id, left.tokens, left.ids)
        disconnects = await hearing.audit("participant.disconnect")
        assert len(disconnects) == len(hearing.ids) + 2
        assert (await hearing.session()).participants[hearing.ids["judge"]].state is (
            ParticipantState.DISCONNECTED
        )
