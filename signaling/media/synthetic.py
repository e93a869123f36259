"""Pre-encoded test media and a probe client, for tests, benchmarks and health probes.

The clips are encoded once per process with PyAV and then replayed
pre-encoded, paced in real time, so a probe costs no encoder CPU and
behaves like a browser publishing at a steady frame rate.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from . import aiortc_internals as internals
from .fanout import is_keyframe
from .policy import Source, TrackKey

__all__ = [
    "TONE_LEVEL",
    "EncodedClip",
    "EncodedFrameCounter",
    "ProbeClient",
    "ReceiveCounter",
    "SyntheticAudioTrack",
    "SyntheticVideoTrack",
    "h264_test_pattern_clip",
    "opus_tone_clip",
    "vp8_test_pattern_clip",
]

VIDEO_CLOCK = 90000
AUDIO_CLOCK = 48000


@dataclass(frozen=True, slots=True)
class EncodedClip:
    """Encoded frames to loop, with where the keyframes are."""

    frames: tuple[bytes, ...]
    keyframes: tuple[int, ...]
    "Indexes of frames that decode on their own."
    frame_duration: int
    "Timestamp step per frame, in ``clock_rate`` units."
    clock_rate: int
    mime_type: str
    "Codec the frames are encoded with: ``video/VP8``, ``video/H264`` or ``audio/opus``."

    def __post_init__(self) -> None:
        if not self.frames or 0 not in self.keyframes:
            raise ValueError("a clip needs frames and must start with a keyframe")
        if "/" not in self.mime_type:
            raise ValueError(f"mime type must be kind/name, got {self.mime_type!r}")

    @property
    def bitrate(self) -> float:
        """Average bits per second of the clip."""
        seconds = len(self.frames) * self.frame_duration / self.clock_rate
        return sum(len(f) for f in self.frames) * 8 / seconds


_NOISE_LEVELS = bytes(96 + (value & 31) for value in range(256))
"""Maps random bytes onto faint grey noise, like a camera sensor's."""


