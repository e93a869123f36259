"""What the edge refuses before the domain: bad credentials at connect, unknown events,
malformed and oversized payloads, floods. Every refusal is answered and audited."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from socketio import packet

from rooms.roles import StaffRole
from rooms.states import SessionState
from signaling.protocol import ABUSE_REFUSALS, MAX_MESSAGE_BYTES, MAX_SDP_BYTES, RATE_BURST
from signaling.server import SIGNALING
from signaling.transport import JsonOnlyPacket
from tests.conftest import FakeClock
from tests.signaling.harness import CLI, Hearing, staff_token


async def _connect_audit(hearing: Hearing) -> list[tuple[str, str, str]]:
    trail = await hearing.service.audit_trail(CLI, None, limit=1000)
    return [
        (e.entry.outcome, e.entry.rule, e.entry.detail["code"])
        for e in trail
        if e.entry.action == "signal.connect"
    ]


async def test_forged_tokens_and_missing_credentials_are_refused_at_connect(
    hearing: Hearing,
) -> None:
    forged = hearing.tokens["defendant"][:-4] + "AAAA"
    assert (await hearing.connect_refused("x", {"token": forged}))["rule"] == "join.token_forged"
    garbage = await hearing.connect_refused("x", {"token": "not-a-token"})
    assert garbage == {
        "code": "unauthenticated",
        "rule": "join.token_malformed",
        "message": garbage["message"],
    }
    assert garbage["message"]["vi"] and garbage["message"]["en"]
    missing = await hearing.connect_refused("x", {})
    assert missing["rule"] == "connect.credentials"
    both = await hearing.connect_refused("x", {"token": "a", "staff_token": "b"})
    assert both["rule"] == "connect.credentials"
    staff_as_join = await hearing.connect_refused("x", {"staff_token": hearing.tokens["judge"]})
    assert staff_as_join["rule"] == "auth.token_wrong_kind"

    assert await _connect_audit(hearing) == [
        ("refused", "join.token_forged", "unauthenticated"),
        ("refused", "join.token_malformed", "unauthenticated"),
        ("refused", "connect.credentials", "unauthenticated"),
        ("refused", "connect.credentials", "unauthenticated"),
        ("refused", "auth.token_wrong_kind", "unauthenticated"),
    ]
    session = await hearing.session()
    assert session.state is SessionState.SCHEDULED
    assert all(p.state.value == "invited" for p in session.participants.values())


async def test_revoked_and_expired_links_are_refused_at_connect(
    hearing: Hearing, clock: FakeClock
) -> None:
    [invitation] = await hearing.invitations("victim")
    await hearing.service.revoke_link(CLI, hearing.session_id, invitation.id)
    assert (await hearing.connect_refused("victim"))["rule"] == "join.token_revoked"

    clock.advance(timedelta(days=2))
    expired = await hearing.connect_refused("defendant")
    assert expired["rule"] == "join.token_expired"
    assert expired["code"] == "unauthenticated"


async def test_unknown_events_and_malformed_payloads_are_refused_and_audited(
    hearing: Hearing,
) -> None:
    judge, _ = await hearing.join("judge")
    before = await hearing.session()

    unknown = await judge.call("format_disk", {"ref": "u"})
    not_an_object = await judge.call("admit", ["x"])
    missing_field = await judge.call("admit", {"ref": "m"})
    extra_field = await judge.call("start", {"as_actor": hearing.ids["clerk"]})
    wrong_type = await judge.call("mute", {"lock": "yes"})
    too_long = await judge.call("suspend", {"reason": "x" * 600})
    monitor_only = await judge.call("watch", {"session_id": hearing.session_id})

    assert unknown["error"]["code"] == "unknown_event"
    assert unknown["error"]["ref"] == "u"
    assert not_an_object["error"]["code"] == "malformed"
    assert missing_field["error"]["code"] == "malformed"
    assert missing_field["error"]["fields"][0]["field"] == "participant_id"
    assert missing_field["ref"] == "m"
    assert extra_field["error"]["fields"][0] == {
        "field": "as_actor",
        "type": "extra_forbidden",
        "detail": "Extra inputs are not permitted",
    }
    assert wrong_type["error"]["fields"][0]["field"] == "lock"
    assert too_long["error"]["code"] == "malformed"
    assert monitor_only["error"]["rule"] == "protocol.sender"
    errors = await judge.wait_for("error", lambda b: b["event"] == "watch")
    assert errors["code"] == "forbidden"
    assert len(judge.received("error")) == 7

    after = await hearing.session()
    assert after.version == before.version
    audited = await hearing.audit("signal.message")
    assert [(e.detail["event"], e.rule) for e in audited] == [
        ("format_disk", "protocol.unknown_event"),
        ("admit", "protocol.malformed"),
        ("admit", "protocol.malformed"),
        ("start", "protocol.malformed"),
        ("mute", "protocol.malformed"),
        ("suspend", "protocol.malformed"),
        ("watch", "protocol.sender"),
    ]
    assert {e.actor for e in audited} == {hearing.ids["judge"]}


async def test_oversized_sdp_and_messages_are_refused(hearing: Hearing) -> None:
    defendant, _ = await hearing.join("defendant")
    sdp = "v=0\r\n" + "a=x\r\n" * (MAX_SDP_BYTES // 5)
    big_sdp = await defendant.call("offer", {"sdp": sdp, "sources": {"0": "camera"}})
    huge = await defendant.call("chat", {"text": "x" * (MAX_MESSAGE_BYTES + 10)})
    not_sdp = await defendant.call("offer", {"sdp": "hello"})
    bad_source = await defendant.call("offer", {"sdp": "v=0\r\n", "sources": {"0": "tv"}})

    assert big_sdp["error"]["code"] == "message_too_large"
    assert big_sdp["error"]["rule"] == "protocol.sdp_too_large"
    assert huge["error"]["code"] == "message_too_large"
    assert huge["error"]["rule"] == "protocol.message_too_large"
    assert not_sdp["error"]["fields"][0]["type"] == "sdp_shape"
    assert bad_source["error"]["fields"][0]["field"] == "sources.0"
    audited = await hearing.audit("signal.message")
    assert [e.rule for e in audited] == [
        "protocol.sdp_too_large",
        "protocol.message_too_large",
        "protocol.malformed",
        "protocol.malformed",
    ]


async def test_repeated_refusals_close_the_connection(hearing: Hearing) -> None:
    judge, _ = await hearing.join("judge")
    clerk, _ = await hearing.join("clerk")
    for _ in range(ABUSE_REFUSALS - 1):
        await clerk.sio.emit("nonsense", {})
    await clerk.sio.emit("nonsense", {})

    goodbye = await clerk.wait_for("goodbye")
    await asyncio.wait_for(clerk.disconnected.wait(), 5)
    assert goodbye["reason"] == "protocol.abuse"
    assert clerk.received("error")[-1]["code"] == "abuse"
    # Thrown out is gone: the domain records the connection as lost.
    await judge.wait_for(
        "session_event",
        lambda b: (
            b["event"]["payload"].get("participant_id") == hearing.ids["clerk"]
            and b["event"]["payload"].get("current") == "disconnected"
        ),
    )
    [abuse] = await hearing.audit("signal.abuse")
    assert abuse.actor == hearing.ids["clerk"]
    assert abuse.detail["refusals"] == ABUSE_REFUSALS


async def test_a_flood_is_rate_limited_audited_once_and_disconnected(hearing: Hearing) -> None:
    defendant, _ = await hearing.join("defendant")
    for _ in range(RATE_BURST + ABUSE_REFUSALS):
        await defendant.sio.emit("ping", {})

    await asyncio.wait_for(defendant.disconnected.wait(), 5)
    errors = defendant.received("error")
    assert [e["code"] for e in errors[:-1]] == ["rate_limited"] * (ABUSE_REFUSALS)
    assert errors[-1]["code"] == "abuse"
    audited = await hearing.audit("signal.message")
    limited = [e for e in audited if e.detail["code"] == "rate_limited"]
    assert len(limited) == 1
    # The client sees the socket close before the server has recorded the drop: wait for it.
    for _ in range(100):
        session = await hearing.session()
        if session.participants[hearing.ids["defendant"]].state.value == "disconnected":
            break
        await asyncio.sleep(0.05)
    assert session.participants[hearing.ids["defendant"]].state.value == "disconnected"


async def test_a_monitor_watches_read_only_and_sees_everything(hearing: Hearing) -> None:
    token = await staff_token(hearing.client, "kythuat", StaffRole.IT_STAFF)
    monitor = await hearing.connect("monitor", {"staff_token": token})
    welcome = await monitor.wait_for("welcome")
    assert welcome["connection"] == "monitor"
    assert "media" not in welcome

    watched = await monitor.call("watch", {"session_id": hearing.session_id})
    assert watched["ok"]
    assert watched["view"]["session"]["state"] == "scheduled"
    judge, _ = await hearing.join("judge")
    await hearing.join("defendant")

    body = await monitor.wait_for(
        "session_event", lambda b: b["event"]["payload"].get("current") == "in_lobby"
    )
    assert body["session_id"] == hearing.session_id
    assert {p["id"] for p in body["view"]["participants"]} == set(hearing.ids.values())
    refused = await monitor.call("start")
    assert refused["error"]["rule"] == "protocol.sender"
    assert (await hearing.session()).state is SessionState.OPEN
    [watch] = await hearing.audit("monitor.watch")
    assert watch.outcome == "accepted"

    assert (await monitor.call("unwatch", {"session_id": hearing.session_id}))["ok"]
    count = len(monitor.received("session_event"))
    assert (await judge.call("start"))["ok"]
    await judge.wait_for("session_event", lambda b: b["event"]["name"] == "session_state_changed")
    assert len(monitor.received("session_event")) == count


async def test_staff_who_may_not_monitor_are_refused(hearing: Hearing) -> None:
    clerk_token = await staff_token(hearing.client, "thuky", StaffRole.CLERK)
    refused = await hearing.connect_refused("monitor", {"staff_token": clerk_token})
    assert refused["code"] == "forbidden"
    assert refused["rule"] == "staff_permission.monitor"
    assert ("refused", "staff_permission.monitor", "forbidden") in await _connect_audit(hearing)

    token = await staff_token(hearing.client, "kythuat", StaffRole.IT_STAFF)
    monitor = await hearing.connect("monitor", {"staff_token": token})
    missing = await monitor.call("watch", {"session_id": "0" * 32})
    assert missing["error"]["code"] == "not_found"


async def test_a_monitor_of_another_court_may_not_watch(hearing: Hearing) -> None:
    service = hearing.service
    hue = await service.add_court(CLI, "TAND-HUE", "TAND thành phố Huế", "Asia/Ho_Chi_Minh")
    password = "a-password-long-enough"
    await service.add_user(CLI, "kythuat_hue", StaffRole.IT_STAFF, password, court_id=hue.id)
    token = (await service.login("kythuat_hue", password)).token
    monitor = await hearing.connect("monitor", {"staff_token": token})
    refused = await monitor.call("watch", {"session_id": hearing.session_id})
    assert refused["error"]["rule"] == "staff_permission.other_court"
    [watch] = await hearing.audit("monitor.watch")
    assert (watch.outcome, watch.rule) == ("refused", "staff_permission.other_court")


async def test_what_the_server_sends_is_never_searched_for_binary(hearing: Hearing) -> None:
    """Views are JSON (docs/signaling.md): a search for binary parts walked every view sent."""
    searched: list[object] = []
    sio = hearing.client.server.app[SIGNALING].sio
    assert sio.packet_class is JsonOnlyPacket

    class Watched(JsonOnlyPacket):
        @classmethod
        def data_is_binary(cls, data: object) -> bool:
            searched.append(data)
            return False

    sio.packet_class = Watched
    try:
        peer, welcome = await hearing.join("judge")
        assert welcome["view"]["participants"]
        assert (await peer.call("start"))["ok"]
        await peer.wait_for("session_event")
    finally:
        sio.packet_class = JsonOnlyPacket
    assert searched == []
    encoded = JsonOnlyPacket(packet.EVENT, data=["x", {"nested": [[{"a": 1}]]}]).encode()
    assert encoded == '2["x",{"nested":[[{"a":1}]]}]'
