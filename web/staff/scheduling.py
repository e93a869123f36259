"""Scheduling pages: a hearing or a meeting, then its points, people and join links.

Each action is one service call (permission-checked and audited there). A refused form comes
back with what was typed and the service's reason in the page's language.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from hearing_server.services import HearingService, JoinLink
from rooms.cases import CASE_TYPE_LABELS, INSTANCE_LABELS, MeetingInfo
from rooms.errors import DomainError
from rooms.ids import CourtId, InvitationId, ParticipantId, PointId, SessionId
from rooms.participants import Actor
from rooms.penal_code import CRIME_CHAPTERS, chapter_title
from rooms.points import POINT_KIND_LABELS, PointKind
from rooms.session import CourtSession
from rooms.short_codes import grouped
from rooms.states import SESSION_TRANSITIONS, SessionState, SessionTransition
from web import schemas as s
from web.api import case_from_request as case_of
from web.i18n import locale_of
from web.keys import SERVICE
from web.staff import forms
from web.staff.auth import Handler, staff_page
from web.staff.layout import (
    StaffLogin,
    court_of,
    in_language,
    see_other,
    staff_render,
    status_of,
)
from web.staff.summaries import LABELS, options, role_options, row_of


def detail_path(session_id: str) -> str:
    return f"/staff/sessions/{session_id}"


# ---------------------------------------------------------------------- new sessions


async def _hearing(
    service: HearingService, actor: Actor, court_id: CourtId, body: s.HearingIn
) -> CourtSession:
    case = case_of(court_id, body.case)
    return await service.schedule_hearing(
        actor,
        case,
        body.scheduled_start,
        body.scheduled_end,
        body.courtroom_name,
        record_automatically=body.record_automatically,
    )


async def _meeting(
    service: HearingService, actor: Actor, court_id: CourtId, body: s.MeetingIn
) -> CourtSession:
    meeting = MeetingInfo(court_id, body.title, body.organiser, body.chair)
    return await service.schedule_meeting(
        actor, meeting, body.scheduled_start, body.scheduled_end, body.main_point_name
    )


@dataclass(frozen=True)
class NewSession:
    """How one kind of session is scheduled from its form."""

    kind: str
    parse: Callable[[Mapping[str, str], ZoneInfo], forms.Parsed[Any]]
    create: Callable[[HearingService, Actor, CourtId, Any], Awaitable[CourtSession]]

    @property
    def template(self) -> str:
        return f"staff/new_{self.kind}.html"

    def blank_form(self) -> Handler:
        @staff_page
        async def new_session(request: web.Request, login: StaffLogin) -> web.StreamResponse:
            return await _schedule_form(request, login, self, forms.Parsed({}))

        return new_session

    def submit(self) -> Handler:
        @staff_page
        async def schedule(request: web.Request, login: StaffLogin) -> web.StreamResponse:
            court = await court_of(request, login)
            values = forms.form_values(await request.post())
            parsed = self.parse(values, ZoneInfo(court.time_zone))
            if parsed.model is None:
                return await _schedule_form(request, login, self, parsed, status=422)
            try:
                session = await self.create(
                    request.app[SERVICE], login.actor, court.id, parsed.model
                )
            except DomainError as error:
                return await _schedule_form(request, login, self, parsed, error=error)
            return see_other(detail_path(session.id))

        return schedule


HEARING = NewSession("hearing", forms.hearing, _hearing)
MEETING = NewSession("meeting", forms.meeting, _meeting)


async def _schedule_form(
    request: web.Request,
    login: StaffLogin,
    new: NewSession,
    parsed: forms.Parsed[Any],
    status: int = 200,
    error: DomainError | None = None,
) -> web.Response:
    lang = locale_of(request)
    return await staff_render(
        request,
        login,
        new.template,
        section=f"new_{new.kind}",
        status=status_of(error) if error is not None else status,
        form=parsed,
        errors=parsed.errors,
        refusal=in_language(request, error.message) if error is not None else "",
        case_types=options(CASE_TYPE_LABELS, lang),
        instances=options(INSTANCE_LABELS, lang),
        penal_chapters=penal_chapter_choices(request, parsed, lang),
    )


def penal_chapter_choices(
    request: web.Request, parsed: forms.Parsed[Any], lang: str
) -> list[tuple[int, str, bool, bool]]:
    """(number, "Chương XVI — Các tội xâm phạm sở hữu", ticked, may not be heard online)."""
    ticked = set(forms.chapter_numbers(parsed.values.get("penal_chapters", "")))
    excluded = request.app[SERVICE].database.policy.excluded_penal_chapters
    return [
        (number, in_language(request, chapter_title(number)), number in ticked, number in excluded)
        for number in CRIME_CHAPTERS
    ]


# ---------------------------------------------------------------------- one session


@staff_page
async def session_detail(request: web.Request, login: StaffLogin) -> web.StreamResponse:
    return await _detail(request, login)


@staff_page
async def add_point(request: web.Request, login: StaffLogin) -> web.StreamResponse:
    parsed = forms.point(forms.form_values(await request.post()))
    if parsed.model is None:
        return await _detail(request, login, status=422, point_form=parsed)
    body = parsed.model
    try:
        await request.app[SERVICE].add_point(
            login.actor, _session_id(request), body.name, body.kind, body.location
        )
    except DomainError as error:
        return await _detail(request, login, point_form=parsed, error=error, error_at="points")
    return see_other(detail_path(_session_id(request)) + "#points")


@staff_page
async def add_participant(request: web.Request, login: StaffLogin) -> web.StreamResponse:
    parsed = forms.participant(forms.form_values(await request.post()))
    if parsed.model is None:
        return await _detail(request, login, status=422, participant_form=parsed)
    body = parsed.model
    try:
        participant, link = await request.app[SERVICE].add_participant(
            login.actor, _session_id(request), body.name, body.role, PointId(body.point_id)
        )
    except DomainError as error:
        return await _detail(
            request, login, participant_form=parsed, error=error, error_at="participants"
        )
    return await _detail(request, login, status=201, fresh=_fresh(link, participant.name))


@staff_page
async def issue_link(request: web.Request, login: StaffLogin) -> web.StreamResponse:
    participant_id = ParticipantId(request.match_info["participant_id"])
    service = request.app[SERVICE]
    link = await service.issue_link(login.actor, _session_id(request), participant_id)
    session = await service.session(login.actor, _session_id(request))
    name = session.participants[participant_id].name
    return await _detail(request, login, status=201, session=session, fresh=_fresh(link, name))


@staff_page
async def revoke_link(request: web.Request, login: StaffLogin) -> web.StreamResponse:
    invitation_id = InvitationId(request.match_info["invitation_id"])
    await request.app[SERVICE].revoke_link(login.actor, _session_id(request), invitation_id)
    return see_other(detail_path(_session_id(request)) + "#participants")


@staff_page
async def cancel_session(request: web.Request, login: StaffLogin) -> web.StreamResponse:
    session_id = _session_id(request)
    actor = login.actor
    try:
        await request.app[SERVICE].execute(
            actor, session_id, "session.cancel", lambda s: s.cancel(actor)
        )
    except DomainError as error:
        return await _detail(request, login, error=error)
    return see_other(detail_path(session_id))


@staff_page
async def end_session(request: web.Request, login: StaffLogin) -> web.StreamResponse:
    """Close or postpone a suspended session nobody will resume; the reason is audited."""
    session_id = _session_id(request)
    actor = login.actor
    values = forms.form_values(await request.post())
    outcome, reason = values.get("outcome", ""), values.get("reason", "")
    try:
        await request.app[SERVICE].execute(
            actor,
            session_id,
            "session.end_abandoned",
            lambda s: s.end_abandoned(actor, outcome, reason),
            {"outcome": outcome, "reason": reason},
        )
    except DomainError as error:
        return await _detail(request, login, error=error, error_at="end")
    return see_other(detail_path(session_id))


def _session_id(request: web.Request) -> SessionId:
    return SessionId(request.match_info["session_id"])


def _fresh(link: JoinLink, name: str) -> dict[str, Any]:
    """A link just issued, shown at the top of the page with what it replaced (it stays in
    the session's list of links below as well)."""
    return {
        "participant_id": link.invitation.participant_id,
        "name": name,
        "url": link.url,
        "short_url": link.short_url,
        "code": grouped(link.invitation.short_code),
        "replaced": len(link.replaced),
    }


async def _detail(
    request: web.Request,
    login: StaffLogin,
    status: int = 200,
    session: CourtSession | None = None,
    point_form: forms.Parsed[Any] | None = None,
    participant_form: forms.Parsed[Any] | None = None,
    error: DomainError | None = None,
    error_at: str = "session",
    fresh: dict[str, Any] | None = None,
) -> web.Response:
    """The session page; ``error_at`` names the section whose form the service refused."""
    service = request.app[SERVICE]
    if session is None:
        session = await service.session(login.actor, _session_id(request))
    lang = locale_of(request)
    issued = await service.invitations(login.actor, session.id)
    invitations = {
        pid: sorted(
            (i for i in issued if i.participant_id == pid),
            key=lambda i: i.issued_at,
            reverse=True,
        )
        for pid in session.participants
    }
    people_links = await service.person_links(login.actor, session.id)
    return await staff_render(
        request,
        login,
        "staff/session.html",
        section="sessions",
        status=status_of(error) if error is not None else status,
        session=session,
        row=row_of(session),
        invitations=invitations,
        people_links=people_links,
        no_link_count=sum(1 for p in people_links if p.link is None),
        grouped=grouped,
        now=service.clock(),
        labels=LABELS,
        roles=role_options(session.kind, lang),
        point_kinds=[
            (value, label)
            for value, label in options(POINT_KIND_LABELS, lang)
            if not PointKind(value).is_central
        ],
        point_choices=[(p.id, p.name) for p in session.points.values()],
        may_cancel=session.state in SESSION_TRANSITIONS[SessionTransition.CANCEL][0],
        may_end=session.state is SessionState.SUSPENDED,
        point_form=point_form or forms.Parsed({}),
        participant_form=participant_form or forms.Parsed({}),
        refusal=in_language(request, error.message) if error is not None else "",
        refusal_at=error_at,
        fresh=fresh,
        canonical=detail_path(session.id),
        minutes_signed=session.case is not None and (await service.minutes(session.id)).signed,
    )
