"""Per-participant connection quality, sampled from aiortc's getStats()."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from aiortc import RTCPeerConnection

__all__ = ["ConnectionStats", "StatsSampler"]

_CLOCK_RATES = {"audio": 48000, "video": 90000}
"""RTP clock rates of the codecs a room forwards (Opus; VP8 and H.264)."""


@dataclass(frozen=True, slots=True)
class ConnectionStats:
    """One snapshot of a participant's connection, as the server sees it.

    "in" is participant → server (what it publishes), "out" is server →
    participant (what it is forwarded).  Rates are averaged since the
    previous snapshot of the same participant.
    """

    participant_id: str
    connection_state: str
    "aiortc connection state: new, connecting, connected, failed or closed."
    taken_at: float
    "Monotonic time of the snapshot."
    bytes_received: int
    "UDP bytes received from the participant."
    bytes_sent: int
    "UDP bytes sent to the participant."
    bitrate_in: float
    "Bits per second received since the previous snapshot."
    bitrate_out: float
    "Bits per second sent since the previous snapshot."
    packets_received: int
    "RTP packets received from the participant, all tracks."
    packets_lost_in: int
    "RTP packets from the participant that never arrived."
    fraction_lost_in: float
    "Share of packets lost since the previous snapshot, 0..1."
    jitter_in: float | None
    "Worst inter-arrival jitter of the participant's tracks, in seconds."
    packets_lost_out: int
    "Packets the participant reports lost, over all forwarded tracks."
    fraction_lost_out: float | None
    "Worst loss fraction the participant last reported (RTCP RR), 0..1."
    rtt: float | None
    "Round-trip time in seconds, from RTCP SR/RR; None until measured."
    last_media_at: float | None
    "Monotonic time the last encoded frame arrived from the participant."
    video_paused_for_bandwidth: int = 0
    "Video tracks not sent to the participant now: its link's estimate (REMB) is too low."
    bandwidth_pauses: int = 0
    "Times any video to the participant was paused so, since it joined."

    def __post_init__(self) -> None:
        if self.bitrate_in < 0 or self.bitrate_out < 0:
            raise ValueError("bitrates cannot be negative")

    def media_silence(self, now: float | None = None) -> float | None:
        """Seconds since the participant last sent media (None if it never did)."""
        if self.last_media_at is None:
            return None
        return (time.monotonic() if now is None else now) - self.last_media_at


class StatsSampler:
    """Turns cumulative getStats() counters into rates between two snapshots."""

    def __init__(self, participant_id: str, *, clock: Callable[[], float] = time.monotonic):
        self.__participant_id = participant_id
        self.__clock = clock
        self.__prev_at = clock()
        self.__prev_bytes_in = 0
        self.__prev_bytes_out = 0
        self.__prev_received = 0
        self.__prev_lost = 0

    async def sample(
        self,
        pc: RTCPeerConnection,
        last_media_at: float | None,
        *,
        video_paused_for_bandwidth: int = 0,
        bandwidth_pauses: int = 0,
    ) -> ConnectionStats:
        """Read ``pc``'s counters once and compare with the previous sample; the figures of
        the forwarder's own (pauses for bandwidth) are passed in."""
        bytes_in = bytes_out = 0
        received = lost_in = lost_out = 0
        jitters: list[float] = []
        rtts: list[float] = []
        fractions_out: list[float] = []

        report = await pc.getStats()
        for stat in report.values():
            if stat.type == "transport":
                bytes_in += stat.bytesReceived
                bytes_out += stat.bytesSent
            elif stat.type == "remote-inbound-rtp":
                lost_out += stat.packetsLost
                if stat.roundTripTime is not None:
                    rtts.append(stat.roundTripTime)
                fractions_out.append(stat.fractionLost / 256)
            elif stat.type == "inbound-rtp":
                received += stat.packetsReceived
                lost_in += max(0, stat.packetsLost)
                jitters.append(stat.jitter / _CLOCK_RATES.get(stat.kind, 90000))

        now = self.__clock()
        elapsed = max(now - self.__prev_at, 1e-6)
        d_received = received - self.__prev_received
        d_lost = lost_in - self.__prev_lost
        snapshot = ConnectionStats(
            participant_id=self.__participant_id,
            connection_state=pc.connectionState,
            taken_at=now,
            bytes_received=bytes_in,
            bytes_sent=bytes_out,
            bitrate_in=max(0, bytes_in - self.__prev_bytes_in) * 8 / elapsed,
            bitrate_out=max(0, bytes_out - self.__prev_bytes_out) * 8 / elapsed,
            packets_received=received,
            packets_lost_in=lost_in,
            fraction_lost_in=(
                max(0, d_lost) / (d_received + d_lost) if d_received + d_lost > 0 else 0.0
            ),
            jitter_in=max(jitters) if jitters else None,
            packets_lost_out=lost_out,
            fraction_lost_out=max(fractions_out) if fractions_out else None,
            rtt=sum(rtts) / len(rtts) if rtts else None,
            last_media_at=last_media_at,
            video_paused_for_bandwidth=video_paused_for_bandwidth,
            bandwidth_pauses=bandwidth_pauses,
        )
        self.__prev_at = now
        self.__prev_bytes_in = bytes_in
        self.__prev_bytes_out = bytes_out
        self.__prev_received = received
        self.__prev_lost = lost_in
        return snapshot
