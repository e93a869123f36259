"""Generated socket.io and Engine.IO input against the real server over a real socket:
reserved and random event names, lone surrogates, binary frames, oversized and deeply nested
payloads. The server must never fail unhandled (nothing logged at ERROR), must answer every
well-formed message that asks for an answer, and must still serve an honest client after.

Hypothesis generates the input (derandomized, a bounded number of examples); the frames are
then sent in batches, each batch from a fresh participant so the abuse limit (per
credential) does not end the run early.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from rooms.roles import Role
from signaling import protocol as p
from tests.signaling.harness import CLI, Hearing, RawSocket

EVENT_EXAMPLES = 200
FRAME_EXAMPLES = 40
BATCH = 12
"""Messages per participant: below the abuse limit, so every one is answered."""

lone_surrogates = st.integers(0xD800, 0xDFFF).map(chr)
texts = st.one_of(
    st.text(max_size=40),
    lone_surrogates,
    st.tuples(st.text(max_size=8), lone_surrogates, st.text(max_size=8)).map("".join),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=16,
)
event_names = st.one_of(
    st.sampled_from(sorted(p.RESERVED_EVENTS | set(p.CLIENT_EVENTS))),
    texts,
    st.integers(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
field_names = st.sampled_from(
    ["participant_id", "ref", "lock", "reason", "text", "to", "sdp", "sources", "candidate"]
)
payloads = st.one_of(
    json_values.map(json.dumps),
    st.dictionaries(field_names | texts, json_values, max_size=4).map(json.dumps),
    # Nested as deep as the server's JSON parser reads (deeper is in ``broken_frames``).
    st.integers(1, 400).map(lambda depth: '{"x":' + "[" * depth + "]" * depth + "}"),
    # Over the message limit, under the transport limit even twice over.
    st.integers(96_000, 110_000).map(lambda size: json.dumps({"text": "x" * size})),
    st.just(json.dumps({"sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"})),
)


@dataclass(frozen=True)
class Message:
    event: object
    args: tuple[str, ...]
    """Each argument as JSON text."""

    def frame(self, ack_id: int) -> str:
        return f"42{ack_id}[" + ",".join([json.dumps(self.event), *self.args]) + "]"


messages = st.builds(Message, event_names, st.lists(payloads, max_size=2).map(tuple))
broken_frames = st.one_of(
    st.binary(max_size=8),
    st.text(max_size=16),
    st.tuples(
        st.sampled_from(["4", "40", "42", "43", "45", "451-", "46"]), st.text(max_size=16)
    ).map("".join),
    st.integers(1000, 60_000).map(lambda depth: "42" + "[" * depth + "]" * depth),
)


def _examples(strategy: st.SearchStrategy[object], count: int) -> list[object]:
    """What Hypothesis generates for ``strategy``, the same on every run."""
    found: list[object] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(strategy)
    def collect(example: object) -> None:
        found.append(example)

    collect()
    return found


async def _new_participant(hearing: Hearing, n: int) -> str:
    session = await hearing.session()
    point = next(iter(session.points))
    _person, link = await hearing.service.add_participant(
        CLI, hearing.session_id, f"Người làm chứng {n}", Role.WITNESS, point
    )
    return link.token


async def test_generated_input_is_always_answered_and_never_breaks_the_server(
    hearing: Hearing, caplog: pytest.LogCaptureFixture
) -> None:
    if hearing.service.database.dialect != "sqlite":
        pytest.skip("input handling does not depend on the database; one run is enough")
    caplog.set_level(logging.ERROR)
    generated = _examples(messages, EVENT_EXAMPLES)
    answered = 0
    for start in range(0, len(generated), BATCH):
        raw = await RawSocket.open(hearing.client)
        token = await _new_participant(hearing, start)
        assert (await raw.connect({"token": token})).startswith("40{")
        for ack_id, message in enumerate(generated[start : start + BATCH], start=1):
            assert isinstance(message, Message)
            await raw.send(message.frame(ack_id))
            try:
                reply = await raw.ack(ack_id)
            except ConnectionResetError:
                raise AssertionError(f"closed instead of answering {message}") from None
            assert isinstance(reply, dict) and "ok" in reply, (message, reply)
            if not reply["ok"]:
                assert reply["error"]["message"]["vi"] and reply["error"]["message"]["en"]
            answered += 1
        await raw.close()
    assert answered == len(generated)

    for frame in _examples(broken_frames, FRAME_EXAMPLES):
        assert isinstance(frame, str | bytes)
        raw = await RawSocket.open(hearing.client)
        if isinstance(frame, str) and frame.startswith("42"):
            await raw.connect({"token": await _new_participant(hearing, 1000)})
        await raw.send(frame)
        # Whatever it did to that socket (answered, closed, or waiting for the rest of a
        # binary packet), a fresh connection is served at once.
        probe = await RawSocket.open(hearing.client)
        await probe.connect({"token": await _new_participant(hearing, 2000)})
        assert (await probe.call(1, "ping", {}))["ok"], frame
        await probe.close()
        await raw.close()

    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    peer, welcome = await hearing.join("judge")
    assert welcome["connection"] == "participant"
    assert (await peer.call("ping"))["ok"]
    count, breaks = await hearing.service.verify_audit(CLI)
    assert count > 0 and breaks == []
