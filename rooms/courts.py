"""Courts are reference data: who holds a hearing and in which time zone."""

from __future__ import annotations

from dataclasses import dataclass

from rooms.errors import InvalidInput
from rooms.ids import CourtId
from rooms.text import Text


@dataclass(frozen=True, slots=True)
class Court:
    id: CourtId
    code: str
    """A short stable code, e.g. ``TAND-HN``."""
    name: str
    time_zone: str = "Asia/Ho_Chi_Minh"

    def __post_init__(self) -> None:
        if not self.code.strip() or not self.name.strip():
            raise InvalidInput(
                "court.fields", Text("Tòa án cần mã và tên.", "A court needs a code and a name.")
            )
