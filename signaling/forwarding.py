"""The real media gateway: one forwarding ``MediaRoom`` per session, plans from the domain.

Signalling hands over the session's forwarding plan with every offer and after every event
that changes what may flow. The gateway keeps the newest plan of each session, ignores an
older one (an offer and an event may race with plans of different versions), and applies
only the difference: a mute pauses one publication, an admission adds one receiver to each
publication, so media follows the judge's decisions without renegotiation and without
re-asking every pair. Errors from negotiation come back as ``MediaRefused`` so clients see
them like any other refusal.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiortc import RTCIceCandidate
from aiortc.sdp import candidate_from_sdp

from rooms.forwarding import ForwardingPlan, Publication
from rooms.ids import ParticipantId
from rooms.media import MediaSource
from rooms.session import CourtSession
from rooms.text import Text
from signaling.gateway import (
    NO_RECORDING,
    ActiveSpeakerListener,
    IceCandidateInfo,
    LinkReport,
    MediaRefused,
    OutgoingTrack,
    RecordingPort,
    RecordingSpace,
    ServerOfferSender,
)
from signaling.media import (
    SOURCES,
    ActiveSpeakerCallback,
    ForwardingMode,
    MediaRoom,
    NegotiationError,
    RenegotiateCallback,
    Source,
    TrackFanout,
    TrackKey,
)
from signaling.media.stats import ConnectionStats

__all__ = ["ForwardingGateway", "parse_ice_candidate"]

logger = logging.getLogger(__name__)

NEGOTIATION_FAILED = Text(
    "Không thiết lập được kết nối hình ảnh, âm thanh: {detail}",
    "Could not set up audio and video: {detail}",
)
NOT_NEGOTIATED = Text(
    "Chưa có kết nối hình ảnh, âm thanh: hãy gửi offer trước.",
    "There is no media connection yet: send an offer first.",
)
BAD_CANDIDATE = Text(
    "Ứng viên ICE không hợp lệ.",
    "The ICE candidate is not valid.",
)


def parse_ice_candidate(info: IceCandidateInfo) -> RTCIceCandidate | None:
    """A browser's ``RTCIceCandidate`` fields → aiortc's; None ends the candidates."""
    if info.candidate is None:
        return None
    text = info.candidate.strip()
    if text.startswith("candidate:"):
        text = text[len("candidate:") :]
    try:
        candidate = candidate_from_sdp(text)
    except (AssertionError, ValueError, IndexError) as exc:
        raise MediaRefused("media.ice_candidate", BAD_CANDIDATE) from exc
    if info.sdp_mid is None and info.sdp_mline_index is None:
        raise MediaRefused("media.ice_candidate", BAD_CANDIDATE)
    candidate.sdpMid = info.sdp_mid
    candidate.sdpMLineIndex = info.sdp_mline_index
    return candidate


class _PlanPolicy:
    """The room's forwarding policy: what the newest plan says, for tracks and receivers that
    appear; changes reach the room through :func:`_apply_changes`."""

    def __init__(self) -> None:
        self.plan: ForwardingPlan | None = None

    def is_paused(self, publisher: str, source: str) -> bool:
        if self.plan is None:
            return True
        return self.plan.rule(ParticipantId(publisher), MediaSource(source)).paused

    def may_receive(self, receiver: str, publisher: str, source: str) -> bool:
        if self.plan is None:
            return False
        rule = self.plan.rule(ParticipantId(publisher), MediaSource(source))
        return ParticipantId(receiver) in rule.audience


@dataclass
class _SessionMedia:
    room: MediaRoom
    policy: _PlanPolicy
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def adopt(self, plan: ForwardingPlan) -> bool:
        """Follow ``plan`` if it is newer than the one held; False if it was stale."""
        held = self.policy.plan
        if not plan.is_newer_than(held):
            return False
        changes = plan.changes_since(held)
        self.policy.plan = plan
        for publication in changes.paused:
            self.room.set_paused(_track(publication), True)
        for publication in changes.resumed:
            self.room.set_paused(_track(publication), False)
        for publication, change in changes.audience.items():
            key = _track(publication)
            self.room.set_receiving(key, change.lost, False)
            self.room.set_receiving(key, change.gained, True)
        return True


def _track(publication: Publication) -> TrackKey:
    return TrackKey(publication.publisher, _source(publication.source.value))


class ForwardingGateway:
    """Media on: forwards encoded frames between participants (signaling/media)."""

    def __init__(
        self,
        send_offer: ServerOfferSender,
        *,
        video_codec: str = "video/VP8",
        forwarding: ForwardingMode = "rtp",
        monotonic: Callable[[], float] = time.monotonic,
        recorder: RecordingPort | None = None,
    ) -> None:
        self._send_offer = send_offer
        self._recorder = recorder
        self._video_codec = video_codec
        self._forwarding: ForwardingMode = forwarding
        self._monotonic = monotonic
        self._sessions: dict[str, _SessionMedia] = {}
        self._speaker_listener: ActiveSpeakerListener | None = None
        self._closed = False

    @property
    def enabled(self) -> bool:
        return True

    def room(self, session_id: str) -> MediaRoom | None:
        """The session's forwarder, for the recorder and diagnostics."""
        media = self._sessions.get(session_id)
        return None if media is None else media.room

    async def offer(
        self,
        session_id: str,
        participant_id: str,
        sdp: str,
        sources: Mapping[str, str],
        plan: ForwardingPlan,
    ) -> str:
        media = self._session(session_id)
        media.adopt(plan)
        checked: dict[str, Source] = {mid: _source(s) for mid, s in sources.items()}
        async with media.lock:
            try:
                with _refusing():
                    if participant_id in media.room.participants:
                        return await media.room.update_offer(participant_id, sdp, checked)
                    return await media.room.join(participant_id, sdp, checked)
            finally:
                await self._drop_if_empty(session_id, media)

    async def answer(self, session_id: str, participant_id: str, sdp: str) -> None:
        media = self._joined(session_id, participant_id)
        with _refusing():
            await media.room.accept_answer(participant_id, sdp)

    async def ice_candidate(
        self, session_id: str, participant_id: str, candidate: IceCandidateInfo
    ) -> None:
        # Signalling handles a connection's messages in order, so a candidate never
        # overtakes its offer here; the peer itself keeps any that overtake its own setup.
        parsed = parse_ice_candidate(candidate)
        media = self._joined(session_id, participant_id)
        with _refusing():
            await media.room.add_ice_candidate(participant_id, parsed)

    async def renegotiate(self, session_id: str, participant_id: str) -> None:
        self._joined(session_id, participant_id).room.renegotiate(participant_id)

    async def leave(self, session_id: str, participant_id: str) -> None:
        media = self._sessions.get(session_id)
        if media is None:
            return
        async with media.lock:
            await media.room.leave(participant_id)
            await self._drop_if_empty(session_id, media)

    async def apply_plan(self, session_id: str, plan: ForwardingPlan) -> None:
        media = self._sessions.get(session_id)
        if media is not None:
            media.adopt(plan)

    async def links(self, session_id: str) -> dict[str, LinkReport]:
        media = self._sessions.get(session_id)
        if media is None:
            return {}
        now = self._monotonic()
        stats = await media.room.all_stats()
        return {
            pid: _link_report(s, now, await _rtcp_quiet_seconds(media.room, pid))
            for pid, s in stats.items()
        }

    def sessions(self) -> tuple[str, ...]:
        return tuple(self._sessions)

    def listen_active_speaker(self, listener: ActiveSpeakerListener) -> None:
        self._speaker_listener = listener

    async def session_changed(
        self, session: CourtSession, events: Sequence[Mapping[str, Any]]
    ) -> None:
        """The recorder follows sessions whose media this process forwards."""
        if self._recorder is not None and session.id in self._sessions:
            await self._recorder.session_changed(session, events)

    def recording_refusal(self) -> Text | None:
        if self._recorder is None:
            return NO_RECORDING
        return self._recorder.refusal()

    def recording_space(self) -> RecordingSpace | None:
        return None if self._recorder is None else self._recorder.space()

    async def close(self) -> None:
        self._closed = True
        sessions, self._sessions = self._sessions, {}
        for media in sessions.values():
            await media.room.close()
        if self._recorder is not None:
            await self._recorder.close()

    def _session(self, session_id: str) -> _SessionMedia:
        if self._closed:
            raise MediaRefused("media.closed", NEGOTIATION_FAILED.format(detail="shutdown"))
        media = self._sessions.get(session_id)
        if media is None:
            policy = _PlanPolicy()
            room = MediaRoom(
                session_id,
                policy=policy,
                on_renegotiate=self._renegotiation_sender(session_id),
                video_codec=self._video_codec,
                forwarding=self._forwarding,
                on_active_speaker=self._speaker_reporter(session_id),
                on_track_published=self._published_reporter(session_id),
                on_track_unpublished=self._unpublished_reporter(session_id),
            )
            media = self._sessions[session_id] = _SessionMedia(room, policy)
        return media

    async def _drop_if_empty(self, session_id: str, media: _SessionMedia) -> None:
        """A session's forwarder lives while someone has media in it."""
        if not media.room.participants and self._sessions.get(session_id) is media:
            del self._sessions[session_id]
            await media.room.close()

    def _joined(self, session_id: str, participant_id: str) -> _SessionMedia:
        media = self._sessions.get(session_id)
        if media is None or participant_id not in media.room.participants:
            raise MediaRefused("media.not_negotiated", NOT_NEGOTIATED)
        return media

    def _published_reporter(self, session_id: str) -> Callable[[TrackFanout], None] | None:
        recorder = self._recorder
        if recorder is None:
            return None
        return lambda fanout: recorder.track_published(session_id, fanout)

    def _unpublished_reporter(self, session_id: str) -> Callable[[TrackKey], None] | None:
        recorder = self._recorder
        if recorder is None:
            return None
        return lambda key: recorder.track_unpublished(session_id, key)

    def _speaker_reporter(self, session_id: str) -> ActiveSpeakerCallback:
        async def report(participant_id: str | None) -> None:
            if self._recorder is not None:
                self._recorder.active_speaker(session_id, participant_id)
            if self._speaker_listener is not None:
                await self._speaker_listener(session_id, participant_id)

        return report

    def _renegotiation_sender(self, session_id: str) -> RenegotiateCallback:
        async def send(
            participant_id: str, sdp: str, tracks: Mapping[str, TrackKey | None]
        ) -> None:
            outgoing = {
                mid: None if key is None else OutgoingTrack(key.publisher, key.source)
                for mid, key in tracks.items()
            }
            await self._send_offer(session_id, participant_id, sdp, outgoing)

        return send