def _pattern_plane(width: int, height: int, index: int, noise_rows: int = 0) -> bytes:
    """A luma plane with moving bars, so every picture differs from the last.

    ``noise_rows`` rows at the bottom carry fresh noise in every picture:
    H.264's motion search predicts the bars almost for free, and without
    the noise its bitrate would be far below a real camera's.
    """
    row = bytes(((x + 4 * index) * 255 // width) % 256 for x in range(width))
    band = height // 8
    lines = []
    for y in range(height - noise_rows):
        if (y // band) % 2 == (index // 15) % 2:
            lines.append(row)
        else:
            lines.append(bytes(255 - v for v in row))
    if noise_rows:
        noise = random.Random(index).randbytes(width * noise_rows)
        lines.append(noise.translate(_NOISE_LEVELS))
    return b"".join(lines)


def _encode_pattern(
    codec: av.video.codeccontext.VideoCodecContext,
    mime_type: str,
    fps: int,
    seconds: float,
    keyframe_every: int,
    noise_rows: int = 0,
) -> EncodedClip:
    """Feed the test pattern through a configured encoder and keep its frames."""
    width, height = codec.width, codec.height
    frames: list[bytes] = []
    keyframes: list[int] = []
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    count = round(fps * seconds)
    for index in range(count):
        frame = av.VideoFrame(width, height, "yuv420p")
        frame.planes[0].update(_pattern_plane(width, height, index, noise_rows))
        frame.planes[1].update(chroma)
        frame.planes[2].update(chroma)
        frame.pts = index
        frame.time_base = codec.time_base
        if index % keyframe_every == 0:
            frame.pict_type = av.video.frame.PictureType.I
        for packet in codec.encode(frame):
            if packet.is_keyframe:
                keyframes.append(len(frames))
            frames.append(bytes(packet))
    for packet in codec.encode(None):
        if packet.is_keyframe:
            keyframes.append(len(frames))
        frames.append(bytes(packet))
    return EncodedClip(tuple(frames), tuple(keyframes), VIDEO_CLOCK // fps, VIDEO_CLOCK, mime_type)


def _video_encoder(
    name: str, width: int, height: int, fps: int, bitrate: int, keyframe_every: int
) -> av.video.codeccontext.VideoCodecContext:
    codec = av.CodecContext.create(name, "w")
    assert isinstance(codec, av.video.codeccontext.VideoCodecContext)
    codec.width = width
    codec.height = height
    codec.pix_fmt = "yuv420p"
    codec.bit_rate = bitrate
    codec.time_base = Fraction(1, fps)
    codec.framerate = Fraction(fps, 1)
    codec.gop_size = keyframe_every
    return codec


@functools.lru_cache(maxsize=8)
def vp8_test_pattern_clip(
    width: int = 640,
    height: int = 480,
    fps: int = 30,
    seconds: float = 3.0,
    bitrate: int = 500_000,
    keyframe_every: int = 30,
) -> EncodedClip:
    """Encode a VP8 test pattern once; later calls return the cached clip."""
    codec = _video_encoder("libvpx", width, height, fps, bitrate, keyframe_every)
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    return _encode_pattern(codec, "video/VP8", fps, seconds, keyframe_every)


@functools.lru_cache(maxsize=8)
def h264_test_pattern_clip(
    width: int = 640,
    height: int = 480,
    fps: int = 30,
    seconds: float = 3.0,
    bitrate: int = 500_000,
    keyframe_every: int = 30,
) -> EncodedClip:
    """Encode an H.264 test pattern once, as browsers send it; later calls use the cache.

    Constrained baseline (no B-frames), one slice per picture, SPS and PPS
    repeated before every IDR, Annex-B: what aiortc and browsers negotiate
    as ``packetization-mode=1``.  Keyframes are IDR pictures only.
    """
    codec = _video_encoder("libx264", width, height, fps, bitrate, keyframe_every)
    codec.profile = "Baseline"
    codec.options = {
        "preset": "veryfast",
        "tune": "zerolatency",
        "level": "31",
        "forced-idr": "1",
        "threads": "1",
        "x264-params": f"keyint={keyframe_every}:scenecut=0:repeat-headers=1",
    }
    return _encode_pattern(codec, "video/H264", fps, seconds, keyframe_every, height // 30)


@functools.lru_cache(maxsize=4)
def opus_tone_clip(frequency: float = 440.0, seconds: float = 2.0) -> EncodedClip:
    """Encode a sine tone as 20 ms Opus packets once; later calls return the cache."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = AUDIO_CLOCK
    codec.layout = "stereo"
    codec.format = "s16"
    codec.bit_rate = 32000
    codec.time_base = Fraction(1, AUDIO_CLOCK)
    samples = 960
    frames: list[bytes] = []
    total = round(seconds * AUDIO_CLOCK / samples)
    for index in range(total):
        pcm = bytearray()
        for n in range(samples):
            t = (index * samples + n) / AUDIO_CLOCK
            value = int(8000 * math.sin(2 * math.pi * frequency * t))
            sample = value.to_bytes(2, "little", signed=True)
            pcm += sample + sample
        frame = av.AudioFrame(format="s16", layout="stereo", samples=samples)
        frame.planes[0].update(bytes(pcm))
        frame.sample_rate = AUDIO_CLOCK
        frame.pts = index * samples
        frame.time_base = codec.time_base
        frames.extend(bytes(p) for p in codec.encode(frame))
    frames.extend(bytes(p) for p in codec.encode(None))
    return EncodedClip(tuple(frames), tuple(range(len(frames))), samples, AUDIO_CLOCK, "audio/opus")


class _PacedClipTrack(MediaStreamTrack):
    """Loops a clip as ``av.Packet`` at real-time pace (aiortc's sender does not pace)."""

    def __init__(self, clip: EncodedClip) -> None:
        super().__init__()
        self.__clip = clip
        self.__time_base = Fraction(1, clip.clock_rate)
        self.__period = clip.frame_duration / clip.clock_rate
        self.__start: float | None = None
        self.__sent = 0
        self.__position = 0
        self.__jump_to_keyframe = False
        self.keyframe_requests = 0
        "Keyframe requests (PLI/FIR) received from the far end."

    @property
    def clip(self) -> EncodedClip:
        return self.__clip

    @property
    def frames_sent(self) -> int:
        return self.__sent

    def request_keyframe(self) -> None:
        """Make the next frame a keyframe by jumping to the clip's next one."""
        self.keyframe_requests += 1
        self.__jump_to_keyframe = True

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self.__start is None:
            self.__start = now
        due = self.__start + self.__sent * self.__period
        if due > now:
            await asyncio.sleep(due - now)
        elif now - due > 1.0:  # fell far behind (suspended loop): do not burst
            self.__start = now - self.__sent * self.__period
        clip = self.__clip
        if self.__jump_to_keyframe:
            self.__jump_to_keyframe = False
            following = [k for k in clip.keyframes if k > self.__position]
            self.__position = following[0] if following else clip.keyframes[0]
        data = clip.frames[self.__position]
        self.__position = (self.__position + 1) % len(clip.frames)  # frame 0 is a keyframe
        packet = av.Packet(data)
        packet.pts = self.__sent * clip.frame_duration
        packet.time_base = self.__time_base
        self.__sent += 1
        return packet


class SyntheticVideoTrack(_PacedClipTrack):
    """A camera that sends a pre-encoded VP8 test pattern at 30 fps."""

    kind = "video"

    def __init__(self, clip: EncodedClip | None = None) -> None:
        super().__init__(clip or vp8_test_pattern_clip())


TONE_LEVEL = 15
"""RFC 6464 level of :func:`opus_tone_clip`'s tone (amplitude 8000: RMS -15 dBov)."""


class SyntheticAudioTrack(_PacedClipTrack):
    """A microphone that sends a pre-encoded Opus tone in 20 ms packets."""

    kind = "audio"

    def __init__(self, clip: EncodedClip | None = None, level: int | None = TONE_LEVEL) -> None:
        super().__init__(clip or opus_tone_clip())
        self.level = level
        """The audio level its packets report (0 loudest .. 127 silent; ``None``: no level
        extension), as a browser reports its microphone's: tests make a probe louder or
        quieter by changing it, without encoding anything."""


class ReceiveCounter:
    """Reads a received (decoded) track and counts what arrives.

    For video it also counts distinct pictures, because a frozen or black
    picture still decodes: tests must see pictures change.
    """

    def __init__(self, track: MediaStreamTrack) -> None:
        self.kind: str = track.kind
        self.frames = 0
        self.first_frame_at: float | None = None
        self.last_frame_at: float | None = None
        self.width: int | None = None
        self.height: int | None = None
        self.__pictures: set[bytes] = set()
        self.__track = track
        self.__started = asyncio.Event()
        self.__exited = asyncio.Event()
        self.__first_frame = asyncio.Event()
        self.__task = asyncio.get_running_loop().create_task(self.__run())

    @property
    def distinct_pictures(self) -> int:
        return len(self.__pictures)

    async def wait_first_frame(self, within: float) -> bool:
        """Wait up to ``within`` seconds for the first frame; whether it came."""
        try:
            await asyncio.wait_for(self.__first_frame.wait(), within)
        except TimeoutError:
            return False
        return True

    async def __run(self) -> None:
        self.__started.set()
        try:
            while True:
                frame = await self.__track.recv()
                now = time.monotonic()
                if self.first_frame_at is None:
                    self.first_frame_at = now
                    self.__first_frame.set()
                self.last_frame_at = now
                self.frames += 1
                if isinstance(frame, av.VideoFrame):
                    self.width, self.height = frame.width, frame.height
                    if len(self.__pictures) < 1000:
                        plane = memoryview(frame.planes[0])
                        middle = len(plane) // 2
                        sample = bytes(plane[middle : middle + 4096])
                        self.__pictures.add(hashlib.blake2b(sample, digest_size=8).digest())
        except (asyncio.CancelledError, MediaStreamError):
            pass
        finally:
            self.__exited.set()

    async def stop(self) -> None:
        await self.__started.wait()
        self.__task.cancel()
        await self.__exited.wait()


class EncodedFrameCounter:
    """Counts a received track's encoded frames without decoding them (load tests).

    Installed on the client's receiver through the same tap the server uses,
    so a load generator spends no CPU on decoding.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.frames = 0
        self.bytes = 0
        self.keyframes = 0
        "Frames that decode on their own (every audio frame counts)."
        self.mime_type: str | None = None
        "Codec of the last frame, as negotiated: what the server forwards."
        self.first_frame_at: float | None = None
        self.last_frame_at: float | None = None
        self.last_timestamp: int | None = None
        "RTP timestamp of the last frame (from 0): frames between two readings are the span."

    def on_frame(self, codec: RTCRtpCodecParameters, data: bytes, timestamp: int) -> None:
        now = time.monotonic()
        if self.first_frame_at is None:
            self.first_frame_at = now
        self.last_frame_at = now
        self.last_timestamp = timestamp
        self.frames += 1
        self.bytes += len(data)
        self.mime_type = codec.mimeType
        if is_keyframe(codec.name, data):
            self.keyframes += 1

    def on_end(self) -> None:
        """The receiver stopped; nothing to release."""

    async def stop(self) -> None:
        """Nothing runs in the background."""


class ProbeClient:
    """An aiortc participant: publishes synthetic mic/camera, counts what it receives.

    It speaks the room's protocol: an initial offer with a mid → source map,
    answers to server offers, which arrive with a mid → track map.
    """

    def __init__(
        self,
        participant_id: str,
        *,
        audio: bool = True,
        video: bool = True,
        video_clip: EncodedClip | None = None,
        decode: bool = True,
    ) -> None:
        self.participant_id = participant_id
        self.decode = decode
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        self.audio_track = SyntheticAudioTrack() if audio else None
        self.video_track = SyntheticVideoTrack(video_clip) if video else None
        self.screen_track: SyntheticVideoTrack | None = None
        self.screen_transceiver: RTCRtpTransceiver | None = None
        self.__video_clip = video_clip
        self.counters: dict[str, ReceiveCounter | EncodedFrameCounter] = {}
        "Receive counters by mid."
        self.tracks: dict[str, TrackKey | None] = {}
        "What the server said each received mid carries."
        self.__publish_mids: dict[str, Source] = {}
        self.pc.on("track", self.__on_track)

    async def create_offer(self) -> tuple[str, dict[str, Source]]:
        """The join offer and its mid → source map.

        A probe that publishes nothing offers one receive-only audio m-line,
        as a watching browser does: the connection needs one to come up.
        """
        sources: list[tuple[RTCRtpTransceiver, Source]] = []
        audio_track = self.audio_track
        if audio_track is not None:
            t = self.pc.addTransceiver(audio_track, direction="sendonly")
            internals.report_audio_level(t.sender, lambda: audio_track.level)
            sources.append((t, "microphone"))
        if self.video_track is not None:
            sources.append((self.__add_video(self.video_track), "camera"))
        if not sources:
            self.pc.addTransceiver("audio", direction="recvonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        # A load generator's process holds dozens of receivers: read whole backlogs per turn.
        internals.drain_datagrams_each_turn(self.pc)
        self.__publish_mids = {str(t.mid): source for t, source in sources}
        return self.pc.localDescription.sdp, dict(self.__publish_mids)

    async def accept_answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def share_screen(self, on: bool) -> tuple[str, dict[str, Source]]:
        """Start or stop publishing a screen track; returns the re-offer and its map."""
        if on:
            if self.screen_transceiver is None:
                self.screen_track = SyntheticVideoTrack(self.__video_clip)
                self.screen_transceiver = self.__add_video(self.screen_track)
            self.screen_transceiver.direction = "sendonly"
        elif self.screen_transceiver is not None:
            self.screen_transceiver.direction = "inactive"
        await self.pc.setLocalDescription(await self.pc.createOffer())
        if self.screen_transceiver is not None and self.screen_transceiver.mid is not None:
            if on:
                self.__publish_mids[self.screen_transceiver.mid] = "screen"
            else:
                self.__publish_mids.pop(self.screen_transceiver.mid, None)
        return self.pc.localDescription.sdp, dict(self.__publish_mids)

    async def handle_offer(self, sdp: str, tracks: Mapping[str, TrackKey | None]) -> str:
        """Apply a server offer and return the answer."""
        self.tracks.update(tracks)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return str(self.pc.localDescription.sdp)

    def counter(
        self, publisher: str, source: Source
    ) -> ReceiveCounter | EncodedFrameCounter | None:
        """The counter for a publisher's track, if the server sent it here."""
        for mid, key in self.tracks.items():
            if key == TrackKey(publisher, source) and mid in self.counters:
                return self.counters[mid]
        return None

    async def packets_received(self, publisher: str, source: Source) -> int:
        """RTP packets received for a publisher's track (from getStats)."""
        for transceiver in self.pc.getTransceivers():
            if transceiver.mid is not None and self.tracks.get(transceiver.mid) == TrackKey(
                publisher, source
            ):
                report = await transceiver.receiver.getStats()
                return sum(s.packetsReceived for s in report.values() if s.type == "inbound-rtp")
        return 0

    async def close(self) -> None:
        for counter in self.counters.values():
            await counter.stop()
        await internals.close_peer_connection(self.pc)

    def __add_video(self, track: SyntheticVideoTrack) -> RTCRtpTransceiver:
        """A sendonly m-line offering only the clip's codec: a probe cannot encode."""
        transceiver = self.pc.addTransceiver(track, direction="sendonly")
        wanted = (track.clip.mime_type.lower(), "video/rtx")
        codecs = RTCRtpSender.getCapabilities("video").codecs
        transceiver.setCodecPreferences([c for c in codecs if c.mimeType.lower() in wanted])
        internals.intercept_keyframe_requests(transceiver.sender, track.request_keyframe)
        return transceiver

    def __on_track(self, track: MediaStreamTrack) -> None:
        for transceiver in self.pc.getTransceivers():
            if transceiver.receiver.track is track and transceiver.mid is not None:
                if self.decode:
                    self.counters[transceiver.mid] = ReceiveCounter(track)
                else:
                    counter = EncodedFrameCounter(track.kind)
                    internals.install_frame_tap(
                        transceiver.receiver, counter.on_frame, counter.on_end
                    )
                    self.counters[transceiver.mid] = counter
