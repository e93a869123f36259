"""A room and probe clients connected over the machine's own addresses, signalled in-process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from aiortc.rtp import AnyRtcpPacket, RtcpSrPacket, RtpPacket

from signaling.media import (
    ActiveSpeakerCallback,
    ForwardingPolicy,
    MediaRoom,
    TrackFanout,
    TrackKey,
)
from signaling.media import aiortc_internals as internals
from signaling.media.bandwidth import BandwidthSettings
from signaling.media.rtp_forwarding import ForwardingMode
from signaling.media.rtp_rewrite import is_keyframe_start
from signaling.media.synthetic import (
    EncodedClip,
    ProbeClient,
    h264_test_pattern_clip,
    vp8_test_pattern_clip,
)


def small_clip(video_codec: str = "video/VP8") -> EncodedClip:
    """320x240 keeps the client-side decoding of several streams cheap on 2 cores."""
    encode = h264_test_pattern_clip if video_codec == "video/H264" else vp8_test_pattern_clip
    return encode(320, 240, 30, 3.0, 300_000, 30)


class Harness:
    """A room plus probe clients, with the signalling done by direct calls."""

    def __init__(
        self,
        policy: ForwardingPolicy,
        keyframe_interval: float = 1.0,
        video_codec: str = "video/VP8",
        forwarding: ForwardingMode = "rtp",
        on_active_speaker: ActiveSpeakerCallback | None = None,
        on_track_published: Callable[[TrackFanout], None] | None = None,
        on_track_unpublished: Callable[[TrackKey], None] | None = None,
        bandwidth: BandwidthSettings | None = None,
    ) -> None:
        self.clients: dict[str, ProbeClient] = {}
        self.offers: dict[str, int] = {}
        self.video_codec = video_codec
        self.room = MediaRoom(
            "hearing-1",
            policy=policy,
            on_renegotiate=self.__renegotiate,
            video_codec=video_codec,
            keyframe_interval=keyframe_interval,
            forwarding=forwarding,
            on_active_speaker=on_active_speaker,
            on_track_published=on_track_published,
            on_track_unpublished=on_track_unpublished,
            bandwidth=bandwidth,
        )

    async def __renegotiate(
        self, participant_id: str, sdp: str, tracks: Mapping[str, TrackKey | None]
    ) -> None:
        self.offers[participant_id] = self.offers.get(participant_id, 0) + 1
        client = self.clients[participant_id]
        answer = await client.handle_offer(sdp, tracks)
        await self.room.accept_answer(participant_id, answer)

    async def join(
        self,
        participant_id: str,
        clip: EncodedClip | None = None,
        *,
        publish: bool = True,
        decode: bool = True,
    ) -> ProbeClient:
        client = ProbeClient(
            participant_id,
            audio=publish,
            video=publish,
            video_clip=clip or small_clip(self.video_codec),
            decode=decode,
        )
        return await self.connect(client)

    async def connect(self, client: ProbeClient) -> ProbeClient:
        """Join a client made by the test (e.g. with its own handlers)."""
        self.clients[client.participant_id] = client
        sdp, sources = await client.create_offer()
        answer = await self.room.join(client.participant_id, sdp, sources)
        await client.accept_answer(answer)
        return client

    async def leave(self, participant_id: str) -> None:
        await self.room.leave(participant_id)
        await self.clients.pop(participant_id).close()

    async def close(self) -> None:
        await self.room.close()
        for client in self.clients.values():
            await client.close()
        self.clients.clear()


@dataclass
class Arrival:
    sequence_number: int
    timestamp: int
    payload_bytes: int
    at: float
    keyframe_start: bool
    "Whether a decoder may start at this packet (video of the observed codec)."


@dataclass
class Observed:
    """What one receiving m-line got: its media packets (one SSRC) and sender reports."""

    codec_name: str = "VP8"
    ssrc: int | None = None
    packets: list[Arrival] = field(default_factory=list)
    reports: list[tuple[RtcpSrPacket, int, int]] = field(default_factory=list)
    "Each SR with the packets and payload bytes received on its SSRC when it arrived."

    def on_rtp(self, packet: RtpPacket) -> None:
        if self.ssrc is None:
            self.ssrc = packet.ssrc
        if packet.ssrc == self.ssrc:  # RTX arrives on an SSRC of its own
            loop = asyncio.get_running_loop()
            self.packets.append(
                Arrival(
                    packet.sequence_number,
                    packet.timestamp,
                    len(packet.payload),
                    loop.time(),
                    is_keyframe_start(self.codec_name, packet.payload),
                )
            )

    def on_rtcp(self, packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpSrPacket) and packet.ssrc == self.ssrc:
            received = sum(p.payload_bytes for p in self.packets)
            self.reports.append((packet, len(self.packets), received))


def observe(client: ProbeClient, key: TrackKey, codec_name: str = "VP8") -> Observed:
    """Record what ``client`` receives of ``key``, read before aiortc handles it."""
    transceiver = next(
        t
        for t in client.pc.getTransceivers()
        if t.mid is not None and client.tracks.get(t.mid) == key
    )
    observed = Observed(codec_name)
    internals.observe_received(transceiver.receiver, observed.on_rtp, observed.on_rtcp)
    return observed


async def wait_until(predicate: Callable[[], bool], within: float, step: float = 0.05) -> bool:
    """Poll ``predicate`` until it holds or ``within`` seconds pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(step)
    return True
