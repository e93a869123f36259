"""Leadership meetings: the same machinery, many points, meeting roles only."""

from __future__ import annotations

import pytest
from rooms_testkit import COURT, END, IT_STAFF, START, act, brief

from rooms import (
    VIETNAM,
    CourtSession,
    InvalidInput,
    JurisdictionPolicy,
    MediaSource,
    MeetingInfo,
    ParticipantId,
    ParticipantState,
    PermissionDenied,
    PointId,
    PointKind,
    PolicyViolation,
    Role,
    SessionId,
    SessionState,
)

MEETING = MeetingInfo(COURT, "Hội nghị trực tuyến tổng kết công tác năm", "Văn phòng", "Chánh án")
CHAIR = ParticipantId("chair")
TECH = ParticipantId("tech")
SPEAKER = ParticipantId("speaker")
DELEGATE = ParticipantId("delegate")


def _meeting(policy: JurisdictionPolicy = VIETNAM) -> CourtSession:
    return CourtSession.schedule_meeting(
        IT_STAFF, MEETING, policy, START, END, session_id=SessionId("m-1")
    )


def test_a_meeting_with_two_hundred_points() -> None:
    session = _meeting()
    main = session.central_point
    assert main.kind is PointKind.MAIN_ROOM
    assert brief(session.collect_events()) == [
        ("session_scheduled", "meeting"),
        ("point_added", main.id, "Điểm cầu trung tâm", "main_room"),
    ]
    for number in range(200):
        session.add_point(IT_STAFF, f"TAND cấp huyện {number}", PointKind.COURT)
    assert len(session.points) == 201
    assert len(session.remote_points()) == 200
    events = session.collect_events()
    assert [e.name for e in events] == ["point_added"] * 200
    assert events[-1].payload()["point_name"] == "TAND cấp huyện 199"


def test_a_meeting_is_run_by_its_chair() -> None:
    session = _meeting()
    main = session.central_point.id
    far = session.add_point(IT_STAFF, "TAND tỉnh C", PointKind.COURT, "", PointId("p-far")).id
    session.add_participant(IT_STAFF, "Chánh án", Role.CHAIR, main, CHAIR)
    session.add_participant(IT_STAFF, "Kỹ thuật", Role.TECHNICIAN, main, TECH)
    session.add_participant(IT_STAFF, "Báo cáo viên", Role.SPEAKER, far, SPEAKER)
    session.add_participant(IT_STAFF, "Đại biểu", Role.PARTICIPANT, far, DELEGATE)
    session.collect_events()

    assert session.join(TECH) is ParticipantState.IN_SESSION
    assert session.join(CHAIR) is ParticipantState.IN_SESSION
    assert session.join(SPEAKER) is ParticipantState.IN_LOBBY
    assert session.join(DELEGATE) is ParticipantState.IN_LOBBY
    # No identity check in a meeting: the chair or the technician admits straight away.
    session.admit(act(TECH), SPEAKER)
    session.admit(act(CHAIR), DELEGATE)
    with pytest.raises(PermissionDenied) as refused:
        session.start(act(TECH))
    assert refused.value.rule == "permission.start"
    session.start(act(CHAIR))
    session.set_screen_share(act(SPEAKER), True)
    with pytest.raises(PermissionDenied):
        session.set_screen_share(act(DELEGATE), True)
    session.mute_all(act(TECH))
    session.give_floor(act(CHAIR), DELEGATE)
    assert brief(session.collect_events()) == [
        ("session_state_changed", "scheduled", "open", "first arrival"),
        ("participant_state_changed", TECH, "invited", "in_session", "court member"),
        ("participant_state_changed", CHAIR, "invited", "in_session", "court member"),
        ("participant_state_changed", SPEAKER, "invited", "in_lobby", ""),
        ("participant_state_changed", DELEGATE, "invited", "in_lobby", ""),
        ("participant_state_changed", SPEAKER, "in_lobby", "in_session", "admitted"),
        ("participant_state_changed", DELEGATE, "in_lobby", "in_session", "admitted"),
        ("session_state_changed", "open", "in_session", ""),
        ("screen_share_changed", SPEAKER, True),
        ("media_control_changed", SPEAKER, True, False),
        ("media_control_changed", DELEGATE, True, False),
        ("media_control_changed", DELEGATE, False, False),
        ("floor_changed", DELEGATE),
    ]
    assert session.may_receive(DELEGATE, SPEAKER, MediaSource.SCREEN)
    assert not session.may_receive(DELEGATE, SPEAKER, MediaSource.MICROPHONE)

    # Losing the main room does not suspend a meeting: that rule is for hearings.
    session.disconnect(CHAIR)
    session.disconnect(TECH)
    assert session.state is SessionState.IN_SESSION
    session.join(CHAIR)
    session.close(act(CHAIR))
    assert session.state is SessionState.CLOSED


@pytest.mark.parametrize(
    "role", [Role.PRESIDING_JUDGE, Role.CLERK, Role.DEFENDANT, Role.WITNESS, Role.OBSERVER]
)
def test_hearing_roles_do_not_belong_in_a_meeting(role: Role) -> None:
    session = _meeting()
    session.collect_events()
    with pytest.raises(InvalidInput) as refused:
        session.add_participant(IT_STAFF, "Ai đó", role, session.central_point.id)
    assert refused.value.rule == "participant.role"
    assert role.label.en in refused.value.message.en
    assert session.participants == {}
    assert session.collect_events() == []


def test_one_chair_and_one_main_room() -> None:
    session = _meeting()
    main = session.central_point.id
    session.add_participant(IT_STAFF, "Chánh án", Role.CHAIR, main)
    with pytest.raises(PolicyViolation) as second_chair:
        session.add_participant(IT_STAFF, "Phó Chánh án", Role.CHAIR, main)
    assert second_chair.value.rule == "participant.single_chair"
    for kind in (PointKind.MAIN_ROOM, PointKind.COURTROOM):
        with pytest.raises(PolicyViolation) as second_main:
            session.add_point(IT_STAFF, "Phòng 2", kind)
        assert second_main.value.rule == "policy.one_central_point"


def test_a_court_may_cap_meeting_points() -> None:
    session = _meeting(JurisdictionPolicy.from_mapping({"max_meeting_points": 10}))
    for number in range(9):
        session.add_point(IT_STAFF, f"Điểm {number}", PointKind.COURT)
    with pytest.raises(PolicyViolation) as refused:
        session.add_point(IT_STAFF, "Điểm thứ 11", PointKind.COURT)
    assert refused.value.rule == "policy.max_meeting_points"
    assert len(session.points) == 10


def test_meeting_needs_a_title() -> None:
    with pytest.raises(InvalidInput) as refused:
        MeetingInfo(COURT, "   ")
    assert refused.value.rule == "meeting.title"
