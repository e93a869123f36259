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
from aiortc import RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

__all__ = [
    "AIORTC_VERSION",
    "EndCallback",
    "FrameCallback",
    "FrameTap",
    "decoder_thread_alive",
    "install_frame_tap",
    "intercept_keyframe_requests",
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


def set_msid(sender: RTCRtpSender, stream_id: str, track_id: str) -> None:
    """Set the ``a=msid`` a sender is described with in the next offer.

    The stream id names the publisher, so a browser groups one publisher's
    audio and video into one ``MediaStream`` (lip sync) and can tell whose
    it is without a side channel.
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