def _source(value: str) -> Source:
    if value not in SOURCES:
        raise MediaRefused("media.source", NEGOTIATION_FAILED.format(detail=f"source {value!r}"))
    return value


@contextmanager
def _refusing() -> Iterator[None]:
    """Negotiation failures become refusals the client can read."""
    try:
        yield
    except (NegotiationError, ValueError) as exc:
        raise MediaRefused("media.negotiation", NEGOTIATION_FAILED.format(detail=str(exc))) from exc
    except KeyError as exc:
        raise MediaRefused("media.not_negotiated", NOT_NEGOTIATED) from exc


RTCP_STATS = frozenset({"remote-inbound-rtp", "remote-outbound-rtp"})
"""aiortc's stats built from the peer's receiver and sender reports, stamped on arrival."""


async def _rtcp_quiet_seconds(room: MediaRoom, participant_id: str) -> float | None:
    """Seconds since the participant's last RTCP report arrived, None if none has (or it
    left meanwhile): whether the link lives when its media is silent."""
    try:
        pc = room.peer(participant_id).pc
    except KeyError:
        return None
    report = await pc.getStats()
    arrivals: list[datetime] = [
        stat.timestamp for stat in report.values() if stat.type in RTCP_STATS
    ]
    if not arrivals:
        return None
    return max(0.0, (datetime.now(UTC) - max(arrivals)).total_seconds())


def _link_report(stats: ConnectionStats, now: float, rtcp_quiet: float | None) -> LinkReport:
    silence = stats.media_silence(now)
    loss = max(stats.fraction_lost_in, stats.fraction_lost_out or 0.0)
    return LinkReport(
        participant_id=stats.participant_id,
        connection=stats.connection_state,
        loss=loss,
        jitter_ms=None if stats.jitter_in is None else stats.jitter_in * 1000,
        rtt_ms=None if stats.rtt is None else stats.rtt * 1000,
        bitrate_in_kbps=stats.bitrate_in / 1000,
        bitrate_out_kbps=stats.bitrate_out / 1000,
        silent_seconds=silence,
        rtcp_quiet_seconds=rtcp_quiet,
        video_paused_for_bandwidth=stats.video_paused_for_bandwidth,
    )
