"""Handing join links out on paper and in bulk: one A4 invitation sheet per person (with the
short link, its QR code, the date and time in the court's zone and what to prepare), and
the session's links as a CSV file.

Both are copies of credentials taken away from the server, so the service audits each
(``link.export``), and both hold only the links the account may hand out itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from hearing_server.services import PersonLink
from rooms.errors import NotFound
from rooms.ids import ParticipantId, SessionId
from rooms.roles import SessionKind
from rooms.short_codes import grouped
from rooms.text import Text
from web.api import links_csv_response
from web.i18n import locale_of
from web.keys import SERVICE
from web.qr import qr_svg
from web.staff.auth import staff_page
from web.staff.layout import StaffLogin, in_language, staff_render
from web.staff.summaries import LABELS, row_of

__all__ = ["add_link_sheet_routes"]

NO_SUCH_PERSON = Text(
    "Không có người này trong danh sách đường dẫn của phiên.",
    "This person is not on the session's list of links.",
)


@dataclass(frozen=True, slots=True)
class Sheet:
    """One printed page: a person and their link, with its QR code."""

    person: PersonLink
    short_code: str
    qr: str


@staff_page
async def link_sheets(request: web.Request, login: StaffLogin) -> web.StreamResponse:
    """Every sheet of the session (``?participant=`` for one person's only)."""
    service = request.app[SERVICE]
    session_id = SessionId(request.match_info["session_id"])
    session = await service.session(login.actor, session_id)
    people = await service.person_links(login.actor, session_id, export="print")
    court = await service.court(login.actor, session.court_id)
    wanted = request.query.get("participant")
    if wanted is not None:
        people = [p for p in people if p.participant.id == ParticipantId(wanted)]
        if not people:
            raise NotFound("participant.not_found", NO_SUCH_PERSON)
    sheets = [
        Sheet(
            person,
            grouped(person.link.invitation.short_code),
            qr_svg(person.link.short_url, in_language(request, _QR_TITLE)),
        )
        for person in people
        if person.link is not None
    ]
    return await staff_render(
        request,
        login,
        "staff/link_sheets.html",
        section="sessions",
        session=session,
        row=row_of(session),
        session_court=court,
        sheets=sheets,
        missing=[p.participant for p in people if p.link is None],
        labels=LABELS,
        is_hearing=session.kind is SessionKind.HEARING,
    )


@staff_page
async def links_csv_download(request: web.Request, login: StaffLogin) -> web.StreamResponse:
    service = request.app[SERVICE]
    session_id = SessionId(request.match_info["session_id"])
    session = await service.session(login.actor, session_id)
    people = await service.person_links(login.actor, session_id, export="csv")
    court = await service.court(login.actor, session.court_id)
    return links_csv_response(session, people, locale_of(request), court.time_zone)


_QR_TITLE = Text("Mã QR của đường dẫn rút gọn", "QR code of the short link")


def add_link_sheet_routes(app: web.Application) -> None:
    session = "/staff/sessions/{session_id}"
    app.router.add_get(session + "/links/print", link_sheets, name="staff_link_sheets")
    app.router.add_get(session + "/links.csv", links_csv_download, name="staff_links_csv")
