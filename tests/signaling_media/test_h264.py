"""H.264 through the forwarder: forwarded as sent, never decoded, keyframes on request."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.codecs import get_decoder
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.sdp import SessionDescription

from signaling.media import NegotiationError, Source, TrackKey, is_keyframe
from signaling.media import aiortc_internals as internals
from signaling.media.synthetic import (
    EncodedFrameCounter,
    ProbeClient,
    ReceiveCounter,
    SyntheticVideoTrack,
    h264_test_pattern_clip,
)

from .harness import Harness, small_clip, wait_until

H264 = "video/H264"


def nal_units(frame: bytes) -> tuple[bytes, ...]:
    """An Annex-B frame's NAL units, whatever start codes separate them."""
    units = []
    for chunk in frame.split(b"\x00\x00\x01")[1:]:
        units.append(chunk.removesuffix(b"\x00"))
    return tuple(units)


def nal_types(frame: bytes) -> list[int]:
    return [unit[0] & 0x1F for unit in nal_units(frame)]


def frames(client: ProbeClient, publisher: str, source: str) -> int:
    counter = client.counter(publisher, source)  # type: ignore[arg-type]
    return 0 if counter is None else counter.frames


class FrameRecorder:
    """Keeps every encoded frame a probe receives, next to its own counters."""

    def __init__(self, client: ProbeClient) -> None:
        self.frames: dict[TrackKey, list[bytes]] = {}
        self.__client = client
        client.pc.on("track", self.__on_track)  # after the probe's own handler

    def __on_track(self, track: MediaStreamTrack) -> None:
        for transceiver in self.__client.pc.getTransceivers():
            mid = transceiver.mid
            key = self.__client.tracks.get(mid) if mid is not None else None
            if transceiver.receiver.track is not track or key is None:
                continue
            counter = self.__client.counters[str(mid)]
            assert isinstance(counter, EncodedFrameCounter)
            kept = self.frames.setdefault(key, [])

            def on_frame(
                codec: RTCRtpCodecParameters,
                data: bytes,
                timestamp: int,
                counter: EncodedFrameCounter = counter,
                kept: list[bytes] = kept,
            ) -> None:
                kept.append(data)
                counter.on_frame(codec, data, timestamp)

            internals.install_frame_tap(transceiver.receiver, on_frame, counter.on_end)


