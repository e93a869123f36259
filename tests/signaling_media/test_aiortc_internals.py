"""Fail loudly if aiortc changes under signaling.media.aiortc_internals."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import fractions
import inspect
import itertools
import random
import time
from collections.abc import AsyncIterator
from typing import Any

import aioice
import aiortc
import av
import pylibsrtp
import pytest
from aiortc import (
    AudioStreamTrack,
    RTCCertificate,
    RTCDtlsTransport,
    RTCIceGatherer,
    RTCIceTransport,
    RTCPeerConnection,
    RTCSessionDescription,
    clock,
    rtcrtpreceiver,
    rtcrtpsender,
)
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpReceiveParameters
from aiortc.rtcrtpreceiver import RemoteStreamTrack, RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
    RtcpSenderInfo,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
)
from aiortc.sdp import MediaDescription

from signaling.media import aiortc_internals as internals
from signaling.media.forwarding_slice import SLICE_SECONDS

from .harness import wait_until


def make_transport() -> RTCDtlsTransport:
    ice = RTCIceTransport(RTCIceGatherer())
    return RTCDtlsTransport(ice, [RTCCertificate.generateCertificate()])


def test_pinned_version_is_installed() -> None:
    assert aiortc.__version__ == internals.AIORTC_VERSION == "1.16.0"


async def test_receiver_private_attributes_exist() -> None:
    receiver = RTCRtpReceiver("video", make_transport())
    for name in (
        "_RTCRtpReceiver__decoder_queue",
        "_RTCRtpReceiver__decoder_thread",
        "_RTCRtpReceiver__started",
        "_RTCRtpReceiver__rtcp_ssrc",
        "_RTCRtpReceiver__rtx_ssrc",
    ):
        assert hasattr(receiver, name), name
    assert callable(receiver._send_rtcp_pli)
    assert internals.rtcp_ssrc(receiver) is None
    assert internals.remote_media_ssrc(receiver) is None


def test_receiver_hands_complete_frames_to_the_decoder_queue() -> None:
    """The tap relies on this exact hand-off and on the worker exiting on None."""
    handle = inspect.getsource(RTCRtpReceiver._handle_rtp_packet)
    assert "self.__decoder_queue.put((codec, encoded_frame))" in handle
    assert "encoded_frame.timestamp = self.__timestamp_mapper.map(" in handle
    receive = inspect.getsource(RTCRtpReceiver.receive)
    assert "self.__decoder_queue," in receive
    worker = inspect.getsource(rtcrtpreceiver.decoder_worker)
    assert "task = input_q.get()" in worker
    assert "if task is None:" in worker
    stop_decoder = "_RTCRtpReceiver__stop_decoder"
    stop = inspect.getsource(getattr(RTCRtpReceiver, stop_decoder))
    assert "self.__decoder_queue.put(None)" in stop


def test_jitter_frame_shape() -> None:
    frame = aiortc.jitterbuffer.JitterFrame(data=b"x", timestamp=3)
    assert (frame.data, frame.timestamp) == (b"x", 3)


async def test_frame_tap_forwards_and_ends_once() -> None:
    receiver = RTCRtpReceiver("video", make_transport())
    frames: list[tuple[str, bytes, int]] = []
    ends: list[bool] = []
    tap = internals.install_frame_tap(
        receiver, lambda c, d, t: frames.append((c.mimeType, d, t)), lambda: ends.append(True)
    )
    assert internals.receiver_has_tap(receiver)
    assert tap.get() is None  # aiortc's decoder thread exits at once
    codec = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    tap.put((codec, aiortc.jitterbuffer.JitterFrame(b"\x10abc", 3000)))
    tap.put(None)
    tap.put(None)
    tap.put((codec, aiortc.jitterbuffer.JitterFrame(b"late", 6000)))
    assert frames == [("video/VP8", b"\x10abc", 3000)]
    assert ends == [True]
    assert tap.ended
    assert not internals.decoder_thread_alive(receiver)


async def test_installing_again_redirects_the_tap() -> None:
    receiver = RTCRtpReceiver("video", make_transport())
    first: list[bytes] = []
    second: list[bytes] = []
    tap = internals.install_frame_tap(receiver, lambda c, d, t: first.append(d), lambda: None)
    setattr(receiver, "_RTCRtpReceiver__started", True)  # noqa: B010 - name-mangled
    again = internals.install_frame_tap(receiver, lambda c, d, t: second.append(d), lambda: None)
    assert again is tap
    codec = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    tap.put((codec, aiortc.jitterbuffer.JitterFrame(b"x", 0)))
    assert (first, second) == ([], [b"x"])


async def test_frame_tap_refuses_a_started_receiver() -> None:
    receiver = RTCRtpReceiver("audio", make_transport())
    started = "_RTCRtpReceiver__started"
    setattr(receiver, started, True)
    with pytest.raises(RuntimeError):
        internals.install_frame_tap(receiver, lambda c, d, t: None, lambda: None)


def test_sender_pre_encoded_path_packs_without_encoding() -> None:
    source = inspect.getsource(RTCRtpSender._next_encoded_frame)
    assert "payloads, timestamp = self.__encoder.pack(data)" in source
    assert "if isinstance(data, Frame):" in source


@pytest.mark.parametrize("fmt", [RTCP_PSFB_PLI, RTCP_PSFB_FIR])
async def test_keyframe_requests_are_intercepted(fmt: int) -> None:
    sender = RTCRtpSender("video", make_transport())
    calls: list[int] = []
    internals.intercept_keyframe_requests(sender, lambda: calls.append(1))
    await sender._handle_rtcp_packet(RtcpPsfbPacket(fmt=fmt, ssrc=1, media_ssrc=sender._ssrc))
    assert calls == [1]
    # without interception aiortc only sets a flag nobody reads on the packed path
    assert hasattr(sender, "_RTCRtpSender__force_keyframe")
    assert "self._send_keyframe()" in inspect.getsource(RTCRtpSender._handle_rtcp_packet)


async def test_set_msid_changes_the_described_ids() -> None:
    sender = RTCRtpSender("audio", make_transport())
    internals.set_msid(sender, "alice", "alice-microphone")
    assert (sender._stream_id, sender._track_id) == ("alice", "alice-microphone")
    source = inspect.getsource(aiortc.rtcpeerconnection.create_media_description_for_transceiver)
    assert "transceiver.sender._stream_id} {transceiver.sender._track_id}" in source


async def test_restrict_received_codec_keeps_codec_and_its_rtx() -> None:
    transport = make_transport()
    transceiver = RTCRtpTransceiver(
        "video", RTCRtpReceiver("video", transport), RTCRtpSender("video", transport)
    )
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    vp8_rtx = RTCRtpCodecParameters(
        mimeType="video/rtx", clockRate=90000, payloadType=97, parameters={"apt": 96}
    )
    h264 = RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=102)
    h264_rtx = RTCRtpCodecParameters(
        mimeType="video/rtx", clockRate=90000, payloadType=103, parameters={"apt": 102}
    )
    transceiver._codecs = [vp8, vp8_rtx, h264, h264_rtx]
    assert internals.restrict_received_codec(transceiver, "video/H264")
    assert transceiver._codecs == [h264, h264_rtx]
    assert not internals.restrict_received_codec(transceiver, "video/VP8")
    assert transceiver._codecs == [h264, h264_rtx]


class _FakeTransport:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def _send_rtp(self, data: bytes) -> None:
        self.sent.append(data)


async def test_simulated_loss_drops_rtp_only() -> None:
    transport = _FakeTransport()
    internals.simulate_rtp_loss(transport, 0.5, random.Random(1))  # type: ignore[arg-type]
    rtp = bytes([0x80, 96]) + bytes(20)
    rtcp = bytes([0x80, 200]) + bytes(20)
    for _ in range(200):
        await transport._send_rtp(rtp)
        await transport._send_rtp(rtcp)
    assert transport.sent.count(rtcp) == 200
    assert 60 < transport.sent.count(rtp) < 140
    with pytest.raises(ValueError):
        internals.simulate_rtp_loss(transport, 1.0)  # type: ignore[arg-type]


def test_dtls_transport_send_rtp_exists() -> None:
    assert "async def _send_rtp(self, data: bytes)" in inspect.getsource(RTCDtlsTransport)
    assert callable(rtcrtpsender.RTCRtpSender._send_keyframe)


def test_negotiable_codecs_match_as_set_remote_description_does() -> None:
    def h264(payload_type: int, profile: str, mode: str) -> RTCRtpCodecParameters:
        return RTCRtpCodecParameters(
            mimeType="video/H264",
            clockRate=90000,
            payloadType=payload_type,
            parameters={"packetization-mode": mode, "profile-level-id": profile},
        )

    media = MediaDescription(kind="video", port=9, profile="UDP/TLS/RTP/SAVPF", fmt=[])
    media.rtp.codecs = [
        RTCRtpCodecParameters(mimeType="video/VP9", clockRate=90000, payloadType=98),
        h264(100, "640c1f", "1"),  # high profile: aiortc cannot take it
        h264(102, "42e01f", "0"),  # single NAL mode: neither
        h264(104, "42e01f", "1"),
        RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96),
    ]
    usable = internals.negotiable_codecs(media)
    assert [(c.mimeType, c.payloadType) for c in usable] == [("video/H264", 104), ("video/VP8", 96)]
    application = MediaDescription(kind="application", port=9, profile="DTLS/SCTP", fmt=[])
    assert internals.negotiable_codecs(application) == []
    assert "find_common_codecs(CODECS[media.kind], media.rtp.codecs)" in inspect.getsource(
        aiortc.rtcpeerconnection.RTCPeerConnection.setRemoteDescription
    )


async def test_closing_stops_what_connecting_starts_too_late() -> None:
    """The two races close_peer_connection covers, and the hooks it uses, are still there."""
    assert aioice.__version__ == internals.AIOICE_VERSION
    connect = inspect.getsource(aioice.Connection.connect)
    assert "await asyncio.sleep(0.02)" in connect  # closing may land in this window
    assert "self._query_consent_task = asyncio.create_task(self.query_consent())" in connect
    assert "self._query_consent_task.cancel()" in inspect.getsource(aioice.Connection.close)
    peer_connect = inspect.getsource(RTCPeerConnection._RTCPeerConnection__connect)  # type: ignore[attr-defined]
    assert "await transceiver.receiver.receive(" in peer_connect
    assert "if self.__started:" in inspect.getsource(RTCRtpReceiver.stop)
    assert "if self.__started:" in inspect.getsource(RTCRtpSender.stop)

    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver("audio")
    connection = transceiver.receiver.transport.transport._connection
    await internals.close_peer_connection(pc)
    await asyncio.wait_for(connection.query_consent(), 1)  # a no-op now: returns at once

    # the connect task starting the receiver after close() had stopped it
    transceiver.receiver._track = RemoteStreamTrack(kind="audio")
    opus = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, payloadType=96, channels=2)
    await transceiver.receiver.receive(RTCRtpReceiveParameters(codecs=[opus], muxId="0"))
    late = getattr(transceiver.receiver, "_RTCRtpReceiver__rtcp_task")  # noqa: B009
    assert not late.done()
    await internals.close_peer_connection(pc)
    assert late.done()


# -- RTP-level forwarding -------------------------------------------------------


async def test_rtp_tap_relies_on_receiver_attributes_that_exist() -> None:
    receiver = RTCRtpReceiver("video", make_transport())
    for name in (
        "_RTCRtpReceiver__codecs",
        "_RTCRtpReceiver__active_ssrc",
        "_RTCRtpReceiver__remote_streams",
        "_RTCRtpReceiver__nack_generator",
        "_RTCRtpReceiver__remote_bitrate_estimator",
        "_RTCRtpReceiver__jitter_buffer",
        "_RTCRtpReceiver__timestamp_mapper",
    ):
        assert hasattr(receiver, name), name
    tap = internals.install_rtp_tap(
        receiver, lambda c, p: None, lambda s, n, r, f: None, lambda: False
    )
    assert receiver._handle_rtp_packet == tap.handle_rtp
    assert (
        internals.install_rtp_tap(receiver, lambda c, p: None, lambda s, n, r, f: None, bool) is tap
    )


def test_rtp_tap_does_what_the_receiver_handler_does_on_the_way_in() -> None:
    """RtpTap replaces _handle_rtp_packet: each step it repeats must still be aiortc's."""
    handle = inspect.getsource(RTCRtpReceiver._handle_rtp_packet)
    for step in (
        "if not self._enabled:",
        "remb = self.__remote_bitrate_estimator.add(",
        "self.__active_ssrc[packet.ssrc] = clock.current_datetime()",
        "codec = self.__codecs.get(packet.payload_type)",
        "self.__remote_streams[packet.ssrc] = StreamStatistics(codec.clockRate)",
        "self.__remote_streams[packet.ssrc].add(packet)",
        "packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)",
        "self.__nack_generator.add(packet)",
        "packet._data = depayload(codec, packet.payload)",
        "pli_flag, encoded_frame = self.__jitter_buffer.add(packet)",
        "self.__decoder_queue.put((codec, encoded_frame))",
    ):
        assert step in handle, step
    assert handle.count("await ") == 3  # REMB, NACK, PLI: nothing more to replicate
    route = inspect.getsource(RTCDtlsTransport._handle_rtp_data)
    assert "await receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms)" in route
    rtcp = inspect.getsource(RTCDtlsTransport._handle_rtcp_data)
    assert "await recipient._handle_rtcp_packet(packet)" in rtcp


