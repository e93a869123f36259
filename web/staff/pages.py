"""Staff pages for watching the court: its sessions, the live monitor, the audit log; and the
route table of every staff page."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from hearing_server.persistence.repositories import SessionFilter
from rooms.audit import SealedEntry
from rooms.errors import DomainError
from rooms.ids import CourtId, SessionId
from rooms.participants import Actor
from rooms.permissions import StaffAction, ensure_staff_actor
from rooms.roles import SessionKind
from rooms.session import CourtSession
from rooms.states import LIVE_SESSION_STATES, SESSION_STATE_LABELS, SessionState
from web.i18n import locale_of
from web.keys import SERVICE, SETTINGS
from web.staff import auth, case_documents, scheduling
from web.staff.audit_words import Reader, Staff, staff_ids
from web.staff.auth import staff_page
from web.staff.layout import StaffLogin, court_of, staff_render
from web.staff.link_sheets import add_link_sheet_routes
from web.staff.recordings import add_recording_routes
from web.staff.session_cookie import CSRF_KEY, derive_csrf_key
from web.staff.summaries import LABELS, options, rows, script_labels

LIST_PAGE = 50
"""Sessions per page of a filtered list."""
AHEAD = 200
"""How many of today's and coming sessions the home page lists."""
MONITOR_REFRESH_SECONDS = 10
"""How often the monitor asks for sessions that became live since it loaded."""
AUDIT_PAGE = 50
AUDIT_BATCH = 500
AUDIT_SCAN = 5000
"""One audit page reads at most this many entries looking for matches, then offers to go on."""


# ---------------------------------------------------------------------- sessions


_STATE_VALUES = frozenset(s.value for s in SessionState)


@dataclass(frozen=True)
class SessionFilters:
    day: date | None = None
    kind: SessionKind | None = None
    states: frozenset[SessionState] = frozenset()
    offset: int = 0
    invalid: tuple[str, ...] = ()
    """Names of the filters that could not be read (they are left out)."""

    @property
    def active(self) -> bool:
        return self.day is not None or self.kind is not None or bool(self.states)

    @classmethod
    def of(cls, query: Mapping[str, str], states: list[str]) -> SessionFilters:
        invalid: list[str] = []
        day = kind = None
        try:
            day = date.fromisoformat(query["day"]) if query.get("day") else None
        except ValueError:
            invalid.append("day")
        try:
            kind = SessionKind(query["kind"]) if query.get("kind") else None
        except ValueError:
            invalid.append("kind")
        chosen = frozenset(SessionState(s) for s in states if s in _STATE_VALUES)
        if len(chosen) != len(set(states)):
            invalid.append("state")
        return cls(day, kind, chosen, _count(query.get("offset", "")), tuple(invalid))


@staff_page
async def sessions_home(request: web.Request, login: StaffLogin) -> web.StreamResponse:
    """Live sessions, today's and those coming; or, with filters, what matches them."""
    court = await court_of(request, login)
    zone = ZoneInfo(court.time_zone)
    service = request.app[SERVICE]
    filters = SessionFilters.of(request.query, request.query.getall("state", []))
    context: dict[str, Any] = {}
    if filters.active:
        starts_from = starts_before = None
        if filters.day is not None:
            starts_from = datetime.combine(filters.day, time(), tzinfo=zone).astimezone(UTC)
            starts_before = starts_from + timedelta(days=1)
        found = await service.find_sessions(
            login.actor,
            SessionFilter(
                court_id=court.id,
                kind=filters.kind,
                states=filters.states or None,
                starts_from=starts_from,
                starts_before=starts_before,
                limit=LIST_PAGE + 1,
                offset=filters.offset,
            ),
        )
        context["results"] = rows(found[:LIST_PAGE])
        if filters.offset:
            context["previous_page"] = _page_query(
                request, "offset", max(0, filters.offset - LIST_PAGE)
            )
        if len(found) > LIST_PAGE:
            context["next_page"] = _page_query(request, "offset", filters.offset + LIST_PAGE)
    else:
        today = datetime.combine(service.clock().astimezone(zone).date(), time(), tzinfo=zone)
        tomorrow = today + timedelta(days=1)
        live = await service.find_sessions(
            login.actor,
            SessionFilter(court_id=court.id, states=LIVE_SESSION_STATES, limit=AHEAD),
        )
        live_ids = {s.id for s in live}
        coming = [
            s
            for s in await service.find_sessions(
                login.actor,
                SessionFilter(court_id=court.id, starts_from=today.astimezone(UTC), limit=AHEAD),
            )
            if s.id not in live_ids
        ]
        context["live"] = rows(live)
        context["today"] = rows(s for s in coming if s.scheduled_start < tomorrow)
        context["upcoming"] = rows(s for s in coming if s.scheduled_start >= tomorrow)
    return await staff_render(
        request,
        login,
        "staff/sessions.html",
        section="sessions",
        filters=filters,
        session_states=options(SESSION_STATE_LABELS, locale_of(request)),
        **context,
    )


