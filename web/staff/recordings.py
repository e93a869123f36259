"""The staff pages of recordings: the list searched by case number, and one recording played
with its chapters beside it, its verification, its files and its composition progress."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from hearing_server.persistence.repositories import RecordingFilter
from hearing_server.recordings import files_of
from recorder.clock import RecordingClock
from recorder.journal import JournalEntry
from recorder.signing import ServerKey
from rooms.errors import InvalidInput
from rooms.minutes import Minutes
from rooms.recordings import Recording, RecordingStatus
from rooms.roles import Role
from rooms.text import Text
from web.i18n import locale_of
from web.keys import RECORDINGS, SERVICE, SETTINGS, VERIFICATIONS
from web.staff.auth import staff_page
from web.staff.layout import StaffLogin, in_language, see_other, staff_render

COMPOSED = "composed/hearing.mp4"

_EVENTS: dict[str, Text] = {
    "run_started": Text("Bắt đầu ghi", "Recording started"),
    "recording_paused": Text("Tạm ngừng ghi", "Recording paused"),
    "recording_resumed": Text("Tiếp tục ghi", "Recording resumed"),
    "track_started": Text("Bắt đầu hình/tiếng", "Track started"),
    "track_stopped": Text("Dừng hình/tiếng", "Track stopped"),
    "session_event": Text("Diễn biến phiên", "Session event"),
    "capture_failed": Text("Lỗi ghi", "Capture failed"),
    "capture_resumed": Text("Ghi lại được", "Capture resumed"),
    "segment_lost": Text("Mất một đoạn", "Segment lost"),
    "recording_stopped": Text("Kết thúc ghi", "Recording stopped"),
}
"""Timeline entries a person reads; segment closings and sender reports are for machines."""


@dataclass(frozen=True, slots=True)
class Chapter:
    at: datetime
    offset: float
    "Seconds into the composed video, where pauses are cut out."
    label: str
    detail: str


def chapters(timeline: list[dict[str, Any]], lang: str) -> list[Chapter]:
    """Each event a person reads, placed on the composed video's clock."""
    entries = [JournalEntry.from_line(json.dumps(e)) for e in timeline]
    clock = RecordingClock.of(entries)
    if clock is None:
        return []
    found = []
    for entry in entries:
        text = _EVENTS.get(entry.type)
        offset = clock.offset(entry.at)
        if text is None or offset is None:
            continue
        label = text.vi if lang == "vi" else text.en
        found.append(Chapter(entry.at, offset, label, _detail(entry, lang)))
    return found


def minutes_moments(
    minutes: Minutes | None, timeline: list[dict[str, Any]], lang: str
) -> list[Chapter]:
    """The minutes' entries that fall within the recording, each a moment to play from."""
    if minutes is None:
        return []
    clock = RecordingClock.of(JournalEntry.from_line(json.dumps(e)) for e in timeline)
    if clock is None:
        return []
    found = []
    for entry in minutes.entries:
        offset = clock.offset(entry.at)
        if offset is not None:
            line = entry.line.vi if lang == "vi" else entry.line.en
            found.append(Chapter(entry.at, offset, line, entry.body))
    return found


_ROLES = frozenset(role.value for role in Role)
_SOURCES: dict[str, Text] = {
    "camera": Text("camera", "camera"),
    "microphone": Text("micro", "microphone"),
    "screen": Text("chia sẻ màn hình", "screen share"),
}


def _detail(entry: JournalEntry, lang: str) -> str:
    data = entry.data
    if entry.type == "track_started":
        role = str(data.get("role", ""))
        source = str(data.get("source", ""))
        words = [Role(role).label if role in _ROLES else None, _SOURCES.get(source)]
        role_name, source_name = (
            (w.vi if lang == "vi" else w.en) if w else raw
            for w, raw in zip(words, (role, source), strict=True)
        )
        return f"{data.get('name', '')} · {role_name} · {source_name}"
    if entry.type == "session_event":
        return str(data.get("event", ""))
    return str(data.get("reason") or data.get("error") or data.get("track") or "")


@staff_page
async def recordings_list(request: web.Request, login: StaffLogin) -> web.StreamResponse:
    case_number = request.query.get("case_number", "").strip()[:100]
    found = await request.app[RECORDINGS].search(
        login.actor, RecordingFilter(case_number=case_number or None, limit=200)
    )
    return await staff_render(
        request,
        login,
        "staff/recordings.html",
        section="recordings",
        case_number=case_number,
        recordings=found,
        states={status: in_language(request, text) for status, text in _STATES.items()},
    )


