"""One participant's server-side peer connection: what it publishes, what it is sent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from aiortc import (
    RTCConfiguration,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.rtcrtpparameters import RTCRtpCodecCapability, RTCRtpCodecParameters
from aiortc.rtp import RtpPacket
from aiortc.sdp import MediaDescription, SessionDescription

from . import aiortc_internals as internals
from .bandwidth import BandwidthSettings, upstream_estimate
from .fanout import CodecInfo, PacketSink, RtpSink, TrackFanout
from .forwarded_track import ForwardedTrack
from .keyframe import DEFAULT_KEYFRAME_INTERVAL, KeyframeRequester
from .policy import SOURCES, Kind, Source, TrackKey, kind_of
from .rtp_forwarding import FORWARDING_MODES, ForwardingMode, RtpOutgoingStream, VideoDemand
from .stats import ConnectionStats, StatsSampler

__all__ = [
    "MAX_SDP_BYTES",
    "NegotiationError",
    "OfferResult",
    "RenegotiateCallback",
    "ServerPeer",
    "validate_sdp",
]

logger = logging.getLogger(__name__)

MAX_SDP_BYTES = 64 * 1024
"""Largest SDP accepted from a client; a hearing's offers are a few kilobytes."""

VIDEO_CODECS = ("video/VP8", "video/H264")
"""Video codecs a room can forward (all participants of a room use one)."""

AUDIO_CODEC = "audio/opus"

MAX_EARLY_CANDIDATES = 64
"""Candidates kept while their offer is still on its way; a browser trickles a handful."""

RenegotiateCallback = Callable[[str, str, Mapping[str, TrackKey | None]], Awaitable[None]]
"""``(participant_id, offer_sdp, tracks)``: send a server offer to the participant.

``tracks`` maps each server-sent m-line's mid to the publisher track it
carries, or ``None`` for an m-line that is currently unused (inactive).
The participant's answer goes back through ``accept_answer``.
"""


class NegotiationError(Exception):
    """An offer or answer arrived that the peer cannot take in its current state."""


def validate_sdp(sdp: object, sdp_type: Literal["offer", "answer"]) -> str:
    """Check an SDP from a client before aiortc parses it: type, size, shape."""
    if not isinstance(sdp, str):
        raise ValueError(f"SDP {sdp_type} must be a string, got {type(sdp).__name__}")
    if len(sdp.encode("utf-8")) > MAX_SDP_BYTES:
        raise ValueError(f"SDP {sdp_type} is larger than {MAX_SDP_BYTES} bytes")
    if not sdp.startswith("v=0"):
        raise ValueError(f"SDP {sdp_type} must start with v=0")
    return sdp


@dataclass(frozen=True, slots=True)
class OfferResult:
    """What accepting a client offer changed."""

    answer: str
    "SDP answer to send back."
    published: tuple[TrackFanout, ...]
    "Tracks the participant started publishing with this offer."
    unpublished: tuple[TrackKey, ...]
    "Tracks the participant stopped publishing with this offer."


@dataclass(slots=True)
class _PublishedTrack:
    key: TrackKey
    transceiver: RTCRtpTransceiver
    fanout: TrackFanout
    requester: KeyframeRequester
    tap: internals.FrameTap


