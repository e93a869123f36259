"""A hearing's case-file bundle for the case registry (QLTA has no interface: files it is).

One ZIP: ``index.json`` lists every other file with its SHA-256 and size, and names what is
too large to carry (a composed recording over ``export_recording_max_mb``) by its hash and
the address of its staff page; ``index.p7s`` is a detached CMS signature over the index by
the same signer as the minutes' PDF, whose certificate is ``signer.pem``. The files: the
signed minutes (DOCX and PDF), each recording's manifest with its signatures and its composed
file, the participants with their identity checks, and the hearing's audit extract.

Exporting needs ``StaffAction.EXPORT_CASE_FILE`` in the hearing's court, is refused while the
minutes are unsigned, and is audited with the bundle's hash. ``verify_bundle`` checks the
signature, every hash, and that nothing was added or left out.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography import x509

from hearing_server.document_signing import DocumentSigner, verify_detached, verify_pdf
from hearing_server.minutes_documents import MinutesDocuments, file_stem
from hearing_server.persistence.database import UnitOfWork
from hearing_server.persistence.repositories import RecordingFilter
from hearing_server.recordings import RecordingCatalog
from hearing_server.services import HearingService
from hearing_server.settings import Settings
from rooms.audit import SealedEntry
from rooms.events import IdentityVerified
from rooms.ids import ParticipantId, SessionId
from rooms.minutes import ensure_signed
from rooms.participants import Actor
from rooms.permissions import StaffAction, ensure_staff_may_in_court
from rooms.session import CourtSession

__all__ = [
    "BUNDLE_FORMAT",
    "BundleVerdict",
    "CaseFileExport",
    "ExportedBundle",
    "verify_bundle",
]

BUNDLE_FORMAT = "hearing-case-file/1"
INDEX = "index.json"
INDEX_SIGNATURE = "index.p7s"
SIGNER_CERTIFICATE = "signer.pem"
OUTSIDE_INDEX = frozenset({INDEX, INDEX_SIGNATURE})
CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class ExportedBundle:
    path: Path
    name: str
    sha256: str
    size: int


@dataclass(slots=True)
class _Member:
    """One file of the bundle: bytes in memory, or a file on disk copied as it is."""

    path: str
    kind: str
    data: bytes | None = None
    source: Path | None = None

    def digest(self) -> tuple[str, int]:
        if self.data is not None:
            return hashlib.sha256(self.data).hexdigest(), len(self.data)
        assert self.source is not None
        return _file_digest(self.source)


def _file_digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class CaseFileExport:
    def __init__(
        self,
        service: HearingService,
        settings: Settings,
        documents: MinutesDocuments,
        recordings: RecordingCatalog,
    ) -> None:
        self.service = service
        self.settings = settings
        self.documents = documents
        self.recordings = recordings

    async def export(self, actor: Actor, session_id: SessionId, out: Path) -> ExportedBundle:
        """Write the hearing's bundle to ``out``; a refusal writes nothing."""
        session = await self.service.session(actor, session_id)

        async def read_trail(uow: UnitOfWork) -> list[SealedEntry]:
            return await uow.audit.read(session.id)

        minutes = await self.service.minutes(session.id)

        def check() -> None:
            ensure_staff_may_in_court(actor, StaffAction.EXPORT_CASE_FILE, session.court_id)
            ensure_signed(minutes)

        trail = await self.service.staff_work(
            actor,
            "case_file.export",
            check,
            read_trail,
            {"case_number": session.case.number if session.case else ""},
            audit_accepted=False,
            session_id=session.id,
        )
        court = await self.service.court(Actor.system(), session.court_id)
        pdf = await self.documents.signed_pdf(actor, session, court.time_zone)
        docx = await self.documents.docx(session, court.time_zone)
        members = [
            _Member(f"minutes/{pdf.name}", "minutes_pdf", pdf.data),
            _Member(f"minutes/{docx.name}", "minutes_docx", docx.data),
            _Member("participants.json", "participants", _json(_participants(session, trail))),
            _Member("audit.jsonl", "audit_extract", _jsonl(_audit_rows(trail))),
        ]
        recordings = await self.recordings.search(
            Actor.system(), RecordingFilter(session_id=session.id)
        )
        links: list[dict[str, Any]] = []
        limit = self.settings.export_recording_max_mb * 1024 * 1024
        for recording in recordings:
            paths = self.recordings.paths_of(recording)
            base = f"recordings/{recording.id}"
            for kind, source in (
                ("recording_manifest", paths.manifest),
                ("recording_manifest_signature", paths.manifest_signature),
                ("recording_manifest_cms", paths.manifest_cms),
            ):
                if source.is_file():
                    members.append(_Member(f"{base}/{source.name}", kind, source=source))
            composed = paths.composed_video
            if not composed.is_file():
                continue
            if composed.stat().st_size <= limit:
                members.append(
                    _Member(f"{base}/{composed.name}", "recording_composed", None, composed)
                )
            else:
                sha, size = await asyncio.to_thread(_file_digest, composed)
                links.append(
                    {
                        "kind": "recording_composed",
                        "recording_id": recording.id,
                        "url": f"{self.settings.base_url}/staff/recordings/{recording.id}",
                        "file": composed.name,
                        "sha256": sha,
                        "size": size,
                    }
                )
        signer = await asyncio.to_thread(DocumentSigner.of, self.settings)
        members.append(_Member(SIGNER_CERTIFICATE, "signer_certificate", signer.certificate_pem))
        files = []
        for member in members:
            sha, size = await asyncio.to_thread(member.digest)
            files.append({"path": member.path, "kind": member.kind, "sha256": sha, "size": size})
        case = session.case
        index = {
            "format": BUNDLE_FORMAT,
            "generated_at": self.service.clock().astimezone(UTC).isoformat(),
            "court": {"id": court.id, "code": court.code, "name": court.name},
            "session": {
                "id": session.id,
                "state": session.state.value,
                "scheduled_start": session.scheduled_start.isoformat(),
                "closed_hearing": session.is_closed_hearing,
            },
            "case": None
            if case is None
            else {
                "number": case.number,
                "title": case.title,
                "type": case.case_type.value,
                "instance": case.instance.value,
            },
            "minutes": {"sha256": pdf.sha256, "file": f"minutes/{pdf.name}"},
            "signer": {"subject": signer.subject, "court_certificate": signer.is_court},
            "files": files,
            "links": links,
        }
        index_bytes = _json(index)
        signature = await signer.sign_detached(index_bytes)
        await asyncio.to_thread(_write_zip, out, index_bytes, signature, members)
        sha, size = await asyncio.to_thread(_file_digest, out)
        await self.service.audit_edge(
            actor,
            "case_file.export",
            session.id,
            "accepted",
            {
                "sha256": sha,
                "index_sha256": hashlib.sha256(index_bytes).hexdigest(),
                "files": len(files),
                "links": len(links),
            },
        )
        name = file_stem(session).replace("bien-ban-", "ho-so-", 1) + ".zip"
        return ExportedBundle(out, name, sha, size)

    async def export_to_temporary(self, actor: Actor, session_id: SessionId) -> ExportedBundle:
        """For a download: a file of its own under the data directory, removed by the caller
        once sent (a failed export removes it here)."""
        directory = self.settings.data_dir / "exports"
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="export-", suffix=".zip", dir=directory)
        os.close(fd)
        path = Path(name)
        try:
            return await self.export(actor, session_id, path)
        except BaseException:
            await asyncio.to_thread(path.unlink, missing_ok=True)
            raise


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8") + b"\n"


