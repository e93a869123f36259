"""Compose a recording's segments into one file a browser plays: audio mix first, then video.

``composed/audio.m4a`` (AAC, every audio track mixed at 48 kHz) is written first because it
is quick; ``composed/hearing.mp4`` (H.264 grid of the visible participants, each tile named
with name and role, the active speaker framed, a screen share given the large tile, and the
same AAC mix remuxed from the audio file, not encoded twice) after. Both carry the case
metadata as tags and the chapters of the timeline. Each is written under ``.part`` and
renamed when whole, so a killed job never leaves a file that looks finished; progress goes
to ``composed/progress.json`` atomically.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from recorder.journal import read_journal
from recorder.layout import PART_SUFFIX, RecordingPaths
from recorder.manifest import write_atomically
from recorder.timeline import PlacedSegment, Timeline, TrackInfo, build_timeline

__all__ = [
    "AUDIO_RATE",
    "CompositionSettings",
    "compose_recording",
    "read_progress",
    "write_progress",
]

AUDIO_RATE = 48_000
_CHUNK = AUDIO_RATE * 5
_BACKGROUND = (24, 26, 30)
_EMPHASIS = (255, 196, 0)
_LABEL_HEIGHT = 28
_FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
)

_ROLE_NAMES = {
    "presiding_judge": "Thẩm phán chủ tọa",
    "judge": "Thẩm phán",
    "peoples_assessor": "Hội thẩm nhân dân",
    "clerk": "Thư ký",
    "procurator": "Kiểm sát viên",
    "defendant": "Bị cáo",
    "victim": "Bị hại",
    "plaintiff": "Nguyên đơn",
    "civil_defendant": "Bị đơn",
    "related_party": "Người có quyền lợi, nghĩa vụ liên quan",
    "defence_counsel": "Người bào chữa",
    "witness": "Người làm chứng",
    "interpreter": "Người phiên dịch",
    "expert": "Người giám định",
    "legal_representative": "Người đại diện",
    "observer": "Người dự khán",
    "court_it": "Kỹ thuật viên",
    "chair": "Chủ trì",
    "speaker": "Người phát biểu",
    "participant": "Người tham dự",
}

Pixels = NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class CompositionSettings:
    width: int = 1280
    height: int = 720
    fps: int = 15
    preset: str = "veryfast"
    "libx264 preset: composition must run well ahead of real time on a small machine."
    crf: int = 26
    audio_bit_rate: int = 96_000


# ---------------------------------------------------------------------- progress


def write_progress(
    paths: RecordingPaths,
    state: str,
    percent: float,
    eta_seconds: float | None = None,
    error: str | None = None,
) -> None:
    document = {
        "state": state,
        "percent": round(percent, 1),
        "eta_seconds": None if eta_seconds is None else round(eta_seconds, 1),
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "error": error,
    }
    write_atomically(paths.composed_dir / "progress.json", json.dumps(document).encode())


def read_progress(paths: RecordingPaths) -> dict[str, Any] | None:
    try:
        loaded = json.loads((paths.composed_dir / "progress.json").read_bytes())
    except (FileNotFoundError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


class _Progress:
    """Percent over the two phases (audio counts for a tenth) and time left by the rate so far;
    written at most twice a second."""

    def __init__(self, paths: RecordingPaths) -> None:
        self.__paths = paths
        self.__started = time.monotonic()
        self.__written = 0.0

    def report(self, percent: float, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.__written < 0.5:
            return
        self.__written = now
        elapsed = now - self.__started
        eta = elapsed * (100 - percent) / percent if percent > 0 else None
        write_progress(self.__paths, "running", percent, eta)


# ---------------------------------------------------------------------- entry point


def compose_recording(
    paths: RecordingPaths, settings: CompositionSettings | None = None
) -> Timeline:
    """Compose ``paths`` into ``audio.m4a`` then ``hearing.mp4``; leftovers of a killed run
    (``.part`` files) are discarded first. Raises after writing ``failed`` progress."""
    settings = settings or CompositionSettings()
    paths.composed_dir.mkdir(parents=True, exist_ok=True)
    for leftover in paths.composed_dir.glob("*" + PART_SUFFIX):
        leftover.unlink()
    progress = _Progress(paths)
    progress.report(0.0, force=True)
    try:
        entries = list(read_journal(paths.journal))
        timeline = build_timeline(paths.root, entries)
        started = next(e for e in entries if e.type == "run_started")
        tags = _tags(dict(started.data.get("metadata") or {}), timeline)
        _finish(
            paths.composed_audio,
            lambda part: _write_audio(part, timeline, tags, settings, progress),
        )
        progress.report(10.0, force=True)
        audio = paths.composed_audio
        _finish(
            paths.composed_video,
            lambda part: _write_video(part, audio, timeline, tags, settings, progress),
        )
    except Exception as error:
        write_progress(paths, "failed", 0.0, None, f"{type(error).__name__}: {error}")
        raise
    write_progress(paths, "done", 100.0, 0.0)
    return timeline


def _finish(final: Path, write: Callable[[Path], None]) -> None:
    part = final.with_name(final.name + PART_SUFFIX)
    write(part)
    with open(part, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(part, final)


def _tags(metadata: Mapping[str, Any], timeline: Timeline) -> dict[str, str]:
    tags = {
        "court": str(metadata.get("court", "")),
        "case_number": str(metadata.get("case_number", "")),
        "case_type": str(metadata.get("case_type", "")),
        "hearing_id": str(metadata.get("hearing_id", "")),
        "presiding_judge": str(metadata.get("presiding_judge", "")),
        "start": timeline.origin.isoformat(),
        "end": timeline.end.isoformat(),
    }
    tags["title"] = f"{tags['case_number']} — {tags['court']}".strip(" —")
    tags["comment"] = "; ".join(f"{k}={v}" for k, v in tags.items() if k != "title")
    return tags


def _open_output(part: Path, tags: Mapping[str, str], timeline: Timeline) -> Any:
    container = av.open(
        str(part),
        "w",
        format="mp4",
        options={"movflags": "+faststart+use_metadata_tags"},
    )
    container.metadata.update(tags)
    chapters = list(timeline.chapters)
    millis = Fraction(1, 1000)
    container.set_chapters(
        [
            {
                "id": index + 1,
                "start": round(chapter.start * 1000),
                "end": round(
                    (chapters[index + 1].start if index + 1 < len(chapters) else timeline.duration)
                    * 1000
                ),
                "time_base": millis,
                "metadata": {"title": chapter.title},
            }
            for index, chapter in enumerate(chapters)
        ]
    )
    return container


# ---------------------------------------------------------------------- audio


def _out_start(timeline: Timeline, segment: PlacedSegment) -> float:
    return timeline.clamped(segment.start)


def _segment_samples(
    segment: PlacedSegment, timeline: Timeline
) -> Iterator[tuple[int, NDArray[np.float32]]]:
    """(composed sample index, mono float samples) of one audio segment, pauses dropped."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
    position = 0
    with av.open(str(segment.path)) as container:
        if not container.streams.audio:
            return
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                samples = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                at = segment.start + position / AUDIO_RATE
                position += samples.size
                cut = timeline.cut(at)
                if cut is not None:
                    yield round(cut * AUDIO_RATE), samples