class _OutgoingSlot:
    """One send transceiver towards the participant, reused across publishers."""

    def __init__(
        self,
        kind: Kind,
        forwarding: ForwardingMode,
        bandwidth: BandwidthSettings | None,
        demand: VideoDemand,
    ) -> None:
        self.kind = kind
        self.forwarding = forwarding
        self.bandwidth = bandwidth
        self.demand = demand
        self.track = ForwardedTrack(kind)
        "What the sender reads; on the RTP path it is never fed, so its frame loop idles."
        self.stream: RtpOutgoingStream | None = None
        self.transceiver: RTCRtpTransceiver | None = None
        self.fanout: TrackFanout | None = None
        self.allowed = False
        self.attached = False

    @property
    def key(self) -> TrackKey | None:
        return None if self.fanout is None else self.fanout.key

    @property
    def sink(self) -> PacketSink | RtpSink:
        """What the fan-out feeds: the RTP stream, or the sender's track (frame path)."""
        return self.track if self.stream is None else self.stream

    @property
    def packets_out(self) -> int:
        return self.track.packets_out if self.stream is None else self.stream.packets_sent

    def start_sending(self, transceiver: RTCRtpTransceiver) -> None:
        self.transceiver = transceiver
        if self.forwarding == "rtp":
            self.stream = RtpOutgoingStream(
                self.kind,
                transceiver.sender,
                on_ready=self.on_stream_ready,
                bandwidth=self.bandwidth,
                demand=self.demand,
            )

    def on_stream_ready(self) -> None:
        """The sender started: restart the stream on a keyframe (it refused packets)."""
        if self.fanout is not None and self.stream is not None and self.attached:
            self.fanout.restart(self.stream)

    def on_keyframe_request(self) -> None:
        """PLI/FIR from the participant for this m-line: relay to the publisher."""
        if self.fanout is not None and self.attached and self.allowed:
            self.fanout.request_keyframe()

    def detach(self) -> None:
        if self.fanout is not None and self.attached:
            self.fanout.remove_sink(self.sink)
        self.attached = False
        self.track.clear()
        if self.stream is not None:
            self.stream.forget_pause()


