"""Who a person is in a hearing or a meeting, and who a staff account is."""

from __future__ import annotations

from enum import StrEnum

from rooms.text import Text


class SessionKind(StrEnum):
    HEARING = "hearing"
    MEETING = "meeting"


class Role(StrEnum):
    """A participant's role in one session; it decides permissions and media rules."""

    PRESIDING_JUDGE = "presiding_judge"
    JUDGE = "judge"
    PEOPLES_ASSESSOR = "peoples_assessor"
    CLERK = "clerk"
    PROCURATOR = "procurator"
    DEFENDANT = "defendant"
    VICTIM = "victim"
    PLAINTIFF = "plaintiff"
    CIVIL_DEFENDANT = "civil_defendant"
    RELATED_PARTY = "related_party"
    DEFENCE_COUNSEL = "defence_counsel"
    WITNESS = "witness"
    INTERPRETER = "interpreter"
    EXPERT = "expert"
    LEGAL_REPRESENTATIVE = "legal_representative"
    OBSERVER = "observer"
    COURT_IT = "court_it"
    CHAIR = "chair"
    SPEAKER = "speaker"
    PARTICIPANT = "participant"
    TECHNICIAN = "technician"

    @property
    def label(self) -> Text:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, Text] = {
    Role.PRESIDING_JUDGE: Text("Thẩm phán chủ tọa phiên tòa", "Presiding judge"),
    Role.JUDGE: Text("Thẩm phán", "Judge"),
    Role.PEOPLES_ASSESSOR: Text("Hội thẩm nhân dân", "People's assessor"),
    Role.CLERK: Text("Thư ký phiên tòa", "Court clerk"),
    Role.PROCURATOR: Text("Kiểm sát viên", "Procurator"),
    Role.DEFENDANT: Text("Bị cáo", "Defendant"),
    Role.VICTIM: Text("Bị hại", "Victim"),
    Role.PLAINTIFF: Text("Nguyên đơn", "Plaintiff"),
    Role.CIVIL_DEFENDANT: Text("Bị đơn", "Civil defendant"),
    Role.RELATED_PARTY: Text(
        "Người có quyền lợi, nghĩa vụ liên quan", "Person with related rights and obligations"
    ),
    Role.DEFENCE_COUNSEL: Text("Người bào chữa, luật sư", "Defence counsel / lawyer"),
    Role.WITNESS: Text("Người làm chứng", "Witness"),
    Role.INTERPRETER: Text("Người phiên dịch", "Interpreter"),
    Role.EXPERT: Text("Người giám định", "Expert"),
    Role.LEGAL_REPRESENTATIVE: Text("Người đại diện hợp pháp", "Legal representative"),
    Role.OBSERVER: Text("Người dự khán", "Observer (public)"),
    Role.COURT_IT: Text("Cán bộ kỹ thuật Tòa án", "Court IT staff"),
    Role.CHAIR: Text("Chủ trì cuộc họp", "Chair"),
    Role.SPEAKER: Text("Người phát biểu", "Speaker"),
    Role.PARTICIPANT: Text("Đại biểu", "Participant"),
    Role.TECHNICIAN: Text("Kỹ thuật viên", "Technician"),
}

PANEL_ROLES = frozenset({Role.PRESIDING_JUDGE, Role.JUDGE, Role.PEOPLES_ASSESSOR})
"""The trial panel (Hội đồng xét xử): the only people in deliberation."""

COURT_ROLES = PANEL_ROLES | {Role.CLERK, Role.COURT_IT}
"""People who run the hearing for the court rather than take part in it."""

OFFICIAL_ROLES = COURT_ROLES | {Role.PROCURATOR}
"""Those conducting the proceedings (người tiến hành tố tụng): no lobby, no identity check."""

HEARING_ROLES = frozenset(
    {
        Role.PRESIDING_JUDGE,
        Role.JUDGE,
        Role.PEOPLES_ASSESSOR,
        Role.CLERK,
        Role.PROCURATOR,
        Role.DEFENDANT,
        Role.VICTIM,
        Role.PLAINTIFF,
        Role.CIVIL_DEFENDANT,
        Role.RELATED_PARTY,
        Role.DEFENCE_COUNSEL,
        Role.WITNESS,
        Role.INTERPRETER,
        Role.EXPERT,
        Role.LEGAL_REPRESENTATIVE,
        Role.OBSERVER,
        Role.COURT_IT,
    }
)
MEETING_ROLES = frozenset({Role.CHAIR, Role.SPEAKER, Role.PARTICIPANT, Role.TECHNICIAN})

ROLES_BY_KIND: dict[SessionKind, frozenset[Role]] = {
    SessionKind.HEARING: HEARING_ROLES,
    SessionKind.MEETING: MEETING_ROLES,
}


class StaffRole(StrEnum):
    """What a staff account may do outside any one session."""

    ADMIN = "admin"
    IT_STAFF = "it_staff"
    JUDGE = "judge"
    CLERK = "clerk"

    @property
    def label(self) -> Text:
        return STAFF_ROLE_LABELS[self]


STAFF_ROLE_LABELS: dict[StaffRole, Text] = {
    StaffRole.ADMIN: Text("Quản trị hệ thống", "Administrator"),
    StaffRole.IT_STAFF: Text("Cán bộ công nghệ thông tin", "IT staff"),
    StaffRole.JUDGE: Text("Thẩm phán", "Judge"),
    StaffRole.CLERK: Text("Thư ký Tòa án", "Court clerk"),
}
