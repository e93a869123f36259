"""The REST API under /api/v1: thin handlers that translate JSON to service calls."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from hearing_server import __version__
from hearing_server.case_import import ImportFileError, import_cases, parse_case_file
from hearing_server.persistence.repositories import RecordingFilter, SessionFilter
from hearing_server.recordings import files_of, media_type_of
from hearing_server.services import JoinContext, JoinLink, PersonLink
from hearing_server.turn import ice_servers_for
from recorder.signing import ServerKey
from rooms.cases import Case, MeetingInfo
from rooms.errors import InvalidInput, NotFound, PermissionDenied
from rooms.ids import CourtId, InvitationId, ParticipantId, PointId, SessionId, UserId
from rooms.minutes import EntryKind, Minutes, Section, Speaker, ensure_may_read
from rooms.participants import Actor
from rooms.recordings import RetentionDecision
from rooms.roles import SessionKind
from rooms.session import CourtSession, ensure_schedulable
from rooms.text import Text
from web import schemas as s
from web.endpoint import Auth, Call, Endpoint, bearer_token, client_address
from web.i18n import locale_of
from web.keys import (
    CASE_FILES,
    MINUTES_DOCUMENTS,
    RECORDINGS,
    SERVICE,
    SETTINGS,
    VERIFICATIONS,
    WEBHOOKS,
)
from web.links_csv import CSV_MEDIA_TYPE, csv_filename, links_csv
from web.openapi import build_openapi
from web.temporary_download import send_temporary_file

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


# ---------------------------------------------------------------------- case registry


async def import_case_file(call: Call) -> s.CaseImportOut:
    body: s.CaseImportIn = call.body
    try:
        rows = parse_case_file(body.content, body.format)
    except ImportFileError as error:
        raise InvalidInput("case_import.file", error.message) from error
    outcomes = await import_cases(
        call.request.app[SERVICE],
        call.staff,
        _court_id(call, body.court_id),
        rows,
        dry_run=body.dry_run,
    )
    return s.CaseImportOut(
        dry_run=body.dry_run,
        accepted=sum(o.status == "accepted" for o in outcomes),
        scheduled=sum(o.status == "scheduled" for o in outcomes),
        refused=sum(o.status == "refused" for o in outcomes),
        rows=[
            s.CaseImportRowOut(
                line=o.line,
                case_number=o.case_number,
                status=o.status,
                reasons=[r.as_dict() for r in o.reasons],
                session_id=o.session_id,
            )
            for o in outcomes
        ],
    )


# ---------------------------------------------------------------------- webhooks


async def register_webhook(call: Call) -> s.WebhookOut:
    body: s.WebhookIn = call.body
    hook = await call.request.app[WEBHOOKS].register(call.staff, body.url, body.events)
    return s.WebhookOut.of(hook)


async def list_webhooks(call: Call) -> list[s.WebhookOut]:
    return [s.WebhookOut.of(h) for h in await call.request.app[WEBHOOKS].all(call.staff)]


async def remove_webhook(call: Call) -> None:
    await call.request.app[WEBHOOKS].remove(call.staff, call.path("webhook_id"))


async def webhook_deliveries(call: Call) -> list[s.WebhookDeliveryOut]:
    deliveries = await call.request.app[WEBHOOKS].deliveries(call.staff, call.path("webhook_id"))
    return [s.WebhookDeliveryOut.model_validate(d, from_attributes=True) for d in deliveries]


# ---------------------------------------------------------------------- recordings


async def recording_public_key(call: Call) -> s.RecordingKeyOut:
    key = ServerKey.load_or_create(call.request.app[SETTINGS].data_dir)
    return s.RecordingKeyOut(public_key_pem=key.public_key_pem, fingerprint=key.fingerprint)


async def list_recordings(call: Call) -> list[s.RecordingOut]:
    q: s.RecordingQuery = call.query
    query = RecordingFilter(
        court_id=CourtId(q.court_id) if q.court_id else None,
        case_number=q.case_number,
        session_id=SessionId(q.session_id) if q.session_id else None,
        started_from=q.started_from,
        started_before=q.started_before,
        limit=q.limit,
    )
    found = await call.request.app[RECORDINGS].search(call.staff, query)
    return [s.RecordingOut.of(r) for r in found]


async def get_recording(call: Call) -> s.RecordingDetailOut:
    """The recording with its files, its sealed manifest and a fresh verification of both."""
    catalog = call.request.app[RECORDINGS]
    recording = await catalog.get(call.staff, call.path("recording_id"))
    paths = catalog.paths_of(recording)
    public_key = ServerKey.load_or_create(call.request.app[SETTINGS].data_dir).public_key_pem
    verification = await asyncio.to_thread(
        call.request.app[VERIFICATIONS].verify, paths, public_key
    )
    try:
        manifest = json.loads(paths.manifest.read_bytes())
    except (FileNotFoundError, ValueError):
        manifest = None
    return s.RecordingDetailOut(
        recording=s.RecordingOut.of(recording),
        files=[s.RecordingFileOut(file=f.file, kind=f.kind, size=f.size) for f in files_of(paths)],
        manifest=manifest if isinstance(manifest, dict) else None,
        verification=s.VerificationOut.model_validate(verification.as_dict()),
    )


async def create_download_link(call: Call) -> s.DownloadLinkOut:
    body: s.DownloadLinkIn = call.body
    link = await call.request.app[RECORDINGS].download_link(
        call.staff, call.path("recording_id"), body.file
    )
    return s.DownloadLinkOut(
        url=f"{PREFIX}/recordings/files?{urlencode({'token': link.token})}",
        expires_at=link.expires_at,
    )


async def download_recording_file(call: Call) -> web.FileResponse:
    """The file a download link names; Range requests get 206, so a player can seek."""
    q: s.DownloadQuery = call.query
    _recording, path = await call.request.app[RECORDINGS].open_link(
        q.token, client_address(call.request)
    )
    return web.FileResponse(
        path,
        headers={
            "Content-Type": media_type_of(path),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def set_legal_hold(call: Call) -> s.RecordingOut:
    body: s.LegalHoldIn = call.body
    recording = await call.request.app[RECORDINGS].set_legal_hold(
        call.staff, call.path("recording_id"), body.hold
    )
    return s.RecordingOut.of(recording)


async def retention_report(call: Call) -> list[s.RetentionOut]:
    """A dry run: what retention would delete now, and why everything else is kept."""
    decisions = await call.request.app[RECORDINGS].retention_report(call.staff)
    return [_retention_out(d) for d in decisions]


async def apply_retention(call: Call) -> list[s.RetentionOut]:
    """Deletes what is past its retention period and not held; answers what was deleted."""
    decisions = await call.request.app[RECORDINGS].apply_retention(call.staff)
    return [_retention_out(d) for d in decisions]


def _retention_out(decision: RetentionDecision) -> s.RetentionOut:
    return s.RetentionOut(
        recording_id=decision.recording_id,
        delete=decision.delete,
        reason=s.Label(**decision.reason.as_dict()),
    )


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
        record_automatically=body.record_automatically,
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
            actor,
            case=case,
            meeting=meeting,
            start=body.scheduled_start,
            end=body.scheduled_end,
            record_automatically=body.record_automatically,
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


async def list_session_links(call: Call) -> list[s.PersonLinkOut]:
    """Every person's current link that the caller may hand out (``may_handle_link``)."""
    people = await call.request.app[SERVICE].person_links(
        call.staff, SessionId(call.path("session_id"))
    )
    return [s.PersonLinkOut.of(p) for p in people]


