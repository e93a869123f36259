"""``GET /join/{token}``: the personal join link opens one page that the browser script drives
from the device check through the lobby into the hearing room (or a console).

The token is resolved here once, so a forged, expired or revoked link shows a clear page and
nothing about the session. The same token then authenticates the page's socket.io connection.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hearing_server.services import AuthenticationFailed, JoinContext, RateLimited
from rooms.courts import Court
from rooms.minutes import readable_after_hearing
from rooms.participants import Actor, Participant
from rooms.permissions import MINUTES_PERMISSIONS, Action, MinutesAction, may
from rooms.roles import ROLES_BY_KIND, SessionKind
from rooms.session import CALLED_ROLES, CourtSession
from rooms.states import (
    ENDED_SESSION_STATES,
    PARTICIPANT_STATE_LABELS,
    SESSION_STATE_LABELS,
    SESSION_TRANSITIONS,
    SessionTransition,
)
from rooms.text import Text
from web.endpoint import client_address
from web.i18n import locale_of
from web.keys import MINUTES_DOCUMENTS, SERVICE
from web.minutes_layout import minutes_blocks
from web.pages import render

GONE_RULES = frozenset(
    {"join.token_expired", "join.token_revoked", "join.code_expired", "join.code_revoked"}
)
"""Links that were real once: 410 Gone. Any other refused link is 404: it never existed."""

SESSION_COMMANDS = (
    SessionTransition.START,
    SessionTransition.SUSPEND,
    SessionTransition.RESUME,
    SessionTransition.CLOSE,
    SessionTransition.POSTPONE,
)
"""Session state commands a console offers; each is also a command event of the same name."""

PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self)",
}
"""The page's address is a credential: never cached, never sent on to another site."""

ENDED = Text(
    "Phiên này đã kết thúc, bị hoãn hoặc bị hủy; đường dẫn không còn dùng được.",
    "This session has ended, was postponed or was cancelled; the link can no longer be used.",
)

NOT_READABLE = Text(
    "Biên bản phiên tòa chưa được ký, hoặc bạn không được xem biên bản của phiên tòa này.",
    "The hearing's minutes are not signed yet, or you may not read the minutes of this hearing.",
)

NO_TOKEN = Text(
    "Đường dẫn này thiếu phần mã tham gia (có thể bị cắt khi sao chép). Hãy mở lại đúng "
    "đường dẫn Tòa án đã gửi cho bạn.",
    "This link lacks its join code (perhaps cut when copied). Open the exact link the court "
    "sent you.",
)


def in_language(text: Text, code: str) -> str:
    return text.en if code == "en" else text.vi


async def join_without_token(request: web.Request) -> web.Response:
    """``/join/`` alone: a link cut short is answered in the participant's words, not with
    the framework's English "404: Not Found"."""
    return await _refused(request, 404, in_language(NO_TOKEN, locale_of(request)))


async def short_link(request: web.Request) -> web.Response:
    """``GET /j/{code}``: the short link on a printout or in an SMS. A valid code sends the
    browser on to its invitation's join page; any other code gets the same refusal page as
    a bad join link, and counts toward the address's back-off (``resolve_short_code``)."""
    code = locale_of(request)
    try:
        link = await request.app[SERVICE].resolve_short_code(
            request.match_info["code"], client_address(request)
        )
    except RateLimited as error:
        response = await _refused(request, 429, in_language(error.message, code))
        response.headers["Retry-After"] = str(error.retry_after_seconds)
        return response
    except AuthenticationFailed as error:
        status = 410 if error.rule in GONE_RULES else 404
        return await _refused(request, status, in_language(error.message, code))
    # A relative address keeps whatever host and scheme the person came through.
    return web.Response(status=303, headers={"Location": f"/join/{link.token}", **PRIVATE_HEADERS})


