"""The recordings catalogue: what the server knows of each recording on its disk, who may see
it, short-lived download links, legal holds and retention.

The files (``recorder.layout``) are the evidence; the ``recordings`` row is how a court finds
them by case number, court, date and hearing. A row is written when the capture opens a
recording directory (:meth:`RecordingCatalog.register_recording`) and brought up to date from
the disk at start (:meth:`RecordingCatalog.reconcile`), so a crash between the two loses
nothing. Every read of a recording and every change is audited.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from hearing_server.persistence.database import UnitOfWork
from hearing_server.persistence.repositories import RecordingFilter
from hearing_server.services import HearingService
from recorder.journal import read_journal
from recorder.layout import PART_SUFFIX, RecordingPaths, is_part
from rooms.errors import InvalidInput, NotFound, PermissionDenied
from rooms.ids import CourtId, SessionId
from rooms.participants import Actor
from rooms.permissions import (
    StaffAction,
    court_scope,
    ensure_staff_may_in_court,
)
from rooms.recordings import Recording, RecordingStatus, RetentionDecision, retention_decision
from rooms.text import Text

__all__ = [
    "DownloadLink",
    "DownloadLinks",
    "RecordingCatalog",
    "RecordingFile",
    "files_of",
    "media_type_of",
    "recording_from_disk",
]

log = logging.getLogger(__name__)

_NO_RECORDING = Text("Không có bản ghi này.", "There is no such recording.")
_PROGRESS_FILE = "progress.json"


def recording_from_disk(
    recordings_dir: Path, paths: RecordingPaths, court_id: CourtId
) -> Recording:
    """What the journal and the composed files say of a recording now."""
    entries = list(read_journal(paths.journal))
    started = next((e for e in entries if e.type == "run_started"), None)
    stopped = [e for e in entries if e.type == "recording_stopped"]
    metadata: Mapping[str, Any] = started.data.get("metadata", {}) if started else {}
    status, progress = _status(paths, stopped_at=stopped[-1].at if stopped else None)
    first_at = started.at if started else (entries[0].at if entries else None)
    if first_at is None:
        raise InvalidInput(
            "recording.no_journal",
            Text("Bản ghi chưa có nhật ký.", "The recording has no journal yet."),
        )
    return Recording(
        id=paths.recording_id,
        session_id=SessionId(paths.session_id),
        court_id=court_id,
        case_number=str(metadata.get("case_number", "")),
        case_type=str(metadata.get("case_type", "")),
        started_at=first_at,
        ended_at=stopped[-1].at if stopped else None,
        status=status,
        progress=progress,
        legal_hold=False,
        deleted_at=None,
        path=paths.root.relative_to(recordings_dir).as_posix(),
        manifest_sha256=(
            hashlib.sha256(paths.manifest.read_bytes()).hexdigest()
            if paths.manifest.is_file()
            else None
        ),
        size_bytes=sum(
            p.stat().st_size for p in paths.root.rglob("*") if p.is_file() and not is_part(p)
        ),
    )


def _status(
    paths: RecordingPaths, stopped_at: datetime | None
) -> tuple[RecordingStatus, float | None]:
    """Recording until the journal says it stopped; then composing, as the composition's
    progress file says, until the composed video is there."""
    if stopped_at is None:
        return RecordingStatus.RECORDING, None
    if paths.composed_video.is_file():
        return RecordingStatus.READY, None
    try:
        progress = json.loads((paths.composed_dir / _PROGRESS_FILE).read_bytes())
    except (FileNotFoundError, ValueError):
        return RecordingStatus.COMPOSING, 0.0
    if not isinstance(progress, dict):
        return RecordingStatus.COMPOSING, 0.0
    if progress.get("state") == "failed":
        return RecordingStatus.FAILED, None
    percent = progress.get("percent")
    return RecordingStatus.COMPOSING, float(percent) if isinstance(percent, int | float) else 0.0


@dataclass(frozen=True, slots=True)
class DownloadLink:
    recording_id: str
    file: str
    expires_at: datetime
    token: str


class DownloadLinks:
    """Links to one file of one recording that work for a few minutes without a login, so a
    ``<video>`` element (which sends no bearer token) can fetch and seek it."""

    def __init__(self, secret: str, ttl: timedelta = timedelta(minutes=10)) -> None:
        self._key = hashlib.sha256(b"recording-download\0" + secret.encode()).digest()
        self.ttl = ttl

    def issue(self, recording_id: str, file: str, now: datetime) -> DownloadLink:
        expires = int((now + self.ttl).timestamp())
        body = json.dumps([recording_id, file, expires], separators=(",", ":")).encode()
        token = _b64(body) + "." + _b64(self._mac(body))
        return DownloadLink(recording_id, file, datetime.fromtimestamp(expires, now.tzinfo), token)

    def check(self, token: str, now: datetime) -> tuple[str, str]:
        """The recording and file a token names; refused when forged or expired."""
        try:
            encoded, mac = token.split(".", 1)
            body = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            given = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
            recording_id, file, expires = json.loads(body)
        except (ValueError, TypeError) as error:
            raise _bad_link() from error
        if not hmac.compare_digest(given, self._mac(body)):
            raise _bad_link()
        if now.timestamp() >= float(expires):
            raise PermissionDenied(
                "recording.link_expired",
                Text("Đường dẫn tải đã hết hạn.", "The download link has expired."),
            )
        return str(recording_id), str(file)

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _bad_link() -> PermissionDenied:
    return PermissionDenied(
        "recording.link_invalid", Text("Đường dẫn tải không hợp lệ.", "Invalid download link.")
    )


class RecordingCatalog:
    """The recordings the server keeps, behind the permission table and the audit log."""

    def __init__(
        self,
        service: HearingService,
        recordings_dir: Path,
        links: DownloadLinks,
        retention_days: Mapping[str, int] | None = None,
    ) -> None:
        self.service = service
        self.recordings_dir = recordings_dir
        self.links = links
        self.retention_days = dict(retention_days or {})

    # ------------------------------------------------------------------ from the disk

    async def register_recording(self, paths: RecordingPaths) -> Recording:
        """The capture calls this when it opens a recording directory (and again when it
        stops); the row follows what the journal and the files say."""
        court_id = await self._court_of_session(SessionId(paths.session_id))
        if court_id is None:
            raise NotFound(
                "recording.no_session",
                Text(
                    "Bản ghi thuộc một phiên không có trên máy chủ này.",
                    "The recording belongs to a session this server does not have.",
                ),
            )
        recording = recording_from_disk(self.recordings_dir, paths, court_id)

        async def store(uow: UnitOfWork) -> Recording:
            await uow.recordings.put(recording)
            stored = await uow.recordings.get(recording.id)
            assert stored is not None
            return stored

        return await self.service.staff_work(
            Actor.system(),
            "recording.register",
            lambda: None,
            store,
            {"recording": recording.id, "case_number": recording.case_number},
        )

    async def reconcile(self) -> list[Recording]:
        """At start: every recording directory on disk has its row, up to date. A directory
        that cannot be registered (no journal yet, a session this server never had) is
        logged and left as it is: the files are never touched by the catalogue."""
        registered = []
        for paths in RecordingPaths.all_in(self.recordings_dir):
            try:
                registered.append(await self.register_recording(paths))
            except (NotFound, InvalidInput) as error:
                log.warning("recording %s not registered: %s", paths.root, error)
        return registered

    async def _court_of_session(self, session_id: SessionId) -> CourtId | None:
        async with self.service.database.unit_of_work() as uow:
            try:
                session = await uow.sessions.get(session_id)
            except NotFound:
                return None
            return session.court_id

    # ------------------------------------------------------------------ staff reads

    async def search(self, actor: Actor, query: RecordingFilter) -> list[Recording]:
        """Searches are kept to the reader's court unless they may see every court."""
        court = query.court_id if query.court_id is not None else court_scope(actor)
        query = replace(query, court_id=court)

        async def read(uow: UnitOfWork) -> list[Recording]:
            return await uow.recordings.find(query)

        return await self.service.staff_work(
            actor,
            "recording.search",
            lambda: ensure_staff_may_in_court(actor, StaffAction.VIEW_RECORDINGS, court),
            read,
            {"case_number": query.case_number or "", "court": court or ""},
            audit_accepted=False,
        )

    async def get(self, actor: Actor, recording_id: str) -> Recording:
        """One recording, its reading audited."""
        return await self._act(actor, recording_id, "recording.view", StaffAction.VIEW_RECORDINGS)

    def paths_of(self, recording: Recording) -> RecordingPaths:
        return RecordingPaths(self.recordings_dir / recording.path)

    async def download_link(self, actor: Actor, recording_id: str, file: str) -> DownloadLink:
        """A short-lived link to one closed file of the recording; issuing it is audited."""
        recording = await self._recording(recording_id)
        paths = self.paths_of(recording)
        _existing_file(paths, file)
        await self._act(
            actor,
            recording_id,
            "recording.download_link",
            StaffAction.VIEW_RECORDINGS,
            {"file": file},
        )
        return self.links.issue(recording_id, file, self.service.clock())

    async def open_link(self, token: str, client: str) -> tuple[Recording, Path]:
        """The file a download link names, for the one who holds it; every use is audited."""
        recording_id, file = self.links.check(token, self.service.clock())
        recording = await self._recording(recording_id)
        path = _existing_file(self.paths_of(recording), file)

        async def nothing(uow: UnitOfWork) -> None:
            return None

        await self.service.staff_work(
            Actor.system(),
            "recording.download",
            lambda: None,
            nothing,
            {"recording": recording_id, "file": file, "client": client},
        )
        return recording, path

    # ------------------------------------------------------------------ holds and retention

    async def set_legal_hold(self, actor: Actor, recording_id: str, hold: bool) -> Recording:
        async def change(uow: UnitOfWork) -> None:
            await uow.recordings.set_legal_hold(recording_id, hold)

        await self._act(
            actor,
            recording_id,
            "recording.legal_hold" if hold else "recording.legal_hold_lifted",
            StaffAction.HOLD_RECORDINGS,
            work=change,
        )
        return await self._recording(recording_id)

    async def retention_report(self, actor: Actor) -> list[RetentionDecision]:
        """What retention would delete now and why, and why everything else is kept."""
        court = court_scope(actor)

        async def read(uow: UnitOfWork) -> list[RetentionDecision]:
            now = self.service.clock()
            found = await uow.recordings.find(RecordingFilter(court_id=court, limit=100_000))
            return [retention_decision(r, self.retention_days, now) for r in found]

        return await self.service.staff_work(
            actor,
            "recording.retention_report",
            lambda: ensure_staff_may_in_court(actor, StaffAction.DELETE_RECORDINGS, court),
            read,
            audit_accepted=False,
        )

    async def apply_retention(self, actor: Actor) -> list[RetentionDecision]:
        """Delete what the report says may go: each deletion its own audited act, checked
        again at the moment of deleting (a hold placed meanwhile wins)."""
        deleted = []
        for decision in await self.retention_report(actor):
            if not decision.delete:
                continue
            outcome = await self._delete_if_due(actor, decision.recording_id)
            if outcome.delete:
                deleted.append(outcome)
        return deleted

    async def _delete_if_due(self, actor: Actor, recording_id: str) -> RetentionDecision:
        recording = await self._recording(recording_id)
        decided: list[RetentionDecision] = []

        async def delete(uow: UnitOfWork) -> None:
            current = await uow.recordings.get(recording_id)
            assert current is not None
            decision = retention_decision(current, self.retention_days, self.service.clock())
            decided.append(decision)
            if decision.delete:
                shutil.rmtree(self.paths_of(current).root, ignore_errors=True)
                await uow.recordings.mark_deleted(recording_id, self.service.clock())

        await self.service.staff_work(
            actor,
            "recording.delete",
            lambda: ensure_staff_may_in_court(
                actor, StaffAction.DELETE_RECORDINGS, recording.court_id
            ),
            delete,
            {"recording": recording_id, "case_number": recording.case_number, "why": "retention"},
        )
        return decided[0]

    # ------------------------------------------------------------------ shared

    async def _recording(self, recording_id: str) -> Recording:
        async with self.service.database.unit_of_work() as uow:
            found = await uow.recordings.get(recording_id)
        if found is None:
            raise NotFound("recording.not_found", _NO_RECORDING)
        return found

    async def _act(
        self,
        actor: Actor,
        recording_id: str,
        action: str,
        permission: StaffAction,
        detail: dict[str, Any] | None = None,
        work: Callable[[UnitOfWork], Any] | None = None,
    ) -> Recording:
        """Permission and court checked against the recording's court, then audited."""
        recording = await self._recording(recording_id)

        async def run(uow: UnitOfWork) -> None:
            if work is not None:
                await work(uow)

        await self.service.staff_work(
            actor,
            action,
            lambda: ensure_staff_may_in_court(actor, permission, recording.court_id),
            run,
            {"recording": recording_id, "case_number": recording.case_number, **(detail or {})},
        )
        return recording