async def export_session_links(call: Call) -> web.Response:
    """The same list as a CSV file (UTF-8 with BOM, columns in the caller's language)."""
    service = call.request.app[SERVICE]
    session_id = SessionId(call.path("session_id"))
    people = await service.person_links(call.staff, session_id, export="csv")
    session = await service.session(call.staff, session_id)
    court = await service.court(call.staff, session.court_id)
    return links_csv_response(session, people, locale_of(call.request), court.time_zone)


def links_csv_response(
    session: CourtSession, people: list[PersonLink], lang: str, time_zone: str
) -> web.Response:
    return web.Response(
        body=links_csv(session, people, lang, time_zone),
        content_type=CSV_MEDIA_TYPE,
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{csv_filename(session)}"',
            "Cache-Control": "no-store",
        },
    )


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
    return s.JoinLinkOut.of(link)


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


# ---------------------------------------------------------------------- minutes


def _own_session(call: Call) -> JoinContext:
    assert call.join is not None
    if call.join.session.id != call.path("session_id"):
        raise PermissionDenied(
            "join.wrong_session",
            Text("Đường dẫn này thuộc phiên khác.", "This join link belongs to another session."),
        )
    return call.join


async def read_minutes(call: Call) -> s.MinutesOut:
    """The draft for the clerk and the presiding judge; the signed text for the others."""
    join = _own_session(call)
    minutes = await call.request.app[SERVICE].minutes(join.session.id)
    ensure_may_read(join.participant.role, minutes, join.session.is_closed_hearing)
    return s.MinutesOut.of(minutes)