async def test_rtp_egress_takes_nacks_and_fills_sender_reports() -> None:
    sender = RTCRtpSender("video", make_transport())
    for name in (
        "_RTCRtpSender__started",
        "_RTCRtpSender__lsr",
        "_RTCRtpSender__packet_count",
        "_RTCRtpSender__octet_count",
        "_RTCRtpSender__ntp_timestamp",
        "_RTCRtpSender__rtp_timestamp",
    ):
        assert hasattr(sender, name), name
    nacks: list[int] = []
    info = RtcpSenderInfo(
        ntp_timestamp=0x1234_5678_9ABC_DEF0, rtp_timestamp=9, packet_count=7, octet_count=700
    )
    internals.install_rtp_egress(
        sender, on_started=lambda p: None, on_nack=nacks.append, sender_info=lambda: info
    )
    await sender._retransmit(42)
    assert nacks == [42]
    report = RtcpSrPacket(ssrc=sender._ssrc, sender_info=RtcpSenderInfo(0, 0, 0, 0))
    await sender._send_rtcp([report])  # the transport is not connected: nothing goes out
    assert report.sender_info is info
    assert sender._RTCRtpSender__lsr == 0x5678_9ABC  # type: ignore[attr-defined]
    assert sender._RTCRtpSender__packet_count == 7  # type: ignore[attr-defined]
    handle = inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    assert "await self._retransmit(seq)" in handle
    run_rtcp = inspect.getsource(RTCRtpSender._run_rtcp)
    assert run_rtcp.index("self.__lsr = ") < run_rtcp.index("await self._send_rtcp(packets)")
    assert "packet_count=self.__packet_count" in run_rtcp
    assert "self.__started = True" in inspect.getsource(RTCRtpSender.send)
    peer_connect = inspect.getsource(RTCPeerConnection._RTCPeerConnection__connect)  # type: ignore[attr-defined]
    assert "await transceiver.sender.send(self.__localRtp(transceiver))" in peer_connect


