"""How sessions are named, listed and labelled on the staff pages, in the page's language."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from rooms.cases import CASE_TYPE_LABELS, INSTANCE_LABELS
from rooms.points import POINT_KIND_LABELS
from rooms.roles import ROLE_LABELS, ROLES_BY_KIND, Role, SessionKind
from rooms.session import CourtSession
from rooms.states import (
    LIVE_SESSION_STATES,
    PARTICIPANT_STATE_LABELS,
    PRESENT_STATES,
    SESSION_STATE_LABELS,
    SessionState,
)
from rooms.text import Text

E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One line of a sessions list."""

    id: str
    kind: SessionKind
    title: str
    case_number: str | None
    state: SessionState
    state_label: Text
    start: datetime
    end: datetime | None
    present: int
    invited: int

    @property
    def live(self) -> bool:
        return self.state in LIVE_SESSION_STATES


def title_of(session: CourtSession) -> str:
    if session.case is not None:
        return session.case.title or session.case.number
    return session.meeting.title if session.meeting is not None else session.id


def row_of(session: CourtSession) -> SessionRow:
    people = session.participants.values()
    return SessionRow(
        id=session.id,
        kind=session.kind,
        title=title_of(session),
        case_number=session.case.number if session.case is not None else None,
        state=session.state,
        state_label=SESSION_STATE_LABELS[session.state],
        start=session.scheduled_start,
        end=session.scheduled_end,
        present=sum(1 for p in people if p.state in PRESENT_STATES),
        invited=len(session.participants),
    )


def rows(sessions: Iterable[CourtSession]) -> list[SessionRow]:
    return [row_of(s) for s in sessions]


def options(labels: Mapping[E, Text], lang: str) -> list[tuple[str, str]]:
    """``(value, label)`` pairs for a ``<select>``, in the enum's own order."""
    return [(value.value, getattr(text, lang)) for value, text in labels.items()]


def role_options(kind: SessionKind, lang: str) -> list[tuple[str, str]]:
    allowed = ROLES_BY_KIND[kind]
    return [(r.value, getattr(ROLE_LABELS[r], lang)) for r in Role if r in allowed]


def script_labels(lang: str) -> dict[str, dict[str, str]]:
    """The domain's own names for roles and states, for the monitor's script."""

    def pick(labels: Mapping[E, Text]) -> dict[str, str]:
        return {value.value: getattr(text, lang) for value, text in labels.items()}

    return {
        "roles": pick(ROLE_LABELS),
        "participant_states": pick(PARTICIPANT_STATE_LABELS),
        "session_states": pick(SESSION_STATE_LABELS),
        "point_kinds": pick(POINT_KIND_LABELS),
    }


LABELS: dict[str, Mapping[Any, Text]] = {
    "case_types": CASE_TYPE_LABELS,
    "instances": INSTANCE_LABELS,
    "point_kinds": POINT_KIND_LABELS,
    "session_states": SESSION_STATE_LABELS,
    "participant_states": PARTICIPANT_STATE_LABELS,
    "roles": ROLE_LABELS,
}
"""Every domain label table, for templates: ``labels.roles[p.role][lang]``."""
