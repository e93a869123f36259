"""The seam between signalling and media: what the socket.io edge asks of the forwarder.

Signalling validates WebRTC messages and the domain's rules; the gateway negotiates and
forwards. The forwarder (``signaling.media.MediaRoom``) sits behind an implementation of
``MediaGateway``; when media is off, ``NoMediaGateway`` refuses negotiation clearly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from rooms.errors import DomainError
from rooms.forwarding import ForwardingPlan
from rooms.text import Text

if TYPE_CHECKING:
    from rooms.session import CourtSession
    from signaling.media import TrackFanout, TrackKey


@dataclass(frozen=True, slots=True)
class OutgoingTrack:
    """What one server-sent m-line carries: a publisher's microphone, camera or screen."""

    publisher: str
    source: str


@dataclass(frozen=True, slots=True)
class IceCandidateInfo:
    """A trickled browser candidate; ``candidate`` is None at the end of candidates."""

    candidate: str | None
    sdp_mid: str | None
    sdp_mline_index: int | None


@dataclass(frozen=True, slots=True)
class LinkReport:
    """How one participant's media link looks from the server, for the IT view and the
    participant's own indicator. ``connection`` is "none" when there is no peer."""

    participant_id: str
    connection: str
    loss: float
    "Worst of the loss fractions in either direction since the last report, 0..1."
    jitter_ms: float | None
    rtt_ms: float | None
    bitrate_in_kbps: float
    bitrate_out_kbps: float
    silent_seconds: float | None
    "Seconds since the participant's last media frame (None: it never sent any)."
    rtcp_quiet_seconds: float | None = None
    """Seconds since the last RTCP report from the participant (None: none yet): the link's
    own sign of life when its media is silent."""
    video_paused_for_bandwidth: int = 0
    """Video tracks the participant is not sent now because its link's estimate is too low
    for them (tried again after a back-off): why someone sees a frozen picture."""


ServerOfferSender = Callable[[str, str, str, Mapping[str, OutgoingTrack | None]], Awaitable[None]]
"""``(session_id, participant_id, offer_sdp, tracks by mid)``: deliver a server offer to the
participant's browser; signalling provides it, the gateway calls it on renegotiation."""


ActiveSpeakerListener = Callable[[str, str | None], Awaitable[None]]
"""``(session_id, participant_id or None)``: the session's active speaker changed; signalling
listens, the gateway calls it at most a few times a second per session."""


class MediaRefused(DomainError):
    """Negotiation failed or media is unavailable; reported to the client like any refusal."""

    code = "media_error"


class MediaGateway(Protocol):
    """One forwarder per server process; all calls for a session arrive from the process that
    holds that session's connections."""

    @property
    def enabled(self) -> bool:
        """Whether clients should negotiate media at all (told in the welcome message)."""
        ...

    async def offer(
        self,
        session_id: str,
        participant_id: str,
        sdp: str,
        sources: Mapping[str, str],
        plan: ForwardingPlan,
    ) -> str:
        """Apply a client offer (first or later) and return the answer SDP; ``plan`` is the
        session's forwarding plan as the offering connection knows it."""
        ...

    async def answer(self, session_id: str, participant_id: str, sdp: str) -> None:
        """Apply the client's answer to the last server offer it was sent."""
        ...

    async def ice_candidate(
        self, session_id: str, participant_id: str, candidate: IceCandidateInfo
    ) -> None:
        """Add a trickled browser candidate to the participant's server peer."""
        ...

    async def renegotiate(self, session_id: str, participant_id: str) -> None:
        """Send the participant a fresh server offer (through the ``ServerOfferSender``)."""
        ...

    async def leave(self, session_id: str, participant_id: str) -> None:
        """Drop the participant's peer and tracks; a no-op if they had none."""
        ...

    async def apply_plan(self, session_id: str, plan: ForwardingPlan) -> None:
        """Follow the domain's newer plan by its difference; an older one is ignored."""
        ...

    async def links(self, session_id: str) -> dict[str, LinkReport]:
        """A fresh report of every participant with media in the session."""
        ...

    def sessions(self) -> tuple[str, ...]:
        """Sessions with media on this process."""
        ...

    def listen_active_speaker(self, listener: ActiveSpeakerListener) -> None:
        """Call ``listener`` whenever a session's active speaker changes (set once)."""
        ...

    async def session_changed(
        self, session: CourtSession, events: Sequence[Mapping[str, Any]]
    ) -> None:
        """After a command on a session with media here: the recorder follows it."""
        ...

    def recording_refusal(self) -> Text | None:
        """Why recording may not start on this server now, or None."""
        ...

    def recording_space(self) -> RecordingSpace | None:
        """Free space where recordings go, or None when this server does not record."""
        ...

    async def close(self) -> None:
        """Close every peer; called once at shutdown."""
        ...