async def test_rtp_egress_hands_remb_for_its_ssrc_on_and_keeps_aiortcs_handling() -> None:
    sender = RTCRtpSender("video", make_transport())
    nacks: list[int] = []
    estimates: list[tuple[int, list[int]]] = []
    internals.install_rtp_egress(
        sender,
        on_started=lambda p: None,
        on_nack=nacks.append,
        sender_info=lambda: None,
        on_remb=lambda bitrate, ssrcs: estimates.append((bitrate, ssrcs)),
    )
    ours, other = sender._ssrc, sender._ssrc ^ 1

    def remb(bitrate: int, ssrcs: list[int]) -> RtcpPsfbPacket:
        return RtcpPsfbPacket(
            fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=pack_remb_fci(bitrate, ssrcs)
        )

    await sender._handle_rtcp_packet(remb(250_000, [other, ours]))
    await sender._handle_rtcp_packet(remb(90_000, [other]))  # another stream's
    await sender._handle_rtcp_packet(RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0))
    assert estimates == [(250_000, [other, ours])]
    nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=1, media_ssrc=ours)
    nack.lost = [7]
    await sender._handle_rtcp_packet(nack)  # still aiortc's: it asks for a retransmission
    assert nacks == [7]
    handle = inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    assert "unpack_remb_fci(packet.fci)" in handle
    assert "self.__encoder.target_bitrate = bitrate" in handle  # all aiortc does with it


