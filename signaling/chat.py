"""Chat between a participant and the court: who a message may go to.

The court side of a chat is whoever runs the session (the roles the domain lets admit:
presiding judge, clerk; chair and technician in a meeting). A party writes to the court as a
whole; a court member writes to one participant, and the rest of the court sees it too, so
nothing is said to a party behind the court's back. Parties never chat with each other in
the hearing room; in a private consultation room (a defendant with counsel) the people of
that room write to each other, and only they read it: the court outside the room does not,
as it does not hear them.

What is audited: sender, recipients, length and time, never the text. The minutes are the
record of what was said; the audit chain cannot be edited or erased, and chat text may hold
personal data that must not become permanent there.
"""

from __future__ import annotations

from rooms.errors import InvalidInput, NotFound, PermissionDenied
from rooms.ids import ParticipantId
from rooms.participants import Participant
from rooms.permissions import Action, ensure_may, may
from rooms.session import CourtSession
from rooms.states import PRESENT_STATES, ParticipantState
from rooms.text import Text


def is_court_side(person: Participant) -> bool:
    return may(person.role, Action.ADMIT)


def recipients(
    session: CourtSession, sender_id: str, to: str | None, room: bool = False
) -> list[ParticipantId]:
    """Everyone who receives the message (the sender included), or a domain refusal."""
    sender = session.participants.get(ParticipantId(sender_id))
    if sender is None or sender.state not in PRESENT_STATES:
        raise PermissionDenied(
            "permission.chat_not_present",
            Text(
                "Bạn phải có mặt trong phiên để nhắn tin.",
                "You must be present in the session to chat.",
            ),
        )
    ensure_may(sender.role, Action.CHAT_WITH_COURT)
    if room:
        return _room_members(session, sender, to)
    court = [
        person.id
        for person in session.participants.values()
        if is_court_side(person) and person.state in PRESENT_STATES
    ]
    if not is_court_side(sender):
        if to is not None:
            raise PermissionDenied(
                "permission.chat_with_court",
                Text(
                    "Bạn chỉ nhắn tin được với Hội đồng xét xử và thư ký.",
                    "You may only write to the court, not to another participant.",
                ),
            )
        return _unique([sender.id, *court])
    if to is None:
        return _unique([sender.id, *court])
    target = session.participants.get(ParticipantId(to))
    if target is None:
        raise NotFound(
            "participant.not_found",
            Text(f"Không tìm thấy người tham gia {to}.", f"No such participant: {to}."),
        )
    if target.state not in PRESENT_STATES:
        raise InvalidInput(
            "chat.recipient_absent",
            Text(f"{target.name} hiện không có mặt.", f"{target.name} is not present."),
        )
    return _unique([sender.id, target.id, *court])


def _room_members(
    session: CourtSession, sender: Participant, to: str | None
) -> list[ParticipantId]:
    """The people now in the sender's private room, the sender first."""
    if sender.state is not ParticipantState.IN_CONSULTATION or sender.consultation_room is None:
        raise PermissionDenied(
            "permission.chat_room_not_in_room",
            Text(
                "Chỉ nhắn tin riêng được khi bạn đang ở phòng riêng.",
                "Private messages are for the people of a private room; you are not in one.",
            ),
        )
    if to is not None:
        raise InvalidInput(
            "chat.room_with_recipient",
            Text(
                "Tin nhắn trong phòng riêng gửi cho mọi người trong phòng.",
                "A private-room message goes to everyone in the room, not to one person.",
            ),
        )
    members = [
        person.id
        for person in session.participants.values()
        if person.consultation_room == sender.consultation_room
        and person.state is ParticipantState.IN_CONSULTATION
    ]
    return _unique([sender.id, *members])


def _unique(ids: list[ParticipantId]) -> list[ParticipantId]:
    return list(dict.fromkeys(ids))