class ServerPeer:
    """The server's ``RTCPeerConnection`` for one participant.

    It receives the participant's microphone/camera/screen and taps their
    encoded frames into :class:`TrackFanout` objects, and it sends other
    publishers' tracks to the participant on sendonly transceivers it
    offers itself (the participant only ever offers what it publishes).
    Offers from this side are serialised and sent only once the peer is
    connected, so they never cross the participant's first answer.
    """

    def __init__(
        self,
        participant_id: str,
        *,
        on_renegotiate: RenegotiateCallback,
        video_codec: str = "video/VP8",
        keyframe_interval: float = DEFAULT_KEYFRAME_INTERVAL,
        on_connection_state: Callable[[str, str], None] | None = None,
        forwarding: ForwardingMode = "rtp",
        bandwidth: BandwidthSettings | None = None,
    ) -> None:
        if forwarding not in FORWARDING_MODES:
            raise ValueError(f"forwarding must be one of {FORWARDING_MODES}, got {forwarding!r}")
        if not participant_id or any(c.isspace() for c in participant_id):
            raise ValueError(f"participant id must be non-empty without spaces: {participant_id!r}")
        if video_codec not in VIDEO_CODECS:
            raise ValueError(f"video codec must be one of {VIDEO_CODECS}, got {video_codec!r}")
        self.participant_id = participant_id
        self.__video_codec = video_codec
        self.__keyframe_interval = keyframe_interval
        self.__forwarding: ForwardingMode = forwarding
        self.__bandwidth = bandwidth
        self.__on_renegotiate = on_renegotiate
        self.__on_connection_state = on_connection_state
        internals.use_monotonic_clock()
        self.__pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        self.__pc.on("connectionstatechange", self.__connection_state_changed)
        self.__connected = asyncio.Event()
        self.__lock = asyncio.Lock()
        self.__published: dict[Source, _PublishedTrack] = {}
        self.__stopping: dict[TrackKey, KeyframeRequester] = {}
        self.__slots: list[_OutgoingSlot] = []
        self.__stream_labels: dict[str, str] = {}
        self.__negotiation_needed = False
        self.__negotiation_task: asyncio.Task[None] | None = None
        self.__codec_info: dict[int, CodecInfo] = {}
        self.__sampler = StatsSampler(participant_id)
        self.__early_candidates: list[RTCIceCandidate | None] = []
        self.__closed = False

    # -- properties -------------------------------------------------------

    @property
    def connection_state(self) -> str:
        return str(self.__pc.connectionState)

    @property
    def closed(self) -> bool:
        return self.__closed

    @property
    def pc(self) -> RTCPeerConnection:
        """The underlying connection, for diagnostics and tests; do not negotiate on it."""
        return self.__pc

    @property
    def published(self) -> Mapping[Source, TrackFanout]:
        """Fan-outs of the tracks this participant publishes, by source."""
        return {source: p.fanout for source, p in self.__published.items()}

    @property
    def subscriptions(self) -> Mapping[TrackKey, bool]:
        """Tracks forwarded to this participant, each with whether policy allows it now."""
        return {s.key: s.allowed for s in self.__slots if s.key is not None}

    @property
    def outgoing_tracks(self) -> Mapping[str, TrackKey | None]:
        """Mid of each negotiated send m-line → the track it carries (None: unused)."""
        return {
            s.transceiver.mid: s.key
            for s in self.__slots
            if s.transceiver is not None and s.transceiver.mid is not None
        }

    @property
    def last_media_at(self) -> float | None:
        """Monotonic time the last encoded frame arrived from this participant."""
        times = [p.fanout.last_frame_at for p in self.__published.values()]
        known = [t for t in times if t is not None]
        return max(known) if known else None

    def forwarded_packets(self, key: TrackKey) -> int:
        """Packets handed to this participant's sender for ``key`` (tests, metrics)."""
        for slot in self.__slots:
            if slot.key == key:
                return slot.packets_out
        return 0

    def outgoing_stream(self, key: TrackKey) -> RtpOutgoingStream | None:
        """The RTP-level stream sending ``key`` here (``None`` on the frame path), for
        retransmission and sender-report figures."""
        for slot in self.__slots:
            if slot.key == key:
                return slot.stream
        return None

    # -- negotiation ------------------------------------------------------

    async def accept_offer(self, sdp: str, sources: Mapping[str, Source]) -> OfferResult:
        """Apply the participant's offer and answer it.

        ``sources`` maps the mid of each m-line the participant sends on to
        what it carries.  Every sending m-line must be mapped, audio only as
        ``microphone``, video as ``camera`` or ``screen``, each source once.
        """
        validate_sdp(sdp, "offer")
        sending = self.__check_offer(sdp, sources)
        async with self.__lock:
            if self.__closed:
                raise NegotiationError("peer is closed")
            if self.__pc.signalingState != "stable":
                raise NegotiationError(
                    "cannot take an offer in signaling state "
                    f"{self.__pc.signalingState!r}: answer the server's offer first"
                )
            await self.__pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await self.__apply_early_candidates()
            published, unpublished = self.__update_published(sending)
            answer = await self.__pc.createAnswer()
            await self.__pc.setLocalDescription(answer)
            # Gathered now: on the standard loop, read a socket's whole backlog per turn;
            # forward RTP inside the datagram callback, not through a queue and a task.
            internals.drain_datagrams_each_turn(self.__pc)
            internals.receive_directly(self.__pc)
            self.__attach_ready_slots()
            for key in unpublished:
                await self.__stopping.pop(key).stop()
            return OfferResult(
                answer=self.__pc.localDescription.sdp,
                published=tuple(published),
                unpublished=tuple(unpublished),
            )

    async def accept_answer(self, sdp: str) -> None:
        """Apply the participant's answer to the last server offer."""
        validate_sdp(sdp, "answer")
        async with self.__lock:
            if self.__pc.signalingState != "have-local-offer":
                raise NegotiationError(
                    f"no server offer is waiting for an answer (state {self.__pc.signalingState!r})"
                )
            await self.__pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
            internals.receive_directly(self.__pc)
            self.__attach_ready_slots()
        if self.__negotiation_needed:
            self.__schedule_negotiation()

    async def add_ice_candidate(self, candidate: RTCIceCandidate | None) -> None:
        """Add a trickled candidate of the participant (None: it has no more).

        Candidates that overtake the offer they belong to are kept until it is applied.
        """
        async with self.__lock:
            if self.__closed:
                return
            if self.__pc.remoteDescription is None:
                if len(self.__early_candidates) >= MAX_EARLY_CANDIDATES:
                    raise NegotiationError("too many ICE candidates before the offer")
                self.__early_candidates.append(candidate)
                return
            await self.__pc.addIceCandidate(candidate)

    def request_offer(self) -> None:
        """Send the participant a fresh server offer (e.g. after it restarted its side)."""
        self.__schedule_negotiation()

    async def __apply_early_candidates(self) -> None:
        early, self.__early_candidates = self.__early_candidates, []
        for candidate in early:
            await self.__pc.addIceCandidate(candidate)

    def __check_offer(self, sdp: str, sources: Mapping[str, Source]) -> dict[str, Source]:
        """Validate the offer against ``sources`` before it touches the connection."""
        try:
            description = SessionDescription.parse(sdp)
        except Exception as exc:  # aiortc raises assorted errors on bad SDP
            raise ValueError(f"SDP offer does not parse: {exc}") from exc
        sending: dict[str, Source] = {}
        media_kinds = {m.rtp.muxId: m.kind for m in description.media}
        for media in description.media:
            if media.kind in ("audio", "video") and media.direction in ("sendonly", "sendrecv"):
                mid = media.rtp.muxId
                if mid not in sources:
                    raise ValueError(f"m-line {mid!r} sends {media.kind} but has no source")
        seen: set[Source] = set()
        for mid, source in sources.items():
            if source not in SOURCES:
                raise ValueError(f"unknown source {source!r} for mid {mid!r}")
            if mid not in media_kinds:
                raise ValueError(f"source {source!r} names mid {mid!r}, not in the offer")
            if media_kinds[mid] != kind_of(source):
                raise ValueError(f"{source} must be sent as {kind_of(source)}, mid {mid!r} is not")
            if source in seen:
                raise ValueError(f"source {source!r} is mapped twice")
            seen.add(source)
            sending[mid] = source
        for media in description.media:
            mid = media.rtp.muxId
            if mid in sending and media.direction not in ("sendonly", "sendrecv"):
                del sending[mid]
            elif mid in sending:
                self.__check_codec(media, sending[mid])
        return sending

    def __check_codec(self, media: MediaDescription, source: Source) -> None:
        """Refuse a sending m-line without the room's codec: a forwarder cannot transcode."""
        mime = AUDIO_CODEC if media.kind == "audio" else self.__video_codec
        if any(c.mimeType.lower() == mime.lower() for c in internals.negotiable_codecs(media)):
            return
        offered = sorted({c.mimeType for c in media.rtp.codecs if c.name.lower() != "rtx"})
        needs = " (packetization-mode 1, baseline profile)" if mime == "video/H264" else ""
        raise NegotiationError(
            f"{source} is not offered with {mime}{needs}, the only {media.kind} codec "
            f"this room forwards; offered: {', '.join(offered) or 'nothing'}"
        )

    def __update_published(
        self, sending: Mapping[str, Source]
    ) -> tuple[list[TrackFanout], list[TrackKey]]:
        by_mid = {t.mid: t for t in self.__pc.getTransceivers() if t.mid is not None}
        unpublished: list[TrackKey] = []
        for source, published in list(self.__published.items()):
            mid = published.transceiver.mid
            if mid is None or sending.get(mid) != source:
                self.__unpublish(source)
                unpublished.append(published.key)
        added: list[TrackFanout] = []
        for mid, source in sending.items():
            if source in self.__published:
                continue
            transceiver = by_mid[mid]
            if transceiver.receiver.track is None or transceiver.stopped:
                continue
            mime = AUDIO_CODEC if transceiver.kind == "audio" else self.__video_codec
            if not internals.restrict_received_codec(transceiver, mime):
                raise NegotiationError(f"{source} is not offered with {mime}")
            added.append(self.__publish(TrackKey(self.participant_id, source), transceiver))
        return added, unpublished

    def __publish(self, key: TrackKey, transceiver: RTCRtpTransceiver) -> TrackFanout:
        receiver: RTCRtpReceiver = transceiver.receiver

        async def send_pli() -> bool:
            ssrc = internals.remote_media_ssrc(receiver)
            if ssrc is None:
                return False
            await internals.send_pli(receiver, ssrc)
            return True

        requester = KeyframeRequester(send_pli, min_interval=self.__keyframe_interval)
        requester.start()
        fanout = TrackFanout(key, requester, bandwidth=self.__bandwidth)
        codec_info = self.__codec_info

        def info_of(codec: RTCRtpCodecParameters) -> CodecInfo:
            """The negotiated codec in the fan-out's terms, made once per codec object."""
            info = codec_info.get(id(codec))
            if info is None:
                info = codec_info[id(codec)] = CodecInfo(
                    mime_type=codec.mimeType,
                    clock_rate=codec.clockRate,
                    channels=codec.channels,
                    parameters=dict(codec.parameters),
                )
            return info

        def on_frame(codec: RTCRtpCodecParameters, data: bytes, timestamp: int) -> None:
            fanout.push(info_of(codec), data, timestamp)

        def on_end() -> None:
            logger.debug("receiver of %s ended", key)

        tap = internals.install_frame_tap(receiver, on_frame, on_end)
        if self.__forwarding == "rtp":

            def on_rtp(codec: RTCRtpCodecParameters, packet: RtpPacket) -> None:
                fanout.push_rtp(info_of(codec), packet)

            def limit_estimate(own: int) -> int:
                """Ask the publisher for no more than the track's best receiver takes."""
                return upstream_estimate(own, fanout.receivers_cap())

            internals.install_rtp_tap(
                receiver,
                on_rtp,
                fanout.sender_report_received,
                fanout.wants_frames,
                limit_estimate if key.kind == "video" else None,
            )
        self.__published[key.source] = _PublishedTrack(key, transceiver, fanout, requester, tap)
        return fanout

    def __unpublish(self, source: Source) -> None:
        published = self.__published.pop(source)
        published.fanout.close()
        self.__stopping[published.key] = published.requester

    def __schedule_negotiation(self) -> None:
        self.__negotiation_needed = True
        if self.__closed:
            return
        if self.__negotiation_task is None or self.__negotiation_task.done():
            self.__negotiation_task = asyncio.get_running_loop().create_task(self.__negotiate())

    async def __negotiate(self) -> None:
        await self.__connected.wait()
        while self.__negotiation_needed and not self.__closed:
            async with self.__lock:
                if self.__pc.signalingState != "stable":
                    return  # accept_answer() schedules the next round
                self.__negotiation_needed = False
                self.__prepare_slots()
                sdp = await internals.create_offer_keeping_negotiated(self.__pc)
                tracks = dict(self.outgoing_tracks)
            try:
                await self.__on_renegotiate(self.participant_id, sdp, tracks)
            except Exception:
                logger.exception("sending a server offer to %s failed", self.participant_id)

    def __prepare_slots(self) -> None:
        """Give every wanted slot a transceiver and describe it; runs inside the lock."""
        for slot in self.__slots:
            key = slot.key
            if slot.transceiver is None:
                if key is None:
                    continue
                added = self.__pc.addTransceiver(slot.track, direction="sendonly")
                added.setCodecPreferences(self.__codec_preferences(slot.kind))
                internals.intercept_keyframe_requests(added.sender, slot.on_keyframe_request)
                slot.start_sending(added)
            transceiver = slot.transceiver
            if transceiver is None:
                continue
            if key is None:
                transceiver.direction = "inactive"
            else:
                transceiver.direction = "sendonly"
                stream = self.__stream_label(key.publisher)
                internals.set_msid(transceiver.sender, stream, f"{stream}-{key.source}")

    def __stream_label(self, publisher: str) -> str:
        """The ``a=msid`` stream id of one publisher's tracks in this peer's offers: one per
        publisher, so the browser keeps their audio and video in one stream (lip sync), and
        opaque, so the SDP never says whose they are. Whose they are is the signalling
        layer's to tell (``outgoing_tracks``), as the receiver may know it: a screening
        hides the protected person's identity, not only their picture."""
        label = self.__stream_labels.get(publisher)
        if label is None:
            label = self.__stream_labels[publisher] = secrets.token_hex(8)
        return label

    def __codec_preferences(self, kind: Kind) -> list[RTCRtpCodecCapability]:
        mime = AUDIO_CODEC if kind == "audio" else self.__video_codec
        capabilities = RTCRtpSender.getCapabilities(kind).codecs
        chosen = [c for c in capabilities if c.mimeType.lower() == mime.lower()]
        rtx = [c for c in capabilities if c.mimeType.lower().endswith("/rtx")]
        return [*chosen, *rtx]

    def __attach_ready_slots(self) -> None:
        """Feed slots whose m-line is negotiated as sending; runs inside the lock."""
        for slot in self.__slots:
            if (
                slot.fanout is not None
                and not slot.attached
                and slot.transceiver is not None
                and slot.transceiver.currentDirection in ("sendonly", "sendrecv")
                and not slot.fanout.closed
            ):
                slot.fanout.add_sink(slot.sink, active=slot.allowed)
                slot.attached = True

    # -- subscriptions ------------------------------------------------------

    def subscribe(self, fanout: TrackFanout, *, allowed: bool) -> None:
        """Start sending ``fanout``'s track to this participant (renegotiates)."""
        if fanout.key.publisher == self.participant_id:
            raise ValueError("a participant is not sent its own tracks")
        if any(s.key == fanout.key for s in self.__slots):
            raise ValueError(f"{fanout.key} is already subscribed")
        slot = next(
            (
                s
                for s in self.__slots
                if s.fanout is None and s.kind == fanout.kind and s.transceiver is not None
            ),
            None,
        )
        if slot is None:
            slot = _OutgoingSlot(
                fanout.kind, self.__forwarding, self.__bandwidth, self.__video_demand
            )
            self.__slots.append(slot)
        slot.fanout = fanout
        slot.allowed = allowed
        self.__schedule_negotiation()

    def unsubscribe(self, key: TrackKey) -> None:
        """Stop sending ``key``; its m-line goes inactive and is reused later."""
        for slot in list(self.__slots):
            if slot.key == key:
                slot.detach()
                slot.fanout = None
                slot.allowed = False
                if slot.transceiver is None:
                    self.__slots.remove(slot)
                else:
                    self.__schedule_negotiation()

    def set_allowed(self, key: TrackKey, allowed: bool) -> None:
        """Start or stop feeding one subscription without renegotiating."""
        for slot in self.__slots:
            if slot.key == key and slot.allowed != allowed:
                slot.allowed = allowed
                if not allowed:
                    slot.track.clear()
                if slot.attached and slot.fanout is not None:
                    slot.fanout.set_active(slot.sink, allowed)

    def __video_demand(self, ssrcs: Sequence[int]) -> float:
        """What a REMB naming ``ssrcs`` covers: the smoothed rates of the video this
        participant is being sent on them (a paused stream takes nothing)."""
        wanted = set(ssrcs)
        return sum(
            slot.fanout.bitrate()
            for slot in self.__slots
            if slot.kind == "video"
            and slot.stream is not None
            and slot.stream.ssrc in wanted
            and slot.fanout is not None
            and slot.attached
            and slot.allowed
            and not slot.stream.paused_for_bandwidth
        )

    @property
    def video_paused_for_bandwidth(self) -> int:
        """How many video tracks are not sent to this participant now because its link
        cannot carry them (its REMB), until they are tried again."""
        return sum(
            1
            for slot in self.__slots
            if slot.stream is not None and slot.attached and slot.stream.paused_for_bandwidth
        )

    @property
    def bandwidth_pauses(self) -> int:
        """Times this participant's video streams were paused for bandwidth so far."""
        return sum(s.stream.bandwidth_pauses for s in self.__slots if s.stream)

    # -- stats and lifecycle ---------------------------------------------

    async def stats(self) -> ConnectionStats:
        """A snapshot of connection quality; rates are since the previous call."""
        return await self.__sampler.sample(
            self.__pc,
            self.last_media_at,
            video_paused_for_bandwidth=self.video_paused_for_bandwidth,
            bandwidth_pauses=self.bandwidth_pauses,
        )

    async def close(self) -> None:
        """Unpublish, detach, stop workers and close the peer connection."""
        if self.__closed:
            return
        self.__closed = True
        task = self.__negotiation_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for slot in self.__slots:
            slot.detach()
            slot.fanout = None
        self.__slots.clear()
        requesters = [p.requester for p in self.__published.values()]
        requesters.extend(self.__stopping.values())
        self.__stopping.clear()
        for published in self.__published.values():
            published.fanout.close()
        self.__published.clear()
        for requester in requesters:
            await requester.stop()
        await internals.close_peer_connection(self.__pc)

    def __connection_state_changed(self) -> None:
        state = self.__pc.connectionState
        if state == "connected":
            self.__connected.set()
        if self.__on_connection_state is not None:
            self.__on_connection_state(self.participant_id, state)