def _count(text: str) -> int:
    """A page position from the address; anything else (or absurdly large) counts as 0."""
    return int(text) if text.isdigit() and len(text) <= 12 else 0


def _page_query(request: web.Request, key: str, value: int) -> str:
    """This page's query with ``key`` set to ``value``: the same filters, another page."""
    kept = [(k, v) for k, v in request.query.items() if k != key]
    return urlencode([*kept, (key, str(value))])


# ---------------------------------------------------------------------- live monitor


@staff_page
async def monitor(request: web.Request, login: StaffLogin) -> web.StreamResponse:
    """Live sessions as loaded; the page's script then follows them over socket.io."""
    ensure_staff_actor(login.actor, StaffAction.MONITOR)
    court = await court_of(request, login)
    lang = locale_of(request)
    sessions = await request.app[SERVICE].find_sessions(
        login.actor,
        SessionFilter(court_id=court.id, states=LIVE_SESSION_STATES, limit=AHEAD),
    )
    config = {
        "staff_token": login.token,
        "sessions_url": _live_sessions_url(court.id),
        "refresh_seconds": MONITOR_REFRESH_SECONDS,
        "lang": lang,
        "time_zone": court.time_zone,
        "labels": script_labels(lang),
    }
    return await staff_render(
        request,
        login,
        "staff/monitor.html",
        section="monitor",
        sessions=sessions,
        labels=LABELS,
        config=config,
    )


def _live_sessions_url(court_id: CourtId) -> str:
    states = "&".join(f"state={s.value}" for s in sorted(LIVE_SESSION_STATES))
    return f"/api/v1/sessions?court_id={court_id}&{states}&limit={AHEAD}"


# ---------------------------------------------------------------------- audit log


@dataclass(frozen=True)
class AuditFilters:
    session: str = ""
    actor: str = ""
    action: str = ""
    outcome: str = ""

    @property
    def active(self) -> bool:
        return any((self.session, self.actor, self.action, self.outcome))

    def matches(self, sealed: SealedEntry) -> bool:
        entry = sealed.entry
        return (
            (not self.actor or self.actor.lower() in entry.actor.lower())
            and (not self.action or entry.action.startswith(self.action))
            and (not self.outcome or entry.outcome == self.outcome)
        )


@staff_page
async def audit_log(request: web.Request, login: StaffLogin) -> web.StreamResponse:
    service = request.app[SERVICE]
    q = request.query
    filters = AuditFilters(
        **{k: q.get(k, "").strip()[:200] for k in ("session", "actor", "action", "outcome")}
    )
    # Reading the trail is where the service checks the account may see it; verifying comes
    # after, so a refused account learns nothing from the chain's length.
    await service.audit_trail(login.actor, None, 0, 1)
    total, breaks = await service.verify_audit(login.actor)
    newest = 0 if filters.active else max(0, total - AUDIT_PAGE)
    after = _count(q["after"]) if "after" in q else newest
    entries, next_after = await _audit_page(login.actor, request, filters, after)
    return await staff_render(
        request,
        login,
        "staff/audit.html",
        section="audit",
        filters=filters,
        entries=entries,
        after=after,
        next_after=next_after,
        first_page=_page_query(request, "after", 0),
        next_page=_page_query(request, "after", next_after or 0),
        total=total,
        breaks=breaks,
        reader=await _audit_reader(request, entries),
    )


