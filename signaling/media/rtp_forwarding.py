"""RTP-level forwarding: a publisher's packets rewritten for one receiver, payload untouched.

No depacketising, no frame queue, no jitter buffer: each packet the publisher sends is
written once per receiver with the receiver's SSRC, sequence number, timestamp, payload
type and header extension ids, protected and sent at once.  aiortc's sender stays for
RTCP (receiver reports, SR/SDES, BYE, the transport's SSRC routing); NACKs are answered
from this stream's own history.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Literal

from aiortc import RTCRtpSender
from aiortc.rtp import RtcpSenderInfo, RtpPacket

from . import aiortc_internals as internals
from .bandwidth import BandwidthSettings, LinkGuard, allowance
from .fanout import CodecInfo, TrackFanout
from .policy import Kind
from .retransmission import RetransmissionHistory, wrap_rtx
from .rtp_rewrite import HeaderWriter, SequenceRewriter

__all__ = [
    "FORWARDING_MODES",
    "PUBLISHER_REPORT_MAX_AGE",
    "ForwardingMode",
    "RtpOutgoingStream",
    "VideoDemand",
]

logger = logging.getLogger(__name__)

ForwardingMode = Literal["rtp", "frame"]
"""``rtp``: packets rewritten per receiver (this module); ``frame``: whole encoded frames
re-packetised by aiortc's sender per receiver (kept to compare against)."""

FORWARDING_MODES: tuple[ForwardingMode, ...] = ("rtp", "frame")

PUBLISHER_REPORT_MAX_AGE = 15.0
"""Seconds a publisher's sender report is extrapolated before the local clock is used."""

_NTP_UNITS = 1 << 32

VideoDemand = Callable[[Sequence[int]], float]
"""The smoothed rate (bits per second) of the video a receiver is being sent on the SSRCs
a REMB names: a browser's estimate is for all of it, not for one stream."""


