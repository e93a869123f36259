"""The sessions this process saved last, as they were saved, for this process's own edges.

A command loads the session, decides, saves it and publishes its events; the broadcaster
then needs the session as saved to tell every connection what changed. Loading it again
from the database is a second round of queries per command, each an ``await`` that waits
a turn of a loop busy with media: at 100 points it was a third of an ``admit``'s time.
The aggregate the command saved is exactly that state, so it is kept here, by version.
Another process's commands are not here (their events arrive over Redis and are loaded).
"""

from __future__ import annotations

from collections import OrderedDict

from rooms.ids import SessionId
from rooms.session import CourtSession

__all__ = ["DEFAULT_KEPT_SESSIONS", "SavedSessions"]

DEFAULT_KEPT_SESSIONS = 256
"""Sessions kept at most: the busy ones; a quiet session is loaded when it is next needed."""


class SavedSessions:
    """The last saved aggregate of each recently commanded session (least recent dropped).

    What is kept is read, never changed: a command always works on a session it loaded
    itself, so an aggregate handed here after its save is not touched again.
    """

    def __init__(self, capacity: int = DEFAULT_KEPT_SESSIONS) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.__capacity = capacity
        self.__sessions: OrderedDict[SessionId, CourtSession] = OrderedDict()

    def keep(self, session: CourtSession) -> None:
        """``session`` was just saved (its ``version`` is the saved one)."""
        held = self.__sessions.get(session.id)
        if held is not None and held.version > session.version:
            return  # a later save of this process is already kept
        self.__sessions[session.id] = session
        self.__sessions.move_to_end(session.id)
        while len(self.__sessions) > self.__capacity:
            self.__sessions.popitem(last=False)

    def at_least(self, session_id: SessionId, version: int) -> CourtSession | None:
        """The kept session if it is at ``version`` or later, else None (load it)."""
        session = self.__sessions.get(session_id)
        if session is None or session.version < version:
            return None
        return session

    def forget(self, session_id: SessionId) -> None:
        self.__sessions.pop(session_id, None)
