"""Who may receive what: decided outside media, applied by the forwarder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, get_args

__all__ = ["SOURCES", "AllowAll", "ForwardingPolicy", "Kind", "Source", "TrackKey", "kind_of"]

Source = Literal["microphone", "camera", "screen"]
"""What a published track carries, as the client declares it."""

Kind = Literal["audio", "video"]

SOURCES: tuple[Source, ...] = get_args(Source)


def kind_of(source: Source) -> Kind:
    """Media kind a source must be sent as."""
    return "audio" if source == "microphone" else "video"


@dataclass(frozen=True, slots=True)
class TrackKey:
    """One published track in a room: a publisher's microphone, camera or screen."""

    publisher: str
    "Participant id of the publisher."
    source: Source
    "Which of the publisher's tracks."

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown source {self.source!r}")

    @property
    def kind(self) -> Kind:
        return kind_of(self.source)


class ForwardingPolicy(Protocol):
    """What the room asks when a track or a receiver appears; later changes arrive as
    :meth:`MediaRoom.set_paused` and :meth:`MediaRoom.set_receiving`, never as a re-ask.

    The domain implements it (mute, lobby, closed session, screen rules). A pause belongs to
    the publication (nobody gets it); ``may_receive`` is the receiver's own bit, kept apart
    so that lifting a mute is one change, not one per receiver.
    """

    def is_paused(self, publisher: str, source: str) -> bool: ...

    def may_receive(self, receiver: str, publisher: str, source: str) -> bool: ...


class AllowAll:
    """Policy that forwards everything: for tests, benchmarks and probes."""

    def is_paused(self, publisher: str, source: str) -> bool:
        return False

    def may_receive(self, receiver: str, publisher: str, source: str) -> bool:
        return True
