"""The REST API under /api/v1: thin handlers that translate JSON to service calls."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hearing_server import __version__
from hearing_server.persistence.repositories import SessionFilter
from hearing_server.services import JoinLink
from hearing_server.turn import ice_servers_for
from rooms.cases import Case, MeetingInfo
from rooms.errors import InvalidInput, PermissionDenied
from rooms.ids import CourtId, InvitationId, ParticipantId, PointId, SessionId, UserId
from rooms.roles import SessionKind
from rooms.session import ensure_schedulable
from rooms.text import Text
from web import schemas as s
from web.endpoint import Auth, Call, Endpoint, bearer_token, client_address
from web.keys import SERVICE, SETTINGS
from web.openapi import build_openapi

PREFIX = "/api/v1"


# ---------------------------------------------------------------------- auth and accounts


async def login(call: Call) -> s.LoginOut:
    body: s.LoginIn = call.body
    result = await call.request.app[SERVICE].login(
        body.username, body.password, client_address(call.request)
    )
    return s.LoginOut(
        token=result.token, expires_at=result.expires_at, user=s.UserOut.of(result.user)
    )


async def logout(call: Call) -> None:
    """The bearer token is revoked on the server: refused from now on, everywhere."""
    await call.request.app[SERVICE].logout(bearer_token(call.request))


async def who_am_i(call: Call) -> s.UserOut:
    assert call.user is not None
    return s.UserOut.of(call.user)


async def list_users(call: Call) -> list[s.UserOut]:
    return [s.UserOut.of(u) for u in await call.request.app[SERVICE].users(call.staff)]


async def create_user(call: Call) -> s.UserOut:
    body: s.UserIn = call.body
    user = await call.request.app[SERVICE].add_user(
        call.staff,
        body.username,
        body.role,
        body.password,
        body.display_name,
        CourtId(body.court_id) if body.court_id else None,
    )
    return s.UserOut.of(user)


async def update_user(call: Call) -> s.UserOut:
    body: s.UserUpdateIn = call.body
    user = await call.request.app[SERVICE].set_user_active(
        call.staff, UserId(call.path("user_id")), body.active
    )
    return s.UserOut.of(user)


# ---------------------------------------------------------------------- courts


async def list_courts(call: Call) -> list[s.CourtOut]:
    return [s.CourtOut.of(c) for c in await call.request.app[SERVICE].courts(call.staff)]


async def create_court(call: Call) -> s.CourtOut:
    body: s.CourtIn = call.body
    court = await call.request.app[SERVICE].add_court(
        call.staff, body.code, body.name, body.time_zone
    )
    return s.CourtOut.of(court)


# ---------------------------------------------------------------------- sessions


def _court_id(call: Call, requested: str | None) -> CourtId:
    """The court asked for, or the caller's own (this server's for a system-wide admin)."""
    if requested:
        return CourtId(requested)
    return call.request.app[SERVICE].default_court_id(call.staff)


def case_from_request(court_id: CourtId, body: s.CaseIn) -> Case:
    return Case(
        court_id=court_id,
        number=body.number,
        case_type=body.case_type,
        instance=body.instance,
        title=body.title,
        closed_hearing=body.closed_hearing,
        state_secret=body.state_secret,
        penal_chapters=frozenset(body.penal_chapters),
    )


async def create_hearing(call: Call) -> s.SessionOut:
    body: s.HearingIn = call.body
    court_id = _court_id(call, body.court_id)
    session = await call.request.app[SERVICE].schedule_hearing(
        call.staff,
        case_from_request(court_id, body.case),
        body.scheduled_start,
        body.scheduled_end,
        body.courtroom_name,
    )
    return s.SessionOut.of(session)


async def create_meeting(call: Call) -> s.SessionOut:
    body: s.MeetingIn = call.body
    court_id = _court_id(call, body.court_id)
    meeting = MeetingInfo(court_id, body.title, body.organiser, body.chair)
    session = await call.request.app[SERVICE].schedule_meeting(
        call.staff, meeting, body.scheduled_start, body.scheduled_end, body.main_point_name
    )
    return s.SessionOut.of(session)


async def _find(call: Call, kind: SessionKind | None) -> list[s.SessionOut]:
    q: s.SessionQuery = call.query
    for moment in (q.on, q.starts_from, q.starts_before):
        if moment is not None:
            ensure_schedulable(moment)
    starts_from, starts_before = q.starts_from, q.starts_before
    if q.on is not None:
        service = call.request.app[SERVICE]
        court = await service.court(call.staff, _court_id(call, q.court_id))
        zone = ZoneInfo(court.time_zone)
        day_start = datetime.combine(q.on, time(), tzinfo=zone).astimezone(UTC)
        starts_from, starts_before = day_start, day_start + timedelta(days=1)
    sessions = await call.request.app[SERVICE].find_sessions(
        call.staff,
        SessionFilter(
            court_id=CourtId(q.court_id) if q.court_id else None,
            kind=kind or q.kind,
            states=frozenset(q.state) if q.state else None,
            case_number=q.case_number,
            starts_from=starts_from,
            starts_before=starts_before,
            limit=q.limit,
            offset=q.offset,
        ),
    )
    return [s.SessionOut.of(x) for x in sessions]


async def list_sessions(call: Call) -> list[s.SessionOut]:
    return await _find(call, None)


async def list_hearings(call: Call) -> list[s.SessionOut]:
    return await _find(call, SessionKind.HEARING)


async def list_meetings(call: Call) -> list[s.SessionOut]:
    return await _find(call, SessionKind.MEETING)


async def get_session(call: Call) -> s.SessionOut:
    return s.SessionOut.of(
        await call.request.app[SERVICE].session(call.staff, SessionId(call.path("session_id")))
    )


async def update_session(call: Call) -> s.SessionOut:
    body: s.SessionUpdateIn = call.body
    service = call.request.app[SERVICE]
    session_id = SessionId(call.path("session_id"))
    current = await service.session(call.staff, session_id)
    case = case_from_request(current.court_id, body.case) if body.case is not None else None
    if current.meeting is None and (
        body.title is not None or body.organiser is not None or body.chair is not None
    ):
        # Silently ignoring them would tell the clerk a change was saved when it was not.
        raise InvalidInput(
            "session.meeting",
            Text(
                "Phiên tòa không có tiêu đề, đơn vị tổ chức hay chủ trì cuộc họp.",
                "A hearing has no meeting title, organiser or chair.",
            ),
        )
    meeting = None
    if current.meeting is not None and (
        body.title or body.organiser is not None or body.chair is not None
    ):
        meeting = MeetingInfo(
            current.court_id,
            body.title or current.meeting.title,
            current.meeting.organiser if body.organiser is None else body.organiser,
            current.meeting.chair if body.chair is None else body.chair,
        )
    actor = call.staff
    await service.execute(
        actor,
        session_id,
        "session.update",
        lambda x: x.update_details(
            actor, case=case, meeting=meeting, start=body.scheduled_start, end=body.scheduled_end
        ),
        body.model_dump(mode="json", exclude_none=True),
    )
    return s.SessionOut.of(await service.session(actor, session_id))


async def cancel_session(call: Call) -> s.SessionOut:
    service = call.request.app[SERVICE]
    session_id = SessionId(call.path("session_id"))
    actor = call.staff
    await service.execute(actor, session_id, "session.cancel", lambda x: x.cancel(actor))
    return s.SessionOut.of(await service.session(actor, session_id))


async def end_abandoned_session(call: Call) -> s.SessionOut:
    body: s.SessionEndIn = call.body
    service = call.request.app[SERVICE]
    session_id = SessionId(call.path("session_id"))
    actor = call.staff
    await service.execute(
        actor,
        session_id,
        "session.end_abandoned",
        lambda x: x.end_abandoned(actor, body.outcome, body.reason),
        {"outcome": body.outcome, "reason": body.reason},
    )
    return s.SessionOut.of(await service.session(actor, session_id))


async def add_point(call: Call) -> s.PointOut:
    body: s.PointIn = call.body
    point = await call.request.app[SERVICE].add_point(
        call.staff, SessionId(call.path("session_id")), body.name, body.kind, body.location
    )
    return s.PointOut.of(point)


async def add_participant(call: Call) -> s.ParticipantAddedOut:
    body: s.ParticipantIn = call.body
    participant, link = await call.request.app[SERVICE].add_participant(
        call.staff, SessionId(call.path("session_id")), body.name, body.role, PointId(body.point_id)
    )
    return s.ParticipantAddedOut(
        participant=s.ParticipantOut.of(participant), join_link=_link(link)
    )


async def issue_link(call: Call) -> s.JoinLinkOut:
    link = await call.request.app[SERVICE].issue_link(
        call.staff, SessionId(call.path("session_id")), ParticipantId(call.path("participant_id"))
    )
    return _link(link)


async def list_links(call: Call) -> list[s.InvitationOut]:
    invitations = await call.request.app[SERVICE].invitations(
        call.staff, SessionId(call.path("session_id"))
    )
    participant_id = call.path("participant_id")
    return [s.InvitationOut.of(i) for i in invitations if i.participant_id == participant_id]


async def revoke_link(call: Call) -> None:
    await call.request.app[SERVICE].revoke_link(
        call.staff, SessionId(call.path("session_id")), InvitationId(call.path("invitation_id"))
    )


def _link(link: JoinLink) -> s.JoinLinkOut:
    return s.JoinLinkOut(
        invitation=s.InvitationOut.of(link.invitation), url=link.url, token=link.token
    )


# ---------------------------------------------------------------------- a participant's own view


async def my_session(call: Call) -> s.JoinViewOut:
    assert call.join is not None
    if call.join.session.id != call.path("session_id"):
        raise PermissionDenied(
            "join.wrong_session",
            Text("Đường dẫn này thuộc phiên khác.", "This join link belongs to another session."),
        )
    settings = call.request.app[SETTINGS]
    now = call.request.app[SERVICE].clock()
    return s.JoinViewOut(
        session=s.ParticipantSessionOut.of(call.join.session, call.join.participant),
        participant=s.ParticipantOut.of(call.join.participant),
        ice_servers=ice_servers_for(settings, call.join.participant.id, now),
        link_expires_at=call.join.invitation.expires_at,
    )


# ---------------------------------------------------------------------- audit


async def audit_log(call: Call) -> list[s.AuditEntryOut]:
    q: s.AuditQuery = call.query
    entries = await call.request.app[SERVICE].audit_trail(
        call.staff, q.session_id, q.after_seq, q.limit
    )
    return [
        s.AuditEntryOut(
            seq=e.seq,
            at=e.entry.at,
            actor=e.entry.actor,
            action=e.entry.action,
            outcome=e.entry.outcome,
            session_id=e.entry.session_id,
            rule=e.entry.rule,
            detail=e.entry.detail,
            previous_hash=e.previous_hash,
            hash=e.hash,
        )
        for e in entries
    ]


SESSION = PREFIX + "/sessions/{session_id}"

ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "POST",
        PREFIX + "/auth/login",
        login,
        "Log in as staff",
        "auth",
        Auth.PUBLIC,
        body=s.LoginIn,
        response=s.LoginOut,
        errors=(401, 429),
    ),
    Endpoint(
        "POST",
        PREFIX + "/auth/logout",
        logout,
        "Log out: revoke this bearer token on the server",
        "auth",
        status=204,
    ),
    Endpoint(
        "GET",
        PREFIX + "/auth/me",
        who_am_i,
        "The logged-in staff account",
        "auth",
        response=s.UserOut,
    ),
    Endpoint(
        "GET",
        PREFIX + "/users",
        list_users,
        "List staff accounts",
        "users",
        response=list[s.UserOut],
        errors=(403,),
    ),
    Endpoint(
        "POST",
        PREFIX + "/users",
        create_user,
        "Create a staff account",
        "users",
        body=s.UserIn,
        response=s.UserOut,
        status=201,
        errors=(403, 404),
    ),
    Endpoint(
        "PATCH",
        PREFIX + "/users/{user_id}",
        update_user,
        "Activate or deactivate a staff account (its tokens are refused at once)",
        "users",
        body=s.UserUpdateIn,
        response=s.UserOut,
        errors=(403, 404, 422),
    ),
    Endpoint(
        "GET", PREFIX + "/courts", list_courts, "List courts", "courts", response=list[s.CourtOut]
    ),
    Endpoint(
        "POST",
        PREFIX + "/courts",
        create_court,
        "Add a court",
        "courts",
        body=s.CourtIn,
        response=s.CourtOut,
        status=201,
        errors=(403,),
    ),
    Endpoint(
        "GET",
        PREFIX + "/sessions",
        list_sessions,
        "List hearings and meetings",
        "sessions",
        query=s.SessionQuery,
        response=list[s.SessionOut],
        errors=(404,),
    ),
    Endpoint(
        "GET",
        PREFIX + "/hearings",
        list_hearings,
        "List hearings",
        "sessions",
        query=s.SessionQuery,
        response=list[s.SessionOut],
        errors=(404,),
    ),
    Endpoint(
        "POST",
        PREFIX + "/hearings",
        create_hearing,
        "Schedule an online hearing",
        "sessions",
        body=s.HearingIn,
        response=s.SessionOut,
        status=201,
        errors=(403, 404),
    ),
    Endpoint(
        "GET",
        PREFIX + "/meetings",
        list_meetings,
        "List meetings",
        "sessions",
        query=s.SessionQuery,
        response=list[s.SessionOut],
        errors=(404,),
    ),
    Endpoint(
        "POST",
        PREFIX + "/meetings",
        create_meeting,
        "Schedule a meeting",
        "sessions",
        body=s.MeetingIn,
        response=s.SessionOut,
        status=201,
        errors=(403, 404),
    ),
    Endpoint(
        "GET",
        SESSION,
        get_session,
        "Read a hearing or meeting",
        "sessions",
        response=s.SessionOut,
        errors=(404,),
    ),
    Endpoint(
        "PATCH",
        SESSION,
        update_session,
        "Change details while scheduled",
        "sessions",
        body=s.SessionUpdateIn,
        response=s.SessionOut,
        errors=(403, 404, 409),
    ),
    Endpoint(
        "POST",
        SESSION + "/cancel",
        cancel_session,
        "Cancel a session",
        "sessions",
        response=s.SessionOut,
        errors=(403, 404, 409),
    ),
    Endpoint(
        "POST",
        SESSION + "/end",
        end_abandoned_session,
        "Close or postpone a suspended session nobody will resume (a reason is required)",
        "sessions",
        body=s.SessionEndIn,
        response=s.SessionOut,
        errors=(403, 404, 409),
    ),
    Endpoint(
        "POST",
        SESSION + "/points",
        add_point,
        "Add a connection point",
        "sessions",
        body=s.PointIn,
        response=s.PointOut,
        status=201,
        errors=(403, 404, 409),
    ),
    Endpoint(
        "POST",
        SESSION + "/participants",
        add_participant,
        "Add a participant and issue their join link",
        "sessions",
        body=s.ParticipantIn,
        response=s.ParticipantAddedOut,
        status=201,
        errors=(403, 404, 409),
    ),
    Endpoint(
        "GET",
        SESSION + "/participants/{participant_id}/links",
        list_links,
        "A participant's join links",
        "links",
        response=list[s.InvitationOut],
        errors=(404,),
    ),
    Endpoint(
        "POST",
        SESSION + "/participants/{participant_id}/links",
        issue_link,
        "Issue a new join link",
        "links",
        response=s.JoinLinkOut,
        status=201,
        errors=(403, 404, 422),
    ),
    Endpoint(
        "DELETE",
        SESSION + "/links/{invitation_id}",
        revoke_link,
        "Revoke a join link",
        "links",
        status=204,
        errors=(403, 404),
    ),
    Endpoint(
        "GET",
        SESSION + "/me",
        my_session,
        "A participant's own view, by join token",
        "participant",
        Auth.JOIN,
        response=s.JoinViewOut,
        errors=(403, 404),
    ),
    Endpoint(
        "GET",
        PREFIX + "/audit",
        audit_log,
        "Read the audit log",
        "audit",
        query=s.AuditQuery,
        response=list[s.AuditEntryOut],
        errors=(403, 404),  # 404: a session_id filter naming no session of the reader's court
    ),
]


def openapi_document() -> dict[str, object]:
    return build_openapi(ENDPOINTS, __version__)
