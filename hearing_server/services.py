"""The application layer: each use case loads the aggregate, lets it decide, saves, audits
and publishes, in one transaction. Web and signalling handlers call only this."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

from hearing_server.bus import CredentialKind, EventBus, credential_ended
from hearing_server.event_log import log_events, log_refusal
from hearing_server.locks import KeyedLocks
from hearing_server.login_throttle import LoginThrottlePolicy, ThrottleSubject, Wait, login_wait
from hearing_server.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password
from hearing_server.persistence.database import Database, UnitOfWork, is_storage_full
from hearing_server.persistence.repositories import ConcurrentUpdate, SessionFilter
from hearing_server.refusals import CoalescedRefusals, CoalescingRule, RefusalCoalescer, RefusalKey
from hearing_server.saved_sessions import SavedSessions
from hearing_server.tokens import JoinClaims, TokenError, TokenSigner
from rooms.accounts import Invitation, StaffUser
from rooms.alerts import Alert, AlertKind, raise_alert
from rooms.audit import AuditEntry, ChainBreak, SealedEntry, verify_chain
from rooms.cases import Case, MeetingInfo
from rooms.courts import Court
from rooms.errors import DomainError, InvalidInput, NotFound
from rooms.events import Event
from rooms.ids import CourtId, InvitationId, ParticipantId, PointId, SessionId, UserId, new_id
from rooms.minutes import Minutes, header_of
from rooms.participants import Actor, Participant
from rooms.permissions import (
    StaffAction,
    court_scope,
    ensure_staff_actor,
    ensure_staff_in_court,
    link_action,
    may_handle_link,
)
from rooms.points import ConnectionPoint, PointKind
from rooms.roles import Role, StaffRole
from rooms.session import CourtSession
from rooms.short_codes import ShortCode, new_short_code, read_short_code
from rooms.states import ENDED_SESSION_STATES
from rooms.text import Text

log = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], datetime]
FactNotifier = Callable[[str, SessionId, dict[str, Any]], Awaitable[None]]
"""kind, session, facts: a lifecycle fact for the systems outside (webhooks)."""
SAVE_ATTEMPTS = 5
LinkExport = Literal["csv", "print"]
"""How a session's links leave the server: a CSV file or printed invitation sheets."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class AuthenticationFailed(DomainError):
    code = "unauthenticated"


class RateLimited(DomainError):
    """Too many failed logins: try again after ``retry_after_seconds``."""

    code = "rate_limited"

    def __init__(self, rule: str, message: Text, retry_after_seconds: int) -> None:
        super().__init__(rule, message)
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True, slots=True)
class JoinLink:
    """A personal link as it is handed out: the signed token in a long address, and the
    invitation's short code in a short one. Either opens the same invitation."""

    invitation: Invitation
    token: str
    url: str
    short_url: str
    replaced: tuple[InvitationId, ...] = ()
    """The person's earlier links this one revoked when it was issued (a re-issue)."""


@dataclass(frozen=True, slots=True)
class PersonLink:
    """One person of a session with the link they may use now (None: none is valid)."""

    participant: Participant
    link: JoinLink | None


@dataclass(frozen=True, slots=True)
class LoginResult:
    token: str
    user: StaffUser
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class JoinContext:
    """Who a join token speaks for, checked against the database, not just the signature."""

    session: CourtSession
    participant: Participant
    invitation: Invitation


