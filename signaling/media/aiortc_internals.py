"""Every reach into aiortc's private internals, in one place.

aiortc has no public API for taking encoded frames out of a receiver, for
hearing keyframe requests on a sender that is fed pre-encoded packets, or
for sending a PLI from a receiver.  The forwarder needs all three, so they
live here, pinned to one aiortc version; ``tests/signaling_media/
test_aiortc_internals.py`` fails loudly if aiortc changes under them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import aiortc
from aiortc import (
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.codecs import CODECS
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcpeerconnection import find_common_codecs
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.sdp import MediaDescription, SessionDescription

__all__ = [
    "AIOICE_VERSION",
    "AIORTC_VERSION",
    "EndCallback",
    "FrameCallback",
    "FrameTap",
    "close_peer_connection",
    "create_offer_keeping_negotiated",
    "decoder_thread_alive",
    "install_frame_tap",
    "intercept_keyframe_requests",
    "negotiable_codecs",
    "receiver_has_tap",
    "remote_media_ssrc",
    "restrict_received_codec",
    "rtcp_ssrc",
    "send_pli",
    "set_msid",
    "simulate_rtp_loss",
]

AIORTC_VERSION = "1.16.0"
"""The only aiortc version whose internals this module has been checked against."""

AIOICE_VERSION = "0.13.0"
"""The aioice (aiortc's ICE) checked for the race :func:`close_peer_connection` covers."""

if aiortc.__version__ != AIORTC_VERSION:  # pragma: no cover - guarded by the pin
    raise ImportError(
        f"signaling.media reaches into aiortc {AIORTC_VERSION} internals, "
        f"but aiortc {aiortc.__version__} is installed"
    )

FrameCallback = Callable[[RTCRtpCodecParameters, bytes, int], None]
"""Called with (negotiated codec, complete encoded frame, RTP timestamp from 0)."""

EndCallback = Callable[[], None]
"""Called once when the receiver stops handing out frames."""

_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_DECODER_THREAD = "_RTCRtpReceiver__decoder_thread"
_RECEIVER_STARTED = "_RTCRtpReceiver__started"
_RTCP_SSRC = "_RTCRtpReceiver__rtcp_ssrc"
_RTX_SSRC = "_RTCRtpReceiver__rtx_ssrc"
_RECEIVER_RTCP_TASK = "_RTCRtpReceiver__rtcp_task"
_SENDER_RTP_TASK = "_RTCRtpSender__rtp_task"


class FrameTap:
    """Stands in for the receiver's decoder queue so frames are forwarded, never decoded.

    ``RTCRtpReceiver`` puts ``(codec, JitterFrame)`` on a ``queue.Queue`` read
    by a decoder thread.  This object takes that queue's place: ``put`` runs
    on the event loop (inside ``_handle_rtp_packet``) and calls the forwarder
    directly.  The decoder thread aiortc still starts reads ``None`` from
    ``get`` at once and exits, so no decoder is ever created.
    """

    def __init__(self, on_frame: FrameCallback, on_end: EndCallback) -> None:
        self.__on_frame = on_frame
        self.__on_end = on_end
        self.__ended = False

    @property
    def ended(self) -> bool:
        """Whether the receiver has stopped (BYE, disconnect or stop)."""
        return self.__ended

    def put(self, item: tuple[RTCRtpCodecParameters, Any] | None) -> None:
        """Take one complete encoded frame, or ``None`` when the receiver stops."""
        if item is None:
            if not self.__ended:
                self.__ended = True
                self.__on_end()
            return
        if self.__ended:
            return
        codec, jitter_frame = item
        self.__on_frame(codec, jitter_frame.data, jitter_frame.timestamp)

    def redirect(self, on_frame: FrameCallback, on_end: EndCallback) -> None:
        """Send later frames elsewhere (an m-line that stops and restarts publishing)."""
        self.__on_frame = on_frame
        self.__on_end = on_end

    def get(self) -> tuple[RTCRtpCodecParameters, Any] | None:
        """Make aiortc's decoder thread exit as soon as it starts (queue interface)."""
        return None


def install_frame_tap(
    receiver: RTCRtpReceiver, on_frame: FrameCallback, on_end: EndCallback
) -> FrameTap:
    """Route a receiver's complete encoded frames to ``on_frame`` instead of a decoder.

    Must be called before the receiver starts (``receive()`` runs once DTLS is
    connected, after the offer/answer exchange), because the decoder thread is
    handed the queue object when it starts.  Installing again on a tapped
    receiver redirects the existing tap.
    """
    existing = getattr(receiver, _DECODER_QUEUE)
    if isinstance(existing, FrameTap):
        existing.redirect(on_frame, on_end)
        return existing
    if getattr(receiver, _RECEIVER_STARTED):
        raise RuntimeError("install_frame_tap() must be called before the receiver starts")
    tap = FrameTap(on_frame, on_end)
    setattr(receiver, _DECODER_QUEUE, tap)
    return tap


def receiver_has_tap(receiver: RTCRtpReceiver) -> bool:
    """Whether frames of this receiver go to a :class:`FrameTap`."""
    return isinstance(getattr(receiver, _DECODER_QUEUE), FrameTap)


def decoder_thread_alive(receiver: RTCRtpReceiver) -> bool:
    """Whether aiortc's decoder thread for this receiver is running (tests)."""
    thread = getattr(receiver, _DECODER_THREAD)
    return thread is not None and bool(thread.is_alive())


def intercept_keyframe_requests(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call ``callback`` when the remote peer sends PLI or FIR for this sender.

    On the pre-encoded path aiortc only sets a "force keyframe" flag that no
    encoder reads, so the request would be lost; the forwarder relays it.
    """
    sender._send_keyframe = callback  # type: ignore[method-assign]


async def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Ask the remote sender of ``media_ssrc`` for a keyframe (RTCP PLI)."""
    await receiver._send_rtcp_pli(media_ssrc)


def restrict_received_codec(transceiver: RTCRtpTransceiver, mime_type: str) -> bool:
    """Keep only ``mime_type`` (and its RTX) among a transceiver's negotiated codecs.

    Called between ``setRemoteDescription(offer)`` and ``createAnswer()`` so
    the answer lists one codec and every publisher sends what every
    subscriber was offered: a forwarder cannot transcode.  Returns whether
    the codec was offered at all.
    """
    codecs: list[RTCRtpCodecParameters] = transceiver._codecs
    wanted = mime_type.lower()
    kept = [c for c in codecs if c.mimeType.lower() == wanted]
    if not kept:
        return False
    first = kept[0]
    rtx = [
        c
        for c in codecs
        if c.mimeType.lower().endswith("/rtx") and c.parameters.get("apt") == first.payloadType
    ]
    transceiver._codecs = [first, *rtx]
    return True


def negotiable_codecs(media: MediaDescription) -> list[RTCRtpCodecParameters]:
    """The codecs of an offered m-line that aiortc would accept, in the offer's order.

    The same matching ``setRemoteDescription`` applies (H.264 only with
    packetization-mode 1 and a baseline or constrained-baseline profile), so
    an offer without the room's codec is refused before it touches the
    connection.
    """
    if media.kind not in CODECS:
        return []
    return find_common_codecs(CODECS[media.kind], media.rtp.codecs)


def set_msid(sender: RTCRtpSender, stream_id: str, track_id: str) -> None:
    """Set the ``a=msid`` a sender is described with in the next offer.

    One stream id per publisher lets a browser group that publisher's audio
    and video into one ``MediaStream`` (lip sync); the caller keeps the ids
    opaque, since who a receiver may know a publisher to be is not the
    media layer's decision.
    """
    sender._stream_id = stream_id
    sender._track_id = track_id


def simulate_rtp_loss(
    transport: RTCDtlsTransport, ratio: float, rng: random.Random | None = None
) -> None:
    """Drop ``ratio`` of the RTP packets (never RTCP) a DTLS transport sends.

    For tests and benchmarks: loss is injected below SRTP, where the network
    would drop packets, so NACK, RTX and keyframe recovery are exercised.
    """
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"loss ratio must be in [0, 1), got {ratio}")
    chooser = rng or random.Random()
    original = transport._send_rtp

    async def lossy_send_rtp(data: bytes) -> None:
        is_rtcp = len(data) >= 2 and 192 <= data[1] <= 223
        if not is_rtcp and chooser.random() < ratio:
            return
        await original(data)

    transport._send_rtp = lossy_send_rtp  # type: ignore[method-assign]


async def _no_consent_checks() -> None:
    """Stands in for a closing connection's consent checks: there is nothing to check."""


async def close_peer_connection(pc: RTCPeerConnection) -> None:
    """Close ``pc`` and make sure nothing of it keeps running.

    Two races leak a task (and the connection it holds) for ever when a
    participant leaves while its connection is still being set up:

    - aioice's ``connect()`` polls its check list every 20 ms; closing in
      that window lets it start consent-freshness checks afterwards, on the
      closed connection, where with no nominated pair they never fail.
    - aiortc's connect task starts each sender and receiver once DTLS is up;
      ``close()`` stops them one by one, awaiting in between, and a sender or
      receiver started after its turn keeps its RTP/RTCP tasks.  Once
      ``close()`` has returned the transports are closed and nothing more
      starts, so a second pass stops the late ones.
    """
    for transceiver in pc.getTransceivers():
        connection = transceiver.receiver.transport.transport._connection
        connection.query_consent = _no_consent_checks  # type: ignore[method-assign]
    await pc.close()
    for transceiver in pc.getTransceivers():
        receiver_task = getattr(transceiver.receiver, _RECEIVER_RTCP_TASK)
        if receiver_task is not None and not receiver_task.done():
            await transceiver.receiver.stop()
        sender_task = getattr(transceiver.sender, _SENDER_RTP_TASK)
        if sender_task is not None and not sender_task.done():
            await transceiver.sender.stop()


def remote_media_ssrc(receiver: RTCRtpReceiver) -> int | None:
    """The SSRC a PLI must name: the most recently active one that is not RTX."""
    rtx: dict[int, int] = getattr(receiver, _RTX_SSRC)
    sources = [s for s in receiver.getSynchronizationSources() if s.source not in rtx]
    if not sources:
        return None
    newest = max(sources, key=lambda s: s.timestamp)
    return int(newest.source)


def rtcp_ssrc(receiver: RTCRtpReceiver) -> int | None:
    """The SSRC a receiver signs its RTCP with (``None`` until it has one)."""
    value = getattr(receiver, _RTCP_SSRC)
    return None if value is None else int(value)


async def create_offer_keeping_negotiated(pc: RTCPeerConnection) -> str:
    """A (re-)offer in which m-lines already negotiated keep their payload types and header
    extension ids, and set it as the local description; returns the SDP.

    aiortc's ``createOffer`` renumbers every m-line with its own defaults. For an m-line the
    browser offered first (its microphone and camera) that changes the numbers agreed with
    it, which JSEP forbids: Chromium refuses "RTP extension ID reassignment" or starts
    sending under new payload types the forwarder does not expect.
    """
    agreed = {
        t.mid: (list(t._codecs), list(t._headerExtensions))
        for t in pc.getTransceivers()
        if t.mid is not None and t._codecs and t.currentDirection is not None
    }
    offer = await pc.createOffer()
    description = SessionDescription.parse(offer.sdp)
    for media in description.media:
        kept = agreed.get(media.rtp.muxId)
        if kept is None:
            continue
        codecs, extensions = kept
        media.rtp.codecs = codecs
        media.rtp.headerExtensions = extensions
        media.fmt = [c.payloadType for c in codecs]
        transceiver = next(t for t in pc.getTransceivers() if t.mid == media.rtp.muxId)
        transceiver._codecs = codecs
        transceiver._headerExtensions = extensions
    sdp = str(description)
    await pc.setLocalDescription(RTCSessionDescription(sdp=sdp, type="offer"))
    return str(pc.localDescription.sdp)
