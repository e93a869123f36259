"""A hearing run over socket.io: joining, the lobby, admission, the judge's controls, what
each person sees, leaving, and a lost courtroom suspending the hearing."""

from __future__ import annotations

import asyncio

from rooms.ids import SessionId
from rooms.participants import Actor
from rooms.session import CourtSession
from rooms.states import ParticipantState, SessionState
from tests.signaling.harness import Hearing, person_state, state_event


async def test_parties_wait_in_the_lobby_until_the_clerk_verifies_and_admits(
    hearing: Hearing,
) -> None:
    judge, judge_welcome = await hearing.join("judge")
    clerk, _ = await hearing.join("clerk")
    defendant, welcome = await hearing.join("defendant")

    assert judge_welcome["view"]["you"]["state"] == "in_session"
    assert welcome["view"]["you"]["state"] == "in_lobby"
    assert "participants" not in welcome["view"]
    assert welcome["media"]["ice_servers"][-1]["username"].endswith(hearing.ids["defendant"])
    await judge.wait_for("session_event", person_state(hearing.ids["defendant"], "in_lobby"))

    pid = hearing.ids["defendant"]
    refused = await clerk.call("admit", {"participant_id": pid, "ref": "a1"})
    assert refused["ok"] is False
    assert refused["error"]["rule"] == "policy.identity_unverified"
    assert refused["ref"] == "a1"
    assert (await clerk.call("verify_identity", {"participant_id": pid}))["ok"]
    assert (await clerk.call("admit", {"participant_id": pid}))["ok"]

    admitted = await defendant.wait_for("session_event", person_state(pid, "in_session"))
    assert admitted["view"]["you"]["state"] == "in_session"
    assert {p["id"] for p in admitted["view"]["participants"]} == set(hearing.ids.values())
    session = await hearing.session()
    assert session.participants[pid].state is ParticipantState.IN_SESSION
    assert session.participants[pid].identity_verified


async def test_the_judge_starts_suspends_and_resumes_and_everyone_is_told(
    hearing: Hearing,
) -> None:
    judge, _ = await hearing.join("judge")
    clerk, _ = await hearing.join("clerk")
    defendant, _ = await hearing.join("defendant")
    await hearing.admit(clerk, "defendant")

    for command, state in (("start", "in_session"), ("suspend", "suspended")):
        reply = await judge.call(command, {"reason": "recess"} if command == "suspend" else {})
        assert reply["ok"], reply
        for peer in (judge, clerk, defendant):
            body = await peer.wait_for("session_event", state_event(state))
            assert body["view"]["session"]["state"] == state
    assert (await hearing.session()).state is SessionState.SUSPENDED

    assert (await judge.call("resume"))["ok"]
    for peer in (judge, clerk, defendant):
        await peer.wait_for(
            "session_event",
            lambda b: (
                state_event("in_session")(b) and b["event"]["payload"]["previous"] == "suspended"
            ),
        )
    assert (await hearing.session()).state is SessionState.IN_SESSION
    accepted = await hearing.audit("session.start")
    assert [(e.actor, e.outcome) for e in accepted] == [(hearing.ids["judge"], "accepted")]


async def test_a_party_giving_a_judges_command_is_forbidden_and_nothing_changes(
    hearing: Hearing,
) -> None:
    await hearing.join("judge")
    clerk, _ = await hearing.join("clerk")
    defendant, _ = await hearing.join("defendant")
    await hearing.admit(clerk, "defendant")
    before = await hearing.session()

    reply = await defendant.call("start", {"ref": "x"})
    error = await defendant.wait_for("error", lambda b: b["event"] == "start")

    assert reply["ok"] is False
    assert error["code"] == "forbidden"
    assert error["rule"] == "permission.start"
    assert error["ref"] == "x"
    assert error["message"]["vi"] and error["message"]["en"]
    after = await hearing.session()
    assert after.state is before.state is SessionState.OPEN
    assert after.version == before.version
    refusals = await hearing.audit("session.start")
    assert [(e.actor, e.outcome, e.rule) for e in refusals] == [
        (hearing.ids["defendant"], "refused", "permission.start")
    ]


