"""The two state machines: one enum each, one transition table each, one checking function."""

from __future__ import annotations

from enum import StrEnum

from rooms.errors import InvalidTransition
from rooms.text import Text


class SessionState(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    """The lobby is open; the hearing has not started."""
    IN_SESSION = "in_session"
    SUSPENDED = "suspended"
    """A recess, or a connection failure the law says must stop the hearing."""
    CLOSED = "closed"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"


class SessionTransition(StrEnum):
    OPEN_LOBBY = "open_lobby"
    START = "start"
    SUSPEND = "suspend"
    RESUME = "resume"
    CLOSE = "close"
    POSTPONE = "postpone"
    CANCEL = "cancel"


S = SessionState
SESSION_TRANSITIONS: dict[SessionTransition, tuple[frozenset[SessionState], SessionState]] = {
    SessionTransition.OPEN_LOBBY: (frozenset({S.SCHEDULED}), S.OPEN),
    SessionTransition.START: (frozenset({S.OPEN}), S.IN_SESSION),
    SessionTransition.SUSPEND: (frozenset({S.IN_SESSION}), S.SUSPENDED),
    SessionTransition.RESUME: (frozenset({S.SUSPENDED}), S.IN_SESSION),
    SessionTransition.CLOSE: (frozenset({S.IN_SESSION, S.SUSPENDED}), S.CLOSED),
    SessionTransition.POSTPONE: (frozenset({S.SCHEDULED, S.OPEN, S.SUSPENDED}), S.POSTPONED),
    SessionTransition.CANCEL: (frozenset({S.SCHEDULED, S.OPEN}), S.CANCELLED),
}

ENDINGS: dict[str, SessionTransition] = {
    "closed": SessionTransition.CLOSE,
    "postponed": SessionTransition.POSTPONE,
}
"""How staff may end a suspended session nobody will resume, by the state it ends in."""

LIVE_SESSION_STATES = frozenset({S.OPEN, S.IN_SESSION, S.SUSPENDED})
"""States in which people are connected and media may flow."""
JOINABLE_SESSION_STATES = LIVE_SESSION_STATES | {S.SCHEDULED}
ENDED_SESSION_STATES = frozenset({S.CLOSED, S.POSTPONED, S.CANCELLED})

SESSION_STATE_LABELS: dict[SessionState, Text] = {
    S.SCHEDULED: Text("Đã lên lịch", "Scheduled"),
    S.OPEN: Text("Đang chờ bắt đầu", "Waiting to start"),
    S.IN_SESSION: Text("Đang diễn ra", "In session"),
    S.SUSPENDED: Text("Tạm ngừng", "Suspended"),
    S.CLOSED: Text("Đã kết thúc", "Closed"),
    S.POSTPONED: Text("Hoãn", "Postponed"),
    S.CANCELLED: Text("Đã hủy", "Cancelled"),
}


def next_session_state(current: SessionState, transition: SessionTransition) -> SessionState:
    allowed_from, target = SESSION_TRANSITIONS[transition]
    if current not in allowed_from:
        label = SESSION_STATE_LABELS[current]
        raise InvalidTransition(
            f"session_state.{transition.value}",
            Text(
                f"Không thể thực hiện «{transition.value}» khi phiên đang ở trạng thái "
                f"«{label.vi}».",
                f"Cannot {transition.value.replace('_', ' ')}: the session is {current.value}.",
            ),
        )
    return target


class ParticipantState(StrEnum):
    INVITED = "invited"
    IN_LOBBY = "in_lobby"
    IN_SESSION = "in_session"
    IN_CONSULTATION = "in_consultation"
    LEFT = "left"
    REMOVED = "removed"
    DENIED = "denied"
    DISCONNECTED = "disconnected"


class ParticipantTransition(StrEnum):
    ENTER_LOBBY = "enter_lobby"
    ENTER_DIRECTLY = "enter_directly"
    ADMIT = "admit"
    DENY = "deny"
    SEND_TO_LOBBY = "send_to_lobby"
    MOVE_TO_CONSULTATION = "move_to_consultation"
    RETURN_FROM_CONSULTATION = "return_from_consultation"
    LEAVE = "leave"
    REMOVE = "remove"
    DISCONNECT = "disconnect"
    RECONNECT = "reconnect"


P = ParticipantState
PRESENT_STATES = frozenset({P.IN_LOBBY, P.IN_SESSION, P.IN_CONSULTATION})
"""Connected to the session, whether waiting or taking part."""
TAKING_PART_STATES = frozenset({P.IN_SESSION, P.IN_CONSULTATION})

PARTICIPANT_TRANSITIONS: dict[
    ParticipantTransition, tuple[frozenset[ParticipantState], ParticipantState | None]
] = {
    ParticipantTransition.ENTER_LOBBY: (
        frozenset({P.INVITED, P.LEFT, P.DISCONNECTED}),
        P.IN_LOBBY,
    ),
    ParticipantTransition.ENTER_DIRECTLY: (
        frozenset({P.INVITED, P.LEFT, P.DISCONNECTED, P.IN_LOBBY}),
        P.IN_SESSION,
    ),
    ParticipantTransition.ADMIT: (frozenset({P.IN_LOBBY}), P.IN_SESSION),
    ParticipantTransition.DENY: (frozenset({P.IN_LOBBY}), P.DENIED),
    ParticipantTransition.SEND_TO_LOBBY: (frozenset({P.IN_SESSION}), P.IN_LOBBY),
    ParticipantTransition.MOVE_TO_CONSULTATION: (frozenset({P.IN_SESSION}), P.IN_CONSULTATION),
    ParticipantTransition.RETURN_FROM_CONSULTATION: (
        frozenset({P.IN_CONSULTATION}),
        P.IN_SESSION,
    ),
    ParticipantTransition.LEAVE: (PRESENT_STATES, P.LEFT),
    ParticipantTransition.REMOVE: (PRESENT_STATES | {P.INVITED, P.DISCONNECTED}, P.REMOVED),
    ParticipantTransition.DISCONNECT: (PRESENT_STATES, P.DISCONNECTED),
    # The target of a reconnection is the state held before the drop, so the table says None.
    ParticipantTransition.RECONNECT: (frozenset({P.DISCONNECTED}), None),
}

PARTICIPANT_STATE_LABELS: dict[ParticipantState, Text] = {
    P.INVITED: Text("Đã được mời", "Invited"),
    P.IN_LOBBY: Text("Đang chờ trong phòng chờ", "Waiting in the lobby"),
    P.IN_SESSION: Text("Đang tham gia", "Taking part"),
    P.IN_CONSULTATION: Text("Trong phòng trao đổi riêng", "In a private consultation room"),
    P.LEFT: Text("Đã rời phiên", "Left"),
    P.REMOVED: Text("Đã bị mời ra", "Removed"),
    P.DENIED: Text("Bị từ chối vào phiên", "Refused entry"),
    P.DISCONNECTED: Text("Mất kết nối", "Disconnected"),
}


def check_participant_transition(
    current: ParticipantState, transition: ParticipantTransition
) -> ParticipantState | None:
    """Return the target state (None for a reconnection) or refuse, naming the current state."""
    allowed_from, target = PARTICIPANT_TRANSITIONS[transition]
    if current not in allowed_from:
        label = PARTICIPANT_STATE_LABELS[current]
        raise InvalidTransition(
            f"participant_state.{transition.value}",
            Text(
                f"Không thể thực hiện «{transition.value}» với người tham gia đang ở trạng thái "
                f"«{label.vi}».",
                f"Cannot {transition.value.replace('_', ' ')}: the participant is {current.value}.",
            ),
        )
    return target
