"""One hearing's media: a server peer per participant and a fan-out per published track."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping

from aiortc import RTCIceCandidate

from .active_speaker import ActiveSpeakerDetector, SpeakerSettings
from .bandwidth import BandwidthSettings
from .fanout import TrackFanout
from .keyframe import DEFAULT_KEYFRAME_INTERVAL
from .peer import NegotiationError, OfferResult, RenegotiateCallback, ServerPeer
from .policy import ForwardingPolicy, Source, TrackKey
from .rtp_forwarding import ForwardingMode
from .stats import ConnectionStats

__all__ = ["SPEAKER_INTERVAL", "ActiveSpeakerCallback", "MediaRoom"]

logger = logging.getLogger(__name__)

SPEAKER_INTERVAL = 0.2
"""Seconds between two looks at the microphones' levels: a change is reported at most
this often, and the detector's hold times are a few of these."""

ActiveSpeakerCallback = Callable[[str | None], Awaitable[None]]
"""Called with the new active speaker (a participant id, ``None``: nobody) on a change."""


class MediaRoom:
    """Forwards every participant's tracks to every other participant the policy allows.

    Each participant gets the others' tracks on server-offered sendonly
    m-lines; whether packets flow on them is re-decided by
    :meth:`set_paused` (a publication, for everyone) and :meth:`set_receiving` (named
    receivers), never by renegotiating.  A recorder attaches to
    :meth:`fanout` like any subscriber.  Joins, later offers and leaves
    are applied one at a time, so concurrent callers cannot subscribe a
    participant twice or to a track that is going away.
    """

    def __init__(
        self,
        room_id: str,
        *,
        policy: ForwardingPolicy,
        on_renegotiate: RenegotiateCallback,
        video_codec: str = "video/VP8",
        keyframe_interval: float = DEFAULT_KEYFRAME_INTERVAL,
        on_track_published: Callable[[TrackFanout], None] | None = None,
        on_track_unpublished: Callable[[TrackKey], None] | None = None,
        on_connection_state: Callable[[str, str], None] | None = None,
        forwarding: ForwardingMode = "rtp",
        on_active_speaker: ActiveSpeakerCallback | None = None,
        speaker_settings: SpeakerSettings | None = None,
        speaker_interval: float = SPEAKER_INTERVAL,
        bandwidth: BandwidthSettings | None = None,
    ) -> None:
        self.room_id = room_id
        self.forwarding: ForwardingMode = forwarding
        "How packets reach receivers: rewritten RTP, or frames re-packetised (to compare)."
        self.__policy = policy
        self.__on_renegotiate = on_renegotiate
        self.__video_codec = video_codec
        self.__keyframe_interval = keyframe_interval
        self.__bandwidth = bandwidth
        self.__on_track_published = on_track_published
        self.__on_track_unpublished = on_track_unpublished
        self.__on_connection_state = on_connection_state
        self.__peers: dict[str, ServerPeer] = {}
        self.__membership = asyncio.Lock()
        self.__closed = False
        self.__on_active_speaker = on_active_speaker
        self.__speakers = ActiveSpeakerDetector(speaker_settings)
        self.__speaker_interval = speaker_interval
        self.__reported_speaker: str | None = None
        self.__speaker_task: asyncio.Task[None] | None = None
        self.__speaker_exited = asyncio.Event()

    @property
    def participants(self) -> tuple[str, ...]:
        return tuple(self.__peers)

    @property
    def active_speaker(self) -> str | None:
        """Who was last reported as speaking (RTP-level forwarding reads the levels the
        publishers' packets carry; frame-level forwarding has none, so nobody)."""
        return self.__reported_speaker

    @property
    def tracks(self) -> Mapping[TrackKey, TrackFanout]:
        """Every published track in the room."""
        return {
            fanout.key: fanout
            for peer in self.__peers.values()
            for fanout in peer.published.values()
        }

    def fanout(self, publisher: str, source: Source) -> TrackFanout | None:
        """The fan-out of one published track, e.g. for a recorder to attach to."""
        peer = self.__peers.get(publisher)
        return None if peer is None else peer.published.get(source)

    def peer(self, participant_id: str) -> ServerPeer:
        """The participant's server peer; KeyError if not in the room."""
        return self.__peers[participant_id]

    async def join(self, participant_id: str, offer_sdp: str, sources: Mapping[str, Source]) -> str:
        """Admit a participant's media: apply its offer, return the answer.

        The participant is then offered the others' tracks through
        ``on_renegotiate`` once its connection is up, and its own tracks
        are offered to everyone else.
        """
        async with self.__membership:
            return await self.__join(participant_id, offer_sdp, sources)

    async def __join(
        self, participant_id: str, offer_sdp: str, sources: Mapping[str, Source]
    ) -> str:
        if self.__closed:
            raise NegotiationError(f"room {self.room_id} is closed")
        if participant_id in self.__peers:
            raise ValueError(f"{participant_id!r} has already joined room {self.room_id}")
        peer = ServerPeer(
            participant_id,
            on_renegotiate=self.__on_renegotiate,
            video_codec=self.__video_codec,
            keyframe_interval=self.__keyframe_interval,
            on_connection_state=self.__on_connection_state,
            forwarding=self.forwarding,
            bandwidth=self.__bandwidth,
        )
        self.__peers[participant_id] = peer
        try:
            result = await peer.accept_offer(offer_sdp, sources)
        except BaseException:
            del self.__peers[participant_id]
            await peer.close()
            raise
        for key, fanout in self.tracks.items():
            if key.publisher != participant_id:
                peer.subscribe(fanout, allowed=self.__may_receive(participant_id, key))
        self.__apply(result)
        self.__watch_speakers()
        return result.answer

    async def update_offer(
        self, participant_id: str, offer_sdp: str, sources: Mapping[str, Source]
    ) -> str:
        """Take a later offer from a participant (e.g. screen sharing on or off)."""
        async with self.__membership:
            result = await self.__peers[participant_id].accept_offer(offer_sdp, sources)
            self.__apply(result)
            return result.answer

    async def accept_answer(self, participant_id: str, answer_sdp: str) -> None:
        """Take a participant's answer to the last server offer it was sent."""
        await self.__peers[participant_id].accept_answer(answer_sdp)

    async def add_ice_candidate(
        self, participant_id: str, candidate: RTCIceCandidate | None
    ) -> None:
        """A participant's trickled candidate; KeyError if it has not joined."""
        await self.__peers[participant_id].add_ice_candidate(candidate)

    def renegotiate(self, participant_id: str) -> None:
        """Send the participant a fresh server offer; KeyError if it has not joined."""
        self.__peers[participant_id].request_offer()

    async def leave(self, participant_id: str) -> None:
        """Remove a participant and everything it had: subscriptions, tracks, peer."""
        async with self.__membership:
            await self.__leave(participant_id)

    async def __leave(self, participant_id: str) -> None:
        peer = self.__peers.pop(participant_id, None)
        if peer is None:
            return
        self.__speakers.forget(participant_id)
        for fanout in peer.published.values():
            self.__unpublished(fanout.key)
        await peer.close()

    def set_paused(self, key: TrackKey, paused: bool) -> None:
        """Pause or resume one publication for everyone: one call, whatever the audience.
        Unknown tracks are ignored (the publisher has not published it, or has left)."""
        fanout = self.fanout(key.publisher, key.source)
        if fanout is not None:
            fanout.set_paused(paused)

    def set_receiving(self, key: TrackKey, receivers: Iterable[str], allowed: bool) -> None:
        """Start or stop one publication for the named receivers only: the cost is the
        number of receivers named, not the room's size."""
        for receiver in receivers:
            peer = self.__peers.get(receiver)
            if peer is not None and receiver != key.publisher:
                peer.set_allowed(key, allowed)

    async def stats(self, participant_id: str) -> ConnectionStats:
        return await self.__peers[participant_id].stats()

    async def all_stats(self) -> dict[str, ConnectionStats]:
        return {pid: await peer.stats() for pid, peer in list(self.__peers.items())}

    async def close(self) -> None:
        """Remove every participant; the room cannot be used afterwards."""
        self.__closed = True
        task = self.__speaker_task
        if task is not None:
            task.cancel()
            await self.__speaker_exited.wait()
        async with self.__membership:
            for participant_id in list(self.__peers):
                await self.__leave(participant_id)

    def __watch_speakers(self) -> None:
        """Start looking at the levels once someone has joined (and someone listens)."""
        if self.__on_active_speaker is not None and self.__speaker_task is None:
            self.__speaker_task = asyncio.get_running_loop().create_task(self.__run_speakers())

    async def __run_speakers(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.__speaker_interval)
                try:
                    await self.__sample_speakers(time.monotonic())
                except Exception:
                    logger.exception("active speaker of room %s not reported", self.room_id)
        finally:
            self.__speaker_exited.set()

    async def __sample_speakers(self, now: float) -> None:
        """Each unpaused microphone's loudest level since the last look, to the detector;
        a change of speaker to the callback. A muted (paused) publisher has no sample."""
        levels: dict[str, int] = {}
        for participant_id, peer in self.__peers.items():
            microphone = peer.published.get("microphone")
            if microphone is None:
                continue
            level = microphone.take_audio_level()
            if level is not None and not microphone.paused:
                levels[participant_id] = level
        speaker = self.__speakers.update(now, levels)
        if speaker == self.__reported_speaker or self.__on_active_speaker is None:
            return
        self.__reported_speaker = speaker
        await self.__on_active_speaker(speaker)

    def __apply(self, result: OfferResult) -> None:
        for key in result.unpublished:
            self.__unpublished(key)
        for fanout in result.published:
            fanout.set_paused(self.__is_paused(fanout.key))
            for receiver, peer in self.__peers.items():
                if receiver != fanout.key.publisher:
                    peer.subscribe(fanout, allowed=self.__may_receive(receiver, fanout.key))
            if self.__on_track_published is not None:
                self.__on_track_published(fanout)

    def __unpublished(self, key: TrackKey) -> None:
        for receiver, peer in self.__peers.items():
            if receiver != key.publisher:
                peer.unsubscribe(key)
        if self.__on_track_unpublished is not None:
            self.__on_track_unpublished(key)

    def __is_paused(self, key: TrackKey) -> bool:
        try:
            return bool(self.__policy.is_paused(key.publisher, key.source))
        except Exception:
            logger.exception("forwarding policy failed; pausing %s", key)
            return True

    def __may_receive(self, receiver: str, key: TrackKey) -> bool:
        try:
            return bool(self.__policy.may_receive(receiver, key.publisher, key.source))
        except Exception:
            logger.exception("forwarding policy failed; not forwarding %s to %s", key, receiver)
            return False
