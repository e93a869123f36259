"""Input no honest client sends, spoken frame by frame: reserved event names, broken and
binary frames, strings that are not valid Unicode, an SDP the media stack chokes on. Each gets
an answer (or, for broken transport frames, a closed connection), nothing changes, and the log
stays short."""

from __future__ import annotations

import json
import logging

import pytest

from rooms.states import SessionState
from tests.signaling.harness import CLI, Client, Hearing, RawSocket


async def _raw_participant(hearing: Hearing, who: str) -> RawSocket:
    raw = await RawSocket.open(hearing.client)
    answer = await raw.connect({"token": hearing.tokens[who]})
    assert answer.startswith("40{"), answer
    await raw.next_frame(lambda f: isinstance(f, str) and f.startswith('42["welcome"'))
    return raw


async def test_reserved_event_names_never_reach_the_lifecycle_handlers(hearing: Hearing) -> None:
    judge = await _raw_participant(hearing, "judge")
    await hearing.join("clerk")
    assert (await judge.call(1, "start", {}))["ok"]

    disconnect = await judge.call(2, "disconnect", "x")
    switch = await judge.call(3, "connect", {}, {"token": hearing.tokens["defendant"]})
    star = await judge.call(4, "*", {})

    for reply in (disconnect, switch, star):
        assert reply["ok"] is False
        assert reply["error"]["code"] == "unknown_event"
        assert reply["error"]["rule"] == "protocol.reserved_event"
        assert reply["error"]["message"]["vi"] and reply["error"]["message"]["en"]
    session = await hearing.session()
    assert session.state is SessionState.IN_SESSION
    assert session.participants[hearing.ids["judge"]].state.value == "in_session"
    assert session.participants[hearing.ids["defendant"]].state.value == "invited"
    # Still the judge on the same socket: a judge's command is accepted.
    assert (await judge.call(5, "suspend", {"reason": "recess"}))["ok"]
    audited = await hearing.audit("signal.message")
    assert [(e.detail["event"], e.rule) for e in audited] == [
        ("disconnect", "protocol.reserved_event"),
        ("connect", "protocol.reserved_event"),
        ("*", "protocol.reserved_event"),
    ]
    await judge.close()


async def test_broken_frames_before_connecting_cost_one_short_log_line(
    hearing: Hearing, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    raw = await RawSocket.open(hearing.client)
    for _ in range(200):
        await raw.send(b"\x00")
    await raw.wait_closed()
    await raw.close()

    written = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(written) == 1, [r.getMessage() for r in written]
    assert written[0].exc_info is None
    assert len(written[0].getMessage()) < 300
    # Counted: the server still serves an honest client.
    _peer, welcome = await hearing.join("judge")
    assert welcome["connection"] == "participant"


@pytest.mark.parametrize(
    "frame",
    ['42{"not":"a list"}', "42", "4x", '42["chat",', "49", "4" * 5],
)
async def test_malformed_socketio_frames_close_the_connection_quietly(
    hearing: Hearing, caplog: pytest.LogCaptureFixture, frame: str
) -> None:
    raw = await _raw_participant(hearing, "victim")
    with caplog.at_level(logging.WARNING):
        await raw.send(frame)
        await raw.send(frame)
        await raw.wait_closed()
    await raw.close()
    assert all(r.exc_info is None for r in caplog.records)
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) <= 1


async def test_a_lone_surrogate_is_refused_answered_and_audited(hearing: Hearing) -> None:
    judge = await _raw_participant(hearing, "judge")
    await judge.send('421["\\ud800",{}]')
    reply = await judge.ack(1)
    await judge.send('422["suspend",{"reason":"\\udfff"}]')
    reason = await judge.ack(2)

    assert reply["error"]["code"] == "unknown_event"
    assert reply["error"]["event"] == "\ud800"
    assert reason["error"]["code"] == "malformed"
    audited = await hearing.audit("signal.message")
    assert [(e.detail["event"], e.rule) for e in audited] == [
        ("\\ud800", "protocol.unknown_event"),
        ("suspend", "protocol.malformed"),
    ]
    count, breaks = await hearing.service.verify_audit(CLI)
    assert count > 0 and breaks == []
    await judge.close()


