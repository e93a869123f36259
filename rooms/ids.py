"""Typed identifiers, so a participant id is never passed where a session id belongs."""

from __future__ import annotations

import uuid
from typing import NewType

SessionId = NewType("SessionId", str)
ParticipantId = NewType("ParticipantId", str)
PointId = NewType("PointId", str)
CourtId = NewType("CourtId", str)
UserId = NewType("UserId", str)
ConsultationRoomId = NewType("ConsultationRoomId", str)
InvitationId = NewType("InvitationId", str)


def new_id() -> str:
    """A random, URL-safe identifier; uuid4 needs no I/O, so the domain may mint its own."""
    return uuid.uuid4().hex
