"""Recording from the hearing's start, and which rooms a recording covers (no I/O)."""

from __future__ import annotations

import pytest
from rooms_testkit import (
    CLERK,
    CLERK_STAFF,
    COURT,
    DEFENDANT,
    END,
    EVERYONE,
    IT_STAFF,
    LAWYER,
    OBSERVER,
    PARTIES,
    PJ,
    START,
    WITNESS,
    act,
    assert_unchanged,
    brief,
    criminal_case,
    live_hearing,
    scheduled_hearing,
    snapshot,
)

from rooms import VIETNAM, CourtSession, JurisdictionPolicy, MeetingInfo, Role
from rooms.errors import InvalidInput, InvalidTransition, PermissionDenied
from rooms.media import MediaSource, RecordingState
from rooms.minutes import Minutes, header_of
from rooms.text import Text

FULL_DISK = Text("Ổ đĩa còn 12 MB.", "12 MB of free space left.")


def _ready(record_automatically: bool) -> CourtSession:
    """A scheduled hearing with everyone admitted, not yet started."""
    session = scheduled_hearing().session
    session.update_details(CLERK_STAFF, record_automatically=record_automatically)
    for pid in EVERYONE:
        session.join(pid)
    for pid in PARTIES:
        session.verify_identity(act(CLERK), pid)
    for pid in (DEFENDANT, LAWYER, OBSERVER):
        session.admit(act(CLERK), pid)
    session.collect_events()
    return session


def test_the_setting_is_made_when_scheduling() -> None:
    session = CourtSession.schedule_hearing(
        CLERK_STAFF, criminal_case(), VIETNAM, START, END, record_automatically=True
    )
    assert session.record_automatically
    assert not scheduled_hearing().session.record_automatically


def test_a_hearing_that_records_from_its_start_starts_recording_with_the_start() -> None:
    session = _ready(record_automatically=True)
    session.start(act(PJ))
    assert session.recording is RecordingState.RECORDING
    assert brief(session.collect_events()) == [
        ("session_state_changed", "open", "in_session", ""),
        ("recording_state_changed", "off", "recording", "automatic"),
    ]
    assert session.may_record(DEFENDANT, MediaSource.CAMERA)
    # Paused by hand, it stays paused: the setting acts at the start only.
    session.pause_recording(act(PJ))
    session.suspend(act(PJ))
    session.resume(act(PJ))
    assert session.recording is RecordingState.PAUSED


def test_without_the_setting_the_start_records_nothing() -> None:
    session = _ready(record_automatically=False)
    session.start(act(PJ), recording_refusal=FULL_DISK)
    assert session.recording is RecordingState.OFF
    assert brief(session.collect_events()) == [("session_state_changed", "open", "in_session", "")]


def test_a_server_that_cannot_record_still_starts_the_hearing_and_says_why() -> None:
    session = _ready(record_automatically=True)
    session.start(act(PJ), recording_refusal=FULL_DISK)
    assert session.state.value == "in_session"
    assert session.recording is RecordingState.OFF
    events = session.collect_events()
    assert [e.name for e in events] == ["session_state_changed", "recording_not_started"]
    assert events[1].payload() == {
        "session_id": session.id,
        "actor": PJ,
        "reason": "automatic",
        "rule": "recording.unavailable",
        "message": {"vi": FULL_DISK.vi, "en": FULL_DISK.en},
    }
    # The judge can start it by hand once the server can record.
    session.start_recording(act(PJ))
    assert session.recording is RecordingState.RECORDING


def test_a_recording_paused_by_a_suspension_stays_paused_where_it_cannot_be_written() -> None:
    session = live_hearing().session
    session.start_recording(act(CLERK))
    session.suspend(act(PJ), "nghỉ giải lao")
    session.collect_events()
    session.resume(act(PJ), recording_refusal=FULL_DISK)
    assert session.state.value == "in_session"
    assert session.recording is RecordingState.PAUSED
    assert not session.recording_paused_by_suspension
    assert brief(session.collect_events()) == [
        ("session_state_changed", "suspended", "in_session", ""),
        (
            "recording_not_started",
            "resumed",
            "recording.unavailable",
            {"vi": FULL_DISK.vi, "en": FULL_DISK.en},
        ),
    ]
    # Resumed by hand once the server can write again.
    session.start_recording(act(PJ))
    assert session.recording is RecordingState.RECORDING