@staff_page
async def recording_page(request: web.Request, login: StaffLogin) -> web.StreamResponse:
    catalog = request.app[RECORDINGS]
    recording = await catalog.get(login.actor, request.match_info["recording_id"])
    paths = catalog.paths_of(recording)
    video = None
    if paths.composed_video.is_file():
        link = await catalog.download_link(login.actor, recording.id, COMPOSED)
        video = f"/api/v1/recordings/files?{urlencode({'token': link.token})}"
    key = ServerKey.load_or_create(request.app[SETTINGS].data_dir)
    verification = await asyncio.to_thread(
        request.app[VERIFICATIONS].verify, paths, key.public_key_pem
    )
    try:
        manifest = json.loads(paths.manifest.read_bytes())
    except (FileNotFoundError, ValueError):
        manifest = {}
    timeline = list(manifest.get("timeline", []))
    return await staff_render(
        request,
        login,
        "staff/recording.html",
        section="recordings",
        recording=recording,
        composing=recording.status is RecordingStatus.COMPOSING,
        video=video,
        chapters=chapters(timeline, locale_of(request)),
        minutes=minutes_moments(
            await _minutes_of(request, recording), timeline, locale_of(request)
        ),
        metadata=manifest.get("metadata", {}),
        participants=[
            {**p, "role": _role_name(request, str(p.get("role", "")))}
            for p in manifest.get("participants", [])
        ],
        verification=verification,
        problems={kind: in_language(request, text) for kind, text in PROBLEMS.items()},
        files=files_of(paths),
        state=in_language(request, _STATES[recording.status]),
    )


async def _minutes_of(request: web.Request, recording: Recording) -> Minutes | None:
    """A hearing's minutes; a meeting has none."""
    try:
        return await request.app[SERVICE].minutes(recording.session_id)
    except InvalidInput:
        return None


def _role_name(request: web.Request, role: str) -> str:
    """The role's name in the page's language; a role this server does not know, as it is."""
    try:
        return in_language(request, Role(role).label)
    except ValueError:
        return role


PROBLEMS: dict[str, Text] = {
    "changed": Text("Tệp đã bị thay đổi", "File changed"),
    "missing": Text("Thiếu tệp", "File missing"),
    "extra": Text("Tệp không có trong danh mục", "File not in the manifest"),
    "reordered": Text("Tệp bị đổi chỗ", "File in another file's place"),
    "chain_broken": Text("Chuỗi băm bị đứt", "Hash chain broken"),
    "manifest_missing": Text("Thiếu danh mục tệp", "Manifest missing"),
    "manifest_unreadable": Text("Không đọc được danh mục tệp", "Manifest unreadable"),
    "signature_missing": Text("Thiếu chữ ký của máy chủ", "Server signature missing"),
    "signature_invalid": Text("Chữ ký của máy chủ không khớp", "Server signature invalid"),
    "cms_invalid": Text("Chữ ký của Tòa án không khớp", "Court signature invalid"),
}
"""What a failed verification found, as the page says it (the CLI prints the codes)."""

_STATES = {
    RecordingStatus.RECORDING: Text("Đang ghi", "Recording"),
    RecordingStatus.COMPOSING: Text("Đang dựng tệp", "Composing"),
    RecordingStatus.READY: Text("Sẵn sàng", "Ready"),
    RecordingStatus.FAILED: Text("Dựng tệp thất bại", "Composition failed"),
}


@staff_page
async def download(request: web.Request, login: StaffLogin) -> web.StreamResponse:
    """A click on a file: a fresh short-lived link, issued (and audited) for this click."""
    link = await request.app[RECORDINGS].download_link(
        login.actor, request.match_info["recording_id"], request.query.get("file", "")
    )
    return see_other(f"/api/v1/recordings/files?{urlencode({'token': link.token})}")


def add_recording_routes(app: web.Application) -> None:
    app.router.add_get("/staff/recordings", recordings_list, name="staff_recordings")
    app.router.add_get("/staff/recordings/{recording_id}", recording_page, name="staff_recording")
    app.router.add_get("/staff/recordings/{recording_id}/download", download)
