"""Real WebRTC through the whole server: what the judge decides is what flows, counted in
packets at the receivers, never taken from flags."""

from __future__ import annotations

import asyncio
import json

from signaling.client import CommandRefused, HeadlessParticipant
from signaling.media.policy import TrackKey
from tests.media_e2e.conftest import MediaHearing


async def court_and_defendant(media: MediaHearing) -> None:
    """Judge and clerk in the courtroom, the defendant admitted, everyone publishing."""
    await media.join("judge")
    await media.join("clerk")
    await media.join("defendant")
    await media.admit("defendant")


async def test_everyone_taking_part_receives_the_others_and_the_lobby_receives_nothing(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    await court_and_defendant(media)
    victim = await media.join("victim")  # stays in the lobby

    people = ("judge", "clerk", "defendant")
    await media.wait_everyone_flowing(people)
    frames = media.people["judge"].frames_from(media.id("defendant"), "camera")
    assert frames > 0

    # The court sees who waits (to check identity) but does not hear them; parties see nothing.
    await media.wait_flowing("judge", "victim", "camera")
    assert not await media.flowing("judge", "victim", "microphone")
    assert not await media.flowing("defendant", "victim", "camera")
    assert sum(r.packets for r in await victim.report()) == 0
    assert all(r.frames == 0 for r in await victim.report())

    # Admitted, the victim receives the hearing without a new join.
    await media.admit("victim")
    await media.wait_flowing("victim", "judge", "camera")
    await media.wait_flowing("victim", "defendant", "microphone")
    await media.wait_flowing("defendant", "victim", "microphone")


async def test_muting_stops_the_voice_reaching_anyone_until_unmuted(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    await court_and_defendant(media)
    await media.wait_flowing("clerk", "defendant", "microphone")

    await media.people["judge"].call(
        "mute", {"participant_id": media.id("defendant"), "lock": True}
    )
    await media.wait_stopped("clerk", "defendant", "microphone")
    assert not await media.flowing("judge", "defendant", "microphone")
    # Only the voice: the picture and everyone else's sound go on.
    assert await media.flowing("clerk", "defendant", "camera")
    assert await media.flowing("clerk", "judge", "microphone")

    # Locked: the defendant cannot unmute themselves, and its browser cannot push through.
    try:
        await media.people["defendant"].call("unmute")
    except CommandRefused as refused:
        assert refused.error["rule"] == "participant.media_locked"
    else:
        raise AssertionError("a locked participant unmuted themselves")
    assert not await media.flowing("clerk", "defendant", "microphone")

    await media.people["judge"].call("unlock", {"participant_id": media.id("defendant")})
    await media.people["judge"].call("unmute", {"participant_id": media.id("defendant")})
    await media.wait_flowing("clerk", "defendant", "microphone")


async def test_screening_hides_the_protected_person_from_the_shielded_one_only(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    await court_and_defendant(media)
    await media.join("victim")
    await media.admit("victim")
    await media.wait_flowing("defendant", "victim", "camera")
    defendant = media.people["defendant"]
    since = len(defendant.events)

    await media.people["judge"].call(
        "set_screening",
        {"protected": media.id("victim"), "hidden_from": media.id("defendant")},
    )
    # The defendant now knows the victim only by a pseudonym, and the tracks it receives are
    # described anew under that pseudonym.
    view = await defendant.wait_view(
        lambda v: any(p.get("protected") for p in v.get("participants", []))
    )
    alias = next(p["id"] for p in view["participants"] if p.get("protected"))
    await wait_until_described(defendant, TrackKey(alias, "microphone"))
    media.known_as["defendant", "victim"] = alias

    await media.wait_stopped("defendant", "victim", "camera")
    assert await media.flowing("defendant", "victim", "microphone")  # the voice is heard
    assert await media.flowing("judge", "victim", "camera")
    assert await media.flowing("victim", "defendant", "camera")
    assert TrackKey(media.id("victim"), "camera") not in defendant.media.tracks.values()
    clues = (media.id("victim"), "Phạm Thị Bị Hại", '"victim"', "Nhà riêng")
    received = json.dumps(defendant.events[since:], ensure_ascii=False)
    assert [clue for clue in clues if clue in received] == []


async def wait_until_described(person: HeadlessParticipant, key: TrackKey) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while key not in person.media.tracks.values():
        assert loop.time() < deadline, f"no track was described as {key}"
        await asyncio.sleep(0.05)


async def test_server_offers_name_nobody_in_their_sdp(media_hearing: MediaHearing) -> None:
    """Whose tracks an m-line carries is told beside the SDP, as the receiver may know it;
    the SDP itself (``a=msid``) names nobody."""
    media = media_hearing
    await court_and_defendant(media)
    await media.wait_flowing("defendant", "judge", "camera")
    ids = [media.id(who) for who in ("judge", "clerk", "defendant")]
    for who, person in media.people.items():
        offers = [body for name, body in person.events if name == "offer"]
        assert offers, f"{who} was sent no server offer"
        assert [i for i in ids if any(i in offer["sdp"] for offer in offers)] == []
        assert any("a=msid:" in offer["sdp"] for offer in offers)  # streams are still grouped


async def test_a_consultation_room_is_private_both_ways(media_hearing: MediaHearing) -> None:
    media = media_hearing
    await court_and_defendant(media)
    await media.wait_flowing("judge", "defendant", "microphone")

    await media.people["judge"].call(
        "move_to_consultation",
        {"participant_ids": [media.id("defendant")], "room_name": "Trao đổi với luật sư"},
    )
    await media.wait_stopped("judge", "defendant", "microphone")
    await media.wait_stopped("defendant", "judge", "camera")
    assert not await media.flowing("clerk", "defendant", "camera")

    await media.people["judge"].call(
        "return_from_consultation", {"participant_ids": [media.id("defendant")]}
    )
    await media.wait_flowing("judge", "defendant", "microphone")
    await media.wait_flowing("defendant", "judge", "camera")


async def test_leaving_frees_the_peer_and_the_last_one_out_frees_the_room(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    await court_and_defendant(media)
    session_id = str(media.hearing.session_id)
    room = media.gateway.room(session_id)
    assert room is not None
    await media.wait_flowing("judge", "defendant", "camera")
    peer = room.peer(media.id("defendant"))

    await media.people["defendant"].leave()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while media.id("defendant") in room.participants:
        assert loop.time() < deadline
        await asyncio.sleep(0.05)
    assert peer.closed and peer.pc.connectionState == "closed"
    assert all(key.publisher != media.id("defendant") for key in room.tracks)
    await media.wait_stopped("judge", "defendant", "camera")

    for who in ("judge", "clerk"):
        await media.people[who].close()
    deadline = loop.time() + 5
    while media.gateway.sessions():
        assert loop.time() < deadline, "the room outlived its last participant"
        await asyncio.sleep(0.05)


async def test_media_messages_that_make_no_sense_are_refused_and_change_nothing(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    defendant = await media.join("defendant", publish=False)
    refusals = []
    for event, payload in [
        ("answer", {"sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"}),
        ("renegotiate", {}),
        ("offer", {"sdp": "v=0\r\nthis is not sdp\r\n", "sources": {"0": "camera"}}),
        ("offer", {"sdp": "v=0\r\n" + ("a=" + "x" * 60 + "\r\n") * 1100}),  # 70 KB
    ]:
        try:
            await defendant.call(event, payload)
        except CommandRefused as refused:
            refusals.append((event, refused.error["code"], refused.error["rule"]))
        else:
            raise AssertionError(f"{event} was accepted")
    assert refusals == [
        ("answer", "media_error", "media.not_negotiated"),
        ("renegotiate", "media_error", "media.not_negotiated"),
        ("offer", "media_error", "media.negotiation"),
        ("offer", "message_too_large", "protocol.sdp_too_large"),
    ]
    assert media.gateway.sessions() == ()
    audited = await media.hearing.audit("signal.message")
    assert [a.rule for a in audited] == [rule for _e, _c, rule in refusals]

    # After all that, the same participant still negotiates normally.
    await defendant.publish()
    assert media.gateway.room(str(media.hearing.session_id)) is not None