def test_send_rtp_nowait_does_what_send_rtp_does() -> None:
    transport = make_transport()
    assert hasattr(transport, "_RTCDtlsTransport__tx_bytes")
    assert hasattr(transport, "_RTCDtlsTransport__tx_packets")
    with pytest.raises(ConnectionError):
        internals.send_rtp_nowait(transport, b"\x80" * 20)
    send = inspect.getsource(RTCDtlsTransport._send_rtp)
    assert "data = self._tx_srtp.protect(data)" in send
    assert "await self.transport._send(data)" in send
    sendto = inspect.getsource(aioice.Connection.sendto)
    assert "active_pair = self._nominated.get(component)" in sendto
    assert "await active_pair.protocol.send_data(data, active_pair.remote_addr)" in sendto
    send_data = inspect.getsource(aioice.ice.StunProtocol.send_data)
    assert "self.transport.sendto(data, addr)" in send_data


AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"


async def test_audio_level_extension_is_offered_answered_and_parsed() -> None:
    """The active speaker is read from this extension: aiortc must offer it on audio, keep it
    in an answer to a browser that offers it, and parse it on the way in."""
    assert AUDIO_LEVEL_URI in [e.uri for e in aiortc.codecs.HEADER_EXTENSIONS["audio"]]
    browser = RTCPeerConnection()
    server = RTCPeerConnection()
    try:
        browser.addTransceiver("audio", direction="sendonly")
        await browser.setLocalDescription(await browser.createOffer())
        offer = browser.localDescription.sdp
        assert f"a=extmap:2 {AUDIO_LEVEL_URI}" in offer
        chromium_like = offer.replace(
            f"a=extmap:2 {AUDIO_LEVEL_URI}", f"a=extmap:7 {AUDIO_LEVEL_URI}"
        )
        await server.setRemoteDescription(RTCSessionDescription(chromium_like, "offer"))
        await server.setLocalDescription(await server.createAnswer())
        assert f"a=extmap:7 {AUDIO_LEVEL_URI}" in server.localDescription.sdp
    finally:
        await browser.close()
        await server.close()
    assert "values.audio_level = (vad_level & 0x80 == 0x80, vad_level & 0x7F)" in inspect.getsource(
        aiortc.rtp.HeaderExtensionsMap.get
    )


