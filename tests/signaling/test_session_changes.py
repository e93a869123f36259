"""A command reaches each connection as one ``session_event`` with only what changed in its
view; a client that misses one re-syncs with the whole view (docs/signaling.md, Views)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from rooms.cases import MeetingInfo
from rooms.points import PointKind
from rooms.roles import Role
from signaling.client import HeadlessParticipant
from signaling.server import SIGNALING
from tests.signaling.harness import CLI, START, WAIT, Client, Hearing, Peer, person_state
from web.keys import SERVICE

MEETING_POINTS = 30


async def meeting_of(client: Client, points: int) -> tuple[Hearing, list[str]]:
    """A meeting with a chair and ``points - 1`` remote points of one participant each."""
    service = client.server.app[SERVICE]
    court = (await service.courts(CLI))[0]
    info = MeetingInfo(court.id, "Họp giao ban", "Văn phòng", "Chánh án")
    meeting = await service.schedule_meeting(CLI, info, START, START + timedelta(hours=2))
    chair, link = await service.add_participant(
        CLI, meeting.id, "Chánh án", Role.CHAIR, meeting.central_point.id
    )
    tokens, ids = {"chair": link.token}, {"chair": chair.id}
    for n in range(1, points):
        site = await service.add_point(CLI, meeting.id, f"Điểm cầu {n}", PointKind.COURT)
        person, link = await service.add_participant(
            CLI, meeting.id, f"Điểm cầu {n}", Role.PARTICIPANT, site.id
        )
        tokens[f"p{n}"], ids[f"p{n}"] = link.token, person.id
    return Hearing(client, meeting.id, tokens, ids), [f"p{n}" for n in range(1, points)]


async def until(condition: Any) -> None:
    async with asyncio.timeout(WAIT):
        while not condition():  # noqa: ASYNC110 - several peers' records, no one condition
            await asyncio.sleep(0.02)


async def test_an_admission_in_a_30_point_meeting_sends_each_connection_one_entry(
    client: Client,
) -> None:
    meeting, remote = await meeting_of(client, MEETING_POINTS)
    try:
        chair, _ = await meeting.join("chair")
        peers: dict[str, Peer] = {"chair": chair}
        for who in remote:
            peers[who], _ = await meeting.join(who)
        *earlier, last = remote
        for who in earlier:
            assert (await chair.call("admit", {"participant_id": meeting.ids[who]}))["ok"]
        await until(
            lambda: all(
                p.views[meeting.session_id]["you"]["state"] == "in_session"
                for w, p in peers.items()
                if w != last
            )
        )
        before = {who: len(peer.messages) for who, peer in peers.items()}

        last_id = meeting.ids[last]
        assert (await chair.call("admit", {"participant_id": last_id}))["ok"]
        for peer in peers.values():
            await peer.wait_for("session_event", person_state(last_id, "in_session"))
        await chair.call("ping")  # anything sent for the admission is in before the reply

        for who, peer in peers.items():
            [message] = peer.messages[before[who] :]
            assert [e["name"] for e in message["events"]] == ["participant_state_changed"]
            assert message["since"] < message["version"]
            if who == last:  # from the lobby: the whole list, once
                assert len(message["changes"]["participants"]) == MEETING_POINTS
            else:
                assert list(message["changes"]["participants"]) == [last_id]
                assert message["changes"]["participants"][last_id]["state"] == "in_session"
                assert "you" not in message["changes"]
            view = peer.views[meeting.session_id]
            assert len(view["participants"]) == MEETING_POINTS
            assert peer.gaps == []
    finally:
        await meeting.close()


async def test_the_events_of_one_command_travel_in_one_message_per_connection(
    hearing: Hearing,
) -> None:
    judge, _ = await hearing.join("judge")
    clerk, _ = await hearing.join("clerk")
    others = {who: (await hearing.join(who))[0] for who in ("defendant", "victim")}
    for who in others:
        await hearing.admit(clerk, who)
    await until(
        lambda: all(
            p.views[hearing.session_id]["you"]["state"] == "in_session" for p in others.values()
        )
    )
    before = len(clerk.messages)

    assert (await judge.call("mute_all", {}))["ok"]
    await judge.call("ping")
    await until(lambda: len(clerk.messages) > before)

    [message] = clerk.messages[before:]
    muted = {e["payload"]["participant_id"] for e in message["events"]}
    assert muted == set(message["changes"]["participants"]) and len(muted) >= 2
    assert all(entry["muted"] for entry in message["changes"]["participants"].values())


async def test_a_client_that_misses_a_message_asks_for_the_whole_view(hearing: Hearing) -> None:
    judge, _ = await hearing.join("judge")
    victim = HeadlessParticipant(
        hearing.url.rstrip("/"), hearing.tokens["victim"], audio=False, video=False, timeout=WAIT
    )
    edge = hearing.client.server.app[SIGNALING].edge
    try:
        await victim.join()
        await hearing.admit(judge, "victim")
        await victim.wait_view(lambda view: view["you"]["state"] == "in_session")
        victim_sid = victim.sio.get_sid()
        send = edge.emit
        lost: list[dict[str, Any]] = []

        async def lose_one(sid: str, event: str, body: Any) -> None:
            if sid == victim_sid and event == "session_event" and not lost:
                lost.append(body)  # the network ate it
                return
            await send(sid, event, body)

        edge.emit = lose_one  # type: ignore[method-assign]
        victim_id = hearing.ids["victim"]
        assert (await judge.call("mute", {"participant_id": victim_id}))["ok"]  # lost
        assert lost
        assert (await victim.call("raise_hand"))["ok"]  # does not follow what the victim holds

        view = await victim.wait_view(lambda _view: victim.resyncs == 1)
        assert (view["you"]["muted"], view["you"]["hand"]) == (True, True)
        assert victim.version == (await hearing.session()).version
        assert {p["id"] for p in view["participants"]} == set(hearing.ids.values())

        assert (await judge.call("lower_hand", {"participant_id": victim_id}))["ok"]
        view = await victim.wait_view(lambda view: not view["you"]["hand"])
        assert victim.resyncs == 1  # followed by its changes again
        assert victim.version == (await hearing.session()).version
    finally:
        await victim.close()


async def test_an_admission_is_told_to_everyone_without_loading_the_session_again(
    client: Client,
) -> None:
    """The broadcaster reads the session as the command saved it: one load per command (the
    command's own), not a second one for the messages (each query is a turn of a loop that
    also forwards the meeting's media)."""
    meeting, remote = await meeting_of(client, 4)
    service = client.server.app[SERVICE]
    try:
        chair, _ = await meeting.join("chair")
        peers = {who: (await meeting.join(who))[0] for who in remote}
        loads = 0
        session_of = service.session

        async def counted(*args: Any, **kwargs: Any) -> Any:
            nonlocal loads
            loads += 1
            return await session_of(*args, **kwargs)

        service.session = counted  # type: ignore[method-assign]
        for who, peer in peers.items():
            assert (await chair.call("admit", {"participant_id": meeting.ids[who]}))["ok"]
            await peer.wait_for("session_event", person_state(meeting.ids[who], "in_session"))
        await chair.call("ping")
        assert loads == 0
        for who in remote:
            await chair.wait_for("session_event", person_state(meeting.ids[who], "in_session"))
    finally:
        await meeting.close()
