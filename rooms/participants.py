"""A person in a session and who is acting on it."""

from __future__ import annotations

from dataclasses import dataclass

from rooms.errors import InvalidInput
from rooms.ids import ConsultationRoomId, CourtId, ParticipantId, PointId
from rooms.roles import Role, StaffRole
from rooms.states import ParticipantState
from rooms.text import Text


@dataclass(slots=True)
class Participant:
    """State of one person in one session; only the session aggregate changes it."""

    id: ParticipantId
    name: str
    role: Role
    point_id: PointId
    state: ParticipantState = ParticipantState.INVITED
    identity_verified: bool = False
    muted: bool = False
    """Muted by the court: the server forwards none of this person's audio."""
    media_locked: bool = False
    """The court locked this person's microphone for the hearing room (see ``lock_in_force``)."""
    hand_raised: bool = False
    screen_sharing: bool = False
    consultation_room: ConsultationRoomId | None = None
    state_before_disconnect: ParticipantState | None = None

    @property
    def lock_in_force(self) -> bool:
        """The court's lock binds in the hearing room only: in a private consultation room the
        people in it control their own microphones (a defendant must be able to speak with
        counsel), and the lock binds again when they come back."""
        return self.media_locked and self.state is not ParticipantState.IN_CONSULTATION

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidInput(
                "participant.name",
                Text("Người tham gia phải có họ tên.", "A participant needs a name."),
            )


@dataclass(frozen=True, slots=True)
class Actor:
    """Who gives a command. The session looks a participant's role up itself, never trusting
    a role the caller claims."""

    id: str
    name: str = ""
    staff_role: StaffRole | None = None
    is_system: bool = False
    court_id: CourtId | None = None
    """The court a staff account belongs to, as the database has it; None for an
    administrator of the whole system (and for anyone who is not staff)."""

    @property
    def is_system_wide_admin(self) -> bool:
        """An administrator bound to no court administers every court; any other staff
        account without a court is bound to nothing and may act on no court."""
        return self.staff_role is StaffRole.ADMIN and self.court_id is None

    @classmethod
    def participant(cls, participant_id: ParticipantId, name: str = "") -> Actor:
        return cls(id=participant_id, name=name)

    @classmethod
    def staff(
        cls, user_id: str, role: StaffRole, name: str = "", court_id: CourtId | None = None
    ) -> Actor:
        return cls(id=f"staff:{user_id}", name=name, staff_role=role, court_id=court_id)

    @classmethod
    def system(cls) -> Actor:
        return cls(id="system", name="system", is_system=True)