async def test_the_actor_is_the_connection_never_an_id_in_the_payload(hearing: Hearing) -> None:
    await hearing.join("judge")
    clerk, _ = await hearing.join("clerk")
    defendant, _ = await hearing.join("defendant")
    await hearing.admit(clerk, "defendant")

    # The defendant names the judge: the domain still sees the defendant muting someone.
    reply = await defendant.call("mute", {"participant_id": hearing.ids["clerk"]})
    assert reply["error"]["code"] == "forbidden"
    # Muting oneself is everyone's right and needs no id.
    assert (await defendant.call("mute"))["ok"]
    session = await hearing.session()
    assert session.participants[hearing.ids["defendant"]].muted
    assert not session.participants[hearing.ids["clerk"]].muted


async def test_people_in_the_lobby_never_receive_the_participant_list(hearing: Hearing) -> None:
    judge, _ = await hearing.join("judge")
    clerk, _ = await hearing.join("clerk")
    defendant, _ = await hearing.join("defendant")
    victim, _ = await hearing.join("victim")
    await hearing.admit(clerk, "victim")
    assert (await judge.call("start"))["ok"]
    assert (await judge.call("mute", {"participant_id": hearing.ids["victim"]}))["ok"]
    await judge.wait_for("session_event", lambda b: b["event"]["name"] == "media_control_changed")
    await defendant.wait_for("session_event", state_event("in_session"))

    for body in defendant.received("session_event") + defendant.received("welcome"):
        view = body["view"]
        assert "participants" not in view
        assert set(view["session"]) == {
            "id",
            "kind",
            "state",
            "title",
            "case_number",
            "scheduled_start",
        }
        assert view["you"]["id"] == hearing.ids["defendant"]
        assert body.get("event", {}).get("payload", {}).get("participant_id") in (
            None,
            hearing.ids["defendant"],
        )
    names = [b["event"]["name"] for b in defendant.received("session_event")]
    assert names == ["session_state_changed"]
    assert any("participants" in b["view"] for b in victim.received("session_event"))


async def test_losing_the_courtroom_suspends_the_hearing_and_every_remote_point_is_told(
    hearing: Hearing,
) -> None:
    judge, _ = await hearing.join("judge")
    clerk, _ = await hearing.join("clerk")
    defendant, _ = await hearing.join("defendant")
    victim, _ = await hearing.join("victim")
    await hearing.admit(clerk, "defendant")
    await hearing.admit(clerk, "victim")
    assert (await judge.call("start"))["ok"]
    assert (await judge.call("start_recording"))["ok"]

    await clerk.sio.disconnect()
    await judge.sio.disconnect()

    for peer in (defendant, victim):
        body = await peer.wait_for("session_event", state_event("suspended"))
        assert body["event"]["payload"]["reason"] == "courtroom_connection_lost"
        assert body["event"]["actor"] == "system"
    session = await hearing.session()
    assert session.state is SessionState.SUSPENDED
    assert session.participants[hearing.ids["judge"]].state is ParticipantState.DISCONNECTED
    assert session.recording.value == "paused"

    # The judge comes back on the same link and resumes.
    judge2, welcome = await hearing.join("judge")
    assert welcome["view"]["you"]["state"] == "in_session"
    assert (await judge2.call("resume"))["ok"]
    await victim.wait_for(
        "session_event",
        lambda b: state_event("in_session")(b) and b["event"]["payload"]["previous"] == "suspended",
    )