async def _audit_reader(request: web.Request, entries: list[SealedEntry]) -> Reader:
    """Names for the people and sessions this page's entries mention. Looked up as the
    system: the account was already allowed to read the trail, and a name is what it says."""
    service = request.app[SERVICE]
    system = Actor.system()
    wanted = staff_ids(entries)
    staff: dict[str, Staff] = {
        user.id: Staff(user.display_name or user.username, user.role.label)
        for user in (await service.users(system) if wanted else [])
        if user.id in wanted
    }
    sessions: dict[str, CourtSession] = {}
    for session_id in {e.entry.session_id for e in entries if e.entry.session_id}:
        with contextlib.suppress(DomainError):  # a session since deleted keeps its ids
            sessions[session_id] = await service.session(system, SessionId(session_id))
    return Reader(locale_of(request), staff, sessions)


async def _audit_page(
    actor: Actor, request: web.Request, filters: AuditFilters, after: int
) -> tuple[list[SealedEntry], int | None]:
    """Up to a page of matching entries after ``after``, and where the next page starts
    (None at the end). The service filters by session; the rest is matched here."""
    service = request.app[SERVICE]
    found: list[SealedEntry] = []
    cursor, scanned = after, 0
    while True:
        batch = await service.audit_trail(actor, filters.session or None, cursor, AUDIT_BATCH)
        for sealed in batch:
            cursor = sealed.seq
            if filters.matches(sealed):
                found.append(sealed)
                if len(found) == AUDIT_PAGE:
                    return found, cursor
        scanned += len(batch)
        if len(batch) < AUDIT_BATCH:
            return found, None
        if scanned >= AUDIT_SCAN:
            return found, cursor


# ---------------------------------------------------------------------- routes


def add_staff_routes(app: web.Application) -> None:
    app[CSRF_KEY] = derive_csrf_key(app[SETTINGS].signing_key())
    session = "/staff/sessions/{session_id}"
    app.router.add_get("/staff", _to_home, name="staff")
    app.router.add_get("/staff/", sessions_home, name="staff_home")
    app.router.add_get(auth.LOGIN, auth.login_page, name="staff_login")
    app.router.add_post(auth.LOGIN, auth.log_in)
    app.router.add_post("/staff/logout", auth.log_out, name="staff_logout")
    for new in (scheduling.HEARING, scheduling.MEETING):
        path = f"/staff/{new.kind}s/new"
        app.router.add_get(path, new.blank_form(), name=f"staff_new_{new.kind}")
        app.router.add_post(path, new.submit())
    app.router.add_get(session, scheduling.session_detail, name="staff_session")
    app.router.add_post(session + "/points", scheduling.add_point)
    app.router.add_post(session + "/participants", scheduling.add_participant)
    app.router.add_post(session + "/participants/{participant_id}/links", scheduling.issue_link)
    app.router.add_post(session + "/links/{invitation_id}/revoke", scheduling.revoke_link)
    app.router.add_post(session + "/cancel", scheduling.cancel_session)
    app.router.add_get(session + "/minutes.docx", case_documents.minutes_docx_download)
    app.router.add_get(session + "/minutes.pdf", case_documents.minutes_pdf_download)
    app.router.add_get(session + "/case-file.zip", case_documents.case_file_download)
    app.router.add_post(session + "/end", scheduling.end_session)
    app.router.add_get("/staff/monitor", monitor, name="staff_monitor")
    app.router.add_get("/staff/audit", audit_log, name="staff_audit")
    add_recording_routes(app)
    add_link_sheet_routes(app)


async def _to_home(_request: web.Request) -> web.Response:
    return web.Response(status=308, headers={"Location": "/staff/"})
