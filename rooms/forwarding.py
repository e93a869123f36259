"""The forwarding plan: what media may flow in a session, decided once per saved version.

The forwarder must not ask the domain about every receiver × publication on the loop that
forwards RTP. The session instead hands it a plan: for each publication (a publisher's
microphone, camera or screen) whether it is paused for everyone, who its audience is, and
whether it may be recorded. The media edge keeps the newest plan, ignores an older one, and
applies only what :meth:`ForwardingPlan.changes_since` reports. Muting a publisher pauses
that one publication once (a producer pause, as mediasoup and LiveKit do), it never touches
a per-receiver bit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from rooms.ids import ParticipantId
from rooms.media import MediaSource

__all__ = [
    "AudienceChange",
    "ForwardingPlan",
    "PlanChanges",
    "Publication",
    "PublicationRule",
]

NOBODY: frozenset[ParticipantId] = frozenset()


@dataclass(frozen=True, slots=True)
class Publication:
    """One published source of one person."""

    publisher: ParticipantId
    source: MediaSource


@dataclass(frozen=True, slots=True)
class PublicationRule:
    """What happens to one publication's media."""

    paused: bool
    """Nobody gets it (muted, not sharing, not present, session not live)."""
    audience: frozenset[ParticipantId]
    """Who may get it while it is not paused. It may name the publisher, who is never sent
    their own media: that lets publications of one room share one set."""
    recorded: bool = False
    """The recorder may capture it."""

    def reaches(self, receiver: ParticipantId) -> bool:
        return not self.paused and receiver in self.audience


@dataclass(frozen=True, slots=True)
class AudienceChange:
    gained: frozenset[ParticipantId]
    lost: frozenset[ParticipantId]


@dataclass(frozen=True, slots=True)
class PlanChanges:
    """The difference between two plans, in the few operations the forwarder needs."""

    paused: tuple[Publication, ...] = ()
    resumed: tuple[Publication, ...] = ()
    audience: Mapping[Publication, AudienceChange] = field(default_factory=dict)
    recorded: tuple[Publication, ...] = ()
    unrecorded: tuple[Publication, ...] = ()

    def __bool__(self) -> bool:
        return bool(
            self.paused or self.resumed or self.audience or self.recorded or self.unrecorded
        )


_HIDDEN = PublicationRule(paused=True, audience=NOBODY)
"""The rule of a publication the plan does not name: nothing flows, nothing is recorded."""


@dataclass(frozen=True, slots=True)
class ForwardingPlan:
    """One version of a session's media decisions; plans of one session are ordered by
    ``version`` (the session's saved version)."""

    version: int
    rules: Mapping[Publication, PublicationRule]

    def rule(self, publisher: ParticipantId, source: MediaSource) -> PublicationRule:
        return self.rules.get(Publication(publisher, source), _HIDDEN)

    def may_receive(
        self, receiver: ParticipantId, publisher: ParticipantId, source: MediaSource
    ) -> bool:
        return receiver != publisher and self.rule(publisher, source).reaches(receiver)

    def may_record(self, publisher: ParticipantId, source: MediaSource) -> bool:
        return self.rule(publisher, source).recorded

    def is_newer_than(self, other: ForwardingPlan | None) -> bool:
        return other is None or self.version > other.version

    def changes_since(self, older: ForwardingPlan | None) -> PlanChanges:
        """What changed from ``older`` (None: from a plan that forwards nothing).

        Cost is one comparison per publication; an audience set is compared only when it is
        not the very same object, and walked only when it differs."""
        before: Mapping[Publication, PublicationRule] = {} if older is None else older.rules
        paused: list[Publication] = []
        resumed: list[Publication] = []
        recorded: list[Publication] = []
        unrecorded: list[Publication] = []
        audience: dict[Publication, AudienceChange] = {}
        for publication in _union(before, self.rules):
            old = before.get(publication, _HIDDEN)
            new = self.rules.get(publication, _HIDDEN)
            if old is new:
                continue
            if old.paused != new.paused:
                (paused if new.paused else resumed).append(publication)
            if old.recorded != new.recorded:
                (recorded if new.recorded else unrecorded).append(publication)
            if old.audience is not new.audience and old.audience != new.audience:
                gained = new.audience - old.audience - {publication.publisher}
                lost = old.audience - new.audience - {publication.publisher}
                if gained or lost:
                    audience[publication] = AudienceChange(gained, lost)
        return PlanChanges(
            tuple(paused), tuple(resumed), audience, tuple(recorded), tuple(unrecorded)
        )


def _union(
    first: Mapping[Publication, PublicationRule], second: Mapping[Publication, PublicationRule]
) -> Iterator[Publication]:
    yield from second
    for publication in first:
        if publication not in second:
            yield publication
