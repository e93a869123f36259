"""The signed minutes as files: the DOCX, and the PDF signed (PAdES) by the court's
certificate or the server's key.

A PDF is made once for each version of the signed minutes and kept under the data directory,
so everyone who downloads that version gets the same bytes and the same hash; an amendment
makes a new version, hence a new PDF. Every hand-out is audited with the file's SHA-256.
Who may read is decided before this is called (the staff's court, or ``ensure_may_read``
for a participant); this module refuses only what no one may have: unsigned minutes.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from hearing_server.document_signing import DocumentSigner
from hearing_server.services import HearingService
from hearing_server.settings import Settings
from rooms.errors import DomainError
from rooms.minutes import Minutes, ensure_signed
from rooms.participants import Actor
from rooms.session import CourtSession
from web.minutes_docx import minutes_docx
from web.minutes_pdf import minutes_pdf

__all__ = ["MinutesDocuments", "MinutesFile", "file_stem"]

PDF_REASON = "Biên bản phiên tòa đã được Thẩm phán chủ tọa phiên tòa và Thư ký phiên tòa ký"


@dataclass(frozen=True, slots=True)
class MinutesFile:
    name: str
    data: bytes
    media_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


PDF_TYPE = "application/pdf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def file_stem(session: CourtSession) -> str:
    """``bien-ban-123-2026-HS-ST``: the case number, safe in a file name."""
    number = session.case.number if session.case else session.id
    return "bien-ban-" + "".join(c if c.isalnum() else "-" for c in number)


class MinutesDocuments:
    def __init__(self, service: HearingService, settings: Settings) -> None:
        self.service = service
        self.settings = settings
        self._making: dict[str, asyncio.Lock] = {}

    @property
    def directory(self) -> Path:
        return self.settings.data_dir / "minutes"

    async def docx(self, session: CourtSession, time_zone: str) -> MinutesFile:
        """The DOCX as the minutes stand (a draft too: the court's staff check it)."""
        minutes = await self.service.minutes(session.id)
        document = await asyncio.to_thread(minutes_docx, minutes, time_zone)
        return MinutesFile(file_stem(session) + ".docx", document, DOCX_TYPE)

    async def signed_pdf(self, actor: Actor, session: CourtSession, time_zone: str) -> MinutesFile:
        """The signed PDF of the minutes' current version; refused while they are unsigned."""
        minutes = await self.service.minutes(session.id)
        try:
            ensure_signed(minutes)
        except DomainError as error:
            await self.service.audit_edge(
                actor, "minutes.pdf", session.id, "refused", {}, rule=error.rule
            )
            raise
        path = self.directory / session.id / f"v{minutes.version}-{minutes.document_hash()}.pdf"
        lock = self._making.setdefault(session.id, asyncio.Lock())
        async with lock:
            produced = not path.exists()
            if produced:
                data = await self._produce(minutes, session, time_zone)
                await asyncio.to_thread(_write_once, path, data)
            data = await asyncio.to_thread(path.read_bytes)
        document = MinutesFile(file_stem(session) + ".pdf", data, PDF_TYPE)
        await self.service.audit_edge(
            actor,
            "minutes.pdf",
            session.id,
            "accepted",
            {
                "sha256": document.sha256,
                "document_hash": minutes.document_hash(),
                "version": minutes.version,
                "produced": produced,
            },
        )
        return document

    async def _produce(self, minutes: Minutes, session: CourtSession, time_zone: str) -> bytes:
        signer = await asyncio.to_thread(DocumentSigner.of, self.settings)
        unsigned = await asyncio.to_thread(
            minutes_pdf, minutes, time_zone, self.settings.document_font_dir, self.service.clock()
        )
        return await signer.sign_pdf(unsigned, PDF_REASON, minutes.header.court_name)


def _write_once(path: Path, data: bytes) -> None:
    """Under a temporary name, then linked into place: a reader never sees half a file, and
    of two processes making the same version the first one's file is the one kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.part")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
