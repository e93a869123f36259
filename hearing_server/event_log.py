"""The server's own events in its log: one INFO line per thing that happened in a session
(joins, admissions, drops, suspensions…), with the session and the person, so an operator
reading the log follows the hearing without the audit page."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from rooms.events import SUBJECT_FIELDS, Event
from rooms.ids import ParticipantId
from rooms.participants import Actor
from rooms.session import CourtSession

log = logging.getLogger("hearing_server.events")

_SHOWN_FIELDS = ("previous", "current", "reason", "kind", "muted", "locked", "raised")
"""Payload fields worth a word in the line, when an event has them."""


def person(session: CourtSession | None, participant_id: object) -> str:
    """``Nguyễn Văn An (presiding_judge, p-…)``, or the bare id of someone not (yet) known."""
    found = session.participants.get(ParticipantId(str(participant_id))) if session else None
    if found is None:
        return str(participant_id)
    return f"{found.name} ({found.role.value}, {found.id})"


def actor_text(actor: Actor) -> str:
    if actor.is_system:
        return "the system"
    role = actor.staff_role.value if actor.staff_role else "participant"
    return f"{actor.name or actor.id} ({role}, {actor.id})"


def log_events(session: CourtSession, events: Iterable[Event]) -> None:
    for event in events:
        payload = event.payload()
        subject = next((payload[f] for f in SUBJECT_FIELDS if payload.get(f)), None)
        shown = [name for name in _SHOWN_FIELDS if payload.get(name) not in (None, "")]
        facts = ", ".join(f"{name}={payload[name]}" for name in shown)
        log.info(
            "session %s: %s%s by %s%s",
            session.id,
            event.name,
            f" of {person(session, subject)}" if subject else "",
            _by(session, event.actor),
            f" [{facts}]" if facts else "",
        )


def log_refusal(
    session: CourtSession | None,
    session_id: str | None,
    actor: Actor,
    action: str,
    rule: str,
    detail: dict[str, Any],
) -> None:
    subject = detail.get("participant_id")
    log.info(
        "session %s: %s%s by %s refused (%s)",
        session_id or "-",
        action,
        f" of {person(session, subject)}" if subject else "",
        actor_text(actor),
        rule,
    )


def _by(session: CourtSession, actor: str) -> str:
    if actor == "system":
        return "the system"
    if actor.startswith("staff:"):
        return f"staff {actor.removeprefix('staff:')}"
    return person(session, actor)
