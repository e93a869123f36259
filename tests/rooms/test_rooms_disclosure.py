"""A screened person is hidden from the person they are screened from, not only their picture:
who may identify whom, the pseudonym standing for the protected person, and what an event
says once projected for the shielded viewer."""

from __future__ import annotations

import dataclasses

import pytest
from rooms_testkit import (
    CLERK,
    DEFENDANT,
    DETENTION,
    LAWYER,
    OBSERVER,
    OTHER_COURT,
    PJ,
    SESSION_ID,
    WITNESS,
    act,
    live_hearing,
)

from rooms import CourtSession, ParticipantId
from rooms import events as ev
from rooms.disclosure import PSEUDONYM_PREFIX, UNDISCLOSED_ROOM, Disclosure, Pseudonyms
from rooms.events import PARTICIPANT_FIELDS

PSEUDONYMS = Pseudonyms("a-server-secret")


def screened_hearing(audio: bool = False) -> CourtSession:
    """The witness called in, screened from the defendant."""
    session = live_hearing().session
    session.call_witness(act(PJ), WITNESS)
    session.set_screening(act(PJ), WITNESS, DEFENDANT, audio=audio)
    session.collect_events()
    return session


@pytest.mark.parametrize("audio", [False, True])
def test_a_screening_hides_who_the_protected_person_is_from_the_shielded_one_only(
    audio: bool,
) -> None:
    session = screened_hearing(audio)
    assert not session.may_identify(DEFENDANT, WITNESS)
    assert session.unidentifiable_to(DEFENDANT) == {WITNESS}
    # One way, and nobody else is concerned.
    assert session.may_identify(WITNESS, DEFENDANT)
    for viewer in (PJ, CLERK, LAWYER):
        assert session.may_identify(viewer, WITNESS)
        assert session.unidentifiable_to(viewer) == frozenset()

    session.set_screening(act(PJ), WITNESS, DEFENDANT, active=False)
    assert session.may_identify(DEFENDANT, WITNESS)
    assert session.unidentifiable_to(DEFENDANT) == frozenset()


def test_the_pseudonym_is_stable_per_viewer_and_says_nothing_without_the_key() -> None:
    session = screened_hearing()
    alias = PSEUDONYMS.of(session, DEFENDANT, WITNESS)
    assert alias.startswith(PSEUDONYM_PREFIX)
    assert WITNESS not in alias
    assert alias == Pseudonyms("a-server-secret").of(session, DEFENDANT, WITNESS)
    assert alias != PSEUDONYMS.of(session, LAWYER, WITNESS)
    assert alias != PSEUDONYMS.of(session, DEFENDANT, LAWYER)
    # Knowing every participant id does not help: the key is the server's.
    assert alias != Pseudonyms("another-secret").of(session, DEFENDANT, WITNESS)


def test_the_shielded_viewer_learns_neither_the_point_nor_the_room_of_the_protected_one() -> None:
    session = screened_hearing()
    disclosure = PSEUDONYMS.disclosure(session, DEFENDANT)
    assert not disclosure.full
    assert disclosure.hidden == {WITNESS: PSEUDONYMS.of(session, DEFENDANT, WITNESS)}
    # An observer connects from the witness's point too: naming it says nothing.
    assert disclosure.undisclosed_points == frozenset()
    session.set_screening(act(PJ), OBSERVER, DEFENDANT)
    disclosure = PSEUDONYMS.disclosure(session, DEFENDANT)
    assert disclosure.undisclosed_points == {OTHER_COURT}
    assert DETENTION not in disclosure.undisclosed_points

    session.move_to_consultation(act(PJ), [WITNESS, LAWYER], "Trao đổi")
    room = session.participants[WITNESS].consultation_room
    assert room is not None
    disclosure = PSEUDONYMS.disclosure(session, DEFENDANT)
    assert disclosure.undisclosed_rooms == {room}
    assert disclosure.room(room) == UNDISCLOSED_ROOM
    assert disclosure.room(None) is None

    # In the same private room as the viewer, the room is theirs to know.
    session.return_from_consultation(act(PJ), [WITNESS, LAWYER])
    session.move_to_consultation(act(PJ), [WITNESS, DEFENDANT], "Chung")
    disclosure = PSEUDONYMS.disclosure(session, DEFENDANT)
    shared_room = session.participants[DEFENDANT].consultation_room
    assert disclosure.undisclosed_rooms == frozenset()
    assert disclosure.room(shared_room) == shared_room