async def test_report_audio_level_puts_the_level_on_pre_encoded_frames() -> None:
    sender = RTCRtpSender("audio", make_transport())
    level: list[int | None] = [33]
    internals.report_audio_level(sender, lambda: level[0])
    codec = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2)
    track = _OnePacketTrack()
    sender.replaceTrack(track)
    frame = await sender._next_encoded_frame(codec)
    assert frame is not None and frame.audio_level == -33
    level[0] = None
    frame = await sender._next_encoded_frame(codec)
    assert frame is not None and frame.audio_level is None
    # aiortc writes (voice, -audio_level) into the extension of each packet it sends
    assert "packet.extensions.audio_level = (False, -enc_frame.audio_level)" in inspect.getsource(
        RTCRtpSender._run_rtp
    )


class _OnePacketTrack(aiortc.MediaStreamTrack):
    """Hands out the same pre-encoded Opus packet for ever."""

    kind = "audio"

    async def recv(self) -> av.Packet[Any]:
        packet = av.Packet(b"\xfc\xff\xfe")
        packet.pts = 0
        packet.time_base = fractions.Fraction(1, 48000)
        return packet


def test_direct_receive_does_what_the_transport_receive_loop_does() -> None:
    """install_direct_receive replaces aioice's queue hop: the steps it repeats must still be
    aioice's and aiortc's, and STUN must still be handled before ``data_received``."""
    datagram = inspect.getsource(aioice.ice.StunProtocol.datagram_received)
    assert datagram.index("stun.parse_message(data)") < datagram.index(
        "self.receiver.data_received(data, self.local_candidate.component)"
    )
    assert "self._queue.put_nowait((data, component))" in inspect.getsource(
        aioice.Connection.data_received
    )
    receive = inspect.getsource(RTCDtlsTransport._recv_next)
    for step in (
        "self.__rx_bytes += len(data)",
        "elif first_byte > 127 and first_byte < 192 and self._rx_srtp:",
        "arrival_time_ms = clock.current_ms()",
        "if is_rtcp(data):",
        "data = self._rx_srtp.unprotect(data)",
        "await self._handle_rtp_data(data, arrival_time_ms=arrival_time_ms)",
    ):
        assert step in receive, step
    route = inspect.getsource(RTCDtlsTransport._handle_rtp_data)
    assert "RtpPacket.parse(data, self._rtp_header_extensions_map)" in route
    assert "receiver = self._rtp_router.route_rtp(packet)" in route
    transport = make_transport()
    assert transport._RTCDtlsTransport__rx_bytes == 0  # type: ignore[attr-defined]
    assert transport._RTCDtlsTransport__rx_packets == 0  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def _publishing_to_direct_receive(
    on_rtp: internals.RtpCallback,
) -> AsyncIterator[tuple[RTCPeerConnection, RTCPeerConnection, RTCRtpReceiver]]:
    """An audio publisher connected over loopback to a receiver with a tap and direct receive."""
    publisher, server = RTCPeerConnection(), RTCPeerConnection()
    try:
        publisher.addTrack(AudioStreamTrack())
        await publisher.setLocalDescription(await publisher.createOffer())
        await server.setRemoteDescription(publisher.localDescription)
        receiver = server.getTransceivers()[0].receiver
        internals.install_rtp_tap(
            receiver, on_rtp, lambda ssrc, ntp, rtp, frame: None, lambda: False
        )
        assert internals.install_direct_receive(receiver.transport)
        assert not internals.install_direct_receive(receiver.transport)
        yield publisher, server, receiver
    finally:
        await internals.close_peer_connection(publisher)
        await internals.close_peer_connection(server)


