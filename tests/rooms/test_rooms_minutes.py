"""The minutes draft: the hearing's events become its entries in order; edits are versioned;
signing locks the text; amendments are appended and the history verifies as a hash chain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rooms_testkit import (
    CLERK,
    DEFENDANT,
    EVERYONE,
    LAWYER,
    PARTIES,
    PJ,
    START,
    WITNESS,
    act,
    criminal_case,
    scheduled_hearing,
)

from rooms import CaseType, Instance, Role
from rooms.audit import verify_chain
from rooms.errors import InvalidTransition, PermissionDenied
from rooms.minutes import (
    SECTION_HEADINGS,
    AmendmentDecision,
    EntryKind,
    Form,
    Minutes,
    MinutesConflict,
    Section,
    Speaker,
    form_for,
    header_of,
    readable_after_hearing,
)
from rooms.session import CourtSession

AT = START + timedelta(minutes=5)


def _run_hearing() -> tuple[CourtSession, Minutes]:
    """A short hearing: arrivals, identity checks, admission, opening, the floor, a witness
    called, a connection lost, recording, and the close; events recorded as they come."""
    session = scheduled_hearing(observer=False).session
    minutes = Minutes(session.id, header_of(session, "TAND thành phố Hà Nội"))

    def step(_: object) -> None:
        """Record what the command just did (its return value is not needed)."""
        minutes.record(session.collect_events(), session, AT)

    for pid in EVERYONE[:-1]:
        step(session.join(pid))
    for pid in PARTIES[:-1]:
        step(session.verify_identity(act(CLERK), pid))
    step(session.admit(act(CLERK), DEFENDANT))
    step(session.admit(act(CLERK), LAWYER))
    step(session.start(act(PJ)))
    step(session.start_recording(act(CLERK)))
    step(session.give_floor(act(PJ), DEFENDANT))
    step(session.call_witness(act(PJ), WITNESS))
    step(session.disconnect(LAWYER))
    step(session.close(act(PJ)))
    return session, minutes


def test_events_become_entries_in_order() -> None:
    _, minutes = _run_hearing()
    lines = [e.line.vi for e in minutes.entries]
    assert lines == [
        "Mở phòng chờ trực tuyến.",
        "Thẩm phán chủ tọa phiên tòa Nguyễn Văn Chủ có mặt tại điểm cầu Phòng xử án.",
        "Thư ký phiên tòa Lê Thị Thư có mặt tại điểm cầu Phòng xử án.",
        "Bị cáo Trần Văn Cáo kết nối từ điểm cầu Trại tạm giam số 1, chờ ở phòng chờ.",
        "Người bào chữa, luật sư Đỗ Thị Luật kết nối từ điểm cầu Văn phòng luật sư A, "
        "chờ ở phòng chờ.",
        "Người làm chứng Hoàng Văn Chứng kết nối từ điểm cầu TAND huyện B, chờ ở phòng chờ.",
        "Đã kiểm tra căn cước Bị cáo Trần Văn Cáo tại điểm cầu Trại tạm giam số 1.",
        "Đã kiểm tra căn cước Người bào chữa, luật sư Đỗ Thị Luật "
        "tại điểm cầu Văn phòng luật sư A.",
        "Đã kiểm tra căn cước Người làm chứng Hoàng Văn Chứng tại điểm cầu TAND huyện B.",
        "Bị cáo Trần Văn Cáo (điểm cầu Trại tạm giam số 1) được vào phiên tòa.",
        "Người bào chữa, luật sư Đỗ Thị Luật (điểm cầu Văn phòng luật sư A) được vào phiên tòa.",
        "Chủ tọa phiên tòa khai mạc phiên tòa.",
        "Bắt đầu ghi âm, ghi hình phiên tòa.",
        "Bị cáo Trần Văn Cáo được phát biểu.",
        "Chủ tọa mời Người làm chứng Hoàng Văn Chứng vào phòng xử án.",
        "Mất kết nối với Người bào chữa, luật sư Đỗ Thị Luật tại điểm cầu Văn phòng luật sư A.",
        "Kết thúc phiên tòa.",
        "Kết thúc ghi âm, ghi hình.",
    ], lines
    assert [e.seq for e in minutes.entries] == list(range(1, len(lines) + 1))
    floor = minutes.entries[13]
    assert floor.kind is EntryKind.FLOOR and floor.speaker is not None
    assert floor.speaker.participant_id == DEFENDANT
    assert minutes.entries[0].section is Section.ATTENDANCE
    assert floor.section is Section.PROCEDURE
    assert minutes.entries[-1].section is Section.DECISION


def test_suspension_for_a_lost_panel_member_says_why() -> None:
    session = scheduled_hearing(observer=False).session
    minutes = Minutes(session.id, header_of(session, "TAND"))
    for pid in (PJ, CLERK):
        session.join(pid)
    session.start(act(PJ))
    session.collect_events()
    session.disconnect(PJ)
    minutes.record(session.collect_events(), session, AT)
    assert "Tạm ngừng phiên tòa. Lý do: mất kết nối với thành viên Hội đồng xét xử." in [
        e.line.vi for e in minutes.entries
    ]


def test_form_and_sections_follow_the_case() -> None:
    assert form_for(CaseType.CRIMINAL, Instance.FIRST_INSTANCE) is Form.HS_22
    assert form_for(CaseType.CRIMINAL, Instance.APPEAL) is Form.HS_23
    assert form_for(CaseType.CIVIL, Instance.FIRST_INSTANCE) is Form.DS_48
    assert form_for(CaseType.ADMINISTRATIVE, Instance.APPEAL) is Form.HC
    assert Section.LAST_STATEMENT in SECTION_HEADINGS[Form.HS_22]
    assert Section.LAST_STATEMENT not in SECTION_HEADINGS[Form.DS_48]
    civil = scheduled_hearing(criminal_case(case_type=CaseType.CIVIL, penal_chapters=frozenset()))
    header = header_of(civil.session, "TAND")
    assert header.form is Form.DS_48 and header.case_number == "123/2026/HS-ST"
    assert ("Bị cáo", "Trần Văn Cáo", "Trại tạm giam số 1") in header.people


def test_a_stale_edit_is_a_conflict_not_an_overwrite() -> None:
    _, minutes = _run_hearing()
    minutes.edit(Role.CLERK, CLERK, 14, "Tôi xin khai", based_on=1, at=AT)
    with pytest.raises(MinutesConflict) as conflict:
        minutes.edit(Role.PRESIDING_JUDGE, PJ, 14, "Bị cáo khai", based_on=1, at=AT)
    assert conflict.value.entry.body == "Tôi xin khai"
    assert minutes.entry(14).body == "Tôi xin khai" and minutes.entry(14).version == 2
    minutes.edit(Role.PRESIDING_JUDGE, PJ, 14, "Bị cáo khai nhận", based_on=2, at=AT)
    assert minutes.entry(14).body == "Bị cáo khai nhận"


def test_only_clerk_and_presiding_judge_edit_and_only_spoken_entries() -> None:
    _, minutes = _run_hearing()
    with pytest.raises(PermissionDenied):
        minutes.edit(Role.DEFENDANT, DEFENDANT, 14, "x", based_on=1, at=AT)
    with pytest.raises(Exception, match="server"):
        minutes.edit(Role.CLERK, CLERK, 1, "x", based_on=1, at=AT)
    witness = Speaker(WITNESS, "Hoàng Văn Chứng", Role.WITNESS)
    minutes.set_section(Role.CLERK, CLERK, Section.QUESTIONING, AT)
    answer = minutes.insert(Role.CLERK, CLERK, AT, EntryKind.ANSWER, witness, "Tôi thấy")
    assert answer.line.vi == "Người làm chứng Hoàng Văn Chứng trả lời:"
    assert answer.section is Section.QUESTIONING and answer.body == "Tôi thấy"


def test_signing_locks_and_amendments_are_appended_and_chained() -> None:
    session, minutes = _run_hearing()
    minutes.edit(Role.CLERK, CLERK, 14, "Tôi xin khai", based_on=1, at=AT)
    digest = minutes.document_hash()
    minutes.sign(Role.CLERK, session.participants[CLERK], AT)
    with pytest.raises(InvalidTransition):
        minutes.edit(Role.CLERK, CLERK, 14, "đổi", based_on=2, at=AT)
    with pytest.raises(InvalidTransition):  # not both signatures yet
        minutes.request_amendment(Speaker(DEFENDANT, "Trần Văn Cáo", Role.DEFENDANT), AT, "x")
    minutes.sign(Role.PRESIDING_JUDGE, session.participants[PJ], AT)
    assert minutes.signed
    assert all(s.document_hash == digest for s in minutes.signatures.values())
    count = len(minutes.entries)
    minutes.record(session.collect_events(), session, AT)
    assert len(minutes.entries) == count
    asker = Speaker(DEFENDANT, "Trần Văn Cáo", Role.DEFENDANT)
    minutes.request_amendment(asker, AT, "Tôi khai là không biết")
    with pytest.raises(PermissionDenied):
        minutes.decide_amendment(Role.CLERK, CLERK, 1, True, "", AT)
    with pytest.raises(Exception, match="reason"):
        minutes.decide_amendment(Role.PRESIDING_JUDGE, PJ, 1, False, "", AT)
    minutes.decide_amendment(Role.PRESIDING_JUDGE, PJ, 1, False, "Không đúng lời khai", AT)
    minutes.sign_amendment(Role.PRESIDING_JUDGE, session.participants[PJ], 1, AT)
    minutes.sign_amendment(Role.CLERK, session.participants[CLERK], 1, AT)
    amendment = minutes.amendments[0]
    assert amendment.decision is AmendmentDecision.REFUSED
    assert amendment.reason == "Không đúng lời khai" and len(amendment.signatures) == 2
    assert minutes.document_hash() == digest and minutes.entry(14).body == "Tôi xin khai"
    history = minutes.pending
    assert len(history) == minutes.history_length == minutes.version
    assert verify_chain(history) == []
    assert [h.entry.action for h in history[-4:]] == [
        "minutes.amendment",
        "minutes.amendment_decision",
        "minutes.amendment_sign",
        "minutes.amendment_sign",
    ]


@pytest.mark.parametrize("closed", [False, True])
def test_after_the_hearing_the_signed_minutes_are_read_by_whom_the_rules_allow(
    closed: bool,
) -> None:
    session, minutes = _run_hearing()
    for role in (Role.DEFENDANT, Role.CLERK, Role.PRESIDING_JUDGE):
        assert not readable_after_hearing(role, minutes, closed)  # nothing signed to show
    minutes.sign(Role.CLERK, session.participants[CLERK], AT)
    assert not readable_after_hearing(Role.DEFENDANT, minutes, closed)  # one signature only
    minutes.sign(Role.PRESIDING_JUDGE, session.participants[PJ], AT)
    assert readable_after_hearing(Role.CLERK, minutes, closed)
    assert readable_after_hearing(Role.PRESIDING_JUDGE, minutes, closed)
    assert readable_after_hearing(Role.DEFENDANT, minutes, closed) is not closed
    assert readable_after_hearing(Role.DEFENCE_COUNSEL, minutes, closed) is not closed
    assert not readable_after_hearing(Role.OBSERVER, minutes, closed)