async def test_an_sdp_the_media_stack_cannot_read_gets_a_clear_refusal(hearing: Hearing) -> None:
    defendant, _ = await hearing.join("defendant")
    sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" + (
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
        "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
        "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\n"
        "a=sendrecv\r\na=rtpmap:111 opus/48000/2\r\n"
    )
    reply = await defendant.call("offer", {"sdp": sdp, "sources": {"0": "microphone"}})
    assert reply["ok"] is False
    assert reply["error"]["code"] in ("media_error", "server_error")
    assert reply["error"]["message"]["vi"] and reply["error"]["message"]["en"]
    assert await defendant.wait_for("error", lambda b: b["event"] == "offer")
    audited = await hearing.audit("signal.message")
    assert [e.detail["event"] for e in audited] == ["offer"]


async def test_the_audit_chain_verifies_entries_written_before_escaping() -> None:
    from datetime import UTC, datetime

    from rooms.audit import GENESIS_HASH, AuditEntry, SealedEntry, chain_hash, verify_chain

    plain = AuditEntry(datetime(2026, 1, 1, tzinfo=UTC), "a", "x", "accepted", detail={"v": "é"})
    # The hash of an entry without surrogates is what it was before escaping existed.
    assert chain_hash(GENESIS_HASH, plain) == (
        "6d72de6cc8b7afa6b676adb3d74d822c61d36bd87d1982fcc65edf37cef730c7"
    )
    sealed = SealedEntry(1, plain, GENESIS_HASH, chain_hash(GENESIS_HASH, plain))
    odd = AuditEntry(plain.at, "a\ud800", "x", "refused", detail={"k\udc00": ["\ud800"]})
    assert odd.actor == "a\\ud800" and odd.detail == {"k\\udc00": ["\\ud800"]}
    chained = SealedEntry(2, odd, sealed.hash, chain_hash(sealed.hash, odd))
    assert verify_chain([sealed, chained]) == []


class _Polling:
    """An Engine.IO session over HTTP long-polling, spoken by hand."""

    def __init__(self, client: Client, sid: str) -> None:
        self.client = client
        self.sid = sid

    @classmethod
    async def open(cls, client: Client) -> _Polling:
        response = await client.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        body = await response.text()
        assert response.status == 200 and body.startswith("0{"), body
        return cls(client, json.loads(body[1:])["sid"])

    async def post(self, payload: bytes) -> int:
        response = await self.client.post("/socket.io/", params=self._params(), data=payload)
        await response.read()
        return response.status

    async def get(self) -> str:
        response = await self.client.get("/socket.io/", params=self._params())
        assert response.status == 200
        return await response.text()

    def _params(self) -> dict[str, str]:
        return {"EIO": "4", "transport": "polling", "sid": self.sid}


BROKEN_POLLING_PAYLOADS = [b"\xff\xfe", b"x", b"d=%", b"4\x1e", b'42["chat",']


@pytest.mark.parametrize("connected", [False, True], ids=["before_connect", "after_connect"])
@pytest.mark.parametrize("payload", BROKEN_POLLING_PAYLOADS)
async def test_broken_long_polling_posts_are_refused_without_a_traceback(
    hearing: Hearing, caplog: pytest.LogCaptureFixture, payload: bytes, connected: bool
) -> None:
    caplog.set_level(logging.INFO)
    polling = await _Polling.open(hearing.client)
    if connected:
        token = json.dumps({"token": hearing.tokens["victim"]})
        assert await polling.post(f"40{token}".encode()) == 200
        assert (await polling.get()).startswith("40{")

    assert await polling.post(payload) == 400

    assert [r for r in caplog.records if r.exc_info is not None] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and len(warnings[0]) < 300, warnings
    assert await polling.post(b"40") == 400  # the session is gone
    _peer, welcome = await hearing.join("judge")
    assert welcome["connection"] == "participant"
