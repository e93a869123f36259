"""The session aggregate, driven the way a hearing is really run."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

import pytest
from rooms_testkit import (
    CLERK,
    CLERK_STAFF,
    COURT,
    DEFENDANT,
    DETENTION,
    END,
    EVERYONE,
    IT_STAFF,
    LAWYER,
    LAWYER_OFFICE,
    OBSERVER,
    OTHER_COURT,
    PJ,
    SESSION_ID,
    START,
    SYSTEM,
    WITNESS,
    Hearing,
    act,
    assert_unchanged,
    brief,
    criminal_case,
    live_hearing,
    scheduled_hearing,
    snapshot,
)

from rooms import (
    VIETNAM,
    Actor,
    CourtSession,
    InvalidInput,
    InvalidTransition,
    JurisdictionPolicy,
    MediaSource,
    NotFound,
    ParticipantId,
    ParticipantState,
    PermissionDenied,
    PointKind,
    PolicyViolation,
    RecordingState,
    Role,
    Screening,
    SessionState,
    StaffRole,
)
from rooms import events as ev
from rooms.ids import CourtId

IN_SESSION = "in_session"
IN_LOBBY = "in_lobby"

# ----------------------------------------------------------------------------- events


def _event_classes() -> list[type[ev.Event]]:
    found: list[type[ev.Event]] = []
    pending = [ev.Event]
    while pending:
        cls = pending.pop()
        found.extend(cls.__subclasses__())
        pending.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("event_type", _event_classes(), ids=lambda c: c.__name__)
def test_no_event_field_hides_a_property_of_event(event_type: type[ev.Event]) -> None:
    """A field called ``name`` made every PointAdded fail to construct (see report)."""
    own = {f.name for f in dataclasses.fields(event_type)}
    assert own.isdisjoint({"name", "payload", "affects_media"})


def test_event_names_are_snake_case() -> None:
    event = ev.SessionStateChanged(
        session_id=SESSION_ID, actor="x", previous="open", current="in_session"
    )
    assert event.name == "session_state_changed"
    assert event.affects_media
    assert ev.PointAdded(
        session_id=SESSION_ID, actor="x", point_id="p", point_name="A", point_kind="home"
    ).payload() == {
        "session_id": SESSION_ID,
        "actor": "x",
        "point_id": "p",
        "point_name": "A",
        "point_kind": "home",
    }


# ----------------------------------------------------------------------------- the main flow


def test_a_hearing_from_scheduling_to_close() -> None:
    session = CourtSession.schedule_hearing(
        IT_STAFF, criminal_case(), VIETNAM, START, END, session_id=SESSION_ID
    )
    courtroom = session.central_point.id
    assert session.state is SessionState.SCHEDULED
    assert session.created_by == "staff:u-it"
    assert brief(session.collect_events()) == [
        ("session_scheduled", "hearing"),
        ("point_added", courtroom, "Phòng xử án", "courtroom"),
    ]

    session.add_point(IT_STAFF, "Trại tạm giam số 1", PointKind.DETENTION_CENTRE, "", DETENTION)
    session.add_point(IT_STAFF, "Văn phòng luật sư", PointKind.LAWYER_OFFICE, "", LAWYER_OFFICE)
    session.add_point(IT_STAFF, "TAND huyện B", PointKind.COURT, "", OTHER_COURT)
    for name, role, point, pid in [
        ("Nguyễn Văn Chủ", Role.PRESIDING_JUDGE, courtroom, PJ),
        ("Lê Thị Thư", Role.CLERK, courtroom, CLERK),
        ("Trần Văn Cáo", Role.DEFENDANT, DETENTION, DEFENDANT),
        ("Đỗ Thị Luật", Role.DEFENCE_COUNSEL, LAWYER_OFFICE, LAWYER),
        ("Hoàng Văn Chứng", Role.WITNESS, OTHER_COURT, WITNESS),
        ("Vũ Thị Dân", Role.OBSERVER, OTHER_COURT, OBSERVER),
    ]:
        session.add_participant(IT_STAFF, name, role, point, pid)
    events = session.collect_events()
    assert {e.actor for e in events} == {"staff:u-it"}
    assert brief(events) == [
        ("point_added", DETENTION, "Trại tạm giam số 1", "detention_centre"),
        ("point_added", LAWYER_OFFICE, "Văn phòng luật sư", "lawyer_office"),
        ("point_added", OTHER_COURT, "TAND huyện B", "court"),
        ("participant_added", PJ, "presiding_judge", courtroom),
        ("participant_added", CLERK, "clerk", courtroom),
        ("participant_added", DEFENDANT, "defendant", DETENTION),
        ("participant_added", LAWYER, "defence_counsel", LAWYER_OFFICE),
        ("participant_added", WITNESS, "witness", OTHER_COURT),
        ("participant_added", OBSERVER, "observer", OTHER_COURT),
    ]

    # Arrivals: the first one opens the lobby; the court goes straight in, parties wait.
    assert session.join(PJ) is ParticipantState.IN_SESSION
    events = session.collect_events()
    assert brief(events) == [
        ("session_state_changed", "scheduled", "open", "first arrival"),
        ("participant_state_changed", PJ, "invited", IN_SESSION, "court member"),
    ]
    assert [e.actor for e in events] == [SYSTEM, PJ]
    assert session.join(CLERK) is ParticipantState.IN_SESSION
    for pid in (DEFENDANT, LAWYER, WITNESS, OBSERVER):
        assert session.join(pid) is ParticipantState.IN_LOBBY
    assert brief(session.collect_events()) == [
        ("participant_state_changed", CLERK, "invited", IN_SESSION, "court member"),
        ("participant_state_changed", DEFENDANT, "invited", IN_LOBBY, ""),
        ("participant_state_changed", LAWYER, "invited", IN_LOBBY, ""),
        ("participant_state_changed", WITNESS, "invited", IN_LOBBY, ""),
        ("participant_state_changed", OBSERVER, "invited", IN_LOBBY, ""),
    ]
    assert [p.id for p in session.lobby()] == [DEFENDANT, LAWYER, WITNESS, OBSERVER]
    assert session.join(DEFENDANT) is ParticipantState.IN_LOBBY  # a second tab changes nothing
    assert session.collect_events() == []

    # Nobody is admitted before the clerk has checked who they are.
    before = snapshot(session)
    with pytest.raises(PolicyViolation) as refused:
        session.admit(act(PJ), DEFENDANT)
    assert refused.value.rule == "policy.identity_unverified"
    assert_unchanged(session, before)

    for pid in (DEFENDANT, LAWYER, WITNESS, OBSERVER):
        session.verify_identity(act(CLERK), pid)
    session.verify_identity(act(CLERK), DEFENDANT)  # once is enough: no second event
    session.admit(act(CLERK), DEFENDANT)
    session.admit(act(PJ), LAWYER)
    session.admit(act(CLERK), OBSERVER)
    events = session.collect_events()
    assert brief(events) == [
        ("identity_verified", DEFENDANT),
        ("identity_verified", LAWYER),
        ("identity_verified", WITNESS),
        ("identity_verified", OBSERVER),
        ("participant_state_changed", DEFENDANT, IN_LOBBY, IN_SESSION, "admitted"),
        ("participant_state_changed", LAWYER, IN_LOBBY, IN_SESSION, "admitted"),
        ("participant_state_changed", OBSERVER, IN_LOBBY, IN_SESSION, "admitted"),
    ]
    assert [e.actor for e in events][-3:] == [CLERK, PJ, CLERK]

    # A witness is never simply admitted: only the presiding judge calls them in.
    with pytest.raises(PolicyViolation) as refused:
        session.admit(act(CLERK), WITNESS)
    assert refused.value.rule == "witness.must_be_called"
    with pytest.raises(PermissionDenied) as denied:
        session.call_witness(act(CLERK), WITNESS)
    assert denied.value.rule == "permission.call_witness"
    assert session.participants[WITNESS].state is ParticipantState.IN_LOBBY

    session.start(act(PJ))
    session.start_recording(act(CLERK))
    session.call_witness(act(PJ), WITNESS)
    session.give_floor(act(PJ), WITNESS)
    session.dismiss_witness(act(PJ), WITNESS)
    assert brief(session.collect_events()) == [
        ("session_state_changed", "open", IN_SESSION, ""),
        ("recording_state_changed", "off", "recording", ""),
        ("participant_state_changed", WITNESS, IN_LOBBY, IN_SESSION, "called"),
        ("floor_changed", WITNESS),
        ("participant_state_changed", WITNESS, IN_SESSION, IN_LOBBY, "dismissed"),
        ("floor_changed", None),
    ]
    assert session.floor_holder is None

    # A recess pauses the recording; resuming resumes it; closing stops it.
    session.suspend(act(PJ), "recess")
    assert (session.state, session.recording) == (SessionState.SUSPENDED, RecordingState.PAUSED)
    session.resume(act(PJ))
    assert (session.state, session.recording) == (SessionState.IN_SESSION, RecordingState.RECORDING)
    session.give_floor(act(PJ), DEFENDANT)
    session.close(act(PJ))
    assert (session.state, session.recording) == (SessionState.CLOSED, RecordingState.STOPPED)
    events = session.collect_events()
    assert brief(events) == [
        ("session_state_changed", IN_SESSION, "suspended", "recess"),
        ("recording_state_changed", "recording", "paused", "suspended"),
        ("session_state_changed", "suspended", IN_SESSION, ""),
        ("recording_state_changed", "paused", "recording", "resumed"),
        ("floor_changed", DEFENDANT),
        ("session_state_changed", IN_SESSION, "closed", ""),
        ("recording_state_changed", "recording", "stopped", "session ended"),
        ("floor_changed", None),
    ]
    assert {e.actor for e in events} == {PJ}
    assert {e.session_id for e in events} == {SESSION_ID}

    # Nothing more happens in a closed hearing.
    with pytest.raises(InvalidTransition) as refused_join:
        session.join(WITNESS)
    assert refused_join.value.rule == "session_state.join"
    with pytest.raises(InvalidTransition):
        session.add_point(CLERK_STAFF, "Muộn", PointKind.OTHER)
    with pytest.raises(InvalidTransition):
        session.add_participant(CLERK_STAFF, "Muộn", Role.OBSERVER, DETENTION)


# ----------------------------------------------------------------------------- scheduling


def test_only_staff_schedule() -> None:
    with pytest.raises(PermissionDenied) as refused:
        CourtSession.schedule_hearing(act(PJ), criminal_case(), VIETNAM, START, END)
    assert refused.value.rule == "staff_permission.schedule"


@pytest.mark.parametrize(
    ("start", "end", "rule"),
    [
        (datetime(2026, 3, 2, 8, 0), None, "session.naive_time"),
        (START, datetime(2026, 3, 2, 12, 0), "session.naive_time"),
        (END, START, "session.end_before_start"),
        (START, START, "session.end_before_start"),
    ],
)
def test_times_are_checked(start: datetime, end: datetime | None, rule: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        CourtSession.schedule_hearing(CLERK_STAFF, criminal_case(), VIETNAM, start, end)
    assert refused.value.rule == rule


def test_roles_must_fit_the_session() -> None:
    hearing = scheduled_hearing()
    session = hearing.session
    with pytest.raises(InvalidInput) as refused:
        session.add_participant(IT_STAFF, "Chủ trì", Role.CHAIR, hearing.courtroom)
    assert refused.value.rule == "participant.role"
    with pytest.raises(PolicyViolation) as refused_second:
        session.add_participant(IT_STAFF, "Chủ tọa 2", Role.PRESIDING_JUDGE, hearing.courtroom)
    assert refused_second.value.rule == "participant.single_presiding_judge"
    with pytest.raises(NotFound) as unknown_point:
        session.add_participant(CLERK_STAFF, "Ai đó", Role.VICTIM, "nowhere")
    assert unknown_point.value.rule == "point.not_found"
    with pytest.raises(InvalidInput):
        session.add_participant(CLERK_STAFF, "  ", Role.VICTIM, DETENTION)
    with pytest.raises(PermissionDenied):
        session.add_participant(act(PJ), "Ai đó", Role.VICTIM, DETENTION)
    assert session.collect_events() == []


def test_details_change_only_while_scheduled() -> None:
    hearing = scheduled_hearing(observer=False)
    session = hearing.session
    later = END.replace(hour=17)
    session.update_details(CLERK_STAFF, end=later)
    assert session.scheduled_end == later
    assert brief(session.collect_events()) == [("session_details_changed", ("scheduled_end",))]
    with pytest.raises(PolicyViolation):
        session.update_details(CLERK_STAFF, case=criminal_case(state_secret=True))
    session.join(PJ)
    with pytest.raises(InvalidTransition) as refused:
        session.update_details(CLERK_STAFF, end=later.replace(hour=18))
    assert refused.value.rule == "session_state.update"


# ----------------------------------------------------------------------------- session state


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        (lambda s: s.resume(act(PJ)), "session_state.resume"),
        (lambda s: s.start(act(PJ)), "session_state.start"),
        (lambda s: s.postpone(act(PJ)), "session_state.postpone"),
        (lambda s: s.cancel(CLERK_STAFF), "session_state.cancel"),
        (lambda s: s.open_lobby(CLERK_STAFF), "session_state.open_lobby"),
    ],
)
def test_wrong_moment_for_a_state_change(
    command: Callable[[CourtSession], None], rule: str
) -> None:
    session = live_hearing().session
    before = snapshot(session)
    with pytest.raises(InvalidTransition) as refused:
        command(session)
    assert refused.value.rule == rule
    assert "in_session" in refused.value.message.en
    assert_unchanged(session, before)


def test_postpone_after_a_suspension() -> None:
    session = live_hearing().session
    session.start_recording(act(PJ))
    session.suspend(act(PJ), "missing witness")
    session.collect_events()
    session.postpone(act(PJ), "witness absent")
    assert session.state is SessionState.POSTPONED
    assert brief(session.collect_events()) == [
        ("session_state_changed", "suspended", "postponed", "witness absent"),
        ("recording_state_changed", "paused", "stopped", "session ended"),
    ]


def test_staff_open_postpone_and_cancel() -> None:
    session = scheduled_hearing().session
    session.open_lobby(CLERK_STAFF)
    session.cancel(CLERK_STAFF)
    assert brief(session.collect_events()) == [
        ("session_state_changed", "scheduled", "open", ""),
        ("session_state_changed", "open", "cancelled", ""),
    ]
    other = scheduled_hearing().session
    other.postpone(Actor.staff("u-judge", StaffRole.JUDGE, court_id=COURT), "illness")
    assert other.state is SessionState.POSTPONED
    with pytest.raises(PermissionDenied):
        scheduled_hearing().session.cancel(act(PJ))


def test_recording_rules() -> None:
    session = live_hearing().session
    with pytest.raises(PermissionDenied) as refused:
        session.start_recording(act(LAWYER))
    assert refused.value.rule == "permission.start_recording"
    with pytest.raises(InvalidTransition) as not_running:
        session.pause_recording(act(CLERK))
    assert not_running.value.rule == "recording.not_running"
    session.start_recording(act(CLERK))
    with pytest.raises(InvalidTransition) as already:
        session.start_recording(act(PJ))
    assert already.value.rule == "recording.already"
    # Paused by hand: a recess does not touch it and resuming does not restart it.
    session.pause_recording(act(CLERK))
    session.suspend(act(PJ))
    session.resume(act(PJ))
    assert session.recording is RecordingState.PAUSED
    session.start_recording(act(CLERK))
    assert brief(session.collect_events()) == [
        ("recording_state_changed", "off", "recording", ""),
        ("recording_state_changed", "recording", "paused", ""),
        ("session_state_changed", IN_SESSION, "suspended", ""),
        ("session_state_changed", "suspended", IN_SESSION, ""),
        ("recording_state_changed", "paused", "recording", ""),
    ]


def test_recording_starts_only_in_session() -> None:
    hearing = scheduled_hearing()
    hearing.session.join(PJ)
    with pytest.raises(InvalidTransition) as refused:
        hearing.session.start_recording(act(PJ))
    assert refused.value.rule == "recording.not_in_session"
    assert hearing.session.recording is RecordingState.OFF


def test_suspended_then_closed_stops_recording() -> None:
    session = live_hearing().session
    session.start_recording(act(CLERK))
    session.suspend(act(PJ))
    session.collect_events()
    session.close(act(PJ))
    assert brief(session.collect_events()) == [
        ("session_state_changed", "suspended", "closed", ""),
        ("recording_state_changed", "paused", "stopped", "session ended"),
    ]
    assert not session.recording_paused_by_suspension


# ----------------------------------------------------------------------------- audio


def test_mute_and_self_unmute() -> None:
    session = live_hearing().session
    session.mute(act(CLERK), DEFENDANT)
    session.mute(act(CLERK), DEFENDANT)  # already muted: nothing new
    session.unmute(act(DEFENDANT), DEFENDANT)
    assert brief(session.collect_events()) == [
        ("media_control_changed", DEFENDANT, True, False),
        ("media_control_changed", DEFENDANT, False, False),
    ]


def test_locked_microphone_cannot_be_unmuted_by_its_owner() -> None:
    session = live_hearing().session
    session.mute(act(PJ), DEFENDANT, lock=True)
    assert session.participants[DEFENDANT].media_locked
    session.collect_events()
    before = snapshot(session)
    with pytest.raises(PolicyViolation) as refused:
        session.unmute(act(DEFENDANT), DEFENDANT)
    assert refused.value.rule == "participant.media_locked"
    assert "raise your hand" in refused.value.message.en
    assert_unchanged(session, before)
    # The court may still unmute; the lock stays until lifted.
    session.unmute(act(CLERK), DEFENDANT)
    session.mute(act(CLERK), DEFENDANT)
    session.unlock(act(PJ), DEFENDANT)
    session.unmute(act(DEFENDANT), DEFENDANT)
    assert brief(session.collect_events()) == [
        ("media_control_changed", DEFENDANT, False, True),
        ("media_control_changed", DEFENDANT, True, True),
        ("media_control_changed", DEFENDANT, True, False),
        ("media_control_changed", DEFENDANT, False, False),
    ]


def test_only_the_presiding_judge_locks() -> None:
    session = live_hearing().session
    before = snapshot(session)
    with pytest.raises(PermissionDenied) as refused:
        session.mute(act(CLERK), DEFENDANT, lock=True)
    assert refused.value.rule == "permission.lock_media"
    with pytest.raises(PermissionDenied):
        session.mute_all(act(CLERK), lock=True)
    assert_unchanged(session, before)


def test_the_presiding_judge_cannot_be_muted_by_others() -> None:
    session = live_hearing().session
    with pytest.raises(PolicyViolation) as refused:
        session.mute(act(CLERK), PJ)
    assert refused.value.rule == "participant.cannot_mute_presiding"
    session.mute(act(PJ), PJ)
    assert session.participants[PJ].muted


def test_mute_all_spares_the_court() -> None:
    session = live_hearing().session
    session.mute_all(act(PJ), lock=True)
    # Everyone present who is not the court, the lobby included, in the order they were added.
    assert brief(session.collect_events()) == [
        ("media_control_changed", DEFENDANT, True, True),
        ("media_control_changed", LAWYER, True, True),
        ("media_control_changed", WITNESS, True, True),
        ("media_control_changed", OBSERVER, True, True),
    ]
    assert not session.participants[PJ].muted
    assert not session.participants[CLERK].muted


# ----------------------------------------------------------------------------- floor and hands


def test_floor_and_hands() -> None:
    session = live_hearing().session
    session.mute(act(PJ), DEFENDANT, lock=True)
    session.raise_hand(act(DEFENDANT))
    session.raise_hand(act(DEFENDANT))  # already up
    session.collect_events()
    session.give_floor(act(PJ), DEFENDANT)
    assert brief(session.collect_events()) == [
        ("hand_changed", DEFENDANT, False),
        ("media_control_changed", DEFENDANT, False, True),
        ("floor_changed", DEFENDANT),
    ]
    assert session.floor_holder == DEFENDANT
    session.give_floor(act(PJ), LAWYER)
    session.take_floor(act(PJ))
    session.take_floor(act(PJ))  # nobody holds it: nothing to record
    assert brief(session.collect_events()) == [
        ("floor_changed", LAWYER),
        ("floor_changed", None),
    ]


def test_hands_are_lowered_by_their_owner_or_the_court() -> None:
    session = live_hearing().session
    session.raise_hand(act(LAWYER))
    session.raise_hand(act(WITNESS))  # waiting in the lobby is enough to raise a hand
    with pytest.raises(PermissionDenied) as refused:
        session.lower_hand(act(DEFENDANT), LAWYER)
    assert refused.value.rule == "permission.give_floor"
    session.lower_hand(act(LAWYER))
    session.lower_hand(act(PJ), WITNESS)
    assert brief(session.collect_events()) == [
        ("hand_changed", LAWYER, True),
        ("hand_changed", WITNESS, True),
        ("hand_changed", LAWYER, False),
        ("hand_changed", WITNESS, False),
    ]


def test_the_floor_goes_only_to_someone_in_the_room() -> None:
    session = live_hearing().session
    with pytest.raises(InvalidTransition) as refused:
        session.give_floor(act(PJ), WITNESS)
    assert refused.value.rule == "participant.not_present"


# ----------------------------------------------------------------------------- screen share


def test_one_screen_at_a_time() -> None:
    session = live_hearing().session
    session.set_screen_share(act(LAWYER), True)
    session.set_screen_share(act(PJ), True)
    session.set_screen_share(act(LAWYER), False)  # already stopped: nothing new
    session.set_screen_share(act(PJ), False)
    assert brief(session.collect_events()) == [
        ("screen_share_changed", LAWYER, True),
        ("screen_share_changed", LAWYER, False),
        ("screen_share_changed", PJ, True),
        ("screen_share_changed", PJ, False),
    ]
    assert not any(p.screen_sharing for p in session.participants.values())


def test_a_defendant_cannot_share_a_screen() -> None:
    session = live_hearing().session
    session.set_screen_share(act(LAWYER), True)
    session.collect_events()
    before = snapshot(session)
    with pytest.raises(PermissionDenied) as refused:
        session.set_screen_share(act(DEFENDANT), True)
    assert refused.value.rule == "permission.share_screen"
    assert_unchanged(session, before)


# ----------------------------------------------------------------------------- consultation


def test_consultation_room_moves_and_returns() -> None:
    session = live_hearing().session
    session.give_floor(act(PJ), LAWYER)
    session.collect_events()
    room = session.move_to_consultation(act(CLERK), [DEFENDANT, LAWYER, DEFENDANT], "Bào chữa")
    assert session.consultation_rooms == {room: "Bào chữa"}
    assert session.floor_holder is None
    assert brief(session.collect_events()) == [
        ("participant_state_changed", DEFENDANT, IN_SESSION, "in_consultation", "Bào chữa"),
        ("consultation_changed", DEFENDANT, room, "Bào chữa"),
        ("participant_state_changed", LAWYER, IN_SESSION, "in_consultation", "Bào chữa"),
        ("floor_changed", None),
        ("consultation_changed", LAWYER, room, "Bào chữa"),
    ]
    session.return_from_consultation(act(PJ), [DEFENDANT])
    assert session.consultation_rooms == {room: "Bào chữa"}  # the lawyer is still there
    session.return_from_consultation(act(PJ), [LAWYER])
    assert session.consultation_rooms == {}
    assert brief(session.collect_events()) == [
        ("consultation_changed", DEFENDANT, None, ""),
        ("participant_state_changed", DEFENDANT, "in_consultation", IN_SESSION, ""),
        ("consultation_changed", LAWYER, None, ""),
        ("participant_state_changed", LAWYER, "in_consultation", IN_SESSION, ""),
    ]
    assert {p.consultation_room for p in session.participants.values()} == {None}


def test_same_room_name_joins_the_same_room() -> None:
    session = live_hearing().session
    first = session.move_to_consultation(act(PJ), [PJ], "Nghị án")
    second = session.move_to_consultation(act(PJ), [CLERK], "Nghị án")
    assert first == second
    assert len(session.consultation_rooms) == 1


def test_leaving_from_a_consultation_room_empties_it() -> None:
    session = live_hearing().session
    room = session.move_to_consultation(act(CLERK), [DEFENDANT], "Riêng")
    session.collect_events()
    session.leave(DEFENDANT)
    assert session.consultation_rooms == {}
    assert brief(session.collect_events()) == [
        ("participant_state_changed", DEFENDANT, "in_consultation", "left", ""),
        ("consultation_changed", DEFENDANT, None, ""),
    ]
    assert room not in session.consultation_rooms


def test_consultation_refusals() -> None:
    session = live_hearing().session
    before = snapshot(session)
    with pytest.raises(PermissionDenied) as denied:
        session.move_to_consultation(act(LAWYER), [DEFENDANT, LAWYER], "Riêng")
    assert denied.value.rule == "permission.manage_consultation"
    with pytest.raises(InvalidTransition) as refused:
        session.move_to_consultation(act(CLERK), [DEFENDANT, WITNESS], "Riêng")
    assert refused.value.rule == "participant_state.move_to_consultation"
    with pytest.raises(InvalidInput):
        session.move_to_consultation(act(CLERK), [], "Riêng")
    with pytest.raises(InvalidTransition):
        session.return_from_consultation(act(CLERK), [DEFENDANT])
    assert_unchanged(session, before)  # the defendant was not moved half-way either


# ----------------------------------------------------------------------------- screening


def test_screening_on_and_off() -> None:
    session = live_hearing().session
    session.set_screening(act(PJ), WITNESS, DEFENDANT, audio=True)
    assert session.screenings == {Screening(WITNESS, DEFENDANT, True)}
    session.set_screening(act(PJ), WITNESS, DEFENDANT, audio=False)  # replaces, not adds
    assert session.screenings == {Screening(WITNESS, DEFENDANT, False)}
    session.set_screening(act(PJ), WITNESS, DEFENDANT, active=False)
    assert session.screenings == set()
    assert brief(session.collect_events()) == [
        ("screening_changed", WITNESS, DEFENDANT, True, True),
        ("screening_changed", WITNESS, DEFENDANT, True, False),
        ("screening_changed", WITNESS, DEFENDANT, False, False),
    ]


def test_screening_refusals() -> None:
    session = live_hearing().session
    with pytest.raises(PermissionDenied) as denied:
        session.set_screening(act(CLERK), WITNESS, DEFENDANT)
    assert denied.value.rule == "permission.set_screening"
    with pytest.raises(InvalidInput) as same:
        session.set_screening(act(PJ), WITNESS, WITNESS)
    assert same.value.rule == "screening.same_person"
    with pytest.raises(NotFound):
        session.set_screening(act(PJ), WITNESS, ParticipantId("ghost"))
    assert session.screenings == set()


# ----------------------------------------------------------------------------- removal


def test_remove_clears_what_the_person_held() -> None:
    session = live_hearing().session
    session.give_floor(act(PJ), LAWYER)
    session.raise_hand(act(LAWYER))
    session.set_screen_share(act(LAWYER), True)
    session.collect_events()
    session.remove(act(PJ), LAWYER)
    assert session.participants[LAWYER].state is ParticipantState.REMOVED
    assert brief(session.collect_events()) == [
        ("participant_state_changed", LAWYER, IN_SESSION, "removed", ""),
        ("floor_changed", None),
        ("hand_changed", LAWYER, False),
        ("screen_share_changed", LAWYER, False),
    ]
    with pytest.raises(InvalidTransition):  # a removed person cannot come back
        session.join(LAWYER)


def test_the_presiding_judge_cannot_be_removed() -> None:
    session = live_hearing().session
    before = snapshot(session)
    with pytest.raises(PolicyViolation) as refused:
        session.remove(act(PJ), PJ)
    assert refused.value.rule == "participant.cannot_remove"
    with pytest.raises(PermissionDenied):
        session.remove(act(CLERK), PJ)
    assert_unchanged(session, before)


def test_deny_entry() -> None:
    session = live_hearing().session
    session.leave(OBSERVER)
    session.join(OBSERVER)
    session.collect_events()
    session.deny(act(CLERK), OBSERVER)
    assert brief(session.collect_events()) == [
        ("participant_state_changed", OBSERVER, IN_LOBBY, "denied", ""),
    ]
    with pytest.raises(InvalidTransition):
        session.join(OBSERVER)


# ----------------------------------------------------------------------------- refusals


PARTY_COMMANDS = [
    ("start", lambda s: s.start(act(DEFENDANT)), "permission.start"),
    ("suspend", lambda s: s.suspend(act(DEFENDANT)), "permission.suspend"),
    ("resume", lambda s: s.resume(act(DEFENDANT)), "permission.resume"),
    ("close", lambda s: s.close(act(DEFENDANT)), "permission.close"),
    ("postpone", lambda s: s.postpone(act(DEFENDANT)), "permission.postpone"),
    ("admit", lambda s: s.admit(act(DEFENDANT), WITNESS), "permission.admit"),
    ("deny", lambda s: s.deny(act(DEFENDANT), WITNESS), "permission.deny"),
    ("verify", lambda s: s.verify_identity(act(DEFENDANT), WITNESS), "permission.verify_identity"),
    ("remove", lambda s: s.remove(act(DEFENDANT), LAWYER), "permission.remove"),
    ("mute", lambda s: s.mute(act(DEFENDANT), LAWYER), "permission.mute_others"),
    ("mute_all", lambda s: s.mute_all(act(DEFENDANT)), "permission.mute_others"),
    ("unmute", lambda s: s.unmute(act(DEFENDANT), CLERK), "permission.unmute_others"),
    ("unlock", lambda s: s.unlock(act(DEFENDANT), DEFENDANT), "permission.lock_media"),
    ("give_floor", lambda s: s.give_floor(act(DEFENDANT), DEFENDANT), "permission.give_floor"),
    ("take_floor", lambda s: s.take_floor(act(DEFENDANT)), "permission.give_floor"),
    ("call", lambda s: s.call_witness(act(DEFENDANT), WITNESS), "permission.call_witness"),
    ("dismiss", lambda s: s.dismiss_witness(act(DEFENDANT), WITNESS), "permission.call_witness"),
    ("record", lambda s: s.start_recording(act(DEFENDANT)), "permission.start_recording"),
    ("pause_rec", lambda s: s.pause_recording(act(DEFENDANT)), "permission.pause_recording"),
    (
        "screening",
        lambda s: s.set_screening(act(DEFENDANT), DEFENDANT, WITNESS, active=False),
        "permission.set_screening",
    ),
    (
        "consult",
        lambda s: s.move_to_consultation(act(DEFENDANT), [DEFENDANT], "x"),
        "permission.manage_consultation",
    ),
    (
        "return",
        lambda s: s.return_from_consultation(act(DEFENDANT), [CLERK]),
        "permission.manage_consultation",
    ),
    ("share", lambda s: s.set_screen_share(act(DEFENDANT), True), "permission.share_screen"),
]


def _busy_hearing() -> CourtSession:
    """A live hearing with a bit of everything going on, so a refusal has much to disturb."""
    session = live_hearing().session
    session.start_recording(act(CLERK))
    session.give_floor(act(PJ), LAWYER)
    session.mute(act(PJ), DEFENDANT)
    session.move_to_consultation(act(PJ), [CLERK], "Thư ký")
    session.set_screening(act(PJ), WITNESS, DEFENDANT)
    return session


@pytest.mark.parametrize(
    ("command", "rule"), [c[1:] for c in PARTY_COMMANDS], ids=[c[0] for c in PARTY_COMMANDS]
)
def test_a_party_giving_court_commands_changes_nothing(
    command: Callable[[CourtSession], object], rule: str
) -> None:
    session = _busy_hearing()
    before = snapshot(session)
    with pytest.raises(PermissionDenied) as refused:
        command(session)
    assert refused.value.rule == rule
    assert refused.value.message.vi
    assert "Defendant" in refused.value.message.en
    assert_unchanged(session, before)


def test_strangers_and_waiting_people_give_no_commands() -> None:
    session = live_hearing().session
    before = snapshot(session)
    with pytest.raises(PermissionDenied) as stranger:
        session.suspend(CLERK_STAFF)
    assert stranger.value.rule == "permission.not_a_participant"
    with pytest.raises(PermissionDenied) as waiting:
        session.set_screen_share(act(WITNESS), True)
    assert waiting.value.rule == "permission.not_taking_part"
    assert_unchanged(session, before)
    session.leave(CLERK)
    before = snapshot(session)
    with pytest.raises(PermissionDenied) as gone:
        session.admit(act(CLERK), WITNESS)
    assert gone.value.rule == "permission.not_taking_part"
    assert_unchanged(session, before)


# ----------------------------------------------------------------------------- closed hearings


def test_observers_are_refused_for_a_closed_hearing_when_added() -> None:
    hearing = scheduled_hearing(case=criminal_case(closed_hearing=True), observer=False)
    with pytest.raises(PolicyViolation) as refused:
        hearing.session.add_participant(CLERK_STAFF, "Vũ Thị Dân", Role.OBSERVER, OTHER_COURT)
    assert refused.value.rule == "policy.closed_hearing"
    assert OBSERVER not in hearing.session.participants
    assert hearing.session.collect_events() == []


def test_making_a_hearing_closed_needs_the_observers_gone() -> None:
    session = scheduled_hearing().session
    with pytest.raises(PolicyViolation) as refused:
        session.update_details(CLERK_STAFF, case=criminal_case(closed_hearing=True))
    assert refused.value.rule == "policy.closed_hearing"
    assert session.case is not None and not session.case.closed_hearing


def test_observers_are_refused_for_a_closed_hearing_when_joining() -> None:
    """Scheduled under a court's older, permissive policy; joined under the law's."""
    permissive = JurisdictionPolicy.from_mapping({"observers_in_closed_hearings": True})
    hearing = scheduled_hearing(case=criminal_case(closed_hearing=True), policy=permissive)
    session = hearing.session
    session.policy = VIETNAM
    with pytest.raises(PolicyViolation) as refused:
        session.join(OBSERVER)
    assert refused.value.rule == "policy.closed_hearing"
    assert session.participants[OBSERVER].state is ParticipantState.INVITED
    assert session.state is SessionState.SCHEDULED  # the refused arrival opened nothing


def test_a_policy_may_let_observers_into_closed_hearings() -> None:
    permissive = JurisdictionPolicy.from_mapping({"observers_in_closed_hearings": True})
    session = scheduled_hearing(case=criminal_case(closed_hearing=True), policy=permissive).session
    assert session.join(OBSERVER) is ParticipantState.IN_LOBBY


# ----------------------------------------------------------------------------- connections


def test_losing_the_courtroom_suspends_the_hearing() -> None:
    hearing = live_hearing()
    session = hearing.session
    session.start_recording(act(CLERK))
    session.give_floor(act(PJ), DEFENDANT)
    session.collect_events()

    # the presiding judge is still in the courtroom: it goes on
    assert session.disconnect(CLERK) is False
    assert session.state is SessionState.IN_SESSION
    session.join(CLERK)
    session.collect_events()
    assert session.disconnect(CLERK) is False
    assert session.disconnect(PJ) is True
    assert session.state is SessionState.SUSPENDED
    assert session.recording is RecordingState.PAUSED
    events = session.collect_events()
    assert brief(events) == [
        ("participant_state_changed", CLERK, IN_SESSION, "disconnected", "connection lost"),
        ("participant_state_changed", PJ, IN_SESSION, "disconnected", "connection lost"),
        ("session_state_changed", IN_SESSION, "suspended", "courtroom_connection_lost"),
        ("recording_state_changed", "recording", "paused", "suspended"),
    ]
    assert {e.actor for e in events} == {SYSTEM}
    # The remote points keep their places (and the floor) while the court reconnects.
    assert hearing.state_of(DEFENDANT) == IN_SESSION
    assert session.floor_holder == DEFENDANT

    assert session.join(PJ) is ParticipantState.IN_SESSION
    assert session.join(CLERK) is ParticipantState.IN_SESSION
    assert session.state is SessionState.SUSPENDED  # only the judge resumes
    session.resume(act(PJ))
    assert session.recording is RecordingState.RECORDING
    assert brief(session.collect_events()) == [
        ("participant_state_changed", PJ, "disconnected", IN_SESSION, "reconnected"),
        ("participant_state_changed", CLERK, "disconnected", IN_SESSION, "reconnected"),
        ("session_state_changed", "suspended", IN_SESSION, ""),
        ("recording_state_changed", "paused", "recording", "resumed"),
    ]


def test_losing_a_panel_member_suspends_even_with_the_courtroom_connected() -> None:
    hearing = live_hearing()
    session = hearing.session
    session.collect_events()
    session.disconnect(PJ)  # the clerk is still there, but the panel is not whole
    assert session.state is SessionState.SUSPENDED
    assert brief(session.collect_events()) == [
        ("participant_state_changed", PJ, IN_SESSION, "disconnected", "connection lost"),
        ("session_state_changed", IN_SESSION, "suspended", "panel_member_connection_lost"),
    ]


def _lobby_open() -> CourtSession:
    session = scheduled_hearing().session
    for pid in (PJ, CLERK, DEFENDANT):
        session.join(pid)
    return session


def _suspended() -> CourtSession:
    session = live_hearing().session
    session.suspend(act(PJ), "recess")
    return session


def _in_session() -> CourtSession:
    return live_hearing().session


@pytest.mark.parametrize(
    ("build", "drops"),
    [
        pytest.param(_in_session, [DEFENDANT, LAWYER], id="remote-points"),
        pytest.param(_lobby_open, [PJ, CLERK], id="courtroom-before-start"),
        pytest.param(_suspended, [PJ, CLERK], id="courtroom-while-suspended"),
    ],
)
def test_other_drops_do_not_suspend(
    build: Callable[[], CourtSession], drops: list[ParticipantId]
) -> None:
    session = build()
    state = session.state
    session.collect_events()
    for pid in drops:
        session.disconnect(pid)
    assert session.state is state
    assert [e.name for e in session.collect_events()] == ["participant_state_changed"] * len(drops)


def test_a_policy_may_keep_going_without_the_courtroom() -> None:
    policy = JurisdictionPolicy.from_mapping({"suspend_on_courtroom_disconnect": False})
    session = live_hearing(policy).session
    session.disconnect(PJ)
    session.disconnect(CLERK)
    assert session.state is SessionState.IN_SESSION


@pytest.mark.parametrize(
    ("who", "prepare", "back_to"),
    [
        pytest.param(DEFENDANT, None, IN_SESSION, id="party-in-session"),
        pytest.param(WITNESS, None, IN_LOBBY, id="party-in-lobby"),
        pytest.param(PJ, None, IN_SESSION, id="court"),
        pytest.param(
            DEFENDANT,
            lambda s: s.move_to_consultation(act(PJ), [DEFENDANT, LAWYER], "Riêng"),
            "in_consultation",
            id="consultation",
        ),
    ],
)
def test_reconnect_restores_the_previous_state(
    who: ParticipantId, prepare: Callable[[CourtSession], object] | None, back_to: str
) -> None:
    hearing = live_hearing()
    session = hearing.session
    if prepare is not None:
        prepare(session)
    room = session.participants[who].consultation_room
    session.disconnect(who)
    assert hearing.state_of(who) == "disconnected"
    assert session.participants[who].consultation_room == room  # the room waits for them
    session.join(who)
    assert hearing.state_of(who) == back_to
    assert session.participants[who].consultation_room == room
    assert session.participants[who].state_before_disconnect is None


def test_a_repeated_disconnect_does_not_forget_where_the_person_was() -> None:
    """The signalling edge may report one drop twice; the second report is refused and must
    not overwrite the state the reconnection returns to."""
    hearing = live_hearing()
    session = hearing.session
    session.disconnect(DEFENDANT)
    before = snapshot(session)
    with pytest.raises(InvalidTransition):
        session.disconnect(DEFENDANT)
    assert_unchanged(session, before)
    session.join(DEFENDANT)
    assert hearing.state_of(DEFENDANT) == IN_SESSION


def test_leaving_and_coming_back_means_the_lobby_again() -> None:
    hearing = live_hearing()
    session = hearing.session
    session.leave(DEFENDANT)
    assert session.join(DEFENDANT) is ParticipantState.IN_LOBBY
    session.admit(act(CLERK), DEFENDANT)  # the identity check is not repeated
    assert hearing.state_of(DEFENDANT) == IN_SESSION


def test_the_live_hearing_fixture() -> None:
    hearing: Hearing = live_hearing()
    assert {pid: hearing.state_of(pid) for pid in EVERYONE} == {
        PJ: IN_SESSION,
        CLERK: IN_SESSION,
        DEFENDANT: IN_SESSION,
        LAWYER: IN_SESSION,
        WITNESS: IN_LOBBY,
        OBSERVER: IN_SESSION,
    }
    assert hearing.session.state is SessionState.IN_SESSION
    assert all(hearing.session.participants[pid].identity_verified for pid in EVERYONE[2:])


# ------------------------------------------------------------------- lock and private room


def test_a_lock_binds_in_the_hearing_room_not_in_the_private_room() -> None:
    """Issue 10: a defendant locked in the hearing room speaks freely with counsel in private;
    back in the hearing room the lock binds again."""
    session = live_hearing().session
    session.mute(act(PJ), DEFENDANT, lock=True)
    room = session.move_to_consultation(act(CLERK), [DEFENDANT, LAWYER], "Bào chữa")
    session.collect_events()
    defendant = session.participants[DEFENDANT]
    assert defendant.media_locked and not defendant.lock_in_force
    session.unmute(act(DEFENDANT), DEFENDANT)
    plan = session.forwarding_plan()
    assert plan.may_receive(LAWYER, DEFENDANT, MediaSource.MICROPHONE)
    assert not plan.may_receive(PJ, DEFENDANT, MediaSource.MICROPHONE)
    assert not plan.may_receive(OBSERVER, DEFENDANT, MediaSource.MICROPHONE)
    session.mute(act(DEFENDANT), DEFENDANT)
    session.unmute(act(DEFENDANT), DEFENDANT)
    session.return_from_consultation(act(CLERK), [DEFENDANT, LAWYER])
    assert defendant.muted and defendant.lock_in_force
    assert not session.forwarding_plan().may_receive(LAWYER, DEFENDANT, MediaSource.MICROPHONE)
    assert brief(session.collect_events()) == [
        ("media_control_changed", DEFENDANT, False, True),
        ("media_control_changed", DEFENDANT, True, True),
        ("media_control_changed", DEFENDANT, False, True),
        ("consultation_changed", DEFENDANT, None, ""),
        ("participant_state_changed", DEFENDANT, "in_consultation", IN_SESSION, ""),
        ("media_control_changed", DEFENDANT, True, True),
        ("consultation_changed", LAWYER, None, ""),
        ("participant_state_changed", LAWYER, "in_consultation", IN_SESSION, ""),
    ]
    assert room not in session.consultation_rooms
    with pytest.raises(PolicyViolation) as refused:
        session.unmute(act(DEFENDANT), DEFENDANT)
    assert refused.value.rule == "participant.media_locked"


def test_the_court_locks_for_the_return_but_does_not_switch_private_microphones() -> None:
    session = live_hearing().session
    session.move_to_consultation(act(CLERK), [DEFENDANT, LAWYER], "Bào chữa")
    session.collect_events()
    before = snapshot(session)
    for command in (
        lambda: session.mute(act(CLERK), DEFENDANT),
        lambda: session.unmute(act(CLERK), DEFENDANT),
    ):
        with pytest.raises(PolicyViolation) as refused:
            command()
        assert refused.value.rule == "participant.in_private_room"
    assert_unchanged(session, before)
    session.mute_all(act(PJ), lock=True)
    defendant, lawyer = session.participants[DEFENDANT], session.participants[LAWYER]
    assert defendant.media_locked and not defendant.muted
    assert lawyer.media_locked and not lawyer.muted
    assert session.participants[OBSERVER].muted
    session.return_from_consultation(act(CLERK), [DEFENDANT])
    assert defendant.muted and defendant.lock_in_force


def test_an_unverified_entry_is_refused_in_words_for_the_actor_and_the_role() -> None:
    """Issue 10: the presiding judge may verify, so is told to, not sent to the clerk; a
    witness is invited into the courtroom, a party admitted to the hearing."""
    session = scheduled_hearing().session
    for pid in EVERYONE:
        session.join(pid)
    session.start(act(PJ))
    with pytest.raises(PolicyViolation) as refused:
        session.call_witness(act(PJ), WITNESS)
    assert refused.value.rule == "policy.identity_unverified"
    assert refused.value.message.vi == (
        "Hãy xác nhận danh tính của Hoàng Văn Chứng trước khi mời vào phòng xử án."
    )
    assert "triệu tập" not in refused.value.message.vi
    with pytest.raises(PolicyViolation) as refused:
        session.admit(act(CLERK), DEFENDANT)
    assert refused.value.message.vi == (
        "Hãy xác nhận danh tính của Trần Văn Cáo trước khi cho vào phiên tòa."
    )
    with pytest.raises(PolicyViolation) as refused:
        session.admit(act(CLERK), WITNESS)
    assert refused.value.rule == "witness.must_be_called"
    assert "mời vào" in refused.value.message.vi and "triệu tập" not in refused.value.message.vi
    # Verified, the same call goes through.
    session.verify_identity(act(PJ), WITNESS)
    session.call_witness(act(PJ), WITNESS)
    assert session.participants[WITNESS].state is ParticipantState.IN_SESSION


# ----------------------------------------------------------------------------- abandoned sessions

JUDGE_STAFF = Actor.staff("u-judge", StaffRole.JUDGE, "Nguyễn Văn Chủ", COURT)


@pytest.mark.parametrize(
    ("transition", "ended"),
    [
        ("closed", SessionState.CLOSED),
        ("postponed", SessionState.POSTPONED),
    ],
)
def test_staff_end_a_suspended_session_nobody_resumes(transition: str, ended: SessionState) -> None:
    session = live_hearing().session
    session.suspend(act(PJ), "mất kết nối")
    session.collect_events()
    session.end_abandoned(JUDGE_STAFF, transition, "  Phòng xử án không   kết nối lại ")
    assert session.state is ended
    [event] = session.collect_events()
    assert isinstance(event, ev.SessionStateChanged)
    assert (event.actor, event.previous, event.reason) == (
        JUDGE_STAFF.id,
        "suspended",
        "Phòng xử án không kết nối lại",
    )


def test_ending_an_abandoned_session_has_its_rules() -> None:
    session = live_hearing().session
    with pytest.raises(InvalidTransition) as wrong_state:
        session.end_abandoned(JUDGE_STAFF, "closed", "lý do")
    assert wrong_state.value.rule == "session_state.end_abandoned"
    session.suspend(act(PJ), "")
    before = snapshot(session)
    refusals = [
        (JUDGE_STAFF, "closed", " ", "session.end_reason"),
        (JUDGE_STAFF, "resumed", "lý do", "session.end_outcome"),
        (CLERK_STAFF, "closed", "lý do", "staff_permission.end_abandoned"),
        (
            Actor.staff("u-x", StaffRole.JUDGE, "Khác", CourtId("tand-khac")),
            "closed",
            "lý do",
            "staff_permission.other_court",
        ),
        (act(PJ), "closed", "lý do", "staff_permission.end_abandoned"),
    ]
    for actor, transition, reason, rule in refusals:
        with pytest.raises((PermissionDenied, InvalidInput)) as refused:
            session.end_abandoned(actor, transition, reason)
        assert refused.value.rule == rule
    assert_unchanged(session, before)


def test_a_copy_to_change_shares_nothing_a_command_may_change() -> None:
    """Commands work on a copy of the saved session (the process keeps the saved one);
    changing the copy must leave the saved one as it was, whatever a command touches."""
    saved = live_hearing().session
    before = snapshot(saved)
    copied = saved.copy_to_change()
    assert copied == saved
    assert copied.events == []
    for spec in dataclasses.fields(saved):
        value = getattr(saved, spec.name)
        if isinstance(value, dict | set | list):
            assert getattr(copied, spec.name) is not value, spec.name
    for pid, person in saved.participants.items():
        assert copied.participants[pid] is not person

    copied.mute(act(PJ), DEFENDANT, lock=True)
    copied.leave(LAWYER)
    copied.set_screening(act(PJ), WITNESS, DEFENDANT)
    copied.events.clear()
    assert_unchanged(saved, before)
    assert copied != saved
