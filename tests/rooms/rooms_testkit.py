"""Builders and helpers shared by the domain tests (not collected: no ``test_`` prefix).

``tests/rooms`` deliberately has no ``__init__.py``: pytest then puts this folder on
``sys.path`` and the test modules import this one by its own name.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from rooms import (
    VIETNAM,
    Actor,
    Case,
    CaseType,
    CourtId,
    CourtSession,
    Instance,
    JurisdictionPolicy,
    MeetingInfo,
    ParticipantId,
    PointId,
    PointKind,
    Role,
    SessionId,
    StaffRole,
)
from rooms.events import Event
from rooms.permissions import OFFICIAL_LINK_ROLES

HANOI = timezone(timedelta(hours=7))
START = datetime(2026, 3, 2, 8, 0, tzinfo=HANOI)
END = START + timedelta(hours=4)

COURT = CourtId("tand-hn")
CLERK_STAFF = Actor.staff("u-clerk", StaffRole.CLERK, "Lê Thị Thư", COURT)
IT_STAFF = Actor.staff("u-it", StaffRole.IT_STAFF, "Phạm Văn Kỹ", COURT)
"""Court IT adds the people who run the hearing; a clerk may add only the others."""
SYSTEM = "system"

SESSION_ID = SessionId("s-1")
DETENTION = PointId("p-detention")
LAWYER_OFFICE = PointId("p-lawyer")
OTHER_COURT = PointId("p-court")

PJ = ParticipantId("pj")
CLERK = ParticipantId("clerk")
DEFENDANT = ParticipantId("defendant")
LAWYER = ParticipantId("lawyer")
WITNESS = ParticipantId("witness")
OBSERVER = ParticipantId("observer")

PARTIES = (DEFENDANT, LAWYER, WITNESS, OBSERVER)
EVERYONE = (PJ, CLERK, *PARTIES)


def criminal_case(**changes: Any) -> Case:
    values: dict[str, Any] = {
        "court_id": COURT,
        "number": "123/2026/HS-ST",
        "case_type": CaseType.CRIMINAL,
        "instance": Instance.FIRST_INSTANCE,
        "title": "Trộm cắp tài sản",
        "penal_chapters": frozenset({17}),
    }
    values.update(changes)
    return Case(**values)


def act(participant_id: ParticipantId) -> Actor:
    """A participant giving a command with their own connection."""
    return Actor.participant(participant_id)


@dataclass
class Hearing:
    session: CourtSession

    @property
    def courtroom(self) -> PointId:
        return self.session.central_point.id

    def state_of(self, participant_id: ParticipantId) -> str:
        return self.session.participants[participant_id].state.value


def scheduled_hearing(
    case: Case | None = None, policy: JurisdictionPolicy = VIETNAM, observer: bool = True
) -> Hearing:
    """A first-instance criminal hearing with three remote points and six people, nobody
    connected yet; the scheduling events are already collected."""
    session = CourtSession.schedule_hearing(
        CLERK_STAFF, case or criminal_case(), policy, START, END, session_id=SESSION_ID
    )
    courtroom = session.central_point.id
    session.add_point(CLERK_STAFF, "Trại tạm giam số 1", PointKind.DETENTION_CENTRE, "", DETENTION)
    session.add_point(
        CLERK_STAFF, "Văn phòng luật sư A", PointKind.LAWYER_OFFICE, "", LAWYER_OFFICE
    )
    session.add_point(CLERK_STAFF, "TAND huyện B", PointKind.COURT, "", OTHER_COURT)
    people = [
        ("Nguyễn Văn Chủ", Role.PRESIDING_JUDGE, courtroom, PJ),
        ("Lê Thị Thư", Role.CLERK, courtroom, CLERK),
        ("Trần Văn Cáo", Role.DEFENDANT, DETENTION, DEFENDANT),
        ("Đỗ Thị Luật", Role.DEFENCE_COUNSEL, LAWYER_OFFICE, LAWYER),
        ("Hoàng Văn Chứng", Role.WITNESS, OTHER_COURT, WITNESS),
    ]
    if observer:
        people.append(("Vũ Thị Dân", Role.OBSERVER, OTHER_COURT, OBSERVER))
    for name, role, point, pid in people:
        staff = IT_STAFF if role in OFFICIAL_LINK_ROLES else CLERK_STAFF
        session.add_participant(staff, name, role, point, pid)
    session.collect_events()
    return Hearing(session)


def live_hearing(policy: JurisdictionPolicy = VIETNAM) -> Hearing:
    """Everyone connected and checked; the hearing has started. The witness waits in the
    lobby (verified) until called. Recording is off; events are collected."""
    hearing = scheduled_hearing(policy=policy)
    session = hearing.session
    for pid in EVERYONE:
        session.join(pid)
    for pid in PARTIES:
        session.verify_identity(act(CLERK), pid)
    for pid in (DEFENDANT, LAWYER, OBSERVER):
        session.admit(act(CLERK), pid)
    session.start(act(PJ))
    session.collect_events()
    return hearing


CHAIR = ParticipantId("chair")


def running_meeting(delegates: int) -> tuple[CourtSession, list[ParticipantId]]:
    """A running meeting: the chair and ``delegates`` people from as many court sites, all
    admitted; events are collected."""
    info = MeetingInfo(COURT, "Hội nghị trực tuyến", "Văn phòng", "Chánh án")
    session = CourtSession.schedule_meeting(
        IT_STAFF, info, VIETNAM, START, session_id=SessionId("m-running")
    )
    session.add_participant(IT_STAFF, "Chánh án", Role.CHAIR, session.central_point.id, CHAIR)
    session.join(CHAIR)
    people = []
    for number in range(delegates):
        point = session.add_point(IT_STAFF, f"TAND huyện {number}", PointKind.COURT).id
        person = ParticipantId(f"d{number}")
        session.add_participant(IT_STAFF, f"Đại biểu {number}", Role.PARTICIPANT, point, person)
        session.join(person)
        session.admit(act(CHAIR), person)
        people.append(person)
    session.start(act(CHAIR))
    session.collect_events()
    return session, people


def brief(events: list[Event]) -> list[tuple[Any, ...]]:
    """Each event as (name, its own fields in declaration order), without session and actor."""
    return [(e.name, *tuple(e.payload().values())[2:]) for e in events]


def snapshot(session: CourtSession) -> tuple[CourtSession, list[Event]]:
    """Everything a refused command must leave alone: the state and the recorded events."""
    return copy.deepcopy(session), list(session.events)


def assert_unchanged(session: CourtSession, before: tuple[CourtSession, list[Event]]) -> None:
    state, events = before
    assert session == state
    assert session.events == events
