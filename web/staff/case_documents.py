"""The hearing's documents on the staff session page: the minutes (DOCX as they stand, PDF
once signed) and the case-file bundle. The court boundary is the session read's; the bundle
needs ``export_case_file`` besides (``CaseFileExport`` checks it)."""

from __future__ import annotations

from aiohttp import web

from hearing_server.minutes_documents import MinutesFile
from rooms.ids import SessionId
from web.keys import CASE_FILES, MINUTES_DOCUMENTS, SERVICE
from web.staff.auth import staff_page
from web.staff.layout import StaffLogin
from web.temporary_download import send_temporary_file

__all__ = ["case_file_download", "minutes_docx_download", "minutes_pdf_download"]


def attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


def _file_response(document: MinutesFile) -> web.Response:
    return web.Response(
        body=document.data, content_type=document.media_type, headers=attachment(document.name)
    )


@staff_page
async def minutes_docx_download(request: web.Request, login: StaffLogin) -> web.StreamResponse:
    """The minutes as they stand, for the court's own staff (another court's are refused by
    the session read)."""
    service = request.app[SERVICE]
    session = await service.session(login.actor, SessionId(request.match_info["session_id"]))
    court = await service.court(login.actor, session.court_id)
    return _file_response(await request.app[MINUTES_DOCUMENTS].docx(session, court.time_zone))


@staff_page
async def minutes_pdf_download(request: web.Request, login: StaffLogin) -> web.StreamResponse:
    """The signed minutes as a signed PDF; refused (409) while they are unsigned."""
    service = request.app[SERVICE]
    session = await service.session(login.actor, SessionId(request.match_info["session_id"]))
    court = await service.court(login.actor, session.court_id)
    documents = request.app[MINUTES_DOCUMENTS]
    return _file_response(await documents.signed_pdf(login.actor, session, court.time_zone))


@staff_page
async def case_file_download(request: web.Request, login: StaffLogin) -> web.StreamResponse:
    """The case-file bundle, made for this download and removed once sent."""
    exports = request.app[CASE_FILES]
    bundle = await exports.export_to_temporary(
        login.actor, SessionId(request.match_info["session_id"])
    )
    headers = {**attachment(bundle.name), "Content-Type": "application/zip"}
    return await send_temporary_file(request, bundle.path, headers)
