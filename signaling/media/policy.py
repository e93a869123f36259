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
    """Answers, for the room, whether ``receiver`` may get ``publisher``'s ``source``.

    The domain implements it (mute, lobby, closed session, screen rules);
    media only asks, on joins and on :meth:`MediaRoom.refresh`.
    """

    def may_receive(self, receiver: str, publisher: str, source: str) -> bool: ...


class AllowAll:
    """Policy that forwards everything: for tests, benchmarks and probes."""

    def may_receive(self, receiver: str, publisher: str, source: str) -> bool:
        return True
