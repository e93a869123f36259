"""The protocol tables, payload parsing and the flood counters, without a server."""

from __future__ import annotations

import inspect

import pytest
import socketio

from rooms.ids import ParticipantId
from rooms.participants import Actor
from rooms.session import CourtSession
from signaling import protocol as p
from signaling.commands import COMMANDS, Mute
from signaling.ratelimit import CoalescedRefusals, RefusalLedger, RefusalWindow, TokenBucket


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_every_command_has_one_payload_model_and_names_an_aggregate_method() -> None:
    assert set(COMMANDS) == set(p.COMMAND_PAYLOADS)
    for name, command in COMMANDS.items():
        assert command.name == name
        assert command.payload is p.COMMAND_PAYLOADS[name]
        assert p.CLIENT_EVENTS[name].senders == {p.Sender.PARTICIPANT}
    aggregate = {n for n, _ in inspect.getmembers(CourtSession, inspect.isfunction)}
    methods = {name.replace("screen_share", "set_screen_share") for name in COMMANDS}
    assert methods <= aggregate


def test_a_command_is_built_from_the_payload_and_the_connection_actor_only() -> None:
    judge = Actor.participant(ParticipantId("j"), "Judge")
    mute = COMMANDS["mute"].from_payload(judge, p.Mute())
    assert mute == Mute(judge, ParticipantId("j"), lock=False)
    assert mute.audit_action == "session.mute"
    assert mute.audit_detail() == {"participant_id": "j", "lock": False}
    lower = COMMANDS["lower_hand"].from_payload(judge, p.OptionalTarget())
    assert lower.audit_detail() == {}
    move = COMMANDS["move_to_consultation"].from_payload(
        judge, p.ConsultationMove(participant_ids=["a", "b"], room_name="Phòng 1")
    )
    assert move.audit_detail() == {"participant_ids": ("a", "b"), "room_name": "Phòng 1"}


def test_every_payload_forbids_unknown_fields_and_coercion() -> None:
    for spec in p.CLIENT_EVENTS.values():
        assert spec.model.model_config["extra"] == "forbid"
        assert spec.model.model_config["strict"] is True
    with pytest.raises(p.Refusal) as caught:
        p.parse_payload(p.Target, ({"participant_id": 5},))
    assert caught.value.code == "malformed"
    assert caught.value.fields[0]["field"] == "participant_id"


@pytest.mark.parametrize(
    ("args", "rule"),
    [
        ((["a"],), "protocol.malformed"),
        (({"participant_id": "a"}, {"b": 1}), "protocol.malformed"),
        (({"participant_id": "a b"},), "protocol.malformed"),
        (({"participant_id": b"\x00"},), "protocol.malformed"),
        (({"participant_id": "a", "ref": "r" * 65},), "protocol.malformed"),
        (({"participant_id": "a" * p.MAX_MESSAGE_BYTES},), "protocol.message_too_large"),
    ],
)
def test_bad_payloads_are_refused_with_a_rule(args: tuple[object, ...], rule: str) -> None:
    with pytest.raises(p.Refusal) as caught:
        p.parse_payload(p.Target, args)
    assert caught.value.rule == rule
    assert caught.value.message.vi and caught.value.message.en


def test_a_missing_payload_is_an_empty_object() -> None:
    assert p.parse_payload(p.Empty, ()) == p.Empty()
    assert p.parse_payload(p.Empty, (None,)) == p.Empty()
    assert p.parse_payload(p.WithReason, ({"reason": "recess", "ref": "7"},)).ref == "7"


