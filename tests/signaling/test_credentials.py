"""Refusals counted per credential (not per connection), coalesced in the audit log and the
alerts; and ending a credential (a revoked link, a removed person, a staff account or token)
closes what it holds open, at once."""

from __future__ import annotations

import asyncio

import pytest

from hearing_server.bus import CredentialKind
from rooms.participants import Actor
from rooms.roles import StaffRole
from signaling.protocol import ABUSE_REFUSALS
from tests.signaling.harness import CLI, ConnectRefused, Hearing, Peer, staff_token


async def _abuse(peer: Peer) -> None:
    for _ in range(ABUSE_REFUSALS):
        await peer.sio.emit("nonsense", {})
    await asyncio.wait_for(peer.disconnected.wait(), 5)


async def test_abuse_is_counted_per_credential_across_reconnects(hearing: Hearing) -> None:
    judge, _ = await hearing.join("judge")
    clerk, _ = await hearing.join("clerk")
    await _abuse(clerk)
    assert (await clerk.wait_for("goodbye"))["reason"] == "protocol.abuse"

    # Reconnecting does not start a fresh count: the link stays out for the window.
    for _ in range(5):
        with pytest.raises(ConnectRefused) as refused:
            await hearing.connect("clerk")
        assert refused.value.data["data"]["rule"] == "protocol.abuse"
    # Other people are not affected.
    victim, welcome = await hearing.join("victim")
    assert welcome["connection"] == "participant"

    rows = await hearing.service.audit_trail(CLI, None, limit=1000)
    refusals = [e.entry for e in rows if e.entry.action.startswith("signal.")]
    assert len([e for e in refusals if e.action == "signal.message"]) == ABUSE_REFUSALS
    assert len([e for e in refusals if e.action == "signal.abuse"]) == 1
    # The refused reconnects are counted, not written one by one.
    assert [e for e in refusals if e.action == "signal.connect"] == []
    await hearing.client.server.app.shutdown()
    rows = await hearing.service.audit_trail(CLI, None, limit=1000)
    [coalesced] = [e.entry for e in rows if e.entry.action == "signal.coalesced"]
    assert coalesced.detail["refusals"] == 5
    assert coalesced.actor == hearing.ids["clerk"]
    assert judge and victim


async def test_a_client_that_keeps_reconnecting_raises_one_disconnected_alert(
    hearing: Hearing,
) -> None:
    for _ in range(4):
        peer, _ = await hearing.join("defendant")
        await peer.close()
        await _until(hearing, "defendant", "disconnected")
    alerts = await hearing.service.alerts(Actor.system(), hearing.session_id)
    assert [a.kind.value for a in alerts] == ["disconnected"]


async def _until(hearing: Hearing, who: str, state: str) -> None:
    for _ in range(200):
        session = await hearing.session()
        if session.participants[hearing.ids[who]].state.value == state:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{who} never became {state}")


async def test_a_revoked_link_closes_the_connection_it_holds(hearing: Hearing) -> None:
    judge, _ = await hearing.join("judge")
    victim, _ = await hearing.join("victim")
    assert (await victim.call("raise_hand"))["ok"]
    [invitation] = await hearing.invitations("victim")

    await hearing.service.revoke_link(CLI, hearing.session_id, invitation.id)

    goodbye = await victim.wait_for("goodbye")
    assert goodbye["reason"] == "link.revoked"
    assert goodbye["message"]["vi"] and goodbye["message"]["en"]
    await asyncio.wait_for(victim.disconnected.wait(), 5)
    assert (await hearing.connect_refused("victim"))["rule"] == "join.token_revoked"
    await _until(hearing, "victim", "disconnected")
    assert judge.sio.connected


async def test_a_reissued_link_closes_what_the_old_link_holds(hearing: Hearing) -> None:
    """A clerk re-issues a link because the old one leaked: whoever holds the old one is
    let go at once, as for a revoked link, and the new link joins."""
    judge, _ = await hearing.join("judge")
    victim, _ = await hearing.join("victim")
    [old] = await hearing.invitations("victim")

    new = await hearing.service.issue_link(CLI, hearing.session_id, hearing.ids["victim"])
    assert new.replaced == (old.id,)

    goodbye = await victim.wait_for("goodbye")
    assert goodbye["reason"] == "link.revoked"
    await asyncio.wait_for(victim.disconnected.wait(), 5)
    assert (await hearing.connect_refused("victim"))["rule"] == "join.token_revoked"
    again = await hearing.connect("victim", {"token": new.token})
    welcome = await again.wait_for("welcome")
    assert welcome["participant_id"] == hearing.ids["victim"]
    assert judge.sio.connected


async def test_a_removed_person_is_let_go_at_once(hearing: Hearing) -> None:
    judge, _ = await hearing.join("judge")
    clerk, _ = await hearing.join("clerk")
    victim, _ = await hearing.join("victim")
    await hearing.admit(clerk, "victim")
    assert (await judge.call("remove", {"participant_id": hearing.ids["victim"]}))["ok"]

    assert (await victim.wait_for("goodbye"))["reason"] == "participant.removed"
    refused = await victim.call("raise_hand")
    assert refused["error"]["rule"] == "connection.left"
    await asyncio.wait_for(victim.disconnected.wait(), 5)


async def test_ending_a_staff_account_or_token_closes_its_monitors(hearing: Hearing) -> None:
    token = await staff_token(hearing.client, "kythuat", StaffRole.IT_STAFF)
    first = await hearing.connect("monitor", {"staff_token": token})
    second = await hearing.connect("monitor", {"staff_token": token})
    await first.wait_for("welcome")
    await second.wait_for("welcome")
    actor, user = await hearing.service.authenticate_staff(token)
    assert actor.id.endswith(user.id)

    await hearing.service.end_credential(CredentialKind.STAFF_USER, user.id, "account.deactivated")

    for monitor in (first, second):
        assert (await monitor.wait_for("goodbye"))["reason"] == "account.deactivated"
        await asyncio.wait_for(monitor.disconnected.wait(), 5)


async def test_logging_out_closes_that_tokens_monitors_only(hearing: Hearing) -> None:
    token = await staff_token(hearing.client, "kythuat2", StaffRole.IT_STAFF)
    other = (await hearing.service.login("kythuat2", "a-password-long-enough")).token
    leaving = await hearing.connect("monitor", {"staff_token": token})
    staying = await hearing.connect("monitor", {"staff_token": other})
    await leaving.wait_for("welcome")
    await staying.wait_for("welcome")

    reply = await hearing.client.post(
        "/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}
    )
    assert reply.status == 204, await reply.text()

    assert (await leaving.wait_for("goodbye"))["reason"] == "auth.logged_out"
    await asyncio.wait_for(leaving.disconnected.wait(), 5)
    # The same account's other login is another token: it stays open.
    assert (await staying.call("ping"))["ok"]
    assert not staying.disconnected.is_set()


async def test_deactivating_an_account_through_the_api_closes_its_monitors(
    hearing: Hearing,
) -> None:
    token = await staff_token(hearing.client, "kythuat3", StaffRole.IT_STAFF)
    monitor = await hearing.connect("monitor", {"staff_token": token})
    await monitor.wait_for("welcome")
    _, user = await hearing.service.authenticate_staff(token)

    await hearing.service.set_user_active(CLI, user.id, False)

    assert (await monitor.wait_for("goodbye"))["reason"] == "account.deactivated"
    await asyncio.wait_for(monitor.disconnected.wait(), 5)