async def _change(
    call: Call, action: str, change: Callable[[Minutes], object], **detail: object
) -> s.MinutesOut:
    join = _own_session(call)
    service = call.request.app[SERVICE]
    await service.change_minutes(join.participant, join.session.id, action, change, detail)
    return s.MinutesOut.of(await service.minutes(join.session.id))


async def edit_minutes_entry(call: Call) -> s.MinutesOut:
    """One save of a speaking turn's text; a stale ``based_on`` answers 409 with no change."""
    body: s.MinutesEditIn = call.body
    me = _own_session(call).participant
    raw = call.path("seq")
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput("minutes.seq", Text("Số mục không hợp lệ.", "Not an entry number."))
    seq = int(raw)
    now = call.request.app[SERVICE].clock()
    return await _change(
        call,
        "minutes.edit",
        lambda m: m.edit(me.role, me.id, seq, body.body, body.based_on, now),
        seq=seq,
    )


async def insert_minutes_entry(call: Call) -> s.MinutesOut:
    """A question, answer or statement by a participant picked from the list."""
    body: s.MinutesInsertIn = call.body
    join = _own_session(call)
    me, session = join.participant, join.session
    person = session.participants.get(ParticipantId(body.speaker_id))
    if person is None:
        raise NotFound("participant.not_found", Text("Không có người này.", "No such participant."))
    speaker = Speaker(person.id, person.name, person.role)
    now = call.request.app[SERVICE].clock()
    return await _change(
        call,
        "minutes.insert",
        lambda m: m.insert(me.role, me.id, now, EntryKind(body.kind), speaker, body.body),
        kind=body.kind,
    )


async def set_minutes_section(call: Call) -> s.MinutesOut:
    """The part of the hearing the clerk is writing now: new entries go under it."""
    body: s.MinutesSectionIn = call.body
    me = _own_session(call).participant
    section = Section(body.section)
    now = call.request.app[SERVICE].clock()
    return await _change(
        call,
        "minutes.section",
        lambda m: m.set_section(me.role, me.id, section, now),
        section=section.value,
    )


async def sign_minutes(call: Call) -> s.MinutesOut:
    me = _own_session(call).participant
    now = call.request.app[SERVICE].clock()
    return await _change(call, "minutes.sign", lambda m: m.sign(me.role, me, now))


def _amendment_number(call: Call) -> int:
    raw = call.path("number")
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput("minutes.amendment", Text("Số không hợp lệ.", "Not a number."))
    return int(raw)


async def request_amendment(call: Call) -> s.MinutesOut:
    """Someone who took part asks for a correction of the signed minutes; appended."""
    body: s.AmendmentIn = call.body
    join = _own_session(call)
    me = join.participant
    closed = join.session.is_closed_hearing
    now = call.request.app[SERVICE].clock()

    def ask(m: Minutes) -> object:
        ensure_may_read(me.role, m, closed)
        return m.request_amendment(Speaker(me.id, me.name, me.role), now, body.text)

    return await _change(call, "minutes.amendment", ask)


async def decide_amendment(call: Call) -> s.MinutesOut:
    body: s.AmendmentDecisionIn = call.body
    me = _own_session(call).participant
    number = _amendment_number(call)
    now = call.request.app[SERVICE].clock()
    return await _change(
        call,
        "minutes.amendment_decision",
        lambda m: m.decide_amendment(me.role, me.id, number, body.accept, body.reason, now),
        amendment=number,
    )


async def sign_amendment(call: Call) -> s.MinutesOut:
    me = _own_session(call).participant
    number = _amendment_number(call)
    now = call.request.app[SERVICE].clock()
    return await _change(
        call,
        "minutes.amendment_sign",
        lambda m: m.sign_amendment(me.role, me, number, now),
        amendment=number,
    )


async def minutes_pdf_for_participant(call: Call) -> web.Response:
    """The signed PDF for someone who took part, when the rules let them read the minutes."""
    join = _own_session(call)
    service = call.request.app[SERVICE]
    minutes = await service.minutes(join.session.id)
    ensure_may_read(join.participant.role, minutes, join.session.is_closed_hearing)
    court = await service.court(Actor.system(), join.session.court_id)
    actor = Actor.participant(join.participant.id, join.participant.name)
    document = await call.request.app[MINUTES_DOCUMENTS].signed_pdf(
        actor, join.session, court.time_zone
    )
    return _document_response(document.data, document.media_type, document.name)


