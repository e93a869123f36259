"""A six-party hearing through the whole server holds up while compositions run beside it.

Composition is the server's heaviest background work; it runs in a child process at a lower
priority (recorder/jobs.py ``LocalJobs``) so that live media does not notice it. Here the
children run one after another, as the server would run them, while six participants send
camera and microphone to each other. Delivery is counted against what reached the server
from each publisher (the fan-out's ``frames_in``), not against what the publishers meant to
send: on a busy machine a starved load generator sends late, which is not the server's loss.

The participants share the server's process and loop: the process needs about 0.6 of a core
for the six of them. Given less (0.35-0.45 beside a busy loop at a higher priority on a shared
2-core machine), the participants, which take 60 streams through that one loop, fall further
and further behind the server and lose frames in their own queues, with or without
composition; :func:`caught_up` then fails before the window opens. The figures printed say
how much CPU the process got.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hearing_server.settings import Settings
from rooms.points import PointKind
from rooms.roles import Role
from rooms.states import ParticipantState, SessionState
from signaling.media.policy import Source, TrackKey
from tests.media_e2e.conftest import MediaHearing
from tests.recorder.composition_load import CompositionLoad
from tests.signaling.harness import CLI

WINDOW_SECONDS = 15.0
"""How long media is counted beside the compositions: two or three of them on a quiet
machine, one on a shared one."""
DELIVERY = 0.99
"""The share of what reached the server that every receiver must get, per publisher track."""
SOURCES: tuple[Source, ...] = ("camera", "microphone")
JOINING: dict[str, tuple[str, Role, PointKind]] = {
    "procurator": ("Đỗ Văn Kiểm Sát", Role.PROCURATOR, PointKind.COURTROOM),
    "counsel": ("Hoàng Thị Luật Sư", Role.DEFENCE_COUNSEL, PointKind.HOME),
}
"""Beside the harness's judge, clerk, defendant and victim: six parties."""
Received = dict[tuple[str, TrackKey], int]
"""Frames each receiver counted of each publisher track."""
STEADY_SECONDS = 2.0
STEADY_FRAMES = 10
"""Media flows in real time once no lag changes by more than this over ``STEADY_SECONDS``
(catching up after the joins on a starved machine runs at 10 frames a second and more)."""
CALL_SECONDS = 60.0
"""How long a participant waits for the server's answer to a call, on a starved machine."""


@pytest.fixture
def media_settings(settings: Settings) -> Settings:
    """The publishers stop at the end, and the last frames may take long to come in: that
    silence must not read as everyone's media lost (which takes their tracks down)."""
    return settings.model_copy(update={"ice_servers": [], "media_silence_seconds": 600})


@pytest.fixture
async def composition_load(media_hearing: MediaHearing) -> AsyncIterator[CompositionLoad]:
    """Built off the loop before anyone joins (the hearing's fixture may skip first). Its
    parties are small: the composed video is 1280x720 whatever they were recorded at."""
    load = await asyncio.to_thread(CompositionLoad, (320, 240))
    try:
        yield load
    finally:
        await asyncio.to_thread(load.close)


async def six_parties_in_session(media: MediaHearing) -> list[str]:
    """Everyone joined, admitted and publishing, the hearing started; their names."""
    hearing = media.hearing
    session = await hearing.session()
    for who, (name, role, kind) in JOINING.items():
        point = next(p for p in session.points.values() if p.kind is kind)
        added, link = await hearing.service.add_participant(CLI, session.id, name, role, point.id)
        hearing.ids[who], hearing.tokens[who] = added.id, link.token
    people = ["judge", "clerk", "procurator", "defendant", "victim", "counsel"]
    for who in people:
        await media.join(who, call_seconds=CALL_SECONDS)
    session = await hearing.session()
    for who in people:
        if session.participants[hearing.ids[who]].state is ParticipantState.IN_LOBBY:
            await media.admit(who)
    await media.people["judge"].call("start")
    return people


def counts(media: MediaHearing, people: list[str]) -> tuple[dict[TrackKey, int], Received]:
    """Frames that reached the server per publisher track, and that each receiver counted of
    each, read at one instant of the loop."""
    room = media.gateway.room(str(media.hearing.session_id))
    assert room is not None
    server = {key: fanout.frames_in for key, fanout in room.tracks.items()}
    received = {
        (receiver, TrackKey(media.id(publisher), source)): media.people[receiver].frames_from(
            media.id(publisher), source
        )
        for receiver in people
        for publisher in people
        if publisher != receiver
        for source in SOURCES
    }
    return server, received