async def test_h264_reaches_receivers_as_sent_and_nothing_decodes(
    harness_factory: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    decoders: list[str] = []

    def counting_get_decoder(codec: RTCRtpCodecParameters) -> Any:
        decoders.append(codec.mimeType)
        return get_decoder(codec)

    # aiortc's decoder thread creates its decoder through this name
    monkeypatch.setattr("aiortc.rtcrtpreceiver.get_decoder", counting_get_decoder)
    h = harness_factory(video_codec=H264)
    clip = small_clip(H264)
    clip_frames = {nal_units(f) for f in clip.frames}
    a = await h.join("a", decode=False)
    b = await h.join("b", decode=False)
    watcher = ProbeClient("w", audio=False, video=False, decode=False)
    recorder = FrameRecorder(watcher)
    await h.connect(watcher)

    a_camera = TrackKey("a", "camera")
    assert await wait_until(lambda: len(recorder.frames.get(a_camera, ())) >= 75, 12)
    assert await wait_until(lambda: frames(a, "b", "camera") >= 30, 6)
    assert frames(b, "a", "microphone") > 0 and frames(watcher, "b", "microphone") > 0

    received = recorder.frames[a_camera]
    # every frame is one the publisher sent, NAL unit for NAL unit: nothing re-encoded
    assert all(nal_units(f) in clip_frames for f in received)
    assert len({nal_units(f) for f in received}) >= 30  # pictures change
    first = received[0]
    assert nal_types(first)[:2] == [7, 8]  # the stream starts with SPS, PPS, then IDR
    assert 5 in nal_types(first)
    assert sum(is_keyframe("H264", f) for f in received) >= 2  # periodic IDRs pass through
    counter = watcher.counter("a", "camera")
    assert isinstance(counter, EncodedFrameCounter)
    assert counter.mime_type == H264 and counter.keyframes >= 2

    fanout = h.room.fanout("a", "camera")
    assert fanout is not None and fanout.codec is not None
    assert fanout.codec.name == "H264" and fanout.codec.clock_rate == 90000
    assert fanout.codec.parameters.get("packetization-mode") == "1"
    for pid in ("a", "b"):
        for transceiver in h.room.peer(pid).pc.getTransceivers():
            if transceiver.receiver.track is not None:
                assert internals.receiver_has_tap(transceiver.receiver)
                assert not internals.decoder_thread_alive(transceiver.receiver)
    assert decoders == []  # no decoder was ever created, on the server or the probes


async def test_h264_late_joiner_decodes_a_picture_promptly(
    harness_factory: Callable[..., Harness],
) -> None:
    # One IDR per 10 s clip: without the relayed PLI a late joiner waits up to 10 s.
    rare_keyframes = h264_test_pattern_clip(320, 240, 30, 10.0, 300_000, 1000)
    assert rare_keyframes.keyframes == (0,)
    h = harness_factory(video_codec=H264)
    a = await h.join("a", rare_keyframes)
    fanout = h.room.fanout("a", "camera")
    assert fanout is not None
    assert await wait_until(lambda: fanout.frames_in > 45, 6)

    b = await h.join("b")
    # the clip's next natural IDR is about 8 s away: only a relayed PLI is this fast
    assert await wait_until(lambda: frames(b, "a", "camera") > 0, 6)
    assert a.video_track is not None and a.video_track.keyframe_requests >= 1
    video = b.counter("a", "camera")
    assert isinstance(video, ReceiveCounter)
    assert await wait_until(lambda: video.distinct_pictures >= 10, 6)
    assert (video.width, video.height) == (320, 240)  # decoded by the receiver, not the server
    assert fanout.keyframes_in >= 2


@pytest.mark.parametrize(
    ("room_codec", "client_codec"), [("video/H264", "video/VP8"), ("video/VP8", "video/H264")]
)
async def test_offer_without_the_room_codec_is_refused_at_once(
    harness_factory: Callable[..., Harness], room_codec: str, client_codec: str
) -> None:
    h = harness_factory(video_codec=room_codec)
    client = ProbeClient("x", video_clip=small_clip(client_codec))
    h.clients["x"] = client  # closed by the harness
    sdp, sources = await client.create_offer()
    with pytest.raises(NegotiationError, match=f"camera is not offered with {room_codec}"):
        await asyncio.wait_for(h.room.join("x", sdp, sources), 5)
    assert h.room.participants == ()
    assert h.room.tracks == {}


async def test_browser_like_offer_of_every_codec_is_answered_with_h264_only(
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory(video_codec=H264)
    receiver = await h.join("r", publish=False, decode=False)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
    try:
        # no codec preferences: offers VP8 first, then H.264 in two profiles, like a browser
        transceiver = pc.addTransceiver(SyntheticVideoTrack(small_clip(H264)), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        offered = SessionDescription.parse(pc.localDescription.sdp).media[0].rtp.codecs
        assert offered[0].mimeType == "video/VP8"
        answer = await h.room.join("p", pc.localDescription.sdp, {str(transceiver.mid): "camera"})
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        answered = SessionDescription.parse(answer).media[0].rtp.codecs
        assert [c.mimeType for c in answered] == [H264, "video/rtx"]
        assert await wait_until(lambda: frames(receiver, "p", "camera") >= 10, 8)
        counter = receiver.counter("p", "camera")
        assert isinstance(counter, EncodedFrameCounter) and counter.mime_type == H264
    finally:
        await pc.close()


async def test_re_offer_with_the_wrong_codec_leaves_the_peer_usable(
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory(video_codec=H264)
    a = await h.join("a", decode=False)
    b = await h.join("b", decode=False)
    assert await wait_until(lambda: frames(b, "a", "camera") > 0, 8)
    assert await wait_until(lambda: h.room.peer("a").pc.signalingState == "stable", 4)

    vp8_screen = a.pc.addTransceiver(
        SyntheticVideoTrack(small_clip("video/VP8")), direction="sendonly"
    )
    codecs = RTCRtpSender.getCapabilities("video").codecs
    vp8_screen.setCodecPreferences([c for c in codecs if c.mimeType == "video/VP8"])
    await a.pc.setLocalDescription(await a.pc.createOffer())
    microphone, camera = a.pc.getTransceivers()[:2]
    sources: dict[str, Source] = {
        str(microphone.mid): "microphone",
        str(camera.mid): "camera",
        str(vp8_screen.mid): "screen",
    }
    with pytest.raises(NegotiationError, match="screen is not offered with video/H264"):
        await h.room.update_offer("a", a.pc.localDescription.sdp, sources)
    peer = h.room.peer("a")
    assert peer.pc.signalingState == "stable"  # refused before it touched the connection
    assert set(peer.published) == {"microphone", "camera"}
    before = frames(b, "a", "camera")
    assert await wait_until(lambda: frames(b, "a", "camera") >= before + 15, 4)
