"""The private consultation room over signalling: the court's microphone lock binds in the
hearing room only, and the people of one private room chat among themselves (issue 10)."""

from __future__ import annotations

import pytest

from hearing_server.settings import Settings
from tests.signaling.harness import Hearing, Peer


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"media_enabled": False})


async def _private_room(hearing: Hearing) -> tuple[Peer, Peer, Peer, Peer]:
    """Judge, clerk, and the defendant and victim moved together into one private room."""
    judge, _ = await hearing.join("judge")
    clerk, _ = await hearing.join("clerk")
    defendant, _ = await hearing.join("defendant")
    victim, _ = await hearing.join("victim")
    await hearing.admit(clerk, "defendant")
    await hearing.admit(clerk, "victim")
    assert (await judge.call("start"))["ok"]
    locked = await judge.call("mute", {"participant_id": hearing.ids["defendant"], "lock": True})
    assert locked["ok"], locked
    moved = await clerk.call(
        "move_to_consultation",
        {
            "participant_ids": [hearing.ids["defendant"], hearing.ids["victim"]],
            "room_name": "Phòng riêng",
        },
    )
    assert moved["ok"], moved
    return judge, clerk, defendant, victim


async def test_a_locked_defendant_unmutes_in_the_private_room_and_is_locked_on_return(
    hearing: Hearing,
) -> None:
    _judge, clerk, defendant, _victim = await _private_room(hearing)
    unmuted = await defendant.call("unmute")
    assert unmuted["ok"], unmuted
    session = await hearing.session()
    me = session.participants[hearing.ids["defendant"]]
    assert not me.muted and me.media_locked and not me.lock_in_force
    back = await clerk.call("return_from_consultation", {"participant_ids": [me.id]})
    assert back["ok"], back
    refused = await defendant.call("unmute")
    assert refused["error"]["rule"] == "participant.media_locked"
    session = await hearing.session()
    assert session.participants[me.id].muted


async def test_the_people_of_a_private_room_chat_only_among_themselves(hearing: Hearing) -> None:
    judge, clerk, defendant, victim = await _private_room(hearing)
    sent = await defendant.call("chat", {"text": "Tôi nên nói gì?", "room": True})
    assert sent["ok"], sent
    for peer in (defendant, victim):
        message = await peer.wait_for("chat", lambda m: m["id"] == sent["id"])
        assert message["room"] is not None and message["to"] is None
    # The court outside the room reads nothing of it; a later message to the court it does.
    public = await victim.call("chat", {"text": "Xin hỏi tòa."})
    await judge.wait_for("chat", lambda m: m["id"] == public["id"])
    await clerk.wait_for("chat", lambda m: m["id"] == public["id"])
    assert [m["id"] for m in judge.received("chat")] == [public["id"]]
    assert [m["id"] for m in clerk.received("chat")] == [public["id"]]

    outside = await judge.call("chat", {"text": "x", "room": True})
    assert outside["error"]["rule"] == "permission.chat_room_not_in_room"
    audited = await hearing.audit("chat.message")
    assert [(e.outcome, e.detail.get("room"), e.detail.get("recipients")) for e in audited] == [
        ("accepted", True, 2),
        ("accepted", None, 3),
        ("refused", True, None),
    ]
    assert all("nói gì" not in str(e.detail) for e in audited)