async def _connect(publisher: RTCPeerConnection, server: RTCPeerConnection) -> None:
    await server.setLocalDescription(await server.createAnswer())
    await publisher.setRemoteDescription(server.localDescription)


async def test_direct_receive_hands_rtp_to_the_tap_inside_the_datagram_callback() -> None:
    inside_callback: list[bool] = []
    taken: list[bool] = []

    def on_rtp(codec: RTCRtpCodecParameters, packet: object) -> None:
        taken.append(bool(inside_callback))

    async with _publishing_to_direct_receive(on_rtp) as (publisher, server, receiver):
        connection = receiver.transport.transport._connection
        direct = connection.data_received

        def observed(data: bytes, component: int) -> None:
            inside_callback.append(True)
            try:
                direct(data, component)
            finally:
                inside_callback.pop()

        connection.data_received = observed  # type: ignore[method-assign]
        await _connect(publisher, server)
        assert await wait_until(lambda: len(taken) >= 25, within=15)
        assert all(taken)  # none came through aioice's queue and the receive task
        rx_packets = receiver.transport._RTCDtlsTransport__rx_packets  # type: ignore[attr-defined]
        assert rx_packets >= 25

        # consent freshness (STUN) is still answered, both ways: it keeps the link alive
        for pc in (publisher, server):
            ice = pc.getTransceivers()[0].receiver.transport.transport._connection
            pair = ice._nominated[1]
            assert ice.remote_password is not None
            response, _ = await pair.protocol.request(
                ice.build_request(pair, nominate=False),
                pair.remote_addr,
                integrity_key=ice.remote_password.encode("utf8"),
            )
            assert response.message_class == aioice.stun.Class.RESPONSE


