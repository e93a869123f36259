"""Rules a court user asked for after the first review: officials, self-mute, deliberation,
and who sees the lobby."""

from __future__ import annotations

import pytest
from rooms_testkit import (
    CLERK,
    COURT,
    DEFENDANT,
    END,
    IT_STAFF,
    LAWYER,
    PJ,
    START,
    act,
    brief,
    live_hearing,
    scheduled_hearing,
)

from rooms import (
    Actor,
    CourtSession,
    JurisdictionPolicy,
    MediaSource,
    MeetingInfo,
    ParticipantState,
    PermissionDenied,
    PointKind,
    Role,
    StaffRole,
)


def test_the_procurator_enters_directly_without_an_identity_check() -> None:
    session = scheduled_hearing().session
    procurator = session.add_participant(
        IT_STAFF, "Kiểm sát viên Hà", Role.PROCURATOR, session.central_point.id
    )
    assert session.join(procurator.id) is ParticipantState.IN_SESSION
    assert not session.participants[procurator.id].identity_verified


def test_a_party_may_mute_and_unmute_themselves_but_not_lock() -> None:
    session = live_hearing().session
    session.mute(act(DEFENDANT), DEFENDANT)
    assert session.participants[DEFENDANT].muted
    assert not session.may_receive(PJ, DEFENDANT, MediaSource.MICROPHONE)
    session.unmute(act(DEFENDANT), DEFENDANT)
    assert brief(session.collect_events()) == [
        ("media_control_changed", DEFENDANT, True, False),
        ("media_control_changed", DEFENDANT, False, False),
    ]
    with pytest.raises(PermissionDenied) as refused:
        session.mute(act(DEFENDANT), DEFENDANT, lock=True)
    assert refused.value.rule == "permission.mute_others"


def test_deliberation_is_never_recorded_even_where_consultations_are() -> None:
    policy = JurisdictionPolicy.from_mapping({"record_consultations": True})
    session = live_hearing(policy).session
    session.start_recording(act(CLERK))
    session.move_to_consultation(act(PJ), [DEFENDANT, LAWYER], "Trao đổi với luật sư")
    assert session.may_record(DEFENDANT, MediaSource.CAMERA)  # the policy allows this one
    assessor = session.add_participant(
        IT_STAFF, "Hội thẩm Minh", Role.PEOPLES_ASSESSOR, session.central_point.id
    )
    session.join(assessor.id)
    session.move_to_consultation(act(CLERK), [PJ, assessor.id], "Nghị án")
    assert not session.may_record(PJ, MediaSource.CAMERA)
    assert not session.may_record(assessor.id, MediaSource.MICROPHONE)
    assert session.may_receive(assessor.id, PJ, MediaSource.MICROPHONE)


def test_a_meeting_chair_sees_who_waits_in_the_lobby() -> None:
    organiser = Actor.staff("u-it", StaffRole.IT_STAFF, court_id=COURT)
    meeting = CourtSession.schedule_meeting(
        organiser, MeetingInfo(COURT, "Họp giao ban"), JurisdictionPolicy(), START, END
    )
    site = meeting.add_point(organiser, "TAND huyện C", PointKind.COURT)
    chair = meeting.add_participant(organiser, "Chánh án", Role.CHAIR, meeting.central_point.id)
    guest = meeting.add_participant(organiser, "Đại biểu", Role.PARTICIPANT, site.id)
    meeting.join(chair.id)
    meeting.join(guest.id)
    assert meeting.participants[guest.id].state is ParticipantState.IN_LOBBY
    assert meeting.may_receive(chair.id, guest.id, MediaSource.CAMERA)
    assert not meeting.may_receive(chair.id, guest.id, MediaSource.MICROPHONE)
    assert not meeting.may_receive(guest.id, chair.id, MediaSource.CAMERA)