def _mixed_chunks(timeline: Timeline, total: int) -> Iterator[NDArray[np.float32]]:
    """The mix in chunks, in order: segments are added by start time, and a chunk is final
    once the next segment starts after it (memory stays a few chunks, not the hearing)."""
    audio = sorted(
        (s for s in timeline.segments if _kind(timeline, s) == "audio"),
        key=lambda s: _out_start(timeline, s),
    )
    pending: dict[int, NDArray[np.float32]] = {}
    emitted = 0
    chunks = max(1, math.ceil(total / _CHUNK))

    def chunk(index: int) -> NDArray[np.float32]:
        if index not in pending:
            pending[index] = np.zeros(_CHUNK, dtype=np.float32)
        return pending[index]

    for position, segment in enumerate(audio):
        for index, samples in _segment_samples(segment, timeline):
            offset = index
            data = samples
            while data.size and offset < total:
                number, within = divmod(offset, _CHUNK)
                take = min(data.size, _CHUNK - within, total - offset)
                chunk(number)[within : within + take] += data[:take]
                data = data[take:]
                offset += take
        final_before = chunks
        if position + 1 < len(audio):
            following = _out_start(timeline, audio[position + 1])
            final_before = min(chunks, int(following * AUDIO_RATE) // _CHUNK)
        while emitted < final_before:
            yield chunk(emitted)
            del pending[emitted]
            emitted += 1
    while emitted < chunks:
        yield chunk(emitted)
        del pending[emitted]
        emitted += 1


def _kind(timeline: Timeline, segment: PlacedSegment) -> str:
    track = timeline.tracks.get(segment.track_id)
    return "" if track is None else track.kind


def _write_audio(
    part: Path,
    timeline: Timeline,
    tags: Mapping[str, str],
    settings: CompositionSettings,
    progress: _Progress,
) -> None:
    total = round(timeline.duration * AUDIO_RATE)
    with _open_output(part, tags, timeline) as container:
        stream = container.add_stream("aac", rate=AUDIO_RATE, layout="mono")
        stream.bit_rate = settings.audio_bit_rate
        written = 0
        for mixed in _mixed_chunks(timeline, total):
            length = min(mixed.size, total - written)
            if length <= 0:
                break
            clipped = np.clip(mixed[:length], -1.0, 1.0).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(clipped, format="flt", layout="mono")
            frame.sample_rate = AUDIO_RATE
            frame.pts = written
            frame.time_base = Fraction(1, AUDIO_RATE)
            container.mux(stream.encode(frame))
            written += length
            progress.report(10.0 * written / max(1, total))
        container.mux(stream.encode(None))


# ---------------------------------------------------------------------- video


@dataclass(frozen=True, slots=True)
class _Rect:
    x: int
    y: int
    w: int
    h: int


def grid(count: int, width: int, height: int, screen: bool = False) -> list[_Rect]:
    """Tiles for ``count`` pictures: 1, 2 side by side, 2x2, 3x2, 3x3, …; with a screen share
    the first picture takes three quarters of the width and the rest stack beside it."""
    if count <= 0:
        return []
    if screen and count > 1:
        main = width * 3 // 4
        side = count - 1
        tile_h = height // side // 2 * 2
        return [_Rect(0, 0, main, height)] + [
            _Rect(main, i * tile_h, width - main, tile_h) for i in range(side)
        ]
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    tile_w, tile_h = width // columns // 2 * 2, height // rows // 2 * 2
    return [
        _Rect((i % columns) * tile_w, (i // columns) * tile_h, tile_w, tile_h) for i in range(count)
    ]


class _Cursor:
    """One video track's decoded frames in composed time, across its segments in order."""

    def __init__(self, timeline: Timeline, segments: list[PlacedSegment]) -> None:
        self.__timeline = timeline
        self.__frames = self.__decode(segments)
        self.__next: tuple[float, av.VideoFrame] | None = next(self.__frames, None)
        self.current: av.VideoFrame | None = None
        self.spans = [
            (_out_start(timeline, s), _out_start(timeline, s) + (s.end - s.start)) for s in segments
        ]

    def __decode(self, segments: list[PlacedSegment]) -> Iterator[tuple[float, av.VideoFrame]]:
        for segment in segments:
            with av.open(str(segment.path)) as container:
                if not container.streams.video:
                    continue
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                first: float | None = None
                for frame in container.decode(stream):
                    if frame.time is None:
                        continue
                    first = frame.time if first is None else first
                    cut = self.__timeline.cut(segment.start + frame.time - first)
                    if cut is not None:
                        yield cut, frame

    def visible(self, at: float, slack: float) -> bool:
        return any(start <= at <= end + slack for start, end in self.spans)

    def advance(self, at: float) -> av.VideoFrame | None:
        while self.__next is not None and self.__next[0] <= at:
            self.current = self.__next[1]
            self.__next = next(self.__frames, None)
        return self.current


Planes = tuple[Pixels, Pixels, Pixels]
"""A picture as its Y, U and V planes (4:2:0): composed in the encoder's own format, so no
full-frame colour conversion is paid per output frame."""


def _split(flat: NDArray[Any], width: int, height: int) -> Planes:
    data = flat.reshape(-1).astype(np.uint8, copy=False)
    luma = width * height
    chroma = luma // 4
    return (
        data[:luma].reshape(height, width),
        data[luma : luma + chroma].reshape(height // 2, width // 2),
        data[luma + chroma : luma + 2 * chroma].reshape(height // 2, width // 2),
    )


def _to_planes(rgb: Pixels) -> Planes:
    height, width = rgb.shape[:2]
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    return _split(frame.reformat(format="yuv420p").to_ndarray(), width, height)


def _solid(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    y, u, v = _to_planes(np.full((2, 2, 3), colour, dtype=np.uint8))
    return int(y[0, 0]), int(u[0, 0]), int(v[0, 0])


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.planes: Planes = (
            np.empty((height, width), dtype=np.uint8),
            np.empty((height // 2, width // 2), dtype=np.uint8),
            np.empty((height // 2, width // 2), dtype=np.uint8),
        )

    def fill(self, yuv: tuple[int, int, int], x: int, y: int, w: int, h: int) -> None:
        for index, (plane, value) in enumerate(zip(self.planes, yuv, strict=True)):
            d = 1 if index == 0 else 2
            plane[y // d : (y + h) // d, x // d : (x + w) // d] = value

    def put(self, picture: Planes, x: int, y: int) -> None:
        for index, (plane, part) in enumerate(zip(self.planes, picture, strict=True)):
            d = 1 if index == 0 else 2
            h, w = part.shape
            plane[y // d : y // d + h, x // d : x // d + w] = part

    def frame(self) -> av.VideoFrame:
        flat = np.concatenate([p.reshape(-1) for p in self.planes])
        return av.VideoFrame.from_ndarray(flat.reshape(-1, self.width), format="yuv420p")


class _Labels:
    """Name and role bars, drawn once per track and width with Pillow."""

    def __init__(self) -> None:
        self.__cache: dict[tuple[str, int], Planes] = {}
        self.__font = _font(18)

    def bar(self, track: TrackInfo, width: int) -> Planes:
        key = (track.track_id, width)
        if key not in self.__cache:
            image = Image.new("RGB", (width, _LABEL_HEIGHT), (0, 0, 0))
            draw = ImageDraw.Draw(image)
            role = _ROLE_NAMES.get(track.role, track.role.replace("_", " "))
            text = f"{track.name} · {role}"
            if track.source == "screen":
                text += " · Chia sẻ màn hình"
            draw.text((8, 4), text, fill=(255, 255, 255), font=self.__font)
            self.__cache[key] = _to_planes(np.asarray(image, dtype=np.uint8))
        return self.__cache[key]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONT_PATHS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def _paste(canvas: _Canvas, frame: av.VideoFrame, rect: _Rect) -> None:
    """The picture fitted into ``rect`` keeping its shape, centred."""
    scale = min(rect.w / frame.width, rect.h / frame.height)
    w = max(2, int(frame.width * scale) // 2 * 2)
    h = max(2, int(frame.height * scale) // 2 * 2)
    picture = frame.reformat(
        width=w, height=h, format="yuv420p", interpolation="FAST_BILINEAR"
    ).to_ndarray()
    x = (rect.x + (rect.w - w) // 2) // 2 * 2
    y = (rect.y + (rect.h - h) // 2) // 2 * 2
    canvas.put(_split(picture, w, h), x, y)


def _frame_border(
    canvas: _Canvas, rect: _Rect, colour: tuple[int, int, int], thickness: int = 4
) -> None:
    canvas.fill(colour, rect.x, rect.y, rect.w, thickness)
    canvas.fill(colour, rect.x, rect.y + rect.h - thickness, rect.w, thickness)
    canvas.fill(colour, rect.x, rect.y, thickness, rect.h)
    canvas.fill(colour, rect.x + rect.w - thickness, rect.y, thickness, rect.h)


def _write_video(
    part: Path,
    audio_file: Path,
    timeline: Timeline,
    tags: Mapping[str, str],
    settings: CompositionSettings,
    progress: _Progress,
) -> None:
    videos = [t for t in timeline.tracks.values() if t.kind == "video"]
    cursors = {t.track_id: _Cursor(timeline, timeline.segments_of(t.track_id)) for t in videos}
    labels = _Labels()
    rate = settings.fps
    frames = max(1, round(timeline.duration * rate))
    slack = 2.0 / rate
    canvas = _Canvas(settings.width, settings.height)
    background, emphasis = _solid(_BACKGROUND), _solid(_EMPHASIS)
    with av.open(str(audio_file)) as audio_in, _open_output(part, tags, timeline) as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = settings.width, settings.height, "yuv420p"
        stream.options = {"preset": settings.preset, "crf": str(settings.crf)}
        audio_out = container.add_stream_from_template(audio_in.streams.audio[0])
        audio_packets = (p for p in audio_in.demux(audio=0) if p.dts is not None)
        waiting = next(audio_packets, None)
        for index in range(frames):
            at = index / rate
            canvas.fill(background, 0, 0, settings.width, settings.height)
            shown = [t for t in videos if cursors[t.track_id].visible(at, slack)]
            screen = [t for t in shown if t.source == "screen"]
            ordered = screen[:1] + [t for t in shown if t not in screen[:1]]
            speaker = timeline.speaker_at(at)
            tiles = grid(len(ordered), settings.width, settings.height, bool(screen))
            for track, rect in zip(ordered, tiles, strict=True):
                picture = cursors[track.track_id].advance(at)
                if picture is not None:
                    _paste(canvas, picture, rect)
                bar = labels.bar(track, rect.w)
                top = rect.y + rect.h - _LABEL_HEIGHT
                canvas.put(bar, rect.x, top)
                if speaker is not None and track.participant_id == speaker and not screen:
                    _frame_border(canvas, rect, emphasis)
            frame = canvas.frame()
            frame.pts = index
            frame.time_base = Fraction(1, rate)
            container.mux(stream.encode(frame))
            while waiting is not None and float((waiting.dts or 0) * waiting.time_base) <= at + 0.5:
                waiting.stream = audio_out
                container.mux(waiting)
                waiting = next(audio_packets, None)
            progress.report(10.0 + 90.0 * (index + 1) / frames)
        container.mux(stream.encode(None))
        while waiting is not None:
            waiting.stream = audio_out
            container.mux(waiting)
            waiting = next(audio_packets, None)