async def test_a_packet_the_forwarder_fails_on_does_not_stop_the_next(
    caplog: pytest.LogCaptureFixture,
) -> None:
    taken: list[int] = []

    def on_rtp(codec: RTCRtpCodecParameters, packet: object) -> None:
        taken.append(1)
        if len(taken) == 1:
            raise RuntimeError("the forwarder failed on this packet")

    async with _publishing_to_direct_receive(on_rtp) as (publisher, server, receiver):
        await _connect(publisher, server)
        assert await wait_until(lambda: len(taken) >= 25, within=15)
        assert receiver.transport.state == "connected"
    assert "not forwarded" in caplog.text


async def test_direct_receive_queues_the_rest_of_a_read_once_a_slice_is_spent() -> None:
    """Forwarding that holds the loop past a slice hands the rest of the socket's read to
    aioice's queue and the receive task (which yields as it goes), in order."""
    inside_callback: list[bool] = []
    taken: list[tuple[bool, int]] = []

    def on_rtp(codec: RTCRtpCodecParameters, packet: RtpPacket) -> None:
        taken.append((bool(inside_callback), packet.sequence_number))
        time.sleep(SLICE_SECONDS * 1.5)

    async with _publishing_to_direct_receive(on_rtp) as (publisher, server, receiver):
        transport = receiver.transport
        connection = transport.transport._connection
        direct = connection.data_received
        held: list[tuple[bytes, int]] = []

        def read_in_fives(data: bytes, component: int) -> None:
            """Media datagrams handed over five at a time, as one read of a backlog is."""
            if transport.state != "connected" or not 127 < data[0] < 192 or 192 <= data[1] <= 208:
                direct(data, component)
                return
            held.append((data, component))
            if len(held) < 5:
                return
            inside_callback.append(True)
            try:
                for datagram in held:
                    direct(*datagram)
            finally:
                held.clear()
                inside_callback.pop()

        connection.data_received = read_in_fives
        await _connect(publisher, server)
        assert await wait_until(
            lambda: {inside for inside, _ in taken} == {True, False} and len(taken) >= 40,
            within=30,
        ), taken
        numbers = [number for _, number in taken]
        assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(numbers)), numbers


