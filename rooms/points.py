"""Connection points (điểm cầu): the courtroom or main room, and the remote sites."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rooms.errors import InvalidInput
from rooms.ids import PointId
from rooms.text import Text


class PointKind(StrEnum):
    COURTROOM = "courtroom"
    """The central point of a hearing (điểm cầu trung tâm)."""
    MAIN_ROOM = "main_room"
    """The central point of a meeting."""
    DETENTION_CENTRE = "detention_centre"
    COURT = "court"
    LAWYER_OFFICE = "lawyer_office"
    HOME = "home"
    OTHER = "other"

    @property
    def is_central(self) -> bool:
        return self in (PointKind.COURTROOM, PointKind.MAIN_ROOM)


POINT_KIND_LABELS: dict[PointKind, Text] = {
    PointKind.COURTROOM: Text("Điểm cầu trung tâm (phòng xử án)", "Courtroom (central point)"),
    PointKind.MAIN_ROOM: Text("Điểm cầu trung tâm", "Main room (central point)"),
    PointKind.DETENTION_CENTRE: Text("Trại tạm giam", "Detention centre"),
    PointKind.COURT: Text("Tòa án khác", "Another court"),
    PointKind.LAWYER_OFFICE: Text("Văn phòng luật sư", "Lawyer's office"),
    PointKind.HOME: Text("Nơi ở của đương sự", "A person's home"),
    PointKind.OTHER: Text("Địa điểm khác", "Other place"),
}


@dataclass(frozen=True, slots=True)
class ConnectionPoint:
    id: PointId
    name: str
    kind: PointKind
    location: str = ""

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidInput(
                "point.name", Text("Điểm cầu phải có tên.", "A connection point needs a name.")
            )