class RtpOutgoingStream:
    """One send m-line towards a receiver, fed packet by packet (an :class:`RtpSink`).

    It is created with the m-line's aiortc sender and learns the negotiated SSRC,
    payload types and extension ids when the sender starts (``on_ready`` is then called
    so the fan-out restarts it on a keyframe).  Packets arriving before that are refused.

    Video is paused while the receiver's REMB says its link cannot carry it (see
    :class:`~.bandwidth.LinkGuard`) and tried again after a back-off; ``demand`` tells
    what else the receiver is sent on the SSRCs a REMB names (default: this stream only).
    """

    def __init__(
        self,
        kind: Kind,
        sender: RTCRtpSender,
        *,
        on_ready: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
        bandwidth: BandwidthSettings | None = None,
        demand: VideoDemand | None = None,
    ) -> None:
        self.kind = kind
        self.__on_ready = on_ready
        self.__clock = clock
        self.__demand = demand
        self.__guard = LinkGuard(bandwidth or BandwidthSettings()) if kind == "video" else None
        self.__retry: asyncio.TimerHandle | None = None
        self.__writer: HeaderWriter | None = None
        self.__rewriter: SequenceRewriter | None = None
        self.__rtx: tuple[int, int] | None = None
        self.__rtx_sequence = 0
        self.__history = RetransmissionHistory()
        self.__path = internals.RtpSendPath(sender.transport)
        self.__source: TrackFanout | None = None
        self.__source_ssrc: int | None = None
        self.packets_sent = 0
        "RTP packets sent, retransmissions not included (what sender reports count)."
        self.octets_sent = 0
        "Payload octets of those packets."
        self.retransmitted = 0
        "NACKed packets sent again from the history."
        self.nacks_missed = 0
        "NACKed packets no longer in the history (a keyframe was asked for instead)."
        self.send_errors = 0
        "Packets the transport could not send."
        self.remote_estimate: int | None = None
        "The receiver's latest REMB, bits per second, for all the video it is sent."
        self.remote_estimate_at: float | None = None
        "Monotonic time that REMB arrived."
        self.bandwidth_pauses = 0
        "Times the video was paused because the receiver's link could not carry it."
        self.bandwidth_resumes = 0
        "Times it was tried again after such a pause."
        self.ssrc: int | None = None
        "The SSRC negotiated for this m-line (None until the sender starts)."
        internals.install_rtp_egress(
            sender,
            on_started=self.__started,
            on_nack=self.retransmit,
            sender_info=self.sender_info,
            on_remb=self.__remb,
        )

    @property
    def ready(self) -> bool:
        return self.__writer is not None

    @property
    def paused_for_bandwidth(self) -> bool:
        """Whether the video is paused now because the receiver's link cannot carry it."""
        return self.__guard is not None and self.__guard.limited

    def __remb(self, bitrate: int, ssrcs: list[int]) -> None:
        now = self.__clock()
        self.remote_estimate = bitrate
        self.remote_estimate_at = now
        guard, source = self.__guard, self.__source
        if guard is None or source is None or guard.limited or not source.has_sink(self):
            return  # audio; no video yet; paused (stale); or the m-line carries none now
        rate = source.bitrate()
        demand = rate if self.__demand is None else self.__demand(ssrcs)
        share = allowance(bitrate, rate, demand)
        source.report_estimate(self, share)
        if guard.estimate(share, rate, now):
            delay = guard.pause(now)
            self.bandwidth_pauses += 1
            source.set_limited(self, True)
            self.__retry = asyncio.get_running_loop().call_later(delay, self.__try_again, source)
            logger.info(
                "video %s paused for bandwidth: %d bit/s for %.0f bit/s, next try in %.0f s",
                source.key,
                bitrate,
                demand,
                delay,
            )

    def __try_again(self, source: TrackFanout) -> None:
        """The back-off is over: send the video again, from a keyframe."""
        self.__retry = None
        if self.__guard is None:
            return
        self.__guard.resume(self.__clock())
        self.bandwidth_resumes += 1
        source.set_limited(self, False)

    def forget_pause(self) -> None:
        """Drop a pause for bandwidth and its pending try: the m-line stops carrying that
        track (it is reused for another, or goes away)."""
        if self.__retry is not None:
            self.__retry.cancel()
            self.__retry = None
        if self.__guard is not None and self.__guard.limited:
            self.__guard.resume(self.__clock())

    def __started(self, parameters: internals.SendParameters) -> None:
        self.ssrc = parameters.ssrc
        self.__writer = HeaderWriter(
            parameters.ssrc, parameters.payload_type, parameters.mid, parameters.extension_ids
        )
        self.__rewriter = SequenceRewriter(parameters.clock_rate)
        if parameters.rtx_payload_type is not None:
            self.__rtx = (parameters.rtx_payload_type, parameters.rtx_ssrc)
        self.__on_ready()

    def on_rtp(
        self,
        packet: RtpPacket,
        codec: CodecInfo,
        now: float,
        restart: bool,
        source: TrackFanout,
    ) -> bool:
        writer = self.__writer
        rewriter = self.__rewriter
        if writer is None or rewriter is None:
            return False
        if restart or packet.ssrc != self.__source_ssrc:
            rewriter.rebase(packet.sequence_number, packet.timestamp, now)
            self.__source = source
            self.__source_ssrc = packet.ssrc
        mapped = rewriter.map(packet.sequence_number, packet.timestamp, now)
        if mapped is None:
            return True
        sequence_number, timestamp = mapped
        payload = packet.payload
        data = (
            writer.write(
                sequence_number, timestamp, packet.marker, now, packet.extensions.audio_level
            )
            + payload
        )
        self.__history.store(sequence_number, data)
        try:
            self.__path.send(data)
        except ConnectionError:
            self.send_errors += 1
            return True  # the link is down or going: nothing a keyframe would fix
        self.packets_sent += 1
        self.octets_sent += len(payload)
        return True

    def retransmit(self, sequence_number: int) -> None:
        """The receiver lost ``sequence_number``: send it again (as RTX if negotiated), or
        ask the publisher for a keyframe once it is out of the history."""
        data = self.__history.get(sequence_number)
        if data is None:
            self.nacks_missed += 1
            if self.__source is not None:
                self.__source.request_keyframe()
            return
        if self.__rtx is not None:
            payload_type, ssrc = self.__rtx
            data = wrap_rtx(data, payload_type, self.__rtx_sequence, ssrc)
            self.__rtx_sequence = (self.__rtx_sequence + 1) & 0xFFFF
        try:
            self.__path.send(data)
        except ConnectionError:
            return
        self.retransmitted += 1

    def sender_info(self) -> RtcpSenderInfo | None:
        """What this stream's next sender report says: counts of what was sent, and the
        NTP↔RTP mapping (the publisher's, extrapolated, when it sent one lately)."""
        rewriter = self.__rewriter
        if rewriter is None or rewriter.highest_sequence is None:
            return None
        now = self.__clock()
        source, ssrc = self.__source, self.__source_ssrc
        report = None if source is None or ssrc is None else source.publisher_report(ssrc)
        if report is not None and now - report.received_at < PUBLISHER_REPORT_MAX_AGE:
            elapsed = now - report.received_at
            ntp = report.ntp_timestamp + int(elapsed * _NTP_UNITS)
            rtp = (
                report.rtp_timestamp
                + rewriter.timestamp_offset
                + round(elapsed * rewriter.clock_rate)
            )
        else:
            ntp = internals.ntp_now()
            rtp = rewriter.timestamp_at(now)
        return RtcpSenderInfo(
            ntp_timestamp=ntp & 0xFFFFFFFFFFFFFFFF,
            rtp_timestamp=rtp & 0xFFFFFFFF,
            packet_count=self.packets_sent & 0xFFFFFFFF,
            octet_count=self.octets_sent & 0xFFFFFFFF,
        )
