"""The domain of online hearings and court meetings: plain Python, no I/O."""

from rooms.cases import Case, CaseType, Instance, MeetingInfo
from rooms.errors import (
    DomainError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    PolicyViolation,
)
from rooms.ids import ConsultationRoomId, CourtId, ParticipantId, PointId, SessionId, UserId
from rooms.media import MediaSource, RecordingState, Screening
from rooms.participants import Actor, Participant
from rooms.permissions import Action, StaffAction
from rooms.points import ConnectionPoint, PointKind
from rooms.policy import VIETNAM, JurisdictionPolicy
from rooms.roles import Role, SessionKind, StaffRole
from rooms.session import CourtSession
from rooms.states import ParticipantState, SessionState
from rooms.text import Text

__all__ = [
    "VIETNAM",
    "Action",
    "Actor",
    "Case",
    "CaseType",
    "ConnectionPoint",
    "ConsultationRoomId",
    "CourtId",
    "CourtSession",
    "DomainError",
    "Instance",
    "InvalidInput",
    "InvalidTransition",
    "JurisdictionPolicy",
    "MediaSource",
    "MeetingInfo",
    "NotFound",
    "Participant",
    "ParticipantId",
    "ParticipantState",
    "PermissionDenied",
    "PointId",
    "PointKind",
    "PolicyViolation",
    "RecordingState",
    "Role",
    "Screening",
    "SessionId",
    "SessionKind",
    "SessionState",
    "StaffAction",
    "StaffRole",
    "Text",
    "UserId",
]
