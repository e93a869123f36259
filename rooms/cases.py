"""What a session is about: the case of a hearing or the subject of a meeting."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from rooms.errors import InvalidInput
from rooms.ids import CourtId
from rooms.text import Text


class CaseType(StrEnum):
    CRIMINAL = "criminal"
    CIVIL = "civil"
    ADMINISTRATIVE = "administrative"
    BUSINESS = "business"
    LABOUR = "labour"
    FAMILY = "family"
    BANKRUPTCY = "bankruptcy"


CASE_TYPE_LABELS: dict[CaseType, Text] = {
    CaseType.CRIMINAL: Text("Hình sự", "Criminal"),
    CaseType.CIVIL: Text("Dân sự", "Civil"),
    CaseType.ADMINISTRATIVE: Text("Hành chính", "Administrative"),
    CaseType.BUSINESS: Text("Kinh doanh, thương mại", "Business and commercial"),
    CaseType.LABOUR: Text("Lao động", "Labour"),
    CaseType.FAMILY: Text("Hôn nhân và gia đình", "Marriage and family"),
    CaseType.BANKRUPTCY: Text("Phá sản", "Bankruptcy"),
}


class Instance(StrEnum):
    FIRST_INSTANCE = "first_instance"
    APPEAL = "appeal"
    CASSATION = "cassation"
    REOPENING = "reopening"


INSTANCE_LABELS: dict[Instance, Text] = {
    Instance.FIRST_INSTANCE: Text("Sơ thẩm", "First instance"),
    Instance.APPEAL: Text("Phúc thẩm", "Appeal"),
    Instance.CASSATION: Text("Giám đốc thẩm", "Cassation"),
    Instance.REOPENING: Text("Tái thẩm", "Reopening"),
}


@dataclass(frozen=True, slots=True)
class Case:
    """The case a hearing decides; the jurisdiction policy reads it before scheduling."""

    court_id: CourtId
    number: str
    """The court's case number, e.g. ``123/2026/HS-ST``."""
    case_type: CaseType
    instance: Instance
    title: str = ""
    closed_hearing: bool = False
    """xử kín: no public may attend."""
    state_secret: bool = False
    penal_chapters: frozenset[int] = field(default_factory=frozenset)
    """Penal Code chapters of the charges, for criminal cases."""

    def __post_init__(self) -> None:
        if not self.number.strip():
            raise InvalidInput(
                "case.number",
                Text("Số thụ lý không được để trống.", "A case number is required."),
            )
        if self.penal_chapters and self.case_type is not CaseType.CRIMINAL:
            raise InvalidInput(
                "case.penal_chapters",
                Text(
                    "Chỉ vụ án hình sự mới có chương của Bộ luật Hình sự.",
                    "Only criminal cases have Penal Code chapters.",
                ),
            )
        if any(not 1 <= chapter <= 26 for chapter in self.penal_chapters):
            raise InvalidInput(
                "case.penal_chapters",
                Text(
                    "Chương của Bộ luật Hình sự phải từ I đến XXVI.",
                    "Penal Code chapters run from I to XXVI.",
                ),
            )


@dataclass(frozen=True, slots=True)
class MeetingInfo:
    """The subject of a leadership or internal meeting."""

    court_id: CourtId
    title: str
    organiser: str = ""
    chair: str = ""

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise InvalidInput(
                "meeting.title",
                Text("Cuộc họp phải có tiêu đề.", "A meeting needs a title."),
            )