async def minutes_pdf_for_staff(call: Call) -> web.Response:
    """The signed PDF for the hearing court's staff."""
    service = call.request.app[SERVICE]
    session = await service.session(call.staff, SessionId(call.path("session_id")))
    court = await service.court(call.staff, session.court_id)
    document = await call.request.app[MINUTES_DOCUMENTS].signed_pdf(
        call.staff, session, court.time_zone
    )
    return _document_response(document.data, document.media_type, document.name)


async def case_file_bundle(call: Call) -> web.StreamResponse:
    """The case-file bundle (ZIP), made for this download and removed once sent."""
    bundle = await call.request.app[CASE_FILES].export_to_temporary(
        call.staff, SessionId(call.path("session_id"))
    )
    headers = {
        "Content-Type": "application/zip",
        "Content-Disposition": f'attachment; filename="{bundle.name}"',
        "Cache-Control": "private, no-store",
    }
    return await send_temporary_file(call.request, bundle.path, headers)


def _document_response(data: bytes, media_type: str, name: str) -> web.Response:
    return web.Response(
        body=data,
        content_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
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
        SESSION + "/links",
        list_session_links,
        "Every person's current join link (long and short), those the caller may hand out",
        "links",
        response=list[s.PersonLinkOut],
        errors=(403, 404),
    ),
    Endpoint(
        "GET",
        SESSION + "/links.csv",
        export_session_links,
        "The same links as a CSV file (UTF-8 with BOM, for Excel); audited",
        "links",
        media=CSV_MEDIA_TYPE,
        errors=(403, 404),
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
        "Issue a new join link; the person's earlier links are revoked",
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
        "POST",
        PREFIX + "/case-imports",
        import_case_file,
        "Schedule hearings from a case registry file (CSV or JSON); dry run by default",
        "sessions",
        body=s.CaseImportIn,
        response=s.CaseImportOut,
        errors=(403, 404, 422),
    ),
    Endpoint(
        "POST",
        PREFIX + "/webhooks",
        register_webhook,
        "Register a receiver of signed lifecycle notifications",
        "webhooks",
        body=s.WebhookIn,
        response=s.WebhookOut,
        status=201,
        errors=(403, 422),
    ),
    Endpoint(
        "GET",
        PREFIX + "/webhooks",
        list_webhooks,
        "Registered notification receivers",
        "webhooks",
        response=list[s.WebhookOut],
        errors=(403,),
    ),
    Endpoint(
        "DELETE",
        PREFIX + "/webhooks/{webhook_id}",
        remove_webhook,
        "Stop notifying a receiver (its deliveries are kept)",
        "webhooks",
        status=204,
        errors=(403, 404),
    ),
    Endpoint(
        "GET",
        PREFIX + "/webhooks/{webhook_id}/deliveries",
        webhook_deliveries,
        "Every delivery to a receiver: attempts, answers, errors",
        "webhooks",
        response=list[s.WebhookDeliveryOut],
        errors=(403, 404),
    ),
    Endpoint(
        "GET",
        PREFIX + "/recordings/public-key",
        recording_public_key,
        "The public key that signs recordings' manifests",
        "recordings",
        Auth.PUBLIC,
        response=s.RecordingKeyOut,
    ),
    Endpoint(
        "GET",
        SESSION + "/minutes",
        read_minutes,
        "The hearing's minutes (draft for clerk and presiding judge, signed text for others)",
        "minutes",
        Auth.JOIN,
        response=s.MinutesOut,
        errors=(403, 404, 422),
    ),
    Endpoint(
        "GET",
        SESSION + "/minutes/pdf",
        minutes_pdf_for_participant,
        "The signed minutes as a signed PDF (PAdES), for those who may read them",
        "minutes",
        Auth.JOIN,
        media="application/pdf",
        errors=(403, 404, 409),
    ),
    Endpoint(
        "GET",
        SESSION + "/documents/minutes.pdf",
        minutes_pdf_for_staff,
        "The signed minutes as a signed PDF (PAdES), for the court's staff",
        "minutes",
        media="application/pdf",
        errors=(403, 404, 409),
    ),
    Endpoint(
        "GET",
        SESSION + "/documents/case-file.zip",
        case_file_bundle,
        "The hearing's case-file bundle: signed minutes, recordings, participants, audit "
        "extract, each hashed in a signed index",
        "minutes",
        media="application/zip",
        errors=(403, 404, 409),
    ),
    Endpoint(
        "PUT",
        SESSION + "/minutes/entries/{seq}",
        edit_minutes_entry,
        "Save the text of one speaking turn over the version it was typed on",
        "minutes",
        Auth.JOIN,
        body=s.MinutesEditIn,
        response=s.MinutesOut,
        errors=(403, 404, 409, 422),
    ),
    Endpoint(
        "POST",
        SESSION + "/minutes/entries",
        insert_minutes_entry,
        "Insert a question, answer or statement",
        "minutes",
        Auth.JOIN,
        body=s.MinutesInsertIn,
        response=s.MinutesOut,
        status=201,
        errors=(403, 404, 409, 422),
    ),
    Endpoint(
        "PUT",
        SESSION + "/minutes/section",
        set_minutes_section,
        "Choose the part of the hearing new entries go under (clerk, presiding judge)",
        "minutes",
        Auth.JOIN,
        body=s.MinutesSectionIn,
        response=s.MinutesOut,
        errors=(403, 404, 409, 422),
    ),
    Endpoint(
        "POST",
        SESSION + "/minutes/signatures",
        sign_minutes,
        "Sign the minutes (presiding judge, clerk): the text is locked",
        "minutes",
        Auth.JOIN,
        response=s.MinutesOut,
        errors=(403, 404, 409),
    ),
    Endpoint(
        "POST",
        SESSION + "/minutes/amendments",
        request_amendment,
        "Ask for an amendment of the signed minutes (appended, never written over)",
        "minutes",
        Auth.JOIN,
        body=s.AmendmentIn,
        response=s.MinutesOut,
        status=201,
        errors=(403, 404, 409, 422),
    ),
    Endpoint(
        "POST",
        SESSION + "/minutes/amendments/{number}/decision",
        decide_amendment,
        "Accept an amendment, or refuse it with the reason (presiding judge)",
        "minutes",
        Auth.JOIN,
        body=s.AmendmentDecisionIn,
        response=s.MinutesOut,
        errors=(403, 404, 409, 422),
    ),
    Endpoint(
        "POST",
        SESSION + "/minutes/amendments/{number}/signatures",
        sign_amendment,
        "Sign a decided amendment (presiding judge, clerk)",
        "minutes",
        Auth.JOIN,
        response=s.MinutesOut,
        errors=(403, 404, 409, 422),
    ),
    Endpoint(
        "GET",
        PREFIX + "/recordings",
        list_recordings,
        "Search recordings by case number, court, date and hearing",
        "recordings",
        query=s.RecordingQuery,
        response=list[s.RecordingOut],
        errors=(403,),
    ),
    Endpoint(
        "GET",
        PREFIX + "/recordings/files",
        download_recording_file,
        "Download one file of a recording through a short-lived link (Range supported)",
        "recordings",
        Auth.PUBLIC,
        query=s.DownloadQuery,
        media="*/*",
        errors=(403, 404),
    ),
    Endpoint(
        "GET",
        PREFIX + "/recordings/retention",
        retention_report,
        "Dry run of retention: what would be deleted now and why",
        "recordings",
        response=list[s.RetentionOut],
        errors=(403,),
    ),
    Endpoint(
        "POST",
        PREFIX + "/recordings/retention",
        apply_retention,
        "Delete the recordings past their retention period that no legal hold keeps",
        "recordings",
        response=list[s.RetentionOut],
        errors=(403,),
    ),
    Endpoint(
        "GET",
        PREFIX + "/recordings/{recording_id}",
        get_recording,
        "A recording with its files, manifest, state and verification",
        "recordings",
        response=s.RecordingDetailOut,
        errors=(403, 404),
    ),
    Endpoint(
        "POST",
        PREFIX + "/recordings/{recording_id}/links",
        create_download_link,
        "A short-lived link to one file of a recording",
        "recordings",
        body=s.DownloadLinkIn,
        response=s.DownloadLinkOut,
        status=201,
        errors=(403, 404),
    ),
    Endpoint(
        "PUT",
        PREFIX + "/recordings/{recording_id}/legal-hold",
        set_legal_hold,
        "Place or lift a legal hold: a held recording is never deleted",
        "recordings",
        body=s.LegalHoldIn,
        response=s.RecordingOut,
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