def _jsonl(rows: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(
        json.dumps(row, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n" for row in rows
    )


def _audit_rows(trail: list[SealedEntry]) -> list[dict[str, Any]]:
    """Each entry with its place in the server's hash chain, so the extract can be checked
    against the whole log (``hearing-server audit verify``)."""
    return [
        {
            "seq": sealed.seq,
            "at": sealed.entry.at.isoformat(),
            "actor": sealed.entry.actor,
            "action": sealed.entry.action,
            "outcome": sealed.entry.outcome,
            "rule": sealed.entry.rule,
            "detail": sealed.entry.detail,
            "previous_hash": sealed.previous_hash,
            "hash": sealed.hash,
        }
        for sealed in trail
    ]


def _participants(session: CourtSession, trail: list[SealedEntry]) -> list[dict[str, Any]]:
    """Who took part, from where, and each identity check the audit log holds for them."""
    checks: dict[str, list[dict[str, Any]]] = {}
    event_name = IdentityVerified(
        session_id=session.id, actor="", participant_id=ParticipantId("")
    ).name
    for sealed in trail:
        entry = sealed.entry
        events = entry.detail.get("events")
        target = entry.detail.get("participant_id")
        if entry.outcome == "accepted" and isinstance(events, list) and event_name in events:
            checks.setdefault(str(target), []).append(
                {"at": entry.at.isoformat(), "by": entry.actor, "audit_seq": sealed.seq}
            )
    return [
        {
            "id": person.id,
            "name": person.name,
            "role": person.role.value,
            "role_label": person.role.label.vi,
            "point": session.points[person.point_id].name,
            "state": person.state.value,
            "identity_verified": person.identity_verified,
            "identity_checks": checks.get(person.id, []),
        }
        for person in session.participants.values()
    ]


def _write_zip(out: Path, index: bytes, signature: bytes, members: list[_Member]) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(INDEX, index)
        bundle.writestr(INDEX_SIGNATURE, signature)
        for member in members:
            if member.data is not None:
                bundle.writestr(member.path, member.data)
            else:
                assert member.source is not None
                # an MP4 does not compress: stored as it is
                bundle.write(member.source, member.path, compress_type=zipfile.ZIP_STORED)


@dataclass(slots=True)
class BundleVerdict:
    signer: str = ""
    checked_files: int = 0
    problems: list[str] = field(default_factory=list)
    minutes_signer: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "signer": self.signer,
            "minutes_signer": self.minutes_signer,
            "checked_files": self.checked_files,
            "problems": self.problems,
        }


async def verify_bundle(path: Path, trusted: list[x509.Certificate]) -> BundleVerdict:
    """Every check a court can make of a bundle with nothing but the file and the
    certificates it trusts."""
    verdict = BundleVerdict()
    try:
        bundle = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        verdict.problems.append(f"not a ZIP file: {exc}")
        return verdict
    with bundle:
        names = set(bundle.namelist())
        if not {INDEX, INDEX_SIGNATURE} <= names:
            verdict.problems.append("index.json or index.p7s is missing")
            return verdict
        index_bytes = bundle.read(INDEX)
        signature = await verify_detached(index_bytes, bundle.read(INDEX_SIGNATURE), trusted)
        verdict.signer = signature.signer
        if not signature.ok:
            verdict.problems.append(f"index signature: {signature.problem}")
        try:
            index = json.loads(index_bytes)
            files = index["files"]
            listed = {str(f["path"]): f for f in files}
        except (ValueError, KeyError, TypeError) as exc:
            verdict.problems.append(f"index.json is not a bundle index: {exc}")
            return verdict
        if index.get("format") != BUNDLE_FORMAT:
            verdict.problems.append(f"unknown bundle format {index.get('format')!r}")
        for name in sorted(names - OUTSIDE_INDEX - set(listed)):
            verdict.problems.append(f"{name}: in the bundle but not in the index")
        for name, described in listed.items():
            if PurePosixPath(name).is_absolute() or ".." in PurePosixPath(name).parts:
                verdict.problems.append(f"{name}: not a path inside the bundle")
                continue
            if name not in names:
                verdict.problems.append(f"{name}: listed in the index but missing")
                continue
            sha, size = await asyncio.to_thread(_member_digest, bundle, name)
            if sha != described.get("sha256") or size != described.get("size"):
                verdict.problems.append(f"{name}: its SHA-256 does not match the index")
            verdict.checked_files += 1
        minutes = index.get("minutes", {}).get("file")
        if isinstance(minutes, str) and minutes in names:
            pdf = await verify_pdf(bundle.read(minutes), trusted)
            verdict.minutes_signer = pdf.signer
            if not pdf.ok:
                verdict.problems.append(f"{minutes}: {pdf.problem}")
    return verdict


def _member_digest(bundle: zipfile.ZipFile, name: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with bundle.open(name) as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