@dataclass(frozen=True, slots=True)
class RecordingSpace:
    free_mb: int
    min_free_mb: int
    "Under this, recording is refused."


class RecordingPort(Protocol):
    """What the forwarder tells the recorder (recorder.service.Recorder): tracks as they
    appear and go, the active speaker, and each session's state after a command."""

    def track_published(self, session_id: str, fanout: TrackFanout) -> None: ...

    def track_unpublished(self, session_id: str, key: TrackKey) -> None: ...

    def active_speaker(self, session_id: str, participant_id: str | None) -> None: ...

    async def session_changed(
        self, session: CourtSession, events: Sequence[Mapping[str, Any]]
    ) -> None: ...

    def refusal(self) -> Text | None:
        """Why recording may not start now (e.g. too little free space), or None."""
        ...

    def space(self) -> RecordingSpace: ...

    async def close(self) -> None: ...


MediaGatewayFactory = Callable[[ServerOfferSender], MediaGateway]
"""How the composition root hands signalling its gateway: built once the sender exists."""

MEDIA_OFF = Text(
    "Máy chủ này chưa bật truyền hình ảnh, âm thanh.",
    "Media is not enabled on this server.",
)


NO_RECORDING = Text(
    "Máy chủ này không ghi hình được vì chưa bật truyền hình ảnh, âm thanh.",
    "This server cannot record: media is not enabled on it.",
)


class NoMediaGateway:
    """Media off: signalling and the hearing's control work, negotiation is refused."""

    def __init__(self, _send_offer: ServerOfferSender | None = None) -> None:
        pass

    @property
    def enabled(self) -> bool:
        return False

    async def offer(
        self,
        session_id: str,
        participant_id: str,
        sdp: str,
        sources: Mapping[str, str],
        plan: ForwardingPlan,
    ) -> str:
        raise MediaRefused("media.disabled", MEDIA_OFF)

    async def answer(self, session_id: str, participant_id: str, sdp: str) -> None:
        raise MediaRefused("media.disabled", MEDIA_OFF)

    async def ice_candidate(
        self, session_id: str, participant_id: str, candidate: IceCandidateInfo
    ) -> None:
        raise MediaRefused("media.disabled", MEDIA_OFF)

    async def renegotiate(self, session_id: str, participant_id: str) -> None:
        raise MediaRefused("media.disabled", MEDIA_OFF)

    async def leave(self, session_id: str, participant_id: str) -> None:
        return None

    async def apply_plan(self, session_id: str, plan: ForwardingPlan) -> None:
        return None

    async def links(self, session_id: str) -> dict[str, LinkReport]:
        return {}

    def sessions(self) -> tuple[str, ...]:
        return ()

    def listen_active_speaker(self, listener: ActiveSpeakerListener) -> None:
        return None

    async def session_changed(
        self, session: CourtSession, events: Sequence[Mapping[str, Any]]
    ) -> None:
        return None

    def recording_refusal(self) -> Text | None:
        return NO_RECORDING

    def recording_space(self) -> RecordingSpace | None:
        return None

    async def close(self) -> None:
        return None
