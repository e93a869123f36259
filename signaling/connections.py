"""Who is connected to this process: one record per socket.io connection, indexed by session
so a domain event reaches exactly the connections it concerns.

The registry is local to the process on purpose: every process hears every domain event on
the bus and serves its own connections; only directed messages (chat) cross processes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from rooms.ids import ParticipantId, SessionId
from rooms.participants import Actor
from signaling.protocol import Sender
from signaling.ratelimit import TokenBucket
from signaling.views import SessionPicture

CredentialKey = tuple[str, str]
"""``(kind, id)`` of something that lets a connection in: ``("join_link", invitation id)``,
``("participant", id)``, ``("staff_user", user id)``, ``("staff_token", token id)``."""


@dataclass(eq=False)
class Connection:
    """One socket: a participant's (one session) or a staff monitor's (the sessions watched)."""

    sid: str
    sender: Sender
    actor: Actor
    bucket: TokenBucket
    credential: str
    """Whose refusals this connection's count toward (shared across reconnects)."""
    holds: frozenset[CredentialKey] = frozenset()
    """What, once ended (revoked, removed, logged out), closes this connection."""
    session_id: SessionId | None = None
    """The participant's session; None for a monitor."""
    participant_id: ParticipantId | None = None
    watching: set[SessionId] = field(default_factory=set)
    ready: bool = False
    """The welcome went out: session events may follow it."""
    departed: bool = False
    """Left, removed, denied, replaced or ended: closing it is no connection loss."""
    rate_limited: bool = False
    """Inside a rate-limited burst: only its first refusal is audited."""
    closing: bool = False
    """Being closed (abuse, an ended credential): it takes no more messages."""
    user_court_id: str | None = None
    """A court-bound monitor account watches only that court's sessions."""
    staff_user_id: str | None = None
    staff_token_id: str | None = None
    """A monitor's account and the token it connected with (``jti``), to end either."""
    pictures: dict[SessionId, SessionPicture] = field(default_factory=dict)
    """What it was last given of each of its sessions: the next changes are found against it."""

    @property
    def sessions(self) -> set[SessionId]:
        if self.session_id is not None:
            return {self.session_id}
        return self.watching


class ConnectionRegistry:
    def __init__(self) -> None:
        self._by_sid: dict[str, Connection] = {}
        self._by_session: dict[SessionId, set[str]] = defaultdict(set)
        self._by_participant: dict[tuple[SessionId, ParticipantId], str] = {}

    def add(self, connection: Connection) -> Connection | None:
        """Register; returns the participant's previous connection, which this one replaces."""
        self._by_sid[connection.sid] = connection
        previous: Connection | None = None
        if connection.session_id is not None and connection.participant_id is not None:
            key = (connection.session_id, connection.participant_id)
            old_sid = self._by_participant.get(key)
            previous = self._by_sid.get(old_sid) if old_sid is not None else None
            self._by_participant[key] = connection.sid
            self._by_session[connection.session_id].add(connection.sid)
        return previous

    def remove(self, sid: str) -> Connection | None:
        connection = self._by_sid.pop(sid, None)
        if connection is None:
            return None
        for session_id in connection.sessions:
            self._unindex(session_id, sid)
        if connection.session_id is not None and connection.participant_id is not None:
            key = (connection.session_id, connection.participant_id)
            if self._by_participant.get(key) == sid:
                del self._by_participant[key]
        return connection

    def watch(self, connection: Connection, session_id: SessionId) -> None:
        connection.watching.add(session_id)
        self._by_session[session_id].add(connection.sid)

    def unwatch(self, connection: Connection, session_id: SessionId) -> None:
        connection.watching.discard(session_id)
        connection.pictures.pop(session_id, None)
        self._unindex(session_id, connection.sid)

    def get(self, sid: str) -> Connection | None:
        return self._by_sid.get(sid)

    def participant(self, session_id: SessionId, participant_id: str) -> Connection | None:
        sid = self._by_participant.get((session_id, ParticipantId(participant_id)))
        return self._by_sid.get(sid) if sid is not None else None

    def holding(self, credential: CredentialKey) -> list[Connection]:
        """The connections an ended credential must close (rare: a scan is enough)."""
        return [c for c in self._by_sid.values() if credential in c.holds]

    def in_session(self, session_id: str) -> list[Connection]:
        sids = self._by_session.get(SessionId(session_id), set())
        return [self._by_sid[sid] for sid in sorted(sids) if sid in self._by_sid]

    def has_session(self, session_id: str) -> bool:
        return bool(self._by_session.get(SessionId(session_id)))

    def __iter__(self) -> Iterator[Connection]:
        return iter(list(self._by_sid.values()))

    def __len__(self) -> int:
        return len(self._by_sid)

    def _unindex(self, session_id: SessionId, sid: str) -> None:
        sids = self._by_session.get(session_id)
        if sids is not None:
            sids.discard(sid)
            if not sids:
                del self._by_session[session_id]