def test_monotonic_clock_reads_what_aiortcs_datetime_clock_reads() -> None:
    internals.use_monotonic_clock()
    internals.use_monotonic_clock()  # idempotent: one anchor
    now = datetime.datetime.now(datetime.UTC)
    expected_ms = int((now - clock.NTP_EPOCH).total_seconds() * 1000)
    assert abs(clock.current_ms() - expected_ms) < 1000
    assert abs((clock.current_ntp_time() >> 32) - (clock.datetime_to_ntp(now) >> 32)) <= 1
    assert abs((internals.ntp_now() >> 32) - (clock.datetime_to_ntp(now) >> 32)) <= 1
    first = clock.current_ms()
    assert clock.current_ms() >= first
    # aiortc reads both through the module, per call, so replacing them reaches it
    assert "arrival_time_ms = clock.current_ms()" in inspect.getsource(RTCDtlsTransport._recv_next)
    assert "self.__ntp_timestamp = clock.current_ntp_time()" in inspect.getsource(rtcrtpsender)


async def test_a_sender_reports_timestamp_is_mapped_as_the_frames_are() -> None:
    """The receiver's timestamp mapper counts frames' timestamps from the first one and
    unwraps; a sender report's timestamp is read on that scale without moving it."""
    receiver = RTCRtpReceiver("video", make_transport())
    assert internals.frame_timestamp_of(receiver, 1234) is None
    mapper = receiver._RTCRtpReceiver__timestamp_mapper  # type: ignore[attr-defined]
    first = (1 << 32) - 9000
    assert mapper.map(first) == 0
    assert internals.frame_timestamp_of(receiver, first + 3000) == 3000
    assert internals.frame_timestamp_of(receiver, 6000) == 15_000  # after the wrap
    assert mapper.map(first + 4500) == 4500, "reading a report did not move the mapper"


async def test_draining_replaces_the_standard_loops_datagram_reader_once() -> None:
    """What ``drain_datagrams_each_turn`` relies on in asyncio's UDP transport and aioice."""
    transport_class = internals._SELECTOR_DATAGRAM_TRANSPORT
    read_ready = inspect.getsource(transport_class._read_ready)
    assert "self._sock.recvfrom(self.max_size)" in read_ready  # still one datagram a call
    pc = RTCPeerConnection()
    try:
        pc.addTransceiver("audio", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        connection = pc.getTransceivers()[0].receiver.transport.transport._connection
        transports = [p.transport for p in connection._protocols]
        assert transports and all(isinstance(t, transport_class) for t in transports)
        for transport in transports:
            for name in ("_sock", "_sock_fd", "_loop", "_protocol", "_conn_lost", "max_size"):
                assert hasattr(transport, name), name
        assert internals.drain_datagrams_each_turn(pc) == len(transports)
        assert internals.drain_datagrams_each_turn(pc) == 0  # once per socket
        loop = asyncio.get_running_loop()
        for transport in transports:
            key = loop._selector.get_key(transport._sock_fd)  # type: ignore[attr-defined]
            assert key.data[0]._callback.__name__ == "read_ready"
    finally:
        await pc.close()


def test_the_srtp_protector_writes_what_pylibsrtps_protect_writes() -> None:
    """Two sessions on one key protect one packet alike: the short path must agree with
    pylibsrtp's, refuse what it refuses, and report libsrtp's errors."""
    key = bytes(range(30))
    ours, theirs = (
        pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND))
        for _ in range(2)
    )
    protect = internals.srtp_protector(ours)
    for number in range(5):
        packet = bytes([0x80, 96, 0, number]) + bytes(8) + bytes([number]) * (100 + number)
        assert protect(packet) == theirs.protect(packet)
    with pytest.raises(ValueError, match="too long"):
        protect(bytes([0x80, 96]) + bytes(1500))
    with pytest.raises(pylibsrtp.Error):
        protect(bytes([0x80, 96, 0, 1]) + bytes(8) + b"x")  # sent already: a replay
    inside = inspect.getsource(pylibsrtp.Session._Session__process)  # type: ignore[attr-defined]
    assert "self._buffer[0 : len(data)] = data" in inside
    assert "func(self._srtp[0], self._cdata, len_p)" in inside