async def test_leaving_is_not_a_lost_connection(hearing: Hearing) -> None:
    judge, _ = await hearing.join("judge")
    clerk, _ = await hearing.join("clerk")
    assert (await judge.call("start"))["ok"]

    assert (await clerk.call("leave"))["ok"]
    goodbye = await clerk.wait_for("goodbye")
    await asyncio.wait_for(clerk.disconnected.wait(), 5)

    assert goodbye["reason"] == "participant.left"
    session = await hearing.session()
    assert session.participants[hearing.ids["clerk"]].state is ParticipantState.LEFT
    assert session.state is SessionState.IN_SESSION
    assert await hearing.audit("participant.disconnect") == []


async def test_a_removed_participant_is_told_and_let_go(hearing: Hearing) -> None:
    judge, _ = await hearing.join("judge")
    clerk, _ = await hearing.join("clerk")
    victim, _ = await hearing.join("victim")
    await hearing.admit(clerk, "victim")

    assert (await judge.call("remove", {"participant_id": hearing.ids["victim"]}))["ok"]
    goodbye = await victim.wait_for("goodbye")
    await asyncio.wait_for(victim.disconnected.wait(), 5)

    assert goodbye["reason"] == "participant.removed"
    assert goodbye["message"]["vi"]
    session = await hearing.session()
    assert session.participants[hearing.ids["victim"]].state is ParticipantState.REMOVED
    refused = await hearing.connect_refused("victim")
    assert refused["rule"] == "participant_state.enter_lobby"


async def test_a_second_connection_on_the_same_link_replaces_the_first(hearing: Hearing) -> None:
    await hearing.join("judge")
    first, _ = await hearing.join("clerk")
    second, welcome = await hearing.join("clerk")

    goodbye = await first.wait_for("goodbye")
    await asyncio.wait_for(first.disconnected.wait(), 5)

    assert goodbye["reason"] == "connection.replaced"
    assert welcome["view"]["you"]["state"] == "in_session"
    assert (await second.call("ping"))["ok"]
    session = await hearing.session()
    assert session.participants[hearing.ids["clerk"]].state is ParticipantState.IN_SESSION
    assert await hearing.audit("participant.disconnect") == []


async def test_closing_the_hearing_lets_everyone_go(hearing: Hearing) -> None:
    judge, _ = await hearing.join("judge")
    clerk, _ = await hearing.join("clerk")
    assert (await judge.call("start"))["ok"]
    assert (await judge.call("close"))["ok"]

    for peer in (judge, clerk):
        assert (await peer.wait_for("goodbye"))["reason"] == "session.closed"
        await asyncio.wait_for(peer.disconnected.wait(), 5)
    session = await hearing.session()
    assert session.state is SessionState.CLOSED
    assert session.participants[hearing.ids["judge"]].state is ParticipantState.IN_SESSION


async def test_one_command_with_many_events_loads_the_session_once_for_all_of_them(
    hearing: Hearing,
) -> None:
    """Muting everyone in a meeting of hundreds of points must not mean hundreds of loads."""
    judge, _ = await hearing.join("judge")
    clerk, _ = await hearing.join("clerk")
    for who in ("defendant", "victim"):
        await hearing.join(who)
        await hearing.admit(clerk, who)
    service = hearing.service
    loads = 0
    load = service.session

    async def counted(actor: Actor, session_id: SessionId) -> CourtSession:
        nonlocal loads
        loads += 1
        return await load(actor, session_id)

    service.session = counted  # type: ignore[method-assign]
    try:
        assert (await judge.call("mute_all"))["ok"]
        for who in ("defendant", "victim"):
            pid = hearing.ids[who]
            await clerk.wait_for(
                "session_event",
                lambda b, pid=pid: (
                    b["event"]["name"] == "media_control_changed"
                    and b["event"]["payload"]["participant_id"] == pid
                ),
            )
    finally:
        del service.session
    muted = [
        b for b in clerk.received("session_event") if b["event"]["name"] == "media_control_changed"
    ]
    assert len(muted) >= 2
    assert all(b["view"]["session"] == muted[-1]["view"]["session"] for b in muted)
    assert loads == 0  # the broadcast reads the session as the command saved it
