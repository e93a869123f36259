"""The gateway follows the domain's plans by difference, and never goes back to an older one."""

from __future__ import annotations

from typing import Any, cast

from rooms import (
    Actor,
    MediaSource,
    ParticipantId,
    PointKind,
    Role,
)
from signaling.forwarding import _PlanPolicy, _SessionMedia
from signaling.media import MediaRoom, TrackKey
from tests.rooms.rooms_testkit import CHAIR, running_meeting
from tests.rooms.rooms_testkit import IT_STAFF as STAFF


class CountingRoom:
    """Stands where the forwarder's room stands and counts what it is asked to change."""

    def __init__(self) -> None:
        self.pauses: list[tuple[TrackKey, bool]] = []
        self.receiving: list[tuple[TrackKey, str, bool]] = []

    def set_paused(self, key: TrackKey, paused: bool) -> None:
        self.pauses.append((key, paused))

    def set_receiving(self, key: TrackKey, receivers: Any, allowed: bool) -> None:
        self.receiving.extend((key, receiver, allowed) for receiver in receivers)


def _media() -> tuple[_SessionMedia, CountingRoom]:
    room = CountingRoom()
    return _SessionMedia(cast(MediaRoom, room), _PlanPolicy()), room


def test_a_mute_among_a_hundred_is_one_pause() -> None:
    session, people = running_meeting(99)
    media, room = _media()
    assert media.adopt(session.forwarding_plan())
    room.pauses.clear()
    room.receiving.clear()

    session.mute(Actor.participant(CHAIR), people[42])
    session.version += 1
    assert media.adopt(session.forwarding_plan())
    assert room.pauses == [(TrackKey(people[42], "microphone"), True)]
    assert room.receiving == []
    assert media.policy.is_paused(people[42], "microphone")
    assert media.policy.may_receive(CHAIR, people[42], "microphone"), "the receiver's bit stays"


def test_an_older_plan_is_ignored() -> None:
    session, people = running_meeting(3)
    media, room = _media()
    old = session.forwarding_plan()
    session.mute(Actor.participant(CHAIR), people[0])
    session.version += 1
    new = session.forwarding_plan()
    assert media.adopt(new)
    calls = (list(room.pauses), list(room.receiving))

    assert not media.adopt(old), "a plan of an older version never undoes a newer one"
    assert not media.adopt(new), "nor does the same version twice"
    assert (room.pauses, room.receiving) == calls
    assert media.policy.plan is new
    assert media.policy.is_paused(people[0], "microphone")


def test_an_admission_adds_the_newcomer_to_each_publication_once() -> None:
    session, people = running_meeting(4)
    point = session.add_point(STAFF, "TAND tỉnh", PointKind.COURT).id
    late = ParticipantId("late")
    session.add_participant(STAFF, "Đến muộn", Role.PARTICIPANT, point, late)
    session.join(late)
    media, room = _media()
    media.adopt(session.forwarding_plan())
    room.pauses.clear()
    room.receiving.clear()

    session.admit(Actor.participant(CHAIR), late)
    session.version += 1
    media.adopt(session.forwarding_plan())
    to_late = [(key, allowed) for key, receiver, allowed in room.receiving if receiver == late]
    assert sorted(to_late, key=str) == sorted(
        ((TrackKey(p, s.value), True) for p in [CHAIR, *people] for s in MediaSource), key=str
    )
    assert (TrackKey(late, "microphone"), False) in room.pauses
