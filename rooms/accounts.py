"""Staff accounts and the personal join links of participants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rooms.errors import InvalidInput
from rooms.ids import CourtId, InvitationId, ParticipantId, SessionId, UserId
from rooms.roles import StaffRole
from rooms.short_codes import ShortCode
from rooms.text import Text


@dataclass(slots=True)
class StaffUser:
    id: UserId
    username: str
    role: StaffRole
    password_hash: str
    """An argon2 hash; the domain never sees a password."""
    display_name: str = ""
    court_id: CourtId | None = None
    active: bool = True

    def __post_init__(self) -> None:
        name = self.username
        if not (3 <= len(name) <= 64) or not name.replace("_", "").replace(".", "").isalnum():
            raise InvalidInput(
                "user.username",
                Text(
                    "Tên đăng nhập dài 3–64 ký tự, chỉ gồm chữ, số, dấu chấm và gạch dưới.",
                    "A username has 3-64 letters, digits, dots or underscores.",
                ),
            )


@dataclass(slots=True)
class Invitation:
    """One personal join link; revoking it here makes the signed token worthless."""

    id: InvitationId
    session_id: SessionId
    participant_id: ParticipantId
    issued_at: datetime
    expires_at: datetime
    issued_by: str
    short_code: ShortCode
    """What the short link ``/j/<code>`` names; worth exactly what this invitation is."""
    revoked_at: datetime | None = None
    replaced_by: InvitationId | None = None
    """The link issued in its place, when revoked by a re-issue."""

    def is_usable(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at