def test_a_resumption_with_nothing_to_resume_ignores_the_refusal() -> None:
    session = live_hearing().session
    session.suspend(act(PJ))
    session.collect_events()
    session.resume(act(PJ), recording_refusal=FULL_DISK)
    assert brief(session.collect_events()) == [
        ("session_state_changed", "suspended", "in_session", "")
    ]


def test_only_whoever_may_start_the_hearing_sets_off_the_automatic_recording() -> None:
    session = _ready(record_automatically=True)
    before = snapshot(session)
    with pytest.raises(PermissionDenied) as refused:
        session.start(act(CLERK))
    assert refused.value.rule == "permission.start"
    assert_unchanged(session, before)


def test_the_setting_changes_while_scheduled_and_only_for_a_hearing() -> None:
    session = scheduled_hearing().session
    session.update_details(CLERK_STAFF, record_automatically=True)
    assert session.record_automatically
    assert brief(session.collect_events()) == [
        ("session_details_changed", ("record_automatically",))
    ]
    meeting = CourtSession.schedule_meeting(
        IT_STAFF, MeetingInfo(COURT, "Giao ban"), VIETNAM, START
    )
    before = snapshot(meeting)
    with pytest.raises(InvalidInput) as refused:
        meeting.update_details(
            IT_STAFF, meeting=MeetingInfo(COURT, "Đổi"), record_automatically=True
        )
    assert refused.value.rule == "session.record_automatically"
    assert_unchanged(meeting, before)
    live = live_hearing().session
    with pytest.raises(InvalidTransition):
        live.update_details(CLERK_STAFF, record_automatically=True)
    assert not live.record_automatically


def test_which_rooms_a_recording_covers() -> None:
    hearing = live_hearing()
    session = hearing.session
    people = session.participants
    # The witness waits in the lobby: never recorded. The hearing room is, whether or not
    # recording runs.
    assert not session.room_is_recorded(people[WITNESS])
    assert session.room_is_recorded(people[DEFENDANT])
    assert session.recording is RecordingState.OFF
    session.move_to_consultation(act(PJ), [DEFENDANT, LAWYER], "Trao đổi với luật sư")
    assert not session.room_is_recorded(people[DEFENDANT])  # consultation: not by default
    session.start_recording(act(PJ))
    assert not session.may_record(DEFENDANT, MediaSource.CAMERA)
    assert session.may_record(PJ, MediaSource.CAMERA) == session.room_is_recorded(people[PJ])


def test_deliberation_is_not_a_recorded_room_even_where_consultations_are() -> None:
    policy = JurisdictionPolicy.from_mapping({"record_consultations": True})
    session = live_hearing(policy).session
    people = session.participants
    session.move_to_consultation(act(PJ), [DEFENDANT, LAWYER], "Trao đổi với luật sư")
    assert session.room_is_recorded(people[DEFENDANT])
    assessor = session.add_participant(
        IT_STAFF, "Hội thẩm Minh", Role.PEOPLES_ASSESSOR, session.central_point.id
    )
    session.join(assessor.id)
    session.move_to_consultation(act(CLERK), [PJ, assessor.id], "Nghị án")
    assert not session.room_is_recorded(people[PJ])
    assert not session.room_is_recorded(people[assessor.id])


def test_the_minutes_say_that_the_recording_did_not_start_and_why() -> None:
    session = _ready(record_automatically=True)
    minutes = Minutes(session.id, header_of(session, "TAND thành phố Hà Nội"))
    session.start(act(PJ), recording_refusal=FULL_DISK)
    minutes.record(session.collect_events(), session, START)
    said = [entry.line.vi for entry in minutes.entries]
    assert "Không ghi âm, ghi hình được: Ổ đĩa còn 12 MB." in said
    assert not any("Bắt đầu ghi âm" in line for line in said)