async def settled_counts(
    media: MediaHearing, people: list[str], within: float = 60.0
) -> tuple[dict[TrackKey, int], Received]:
    """The counts once nothing more arrives anywhere (the publishers have stopped): the last
    retransmissions and packets waiting in queues on a busy machine are in. What aiortc's
    jitter buffers hold back until a next frame arrives (one video frame, four audio) never
    comes out; as much was held back when the window opened, and counted in it then."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    previous, now = None, counts(media, people)
    while now != previous:
        assert loop.time() < deadline, "media still arriving long after the publishers stopped"
        await asyncio.sleep(1.0)
        previous, now = now, counts(media, people)
    return now


def lags(media: MediaHearing, people: list[str]) -> dict[Any, int]:
    """How many frames each publisher track's fan-out is behind its publisher, and each
    receiver behind the fan-out: constant once media flows in real time."""
    server, received = counts(media, people)
    sent: dict[TrackKey, int] = {}
    for who in people:
        probe = media.people[who].media
        for source, track in zip(SOURCES, (probe.video_track, probe.audio_track), strict=True):
            assert track is not None
            sent[TrackKey(media.id(who), source)] = track.frames_sent
    gone = [key for key in sent if key not in server]
    assert gone == [], f"tracks no longer published (a media link dropped): {gone}"
    behind: dict[Any, int] = {key: sent[key] - server[key] for key in sent}
    behind.update({(r, key): server[key] - got for (r, key), got in received.items()})
    return behind


async def caught_up(media: MediaHearing, people: list[str], within: float = 90.0) -> None:
    """Wait until media flows in real time everywhere: on a starved machine six joins leave
    seconds of media queued, and catching up sends bursts that are not the steady hearing
    this test is about."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    previous, now = None, lags(media, people)
    while previous is None or any(abs(now[k] - previous[k]) > STEADY_FRAMES for k in now):
        assert loop.time() < deadline, "media never flowed in real time: the machine is starved"
        await asyncio.sleep(STEADY_SECONDS)
        previous, now = now, lags(media, people)


def watch_links(media: MediaHearing, people: list[str]) -> list[str]:
    """Every change of state of anyone's media link, client and server side, from now on."""
    room = media.gateway.room(str(media.hearing.session_id))
    assert room is not None
    changes: list[str] = []
    for who in people:
        links = {"client": media.people[who].media.pc, "server": room.peer(media.id(who)).pc}
        for side, pc in links.items():

            def changed(who: str = who, side: str = side, pc: Any = pc) -> None:
                changes.append(f"{who}'s {side} link went {pc.connectionState}")

            pc.on("connectionstatechange", changed)
    return changes


async def composition_started(load: CompositionLoad, within: float = 30.0) -> None:
    """The first child is on its way: from now on composition runs all the time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not load.runs:
        assert loop.time() < deadline, "no composition started"
        await asyncio.sleep(0.05)


async def test_a_six_party_hearing_loses_nothing_while_compositions_run_beside_it(
    composition_load: CompositionLoad, media_hearing: MediaHearing
) -> None:
    media = media_hearing
    people = await six_parties_in_session(media)
    await asyncio.gather(
        *(
            media.wait_flowing(receiver, publisher, source, within=60)
            for receiver in people
            for publisher in people
            if publisher != receiver
            for source in SOURCES
        )
    )
    await caught_up(media, people)
    room = media.gateway.room(str(media.hearing.session_id))
    assert room is not None
    peers = {who: room.peer(media.id(who)) for who in people}
    link_changes = watch_links(media, people)

    composition_load.start()
    await composition_started(composition_load)
    started = time.monotonic()
    cpu_before = time.process_time()
    server_before, received_before = counts(media, people)
    await asyncio.sleep(WINDOW_SECONDS)
    ended = time.monotonic()
    cores = (time.process_time() - cpu_before) / (ended - started)

    # Nobody's connection dropped, nor was anyone's media link renegotiated from scratch.
    assert [who for who in people if not media.people[who].sio.connected] == []
    assert link_changes == []
    assert {who: room.peer(media.id(who)) for who in people} == peers
    assert all(peer.connection_state == "connected" for peer in peers.values())
    assert {media.people[who].media.pc.connectionState for who in people} == {"connected"}
    session = await media.hearing.session()
    assert session.state is SessionState.IN_SESSION
    states = {who: session.participants[media.hearing.ids[who]].state for who in people}
    assert set(states.values()) == {ParticipantState.IN_SESSION}, states

    # Frames of the window still on their way are counted once the publishers stop.
    for who in people:
        for track in (media.people[who].media.audio_track, media.people[who].media.video_track):
            assert track is not None
            track.stop()
    server_after, received_after = await settled_counts(media, people)

    delivery: dict[tuple[str, TrackKey], float] = {}
    table = []
    names = {media.id(who): who for who in people}
    for (receiver, key), after in received_after.items():
        sent = server_after[key] - server_before[key]
        got = after - received_before[receiver, key]
        assert sent > 0, f"nothing of {key} reached the server in the window"
        delivery[receiver, key] = got / sent
        table.append(f"{receiver} <- {names[key.publisher]} {key.source}: {got}/{sent}")
    worst = {
        receiver: min(share for (r, _key), share in delivery.items() if r == receiver)
        for receiver in people
    }
    finished = [
        run
        for run in composition_load.runs
        if run.ended is not None and started <= run.ended <= ended
    ]
    print(  # the figures, for a run with -rP
        "worst delivery per receiver: "
        + ", ".join(f"{who} {share:.2%}" for who, share in worst.items())
        + f"; {len(finished)} compositions finished in the {ended - started:.1f} s window"
        + f"; the hearing's process (server and participants) used {cores:.2f} cores"
    )
    assert await asyncio.to_thread(composition_load.stop, 300), "a composition never ended"
    assert composition_load.ran_during(started, ended), composition_load.runs
    assert [run.exitcode for run in composition_load.runs if run.exitcode != 0] == []
    assert min(worst.values()) >= DELIVERY, "\n".join([*table, f"{cores:.2f} cores used"])