class HearingService:
    def __init__(
        self,
        database: Database,
        signer: TokenSigner,
        bus: EventBus,
        base_url: str,
        staff_token_ttl: timedelta = timedelta(hours=12),
        join_link_grace: timedelta = timedelta(hours=12),
        clock: Clock = utc_now,
        login_throttle: LoginThrottlePolicy | None = None,
        refusal_coalescing: CoalescingRule | None = None,
    ) -> None:
        self.database = database
        self.signer = signer
        self.bus = bus
        self.base_url = base_url.rstrip("/")
        self.staff_token_ttl = staff_token_ttl
        self.join_link_grace = join_link_grace
        self.clock = clock
        self.notify: FactNotifier | None = None
        "Told of facts outside the session's events (minutes signed, recording ready)."
        self._session_turns = KeyedLocks()
        self.saved = SavedSessions()
        "Sessions as this process's commands saved them, so its edges need not load them."
        self._unwritten_alerts: list[Alert] = []
        "Alerts raised while nothing could be written; written once writing works again."
        self._storage_alert: Alert | None = None
        self._writing_kept_alerts = False
        database.on_storage_full = self._storage_filled_up
        database.after_commit = self._write_kept_alerts
        self.login_throttle = login_throttle or LoginThrottlePolicy()
        self._refusals = RefusalCoalescer(refusal_coalescing)
        self.home_court_id: CourtId | None = None
        """The court this server was set up for (``ensure_court``): the default court of
        new accounts and of system-wide administrators' scheduling."""

    # ------------------------------------------------------------------ staff accounts

    async def login(self, username: str, password: str, address: str | None = None) -> LoginResult:
        """Check a password, unless this address or account must wait after failures
        (``login_throttle``); ``address`` is the client's, None when there is no client."""
        now = self.clock()
        account = username[:200]
        async with self.database.unit_of_work() as uow:
            wait = login_wait(
                self.login_throttle,
                None
                if address is None
                else await uow.login_failures.get(ThrottleSubject.ADDRESS, address),
                await uow.login_failures.get(ThrottleSubject.ACCOUNT, account),
                now,
            )
            if wait is not None:
                throttled = _login_throttled(wait)
                await self._refuse(
                    uow,
                    Actor(id=f"login:{username[:60]}"),
                    "auth.login",
                    None,
                    throttled,
                    {"username": username[:64], "held_back": wait.subject.value},
                    counted_as=_address_actor(address) if address is not None else None,
                )
                raise throttled
            user = await uow.users.by_username(username)
        valid = verify_password(user.password_hash if user else DUMMY_HASH, password)
        if user is None or not valid or not user.active:
            refusal = AuthenticationFailed("auth.bad_credentials", _BAD_LOGIN)
            async with self.database.unit_of_work() as uow:
                await self._refuse(
                    uow,
                    Actor(id=f"login:{username[:60]}"),
                    "auth.login",
                    None,
                    refusal,
                    {"username": username[:64]},
                )
                forget_before = now - self.login_throttle.forget_after
                if address is not None:
                    await uow.login_failures.record_failure(
                        ThrottleSubject.ADDRESS, address, now, forget_before
                    )
                await uow.login_failures.record_failure(
                    ThrottleSubject.ACCOUNT, account, now, forget_before
                )
                await uow.commit()
            raise refusal
        async with self.database.unit_of_work() as uow:
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
                await uow.users.set_password_hash(user.id, user.password_hash)
            # The account's owner proved themselves; the address's count only fades with
            # time, or one valid account would reset it between guesses at another.
            await uow.login_failures.clear(ThrottleSubject.ACCOUNT, account)
            await self._audit(uow, _staff_actor(user), "auth.login", None, "accepted", {})
            await uow.commit()
        token = self.signer.staff_token(
            user.id, user.username, user.role, now, self.staff_token_ttl
        )
        return LoginResult(token, user, now + self.staff_token_ttl)

    async def authenticate_staff(self, token: str) -> tuple[Actor, StaffUser]:
        """A bearer token is honoured only while its account exists and is active, and
        until it is revoked by logging out."""
        try:
            claims = self.signer.read_staff(token, self.clock())
        except TokenError as exc:
            raise AuthenticationFailed(
                f"auth.token_{exc.reason}", _token_text(exc.reason, _STAFF_TOKEN_TEXTS)
            ) from exc
        async with self.database.unit_of_work() as uow:
            user = await uow.users.get(claims.user_id)
            revoked = await uow.revoked_tokens.is_revoked(claims.token_id)
        if revoked or user is None or not user.active or user.role is not claims.role:
            raise AuthenticationFailed(
                "auth.token_revoked", _token_text("revoked", _STAFF_TOKEN_TEXTS)
            )
        return _staff_actor(user), user

    async def logout(self, token: str) -> None:
        """End this one token on the server: it is refused from now on, everywhere."""
        actor, user = await self.authenticate_staff(token)
        claims = self.signer.read_staff(token, self.clock())
        async with self.database.unit_of_work() as uow:
            await uow.revoked_tokens.revoke(
                claims.token_id, user.id, self.clock(), claims.expires_at
            )
            await self._audit(uow, actor, "auth.logout", None, "accepted", {})
            await uow.commit()
        await self.end_credential(CredentialKind.STAFF_TOKEN, claims.token_id, "auth.logged_out")

    async def add_user(
        self,
        actor: Actor,
        username: str,
        role: StaffRole,
        password: str,
        display_name: str = "",
        court_id: CourtId | None = None,
    ) -> StaffUser:
        if court_id is None and (role is not StaffRole.ADMIN or actor.court_id is not None):
            # Only an administrator may be bound to no court, and only one made by the
            # system or a system-wide administrator; anyone else belongs to a court.
            court_id = actor.court_id or self.home_court_id

        def create() -> StaffUser:
            ensure_staff_actor(actor, StaffAction.MANAGE_USERS)
            ensure_staff_in_court(actor, court_id)
            if court_id is None and role is not StaffRole.ADMIN:
                raise InvalidInput("user.court_required", _COURT_REQUIRED)
            try:
                password_hash = hash_password(password)
            except ValueError as exc:
                raise InvalidInput(
                    "user.password_too_short",
                    Text("Mật khẩu phải có ít nhất 10 ký tự.", str(exc).capitalize() + "."),
                ) from exc
            return StaffUser(
                UserId(new_id()), username, role, password_hash, display_name, court_id
            )

        async def store(uow: UnitOfWork, user: StaffUser) -> None:
            if user.court_id is not None:
                await uow.courts.get(user.court_id)  # NotFound, not a foreign-key crash
            await uow.users.add(user, self.clock())

        return await self._staff_command(
            actor, "user.add", None, {"username": username, "role": role.value}, create, store
        )

    async def users(self, actor: Actor) -> list[StaffUser]:
        """Every account for a system-wide administrator; a court's own otherwise."""
        scope = court_scope(actor)

        def check() -> None:
            ensure_staff_actor(actor, StaffAction.MANAGE_USERS)
            ensure_staff_in_court(actor, scope)

        async with self.database.unit_of_work() as uow:
            await self._permit(uow, actor, "user.list", None, check)
            users = await uow.users.all()
        return [u for u in users if scope is None or u.court_id == scope]

    async def set_user_active(self, actor: Actor, user_id: UserId, active: bool) -> StaffUser:
        """Deactivating an account refuses its tokens at once (every call checks ``active``)
        and ends what it has open."""
        detail = {"user": user_id, "active": active}
        async with self.database.unit_of_work() as uow:
            try:
                ensure_staff_actor(actor, StaffAction.MANAGE_USERS)
                user = await uow.users.get(user_id)
                if user is None:
                    raise NotFound("user.not_found", _NO_USER)
                ensure_staff_in_court(actor, user.court_id)
                if not active and actor.id == _staff_actor(user).id:
                    raise InvalidInput("user.deactivate_self", _NOT_YOURSELF)
            except DomainError as error:
                await self._refuse(uow, actor, "user.set_active", None, error, detail)
                raise
            await uow.users.set_active(user_id, active)
            await self._audit(uow, actor, "user.set_active", None, "accepted", detail)
            await uow.commit()
        if not active:
            await self.end_credential(CredentialKind.STAFF_USER, user_id, "account.deactivated")
        return replace(user, active=active)

    # ------------------------------------------------------------------ courts

    async def ensure_court(self, code: str, name: str, time_zone: str) -> Court:
        """The court this server belongs to, created on first start."""
        async with self.database.unit_of_work() as uow:
            existing = await uow.courts.by_code(code)
            if existing is not None:
                self.home_court_id = existing.id
                return existing
            court = Court(CourtId(new_id()), code, name, time_zone)
            await uow.courts.add(court)
            await self._audit(uow, Actor.system(), "court.add", None, "accepted", {"code": code})
            await uow.commit()
        self.home_court_id = court.id
        return court

    async def add_court(self, actor: Actor, code: str, name: str, time_zone: str) -> Court:
        def create() -> Court:
            ensure_staff_actor(actor, StaffAction.MANAGE_COURTS)
            ensure_staff_in_court(actor, None)  # a new court belongs to no court yet
            return Court(CourtId(new_id()), code, name, time_zone)

        async def store(uow: UnitOfWork, court: Court) -> None:
            if await uow.courts.by_code(code) is not None:
                raise InvalidInput(
                    "court.code_taken",
                    Text("Mã tòa án đã tồn tại.", f"The court code '{code}' is taken."),
                )
            await uow.courts.add(court)

        return await self._staff_command(actor, "court.add", None, {"code": code}, create, store)

    async def courts(self, actor: Actor) -> list[Court]:
        """Every court for the system and system-wide administrators; one's own otherwise."""
        scope = court_scope(actor)
        async with self.database.unit_of_work() as uow:
            await self._permit(
                uow, actor, "court.list", None, lambda: ensure_staff_in_court(actor, scope)
            )
            courts = await uow.courts.all()
        return [c for c in courts if scope is None or c.id == scope]

    async def court(self, actor: Actor, court_id: CourtId) -> Court:
        async with self.database.unit_of_work() as uow:
            await self._permit(
                uow,
                actor,
                "court.read",
                None,
                lambda: ensure_staff_in_court(actor, court_id),
                {"court": court_id},
            )
            return await uow.courts.get(court_id)

    def default_court_id(self, actor: Actor) -> CourtId:
        """Where a session is scheduled when none is named: the actor's court, or this
        server's own for the system and system-wide administrators."""
        court_id = actor.court_id or self.home_court_id
        if court_id is None:
            raise InvalidInput("court.required", _COURT_REQUIRED)
        return court_id

    # ------------------------------------------------------------------ scheduling

    async def schedule_hearing(
        self,
        actor: Actor,
        case: Case,
        start: datetime,
        end: datetime | None = None,
        courtroom_name: str = "Phòng xử án",
        record_automatically: bool = False,
    ) -> CourtSession:
        def create() -> CourtSession:
            return CourtSession.schedule_hearing(
                actor,
                case,
                self.database.policy,
                start,
                end,
                courtroom_name,
                record_automatically=record_automatically,
            )

        detail = {
            "case_number": case.number,
            "case_type": case.case_type.value,
            "record_automatically": record_automatically,
        }
        return await self._create_session(actor, case.court_id, "hearing.schedule", detail, create)

    async def schedule_meeting(
        self,
        actor: Actor,
        meeting: MeetingInfo,
        start: datetime,
        end: datetime | None = None,
        main_point_name: str = "Điểm cầu trung tâm",
    ) -> CourtSession:
        def create() -> CourtSession:
            return CourtSession.schedule_meeting(
                actor, meeting, self.database.policy, start, end, main_point_name
            )

        detail = {"title": meeting.title}
        return await self._create_session(
            actor, meeting.court_id, "meeting.schedule", detail, create
        )

    async def session(self, actor: Actor, session_id: SessionId) -> CourtSession:
        """One session, for its own court's staff (and the system: an edge that already
        checked the join token of a connection to it)."""
        async with self.database.unit_of_work() as uow:
            return await self._session_in_court(uow, actor, session_id, "session.read", {})

    async def find_sessions(self, actor: Actor, query: SessionFilter) -> list[CourtSession]:
        """A court's staff find their own court's sessions; naming another court is refused."""
        if query.court_id is None:
            query = replace(query, court_id=court_scope(actor))
        async with self.database.unit_of_work() as uow:
            await self._permit(
                uow,
                actor,
                "session.list",
                None,
                lambda: ensure_staff_in_court(actor, query.court_id),
                {"court": query.court_id},
            )
            return await uow.sessions.find(query)

    async def add_point(
        self, actor: Actor, session_id: SessionId, name: str, kind: PointKind, location: str = ""
    ) -> ConnectionPoint:
        return await self.execute(
            actor,
            session_id,
            "session.add_point",
            lambda s: s.add_point(actor, name, kind, location),
            {"name": name, "kind": kind.value},
        )

    async def add_participant(
        self,
        actor: Actor,
        session_id: SessionId,
        name: str,
        role: Role,
        point_id: PointId,
    ) -> tuple[Participant, JoinLink]:
        """Add a person and issue their personal link in the same transaction."""
        links: list[JoinLink] = []

        async def issue(uow: UnitOfWork, session: CourtSession, participant: Participant) -> None:
            links.append(await self._issue_link(uow, actor, session, participant.id))

        participant = await self.execute(
            actor,
            session_id,
            "session.add_participant",
            lambda s: s.add_participant(actor, name, role, point_id),
            {"name": name, "role": role.value, "point_id": point_id},
            after=issue,
        )
        return participant, links[0]

    async def issue_link(
        self, actor: Actor, session_id: SessionId, participant_id: ParticipantId
    ) -> JoinLink:
        """A fresh link that replaces the person's earlier ones: those (and their short
        codes) are revoked in the same transaction, each audited, and whatever they hold
        open is closed. A link for someone who conducts the session needs
        ``ISSUE_OFFICIAL_LINK``."""
        async with self.database.unit_of_work() as uow:
            try:
                session = await uow.sessions.get(session_id)
                participant = session.participants.get(participant_id)
                if participant is None:
                    raise NotFound("participant.not_found", _no_participant(participant_id))
                session.ensure_staff(actor, link_action(participant.role))
                link = await self._issue_link(uow, actor, session, participant_id)
            except DomainError as error:
                detail = {"participant": participant_id}
                await self._refuse(uow, actor, "link.issue", session_id, error, detail)
                raise
            await uow.commit()
        for revoked in link.replaced:
            await self.end_credential(CredentialKind.JOIN_LINK, revoked, "link.revoked")
        return link

    async def revoke_link(
        self, actor: Actor, session_id: SessionId, invitation_id: InvitationId
    ) -> None:
        async with self.database.unit_of_work() as uow:
            try:
                session = await uow.sessions.get(session_id)
                session.ensure_staff(actor, StaffAction.SCHEDULE)
                invitation = await uow.invitations.get(invitation_id)
                if invitation is None or invitation.session_id != session_id:
                    raise NotFound(
                        "invitation.not_found",
                        Text("Không tìm thấy đường dẫn mời.", "No such join link."),
                    )
            except DomainError as error:
                await self._refuse(
                    uow, actor, "link.revoke", session_id, error, {"invitation": invitation_id}
                )
                raise
            await uow.invitations.revoke(invitation_id, self.clock())
            await self._audit(
                uow, actor, "link.revoke", session_id, "accepted", {"invitation": invitation_id}
            )
            await uow.commit()
        await self.end_credential(CredentialKind.JOIN_LINK, invitation_id, "link.revoked")

    async def end_credential(self, kind: CredentialKind, credential_id: str, reason: str) -> None:
        """After the commit that ended it: every process closes the connections that this
        credential holds open (a revoked link, a logged-out token, a deactivated account)."""
        log.info("credential ended: %s %s (%s)", kind.value, credential_id, reason)
        await self.bus.announce(credential_ended(kind, credential_id, reason))

    async def person_links(
        self, actor: Actor, session_id: SessionId, export: LinkExport | None = None
    ) -> list[PersonLink]:
        """Every person of a session whose link ``actor`` may hand out (``may_handle_link``),
        in the order they were added, each with their newest valid link. The links are
        rebuilt from the invitations: only the signing key makes them, nothing stores them.
        ``export`` names a copy taken away (``csv``, ``print``): that is audited."""
        now = self.clock()
        action = "link.export" if export else "link.list"
        detail: dict[str, Any] = {"format": export} if export else {}
        async with self.database.unit_of_work() as uow:
            session = await self._session_in_court(uow, actor, session_id, action, detail)
            issued = await uow.invitations.for_session(session_id)
            people = [p for p in session.participants.values() if may_handle_link(actor, p.role)]
            found = [
                PersonLink(
                    person,
                    next(
                        (
                            self._link_of(i)
                            for i in reversed(issued)
                            if i.participant_id == person.id and i.is_usable(now)
                        ),
                        None,
                    ),
                )
                for person in people
            ]
            if export:
                detail["participants"] = [p.participant.id for p in found if p.link is not None]
                await self._audit(uow, actor, action, session_id, "accepted", detail)
                await uow.commit()
            return found

    async def resolve_short_code(self, typed: str, address: str) -> JoinLink:
        """The link a short code stands for, while its invitation is valid.

        A short code has no signature: guessing is held back by the login back-off of the
        client's address (``login_throttle``). Every refused code counts as a failed login
        of that address, and while the address must wait every code is refused unread, so
        a guess that happens to be right teaches nothing. The long link is never held back."""
        now = self.clock()
        actor = Actor(id=_address_actor(address))
        async with self.database.unit_of_work() as uow:
            failures = await uow.login_failures.get(ThrottleSubject.ADDRESS, address)
            wait = login_wait(self.login_throttle, failures, None, now)
            if wait is not None:
                throttled = _codes_throttled(wait)
                await self._refuse(
                    uow, actor, "join.short_code", None, throttled, {}, counted_as=actor.id
                )
                raise throttled
            code = read_short_code(typed)
            invitation = None if code is None else await uow.invitations.by_short_code(code)
            if invitation is not None and invitation.is_usable(now):
                return self._link_of(invitation)
            if invitation is None:
                reason = "forged"
            else:
                reason = "revoked" if invitation.revoked_at is not None else "expired"
            refusal = AuthenticationFailed(
                f"join.code_{_CODE_RULES[reason]}", _token_text(reason, _JOIN_LINK_TEXTS)
            )
            session_id = invitation.session_id if invitation is not None else None
            await self._refuse(
                uow, actor, "join.short_code", session_id, refusal, {}, counted_as=actor.id
            )
        async with self.database.unit_of_work() as uow:
            forget_before = now - self.login_throttle.forget_after
            await uow.login_failures.record_failure(
                ThrottleSubject.ADDRESS, address, now, forget_before
            )
            await uow.commit()
        raise refusal

    async def invitations(self, actor: Actor, session_id: SessionId) -> list[Invitation]:
        """Every join link issued in one session, oldest first."""
        async with self.database.unit_of_work() as uow:
            await self._session_in_court(uow, actor, session_id, "link.list", {})
            return await uow.invitations.for_session(session_id)

    async def resolve_join_token(self, token: str) -> JoinContext:
        """Forged, expired, revoked or mismatched links are all refused here, once."""
        now = self.clock()
        try:
            claims: JoinClaims = self.signer.read_join(token, now)
        except TokenError as exc:
            raise AuthenticationFailed(
                f"join.token_{exc.reason}", _token_text(exc.reason, _JOIN_LINK_TEXTS)
            ) from exc
        async with self.database.unit_of_work() as uow:
            invitation = await uow.invitations.get(claims.invitation_id)
            if (
                invitation is None
                or invitation.session_id != claims.session_id
                or invitation.participant_id != claims.participant_id
            ):
                raise AuthenticationFailed(
                    "join.token_forged", _token_text("forged", _JOIN_LINK_TEXTS)
                )
            if invitation.revoked_at is not None:
                raise AuthenticationFailed(
                    "join.token_revoked", _token_text("revoked", _JOIN_LINK_TEXTS)
                )
            if not invitation.is_usable(now):
                raise AuthenticationFailed(
                    "join.token_expired", _token_text("expired", _JOIN_LINK_TEXTS)
                )
            session = await uow.sessions.get(claims.session_id)
        participant = session.participants.get(claims.participant_id)
        if participant is None:
            raise AuthenticationFailed("join.token_forged", _token_text("forged", _JOIN_LINK_TEXTS))
        return JoinContext(session, participant, invitation)

    # ------------------------------------------------------------------ commands

    async def execute(
        self,
        actor: Actor,
        session_id: SessionId,
        action: str,
        command: Callable[[CourtSession], T],
        detail: dict[str, Any] | None = None,
        after: Callable[[UnitOfWork, CourtSession, T], Any] | None = None,
    ) -> T:
        """Run one command on one session: decide, save, audit, publish; or refuse and audit.

        One session's commands take turns: in this process on a lock of the session's own
        (so waiting costs no database connection), across processes on the session's row,
        locked as it is loaded. Other sessions' commands are not held up. A save that still
        meets a writer that did not lock is retried on fresh state.
        """
        detail = detail or {}
        async with self._session_turns.hold(session_id):
            result, events, session = await self._decide_and_save(
                actor, session_id, action, command, detail, after
            )
            self.saved.keep(session)
        await self.bus.publish(events, session.version)
        return result

    async def _decide_and_save(
        self,
        actor: Actor,
        session_id: SessionId,
        action: str,
        command: Callable[[CourtSession], T],
        detail: dict[str, Any],
        after: Callable[[UnitOfWork, CourtSession, T], Any] | None,
    ) -> tuple[T, list[Event], CourtSession]:
        for attempt in range(SAVE_ATTEMPTS):
            async with self.database.unit_of_work() as uow:
                try:
                    session = await uow.sessions.get(
                        session_id,
                        for_update=True,
                        known=self.saved.at_least(session_id, 0) if attempt == 0 else None,
                    )
                    result = command(session)
                except DomainError as error:
                    await self._refuse(uow, actor, action, session_id, error, detail)
                    raise
                events = session.collect_events()
                try:
                    await uow.sessions.save(session, self.clock())
                except ConcurrentUpdate:
                    log.info("retrying %s on %s (attempt %d)", action, session_id, attempt + 1)
                    continue
                try:
                    await self._record_minutes(uow, session, events)
                except ConcurrentUpdate:
                    log.info("retrying %s on %s: minutes written meanwhile", action, session_id)
                    continue
                if after is not None:
                    await after(uow, session, result)
                names = [e.name for e in events]
                await self._audit(
                    uow, actor, action, session_id, "accepted", {**detail, "events": names}
                )
                await uow.commit()
            log_events(session, events)
            return result, events, session
        raise ConcurrentUpdate(session_id)

    # ------------------------------------------------------------------ minutes

    async def _record_minutes(
        self, uow: UnitOfWork, session: CourtSession, events: list[Event]
    ) -> None:
        """The one place the minutes hear of the hearing: in the transaction that keeps the
        events, so an entry exists exactly when its event does."""
        if session.case is None or not events:
            return
        minutes = await uow.minutes.get(session.id, for_update=True)
        loaded = None if minutes is None else minutes.version
        court = await uow.courts.get(session.court_id)
        header = header_of(session, court.name)
        if minutes is None:
            minutes = Minutes(session.id, header)
        else:
            minutes.refresh_header(header)
        minutes.record(events, session, self.clock())
        await uow.minutes.save(minutes, loaded, self.clock())

    async def minutes(self, session_id: SessionId) -> Minutes:
        """A hearing's minutes as they stand (an empty draft before the first event)."""
        async with self.database.unit_of_work() as uow:
            found = await uow.minutes.get(session_id)
            if found is not None:
                return found
            session = await uow.sessions.get(session_id)
            court = await uow.courts.get(session.court_id)
            return Minutes(session_id, header_of(session, court.name))

    async def change_minutes(
        self,
        participant: Participant,
        session_id: SessionId,
        action: str,
        change: Callable[[Minutes], T],
        detail: dict[str, Any],
    ) -> T:
        """One change by a participant (edit, insert, sign…): decided by the domain, written
        over the version it read; a refusal (a stale edit among them) is audited and raised."""
        actor = Actor.participant(participant.id, participant.name)
        async with self.database.unit_of_work() as uow:
            try:
                minutes = await uow.minutes.get(session_id, for_update=True)
                loaded = None if minutes is None else minutes.version
                if minutes is None:
                    session = await uow.sessions.get(session_id)
                    court = await uow.courts.get(session.court_id)
                    minutes = Minutes(session_id, header_of(session, court.name))
                result = change(minutes)
                await uow.minutes.save(minutes, loaded, self.clock())
            except DomainError as error:
                await self._refuse(uow, actor, action, session_id, error, detail)
                raise
            if action == "minutes.sign":
                detail = {**detail, "document_hash": minutes.document_hash()}
            await self._audit(uow, actor, action, session_id, "accepted", detail)
            await uow.commit()
        if action == "minutes.sign" and minutes.signed and self.notify is not None:
            await self.notify(
                "minutes.signed", session_id, {"document_hash": minutes.document_hash()}
            )
        return result

    # ------------------------------------------------------------------ alerts

    async def raise_alert(
        self,
        session_id: SessionId | None,
        participant_id: ParticipantId | None,
        kind: AlertKind,
        **facts: object,
    ) -> Alert:
        """The system noticed something staff must see; kept until acknowledged. On a full
        disk it is kept in memory, shown all the same, and written when writing works."""
        alert = raise_alert(session_id, participant_id, kind, self.clock(), **facts)
        log.warning(
            "session %s: alert %s about %s: %s",
            session_id or "-",
            kind.value,
            participant_id or "-",
            alert.message.en,
        )
        try:
            await self._write_alert(alert)
        except Exception as exc:
            if not is_storage_full(exc):
                raise
            log.error("alert %s (%s) kept in memory: the storage is full", alert.id, kind.value)
            self._unwritten_alerts.append(alert)
        return alert

    async def _write_alert(self, alert: Alert) -> None:
        async with self.database.unit_of_work() as uow:
            await uow.alerts.add(alert)
            detail = {
                "alert": alert.id,
                "kind": alert.kind.value,
                "participant_id": alert.participant_id,
            }
            await self._audit(
                uow, Actor.system(), "alert.raise", alert.session_id, "accepted", detail
            )
            await uow.commit()

    async def _storage_filled_up(self, error: BaseException) -> None:
        """A write failed for lack of space: IT staff get one alert for each time the storage
        fills up. It cannot be written now, so it waits in memory with the others."""
        log.error("a write failed, the storage is full: %s", error)
        if self._storage_alert is not None:
            return
        self._storage_alert = raise_alert(None, None, AlertKind.STORAGE_FULL, self.clock())
        self._unwritten_alerts.append(self._storage_alert)

    async def _write_kept_alerts(self) -> None:
        """Writing works again (something just committed): write what was kept, in order."""
        if not self._unwritten_alerts or self._writing_kept_alerts:
            return
        self._writing_kept_alerts = True
        try:
            while self._unwritten_alerts:
                alert = self._unwritten_alerts[0]
                try:
                    await self._write_alert(alert)
                except Exception:
                    log.exception("kept alert %s still cannot be written", alert.id)
                    return
                self._unwritten_alerts.pop(0)
                if alert is self._storage_alert:
                    self._storage_alert = None
        finally:
            self._writing_kept_alerts = False

    async def record_lost_connection(
        self,
        session_id: SessionId,
        participant_id: ParticipantId,
        kind: AlertKind,
        reason: str,
        *,
        alert_staff: bool = True,
        **facts: object,
    ) -> list[Alert]:
        """A participant's link died (socket dropped, media silent, or the server holding
        it died): the domain hears of it, which may suspend the hearing, and staff are
        alerted (``alert_staff`` False: the same link dropped a moment ago and was alerted
        then; a lost courtroom is alerted whatever). A person already gone is a domain
        refusal, raised."""
        suspended = await self.execute(
            Actor.system(),
            session_id,
            "participant.disconnect",
            lambda s: s.disconnect(participant_id),
            {"participant": participant_id, "reason": reason, **facts},
        )
        person = (await self.session(Actor.system(), session_id)).participants.get(participant_id)
        name = participant_id if person is None else person.name
        alerts = []
        if alert_staff:
            alerts.append(
                await self.raise_alert(session_id, participant_id, kind, name=name, **facts)
            )
        if suspended:
            lost = AlertKind.COURTROOM_LOST
            alerts.append(await self.raise_alert(session_id, participant_id, lost, name=name))
        return alerts

    async def present_participants(self) -> list[tuple[SessionId, ParticipantId]]:
        """Everyone the database shows connected to a session that has not ended: whom a
        process that died may have left behind (``hearing_server.presence``)."""
        async with self.database.unit_of_work() as uow:
            return await uow.sessions.present_participants()

    async def acknowledge_alert(self, actor: Actor, alert_id: str) -> Alert:
        """A staff member takes charge of an alert; refusals are audited like any command."""
        async with self.database.unit_of_work() as uow:
            alert = await uow.alerts.get(alert_id)
            session_id = None if alert is None else alert.session_id
            detail = {"alert": alert_id}
            try:
                ensure_staff_actor(actor, StaffAction.MONITOR)
                if alert is None:
                    raise NotFound("alert.not_found", ALERT_NOT_FOUND)
                if alert.session_id is not None:  # an alert about the whole server is anyone's
                    session = await uow.sessions.get(alert.session_id)
                    ensure_staff_in_court(actor, session.court_id)
                staff_id = actor.id.removeprefix("staff:")
                acknowledged = alert.acknowledge(staff_id, actor.name, self.clock())
            except DomainError as error:
                await self._refuse(uow, actor, "alert.acknowledge", session_id, error, detail)
                raise
            await uow.alerts.save(acknowledged)
            await self._audit(uow, actor, "alert.acknowledge", session_id, "accepted", detail)
            await uow.commit()
        return acknowledged

    async def acknowledge_session_alerts(self, actor: Actor, session_id: SessionId) -> list[Alert]:
        """A staff member takes charge of every open alert of one session at once (a hearing
        left suspended can pile up dozens); one audit entry names how many and which."""
        async with self.database.unit_of_work() as uow:
            action = "alert.acknowledge_session"
            try:
                ensure_staff_actor(actor, StaffAction.MONITOR)
            except DomainError as error:
                await self._refuse(uow, actor, action, session_id, error, {})
                raise
            await self._session_in_court(uow, actor, session_id, action, {})
            staff_id, now = actor.id.removeprefix("staff:"), self.clock()
            acknowledged = [
                alert.acknowledge(staff_id, actor.name, now)
                for alert in await uow.alerts.for_session(session_id, open_only=True)
            ]
            for alert in acknowledged:
                await uow.alerts.save(alert)
            detail = {"count": len(acknowledged), "alerts": [a.id for a in acknowledged]}
            await self._audit(uow, actor, action, session_id, "accepted", detail)
            await uow.commit()
        return acknowledged

    async def alerts(
        self, actor: Actor, session_id: SessionId, *, open_only: bool = True
    ) -> list[Alert]:
        """A session's alerts; open ones include those about the whole server (storage full)
        and those not written yet, so whoever watches any session sees them."""
        async with self.database.unit_of_work() as uow:
            await self._session_in_court(uow, actor, session_id, "alert.list", {})
            found = await uow.alerts.for_session(session_id, open_only=open_only)
            if open_only:
                found += await uow.alerts.for_session(None, open_only=True)
        kept = [a for a in self._unwritten_alerts if a.session_id in (session_id, None)]
        return sorted(found + kept, key=lambda a: (a.raised_at, a.id))

    # ------------------------------------------------------------------ audit

    async def audit_trail(
        self, actor: Actor, session_id: str | None = None, after_seq: int = 0, limit: int = 200
    ) -> list[SealedEntry]:
        """The whole trail for a system-wide reader; a court's staff read the entries of
        their own court's sessions (accounts and logins are the system's business)."""
        scope = court_scope(actor)
        detail = {"session": session_id} if session_id else {}
        async with self.database.unit_of_work() as uow:
            await self._permit(
                uow,
                actor,
                "audit.read",
                session_id,
                lambda: ensure_staff_actor(actor, StaffAction.VIEW_AUDIT),
                detail,
            )
            if session_id is not None:
                await self._session_in_court(
                    uow, actor, SessionId(session_id), "audit.read", detail
                )
            else:
                await self._permit(
                    uow, actor, "audit.read", None, lambda: ensure_staff_in_court(actor, scope)
                )
            return await uow.audit.read(session_id, after_seq, limit, court_id=scope)

    async def audit_unauthenticated(
        self, address: str, action: str, error: DomainError, detail: dict[str, Any]
    ) -> None:
        """Keep a refusal an edge made before anyone was identified (a missing, forged,
        expired or revoked token), named and counted by the client's address."""
        async with self.database.unit_of_work() as uow:
            await self._refuse(uow, Actor(id=_address_actor(address)), action, None, error, detail)

    async def audit_edge(
        self,
        actor: Actor,
        action: str,
        session_id: str | None,
        outcome: str,
        detail: dict[str, Any],
        rule: str = "",
    ) -> None:
        """Keep in the same chain what an edge decided without the domain: a refused
        connection or malformed message, a chat message's metadata."""
        async with self.database.unit_of_work() as uow:
            await self._audit(uow, actor, action, session_id, outcome, detail, rule)
            await uow.commit()

    async def verify_audit(self, actor: Actor) -> tuple[int, list[ChainBreak]]:
        async with self.database.unit_of_work() as uow:
            await self._permit(
                uow,
                actor,
                "audit.verify",
                None,
                lambda: ensure_staff_actor(actor, StaffAction.VIEW_AUDIT),
            )
            entries = await uow.audit.read()
        return len(entries), verify_chain(entries)

    # ------------------------------------------------------------------ internals

    async def _create_session(
        self,
        actor: Actor,
        court_id: CourtId,
        action: str,
        detail: dict[str, Any],
        create: Callable[[], CourtSession],
    ) -> CourtSession:
        async def store(uow: UnitOfWork, session: CourtSession) -> None:
            await uow.courts.get(court_id)
            await uow.sessions.add(session, self.clock())

        session = await self._staff_command(actor, action, None, detail, create, store)
        await self.bus.publish(session.collect_events(), session.version)
        return session

    async def staff_work(
        self,
        actor: Actor,
        action: str,
        check: Callable[[], object],
        work: Callable[[UnitOfWork], Awaitable[T]],
        detail: dict[str, Any] | None = None,
        *,
        audit_accepted: bool = True,
        session_id: str | None = None,
    ) -> T:
        """Staff work outside the session aggregate, kept to the rules every command keeps:
        the permission check first (a refusal audited), the work, its audit entry, one
        commit. For edges with tables of their own (webhooks) that have no domain aggregate,
        and for reads about one session (``session_id``) such as its case-file export."""
        detail = detail or {}
        async with self.database.unit_of_work() as uow:
            await self._permit(uow, actor, action, session_id, check, detail)
            result = await work(uow)
            if audit_accepted:
                await self._audit(uow, actor, action, session_id, "accepted", detail)
            await uow.commit()
            return result

    async def _staff_command(
        self,
        actor: Actor,
        action: str,
        session_id: str | None,
        detail: dict[str, Any],
        create: Callable[[], T],
        store: Callable[[UnitOfWork, T], Any],
    ) -> T:
        async with self.database.unit_of_work() as uow:
            try:
                result = create()
                await store(uow, result)
            except DomainError as error:
                await self._refuse(uow, actor, action, session_id, error, detail)
                raise
            sid = result.id if isinstance(result, CourtSession) else session_id
            await self._audit(uow, actor, action, sid, "accepted", detail)
            await uow.commit()
            return result

    async def _issue_link(
        self, uow: UnitOfWork, actor: Actor, session: CourtSession, participant_id: ParticipantId
    ) -> JoinLink:
        if session.state in ENDED_SESSION_STATES:
            raise InvalidInput(
                "link.session_ended",
                Text("Phiên đã kết thúc, không cấp đường dẫn mới.", "The session has ended."),
            )
        now = self.clock()
        planned_end = session.scheduled_end or session.scheduled_start + timedelta(hours=8)
        expires_at = max(planned_end, now) + self.join_link_grace
        invitation = Invitation(
            InvitationId(new_id()),
            session.id,
            participant_id,
            now,
            expires_at,
            actor.id,
            await self._unused_short_code(uow),
        )
        replaced = tuple(
            earlier.id
            for earlier in await uow.invitations.for_participant(participant_id)
            if earlier.is_usable(now)
        )
        await uow.invitations.add(invitation)
        for earlier_id in replaced:
            await uow.invitations.revoke(earlier_id, now, replaced_by=invitation.id)
            await self._audit(
                uow,
                actor,
                "link.revoke",
                session.id,
                "accepted",
                {"invitation": earlier_id, "replaced_by": invitation.id},
            )
        detail: dict[str, Any] = {"participant": participant_id, "invitation": invitation.id}
        if replaced:
            detail["replaces"] = list(replaced)
        await self._audit(uow, actor, "link.issue", session.id, "accepted", detail)
        return replace(self._link_of(invitation), replaced=replaced)

    def _link_of(self, invitation: Invitation) -> JoinLink:
        """The link of an invitation, signed again: the same claims make an equally valid
        token, so links need not be stored to be shown again."""
        token = self.signer.join_token(
            invitation.id,
            invitation.session_id,
            invitation.participant_id,
            invitation.issued_at,
            invitation.expires_at,
        )
        return JoinLink(
            invitation,
            token,
            f"{self.base_url}/join/{token}",
            f"{self.base_url}/j/{invitation.short_code}",
        )

    async def _unused_short_code(self, uow: UnitOfWork) -> ShortCode:
        """A fresh code; with 2^50 codes a clash is all but impossible, but it is checked
        (and the unique column would refuse one anyway)."""
        while True:
            code = new_short_code()
            if await uow.invitations.by_short_code(code) is None:
                return code

    async def _audit(
        self,
        uow: UnitOfWork,
        actor: Actor,
        action: str,
        session_id: str | None,
        outcome: str,
        detail: dict[str, Any],
        rule: str = "",
    ) -> None:
        entry = AuditEntry(
            at=self.clock().astimezone(UTC),
            actor=actor.id,
            action=action,
            outcome=outcome,
            session_id=session_id,
            rule=rule,
            detail=detail,
        )
        await uow.audit.append(entry)

    async def _refuse(
        self,
        uow: UnitOfWork,
        actor: Actor,
        action: str,
        session_id: str | None,
        error: DomainError,
        detail: dict[str, Any],
        counted_as: str | None = None,
    ) -> None:
        """Refusals are kept too: undo the command's work, then record why it was refused.

        Repeated identical refusals of one credential or address (``counted_as``, else the
        actor) are coalesced: the first few of a window are written, the rest counted and
        written as one entry when the window ends."""
        await uow.rollback()
        key = RefusalKey(counted_as or actor.id, action, error.code, error.rule)
        own_entry, ended = self._refusals.admit(key, session_id, self.clock())
        for coalesced in ended:
            await self._audit_coalesced(uow, coalesced)
        if own_entry:
            log_refusal(None, session_id, actor, action, error.rule, detail)
            await self._audit(
                uow,
                actor,
                action,
                session_id,
                "refused",
                {
                    **detail,
                    "code": error.code,
                    "why": {"vi": error.message.vi, "en": error.message.en},
                },
                rule=error.rule,
            )
        await uow.commit()

    async def _audit_coalesced(self, uow: UnitOfWork, coalesced: CoalescedRefusals) -> None:
        key = coalesced.key
        detail = {
            "code": key.code,
            "coalesced": coalesced.count,
            "window_started": coalesced.window_started.isoformat(),
        }
        await self._audit(
            uow,
            Actor(id=key.actor),
            key.action,
            coalesced.session_id,
            "refused",
            detail,
            rule=key.rule,
        )

    async def _permit(
        self,
        uow: UnitOfWork,
        actor: Actor,
        action: str,
        session_id: str | None,
        check: Callable[[], object],
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Run a permission check; a refusal is audited before it is raised."""
        try:
            check()
        except DomainError as error:
            await self._refuse(uow, actor, action, session_id, error, detail or {})
            raise

    async def _session_in_court(
        self,
        uow: UnitOfWork,
        actor: Actor,
        session_id: SessionId,
        action: str,
        detail: dict[str, Any],
    ) -> CourtSession:
        """Load a session for a read, refusing (and auditing) another court's staff. The
        session this process saved last is copied when the stored version is still its
        (a participant's own offer reads the session: 99 full loads in a 100-point meeting)."""
        try:
            session = await uow.sessions.get(session_id, known=self.saved.at_least(session_id, 0))
            ensure_staff_in_court(actor, session.court_id)
        except DomainError as error:
            await self._refuse(uow, actor, action, session_id, error, detail)
            raise
        return session


def _staff_actor(user: StaffUser) -> Actor:
    return Actor.staff(user.id, user.role, user.display_name or user.username, user.court_id)


def _address_actor(address: str) -> str:
    """How a client address is named in the audit trail."""
    return f"address:{address[:64]}"


def _codes_throttled(wait: Wait) -> RateLimited:
    seconds = wait.retry_after_seconds
    return RateLimited(
        "join.code_throttled",
        Text(
            f"Đã mở sai đường dẫn rút gọn quá nhiều lần từ mạng này; hãy thử lại sau {seconds} "
            "giây, hoặc mở đường dẫn đầy đủ Tòa án đã gửi cho bạn.",
            f"Too many wrong short links from this network; try again in {seconds} seconds, "
            "or open the full link the court sent you.",
        ),
        seconds,
    )


_CODE_RULES = {"forged": "unknown", "revoked": "revoked", "expired": "expired"}
"""How a refused short code is named: a code that names no invitation is unknown."""


def _login_throttled(wait: Wait) -> RateLimited:
    seconds = wait.retry_after_seconds
    return RateLimited(
        f"auth.login_throttled_{wait.subject.value}",
        Text(
            f"Đăng nhập sai quá nhiều lần; hãy thử lại sau {seconds} giây.",
            f"Too many failed logins; try again in {seconds} seconds.",
        ),
        seconds,
    )


_BAD_LOGIN = Text("Sai tên đăng nhập hoặc mật khẩu.", "Wrong username or password.")
_COURT_REQUIRED = Text("Cần chọn tòa án.", "A court_id is required.")
_NO_USER = Text("Không tìm thấy tài khoản.", "No such staff account.")
_NOT_YOURSELF = Text(
    "Không thể tự khóa tài khoản của chính mình.", "An account cannot deactivate itself."
)

_JOIN_LINK_TEXTS = {
    "expired": Text(
        "Đường dẫn tham gia này đã hết hạn. Hãy liên hệ Tòa án để được cấp đường dẫn mới.",
        "This join link has expired. Contact the court for a new one.",
    ),
    "revoked": Text(
        "Đường dẫn tham gia này đã bị thu hồi. Hãy liên hệ Tòa án để được cấp đường dẫn mới.",
        "This join link was withdrawn. Contact the court for a new one.",
    ),
    "forged": Text(
        "Đường dẫn tham gia không hợp lệ. Hãy kiểm tra lại đường dẫn Tòa án đã gửi cho bạn.",
        "This join link is not valid. Check the link the court sent you.",
    ),
    "wrong_kind": Text(
        "Đường dẫn này không dùng để tham gia phiên.", "This link is not a join link."
    ),
    "malformed": Text(
        "Đường dẫn không đầy đủ hoặc bị sai (có thể bị cắt khi sao chép). Hãy mở lại đúng "
        "đường dẫn Tòa án đã gửi cho bạn.",
        "The link is incomplete or garbled (perhaps cut when copied). Open the exact link "
        "the court sent you.",
    ),
}
"""Read by participants, who never logged in: about their link, never about a login."""

_STAFF_TOKEN_TEXTS = {
    "expired": Text(
        "Phiên đăng nhập đã hết hạn. Hãy đăng nhập lại.", "The login has expired. Log in again."
    ),
    "revoked": Text(
        "Phiên đăng nhập đã kết thúc. Hãy đăng nhập lại.", "The login has ended. Log in again."
    ),
    "forged": Text(
        "Mã đăng nhập không hợp lệ. Hãy đăng nhập lại.", "The login token is not valid."
    ),
    "wrong_kind": Text(
        "Mã này không dùng để đăng nhập.", "This kind of token is not accepted here."
    ),
    "malformed": Text(
        "Mã đăng nhập không đúng định dạng. Hãy đăng nhập lại.", "The login token is malformed."
    ),
}


def _token_text(reason: str, texts: dict[str, Text]) -> Text:
    return texts.get(reason, texts["forged"])


def _no_participant(participant_id: str) -> Text:
    return Text(
        f"Không tìm thấy người tham gia {participant_id}.",
        f"No such participant: {participant_id}.",
    )


ALERT_NOT_FOUND = Text("Không có cảnh báo này.", "There is no such alert.")
