"""Media vocabulary the rules speak about; the forwarder obeys what the session decides."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rooms.ids import ParticipantId


class MediaSource(StrEnum):
    MICROPHONE = "microphone"
    CAMERA = "camera"
    SCREEN = "screen"


class RecordingState(StrEnum):
    OFF = "off"
    RECORDING = "recording"
    PAUSED = "paused"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Screening:
    """A special measure: ``protected`` is not seen (or heard) by ``hidden_from``."""

    protected: ParticipantId
    hidden_from: ParticipantId
    audio: bool = False
    """Also withhold the voice, not only the picture."""

    def withholds(self, source: MediaSource) -> bool:
        return source is not MediaSource.MICROPHONE or self.audio