async def join_page(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    code = locale_of(request)
    token = request.match_info["token"]
    try:
        context = await service.resolve_join_token(token)
    except AuthenticationFailed as error:
        status = 410 if error.rule in GONE_RULES else 404
        return await _refused(request, status, in_language(error.message, code))
    session, person = context.session, context.participant
    if session.state in ENDED_SESSION_STATES:
        return await _after_the_hearing(request, context, token, code)
    # The token was checked just above: the page reads its court as the server itself.
    court = await service.court(Actor.system(), session.court_id)
    permissions = {action.value for action in Action if may(person.role, action)}
    response = await render(
        request,
        "hearing/session.html",
        court=court,
        session=session,
        person=person,
        role_label=in_language(person.role.label, code),
        allowed=permissions,
        console=console_kind(session, permissions),
        config=page_config(session, person, court, token, permissions, code),
    )
    response.headers.update(PRIVATE_HEADERS)
    return response


def console_kind(session: CourtSession, permissions: set[str]) -> str | None:
    """Which console the page shows: the chair's for meetings, the court's for hearings,
    none for people who run nothing."""
    runs_something = permissions & {
        Action.ADMIT.value,
        Action.VERIFY_IDENTITY.value,
        Action.MUTE_OTHERS.value,
        Action.GIVE_FLOOR.value,
        Action.START.value,
    }
    if not runs_something:
        return None
    if session.kind is SessionKind.MEETING:
        return "chair" if Action.GIVE_FLOOR.value in permissions else "meeting"
    return "court"


def page_config(
    session: CourtSession,
    person: Participant,
    court: Court,
    token: str,
    permissions: set[str],
    code: str,
) -> dict[str, Any]:
    """What the script needs that the socket.io welcome does not carry: labels in the page
    language, the person's permitted commands and the session state machine's table (to
    enable only the buttons that can work now; the server still decides)."""
    return {
        "token": token,
        "session_id": session.id,
        "participant_id": person.id,
        "kind": session.kind.value,
        "role": person.role.value,
        "time_zone": court.time_zone,
        "permissions": sorted(permissions),
        "role_labels": {
            role.value: in_language(role.label, code) for role in ROLES_BY_KIND[session.kind]
        },
        "session_states": {
            state.value: in_language(label, code) for state, label in SESSION_STATE_LABELS.items()
        },
        "person_states": {
            state.value: in_language(label, code)
            for state, label in PARTICIPANT_STATE_LABELS.items()
        },
        "session_commands": {
            command.value: sorted(state.value for state in SESSION_TRANSITIONS[command][0])
            for command in SESSION_COMMANDS
        },
        "called_roles": sorted(role.value for role in CALLED_ROLES),
        "minutes_editor": session.case is not None
        and person.role in MINUTES_PERMISSIONS[MinutesAction.EDIT],
        "identity_check_roles": sorted(
            role.value
            for role in ROLES_BY_KIND[session.kind]
            if session.kind is SessionKind.HEARING and session.policy.needs_identity_check(role)
        ),
        "screenings": [
            {
                "protected": screening.protected,
                "hidden_from": screening.hidden_from,
                "audio": screening.audio,
            }
            for screening in session.screenings
        ]
        if Action.SET_SCREENING.value in permissions
        else [],
    }


async def _after_the_hearing(
    request: web.Request, context: JoinContext, token: str, code: str
) -> web.Response:
    """An ended session's link: the signed minutes, read only, where the rules let this
    person read them (``readable_after_hearing``); otherwise 410 as before."""
    session, person = context.session, context.participant
    if session.kind is not SessionKind.HEARING or session.case is None:
        return await _refused(request, 410, in_language(ENDED, code))
    service = request.app[SERVICE]
    minutes = await service.minutes(session.id)
    if not readable_after_hearing(person.role, minutes, session.is_closed_hearing):
        return await _refused(request, 410, in_language(ENDED, code))
    court = await service.court(Actor.system(), session.court_id)
    await service.audit_edge(
        Actor.participant(person.id, person.name),
        "minutes.read",
        session.id,
        "accepted",
        {"document_hash": minutes.document_hash(), "through": "join_link"},
    )
    response = await render(
        request,
        "hearing/minutes.html",
        blocks=minutes_blocks(minutes, court.time_zone),
        person=person,
        role_label=in_language(person.role.label, code),
        pdf_path=f"/join/{token}/minutes.pdf",
    )
    response.headers.update(PRIVATE_HEADERS)
    return response


async def join_minutes_pdf(request: web.Request) -> web.Response:
    """The signed PDF through the join link, for whoever the read-only view is for."""
    service = request.app[SERVICE]
    code = locale_of(request)
    try:
        context = await service.resolve_join_token(request.match_info["token"])
    except AuthenticationFailed as error:
        status = 410 if error.rule in GONE_RULES else 404
        return await _refused(request, status, in_language(error.message, code))
    session, person = context.session, context.participant
    minutes = await service.minutes(session.id)
    if session.case is None or not readable_after_hearing(
        person.role, minutes, session.is_closed_hearing
    ):
        return await _refused(request, 403, in_language(NOT_READABLE, code))
    court = await service.court(Actor.system(), session.court_id)
    document = await request.app[MINUTES_DOCUMENTS].signed_pdf(
        Actor.participant(person.id, person.name), session, court.time_zone
    )
    return web.Response(
        body=document.data,
        content_type=document.media_type,
        headers={
            **PRIVATE_HEADERS,
            "Content-Disposition": f'attachment; filename="{document.name}"',
        },
    )


async def _refused(request: web.Request, status: int, message: str) -> web.Response:
    response = await render(request, "hearing/refused.html", status=status, message=message)
    response.headers.update(PRIVATE_HEADERS)
    return response