def test_everyone_else_gets_the_full_picture() -> None:
    session = screened_hearing()
    for viewer in (PJ, CLERK, LAWYER, WITNESS):
        disclosure = PSEUDONYMS.disclosure(session, viewer)
        assert disclosure.full
        assert disclosure.participant(WITNESS) == WITNESS
        payload = {"actor": WITNESS, "participant_id": WITNESS, "raised": True}
        assert disclosure.payload(payload) == payload


def test_an_event_about_the_protected_person_names_only_the_pseudonym() -> None:
    session = screened_hearing()
    disclosure = PSEUDONYMS.disclosure(session, DEFENDANT)
    alias = disclosure.participant(WITNESS)
    session.raise_hand(act(WITNESS))
    session.give_floor(act(PJ), WITNESS)
    session.move_to_consultation(act(PJ), [WITNESS], "Nhân chứng Hoàng")
    projected = [disclosure.payload(e.payload()) for e in session.collect_events()]

    assert all(WITNESS not in str(payload) for payload in projected)
    assert all("Hoàng" not in str(payload) for payload in projected)
    raised, lowered, floor, moved, _floor_back, consultation = projected
    assert (raised["actor"], raised["participant_id"], raised["raised"]) == (alias, alias, True)
    assert (lowered["actor"], lowered["participant_id"]) == (PJ, alias)
    assert (floor["actor"], floor["holder"]) == (PJ, alias)
    assert (moved["participant_id"], moved["current"]) == (alias, "in_consultation")
    assert moved["reason"] is None  # it was the room's name
    assert (consultation["room_id"], consultation["room_name"]) == (None, None)
    # About someone else, the event stays whole.
    session.move_to_consultation(act(PJ), [LAWYER], "Luật sư")
    *_, about_lawyer = [disclosure.payload(e.payload()) for e in session.collect_events()]
    assert about_lawyer["room_name"] == "Luật sư"

    added = ev.ParticipantAdded(
        session_id=SESSION_ID,
        actor="staff:u-clerk",
        participant_id=WITNESS,
        role="witness",
        point_id=OTHER_COURT,
    )
    assert disclosure.payload(added.payload()) == {
        "session_id": SESSION_ID,
        "actor": "staff:u-clerk",
        "participant_id": alias,
        "role": None,
        "point_id": None,
    }
    screening = ev.ScreeningChanged(
        session_id=SESSION_ID,
        actor=PJ,
        protected=WITNESS,
        hidden_from=DEFENDANT,
        active=True,
        audio=False,
    )
    assert disclosure.payload(screening.payload())["protected"] == alias


def event_classes() -> list[type[ev.Event]]:
    found: list[type[ev.Event]] = []
    pending = [ev.Event]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("event", event_classes(), ids=lambda cls: cls.__name__)
def test_every_event_field_naming_a_participant_is_projected(event: type[ev.Event]) -> None:
    """A new event with a participant in it cannot slip past the projection unnoticed."""
    naming = {f.name for f in dataclasses.fields(event) if "ParticipantId" in str(f.type)}
    assert naming <= PARTICIPANT_FIELDS


def test_a_disclosure_with_nothing_hidden_changes_nothing() -> None:
    disclosure = Disclosure(ParticipantId("someone"))
    assert disclosure.full and not disclosure.hides(WITNESS) and not disclosure.hides(None)
    assert disclosure.participant(None) is None
    assert disclosure.participant("system") == "system"