@dataclass(frozen=True, slots=True)
class RecordingFile:
    file: str
    "Relative to the recording's directory."
    kind: str
    "segment, composed, journal or manifest."
    size: int


def files_of(paths: RecordingPaths) -> list[RecordingFile]:
    """Every closed file a staff member may download, composed files first."""
    found: list[tuple[str, Path]] = [
        ("composed", p) for p in (paths.composed_video, paths.composed_audio) if p.is_file()
    ]
    found += [("segment", p) for track in paths.tracks() for p in track.closed_segments()]
    found += [("journal", p) for p in (paths.journal,) if p.is_file()]
    found += [
        ("manifest", p)
        for p in (paths.manifest, paths.manifest_signature, paths.manifest_cms)
        if p.is_file()
    ]
    return [
        RecordingFile(p.relative_to(paths.root).as_posix(), kind, p.stat().st_size)
        for kind, p in found
    ]


_MEDIA_TYPES = {
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
    ".json": "application/json",
    ".jsonl": "application/x-ndjson",
    ".sig": "text/plain",
    ".p7s": "application/pkcs7-signature",
}


def media_type_of(path: Path) -> str:
    return _MEDIA_TYPES.get(path.suffix, "application/octet-stream")


def _existing_file(paths: RecordingPaths, file: str) -> Path:
    """A closed file inside the recording: never a ``.part``, never outside the tree."""
    relative = PurePosixPath(file)
    if relative.is_absolute() or ".." in relative.parts or file.endswith(PART_SUFFIX):
        raise NotFound("recording.no_file", _NO_FILE)
    path = paths.root / relative
    if not path.is_file():
        raise NotFound("recording.no_file", _NO_FILE)
    return path


_NO_FILE = Text("Bản ghi không có tệp này.", "The recording has no such file.")