def test_sdp_size_is_counted_in_bytes_not_characters() -> None:
    fits = "v=0\r\n" + "a" * (p.MAX_SDP_BYTES - 5)
    assert p.parse_payload(p.Answer, ({"sdp": fits},)).sdp == fits
    # Two bytes a character: under the limit in characters, over it in bytes.
    wide = "v=0\r\n" + "é" * (p.MAX_SDP_BYTES // 2)
    with pytest.raises(p.Refusal) as caught:
        p.parse_payload(p.Answer, ({"sdp": wide},))
    assert caught.value.rule == "protocol.sdp_too_large"


def test_connect_auth_needs_exactly_one_credential() -> None:
    assert p.parse_auth({"token": "t"}).token == "t"
    assert p.parse_auth({"staff_token": "s"}).staff_token == "s"
    for auth in (None, {}, {"token": "t", "staff_token": "s"}, {"token": 1}, "t", {"x": "t"}):
        with pytest.raises(p.Refusal) as caught:
            p.parse_auth(auth)
        assert caught.value.code == "unauthenticated"


def test_the_bucket_allows_a_burst_then_the_sustained_rate() -> None:
    ticks = Ticks()
    bucket = TokenBucket(burst=3, rate=2.0, clock=ticks)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    ticks.now += 0.5
    assert [bucket.take(), bucket.take()] == [True, False]
    ticks.now += 60
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(burst=0, rate=1.0)


def test_refusals_count_only_within_the_window() -> None:
    ticks = Ticks()
    window = RefusalWindow(limit=3, window=60.0, clock=ticks)
    assert [window.add(), window.add()] == [False, False]
    ticks.now += 61
    assert window.add() is False
    assert len(window) == 1
    assert [window.add(), window.add()] == [False, True]


def test_the_ledger_counts_a_credential_blocks_it_for_a_window_and_coalesces() -> None:
    ticks = Ticks()
    ledger = RefusalLedger(limit=3, window=60.0, clock=ticks)
    verdicts = [ledger.refuse("invitation:a", "a", "s") for _ in range(5)]
    assert [(v.write, v.abusive, v.first_abuse) for v in verdicts] == [
        (True, False, False),
        (True, False, False),
        (True, True, True),
        (False, True, False),
        (False, True, False),
    ]
    assert ledger.blocked("invitation:a") and not ledger.blocked("invitation:b")
    assert ledger.due() == []  # still inside the blocked window
    ticks.now += 61
    assert ledger.due() == [CoalescedRefusals("invitation:a", "a", "s", 2)]
    assert not ledger.blocked("invitation:a")
    assert ledger.refuse("invitation:a", "a", "s").write  # a fresh window
    ticks.now += 61
    assert ledger.due() == []
    assert ledger.refusals("invitation:a") == 0  # forgotten once nothing is left


def test_what_the_transport_replaces_in_python_socketio_is_still_there() -> None:
    """``signaling/transport.py`` overrides these; a new python-socketio must fail here."""
    server = socketio.AsyncServer
    expected = {
        "_handle_event_internal": ["self", "server", "sid", "eio_sid", "data", "namespace", "id"],
        "_handle_event": ["self", "eio_sid", "namespace", "id", "data"],
        "_handle_eio_message": ["self", "eio_sid", "data"],
        "_handle_eio_disconnect": ["self", "eio_sid", "reason"],
    }
    for name, parameters in expected.items():
        assert list(inspect.signature(getattr(server, name)).parameters) == parameters, name
    assert server.reserved_events == ["connect", "disconnect"]
    assert set(server.reserved_events) <= p.RESERVED_EVENTS


def test_engineio_still_posts_through_the_socket_the_guard_replaces() -> None:
    """signaling.transport swaps a new session's class to guard its long-polling POSTs; that
    holds only while Engine.IO makes plain AsyncSockets and posts through their method."""
    import inspect

    from engineio import async_server, async_socket

    assert "async_socket.AsyncSocket(self, sid)" in inspect.getsource(
        async_server.AsyncServer._handle_connect
    )
    assert "await socket.handle_post_request(environ)" in inspect.getsource(
        async_server.AsyncServer.handle_request
    )
    init = inspect.getsource(async_socket.AsyncSocket.__init__) + inspect.getsource(
        async_socket.AsyncSocket.__mro__[1].__init__
    )
    assert "self.server = server" in init and "self.sid = sid" in init
