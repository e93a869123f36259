"""Who is speaking, from the audio levels publishers put on their packets (RFC 6464).

Pure arithmetic, no I/O and no clock of its own: the room feeds it, a few times a second,
the loudest level each publisher's microphone reported since the last time, and asks who
the active speaker is. Levels are attenuations in dB below full scale: 0 is the loudest a
microphone can be, 127 digital silence. Nothing is decoded.

The decision is meant to be read by people (a highlighted tile, the speaker on the stage),
so it must not flap: levels are smoothed, a newcomer must stay clearly louder than the
speaker for a while before taking over, and the speaker is let go only after a stretch
of silence. The voice-activity bit is not used: aiortc never sets it and Chromium clears it
only on DTX packets, which are already quiet.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["SILENT_LEVEL", "ActiveSpeakerDetector", "SpeakerSettings"]

SILENT_LEVEL = 127
"""RFC 6464: -127 dBov, digital silence (and the quietest level the extension can carry)."""


@dataclass(frozen=True, slots=True)
class SpeakerSettings:
    """How eagerly the active speaker changes."""

    floor_level: int = 60
    "Levels at or above this (-60 dBov and quieter: room noise, breathing) count as silence."
    speaking_loudness: float = 10.0
    "Smoothed dB above the floor from which a publisher counts as speaking."
    smoothing: float = 0.4
    "Time constant, in seconds, of the exponential average over each publisher's levels."
    switch_margin: float = 6.0
    "dB by which a newcomer's smoothed loudness must exceed the speaker's to take over."
    switch_after: float = 0.6
    "Seconds a newcomer must stay that much louder than a speaker who is still speaking."
    start_after: float = 0.2
    """Seconds someone must keep speaking to become the speaker when nobody is (or the speaker
    has fallen quiet): a cough or a slammed door does not take the stage."""
    release_after: float = 1.2
    "Seconds of the speaker's silence, with nobody else speaking, before there is no speaker."

    def __post_init__(self) -> None:
        if not 0 < self.floor_level <= SILENT_LEVEL:
            raise ValueError(f"floor level must be in 1..{SILENT_LEVEL}, got {self.floor_level}")
        if self.speaking_loudness <= 0 or self.switch_margin < 0:
            raise ValueError("speaking loudness must be positive and the margin not negative")
        if min(self.smoothing, self.switch_after, self.start_after, self.release_after) <= 0:
            raise ValueError("smoothing and hold times must be positive")


class ActiveSpeakerDetector:
    """The active speaker of one room, decided from successive level samples.

    Call :meth:`update` at a steady pace (every 100–250 ms) with each publisher's loudest
    level since the previous call; a publisher missing from the samples (muted, paused,
    not sending) is taken as silent for that interval.
    """

    def __init__(self, settings: SpeakerSettings | None = None) -> None:
        self.settings = settings or SpeakerSettings()
        self.__loudness: dict[str, float] = {}
        self.__last_update: float | None = None
        self.__speaker: str | None = None
        self.__quiet_since: float | None = None
        self.__challenger: str | None = None
        self.__challenger_since = 0.0

    @property
    def speaker(self) -> str | None:
        """The active speaker after the last update, ``None`` when nobody speaks."""
        return self.__speaker

    def loudness(self, publisher: str) -> float:
        """A publisher's smoothed loudness, in dB above the floor (0: silent)."""
        return self.__loudness.get(publisher, 0.0)

    def forget(self, publisher: str) -> None:
        """The publisher left or stopped publishing audio: it cannot stay the speaker."""
        self.__loudness.pop(publisher, None)
        if self.__challenger == publisher:
            self.__challenger = None
        if self.__speaker == publisher:
            self.__speaker = None
            self.__quiet_since = None

    def update(self, now: float, levels: Mapping[str, int]) -> str | None:
        """Take one interval's loudest level per publisher (at monotonic time ``now``) and
        return the active speaker."""
        self.__smooth(now, levels)
        settings = self.settings
        speaking = {
            publisher: value
            for publisher, value in self.__loudness.items()
            if value >= settings.speaking_loudness
        }
        current = self.__speaker
        current_loudness = self.loudness(current) if current is not None else 0.0
        current_speaks = current is not None and current in speaking
        if current is not None:
            if current_speaks:
                self.__quiet_since = None
            elif self.__quiet_since is None:
                self.__quiet_since = now
        loudest = max(speaking, key=speaking.__getitem__, default=None)
        if (
            loudest is not None
            and loudest != current
            and (
                not current_speaks or speaking[loudest] >= current_loudness + settings.switch_margin
            )
        ):
            if self.__challenger != loudest:
                self.__challenger = loudest
                self.__challenger_since = now
            hold = settings.switch_after if current_speaks else settings.start_after
            if now - self.__challenger_since >= hold:
                self.__become(loudest)
                return loudest
        else:
            self.__challenger = None
        quiet_since = self.__quiet_since
        if quiet_since is not None and now - quiet_since >= settings.release_after:
            self.__become(None)
        return self.__speaker

    def __become(self, speaker: str | None) -> None:
        self.__speaker = speaker
        self.__quiet_since = None
        self.__challenger = None

    def __smooth(self, now: float, levels: Mapping[str, int]) -> None:
        """Move every publisher's average towards this interval's loudness (0 if absent)."""
        last = self.__last_update
        self.__last_update = now
        elapsed = 0.0 if last is None else max(0.0, now - last)  # the first call sets the clock
        weight = 1.0 - math.exp(-elapsed / self.settings.smoothing)
        floor = self.settings.floor_level
        loudness = self.__loudness
        for publisher in set(loudness) | set(levels):
            level = levels.get(publisher)
            sample = 0.0 if level is None else float(max(0, floor - level))
            previous = loudness.get(publisher, 0.0)
            value = previous + (sample - previous) * weight
            if value < 0.01 and level is None and publisher != self.__speaker:
                loudness.pop(publisher, None)  # long silent: stop tracking
            else:
                loudness[publisher] = value
