"""The application layer: each use case loads the aggregate, lets it decide, saves, audits
and publishes, in one transaction. Web and signalling handlers call only this."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from hearing_server.bus import CredentialKind, EventBus, credential_ended
from hearing_server.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password
from hearing_server.persistence.database import Database, UnitOfWork
from hearing_server.persistence.repositories import ConcurrentUpdate, SessionFilter
from hearing_server.tokens import JoinClaims, TokenError, TokenSigner
from rooms.accounts import Invitation, StaffUser
from rooms.alerts import Alert, AlertKind, raise_alert
from rooms.audit import AuditEntry, ChainBreak, SealedEntry, verify_chain
from rooms.cases import Case, MeetingInfo
from rooms.courts import Court
from rooms.errors import DomainError, InvalidInput, NotFound
from rooms.ids import CourtId, InvitationId, ParticipantId, PointId, SessionId, UserId, new_id
from rooms.participants import Actor, Participant
from rooms.permissions import StaffAction, ensure_staff_actor
from rooms.points import ConnectionPoint, PointKind
from rooms.roles import Role, StaffRole
from rooms.session import CourtSession
from rooms.states import ENDED_SESSION_STATES
from rooms.text import Text

log = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], datetime]
SAVE_ATTEMPTS = 5


def utc_now() -> datetime:
    return datetime.now(UTC)


class AuthenticationFailed(DomainError):
    code = "unauthenticated"


@dataclass(frozen=True, slots=True)
class JoinLink:
    invitation: Invitation
    token: str
    url: str


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
    ) -> None:
        self.database = database
        self.signer = signer
        self.bus = bus
        self.base_url = base_url.rstrip("/")
        self.staff_token_ttl = staff_token_ttl
        self.join_link_grace = join_link_grace
        self.clock = clock

    # ------------------------------------------------------------------ staff accounts

    async def login(self, username: str, password: str) -> LoginResult:
        async with self.database.unit_of_work() as uow:
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
            raise refusal
        now = self.clock()
        async with self.database.unit_of_work() as uow:
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
                await uow.users.set_password_hash(user.id, user.password_hash)
            await self._audit(uow, _staff_actor(user), "auth.login", None, "accepted", {})
            await uow.commit()
        token = self.signer.staff_token(
            user.id, user.username, user.role, now, self.staff_token_ttl
        )
        return LoginResult(token, user, now + self.staff_token_ttl)

    async def authenticate_staff(self, token: str) -> tuple[Actor, StaffUser]:
        """A bearer token is honoured only while its account exists and is active."""
        try:
            claims = self.signer.read_staff(token, self.clock())
        except TokenError as exc:
            raise AuthenticationFailed(f"auth.token_{exc.reason}", _token_text(exc.reason)) from exc
        async with self.database.unit_of_work() as uow:
            user = await uow.users.get(claims.user_id)
        if user is None or not user.active or user.role is not claims.role:
            raise AuthenticationFailed("auth.token_revoked", _token_text("revoked"))
        return _staff_actor(user), user

    async def add_user(
        self,
        actor: Actor,
        username: str,
        role: StaffRole,
        password: str,
        display_name: str = "",
        court_id: CourtId | None = None,
    ) -> StaffUser:
        def create() -> StaffUser:
            ensure_staff_actor(actor, StaffAction.MANAGE_USERS)
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
            await uow.users.add(user, self.clock())

        return await self._staff_command(
            actor, "user.add", None, {"username": username, "role": role.value}, create, store
        )

    async def users(self, actor: Actor) -> list[StaffUser]:
        ensure_staff_actor(actor, StaffAction.MANAGE_USERS)
        async with self.database.unit_of_work() as uow:
            return await uow.users.all()

    # ------------------------------------------------------------------ courts

    async def ensure_court(self, code: str, name: str, time_zone: str) -> Court:
        """The court this server belongs to, created on first start."""
        async with self.database.unit_of_work() as uow:
            existing = await uow.courts.by_code(code)
            if existing is not None:
                return existing
            court = Court(CourtId(new_id()), code, name, time_zone)
            await uow.courts.add(court)
            await self._audit(uow, Actor.system(), "court.add", None, "accepted", {"code": code})
            await uow.commit()
            return court

    async def add_court(self, actor: Actor, code: str, name: str, time_zone: str) -> Court:
        def create() -> Court:
            ensure_staff_actor(actor, StaffAction.MANAGE_COURTS)
            return Court(CourtId(new_id()), code, name, time_zone)

        async def store(uow: UnitOfWork, court: Court) -> None:
            if await uow.courts.by_code(code) is not None:
                raise InvalidInput(
                    "court.code_taken",
                    Text("Mã tòa án đã tồn tại.", f"The court code '{code}' is taken."),
                )
            await uow.courts.add(court)

        return await self._staff_command(actor, "court.add", None, {"code": code}, create, store)

    async def courts(self) -> list[Court]:
        async with self.database.unit_of_work() as uow:
            return await uow.courts.all()

    async def court(self, court_id: CourtId) -> Court:
        async with self.database.unit_of_work() as uow:
            return await uow.courts.get(court_id)

    # ------------------------------------------------------------------ scheduling

    async def schedule_hearing(
        self,
        actor: Actor,
        case: Case,
        start: datetime,
        end: datetime | None = None,
        courtroom_name: str = "Phòng xử án",
    ) -> CourtSession:
        def create() -> CourtSession:
            return CourtSession.schedule_hearing(
                actor, case, self.database.policy, start, end, courtroom_name
            )

        detail = {"case_number": case.number, "case_type": case.case_type.value}
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

    async def session(self, session_id: SessionId) -> CourtSession:
        async with self.database.unit_of_work() as uow:
            return await uow.sessions.get(session_id)

    async def find_sessions(self, query: SessionFilter) -> list[CourtSession]:
        async with self.database.unit_of_work() as uow:
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
        """A fresh link; older ones stay valid until revoked or expired."""
        ensure_staff_actor(actor, StaffAction.SCHEDULE)
        async with self.database.unit_of_work() as uow:
            session = await uow.sessions.get(session_id)
            if participant_id not in session.participants:
                raise NotFound("participant.not_found", _no_participant(participant_id))
            link = await self._issue_link(uow, actor, session, participant_id)
            await uow.commit()
            return link

    async def revoke_link(
        self, actor: Actor, session_id: SessionId, invitation_id: InvitationId
    ) -> None:
        async with self.database.unit_of_work() as uow:
            try:
                ensure_staff_actor(actor, StaffAction.SCHEDULE)
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
        await self.bus.announce(credential_ended(kind, credential_id, reason))

    async def invitations(self, participant_id: ParticipantId) -> list[Invitation]:
        async with self.database.unit_of_work() as uow:
            return await uow.invitations.for_participant(participant_id)

    async def resolve_join_token(self, token: str) -> JoinContext:
        """Forged, expired, revoked or mismatched links are all refused here, once."""
        now = self.clock()
        try:
            claims: JoinClaims = self.signer.read_join(token, now)
        except TokenError as exc:
            raise AuthenticationFailed(f"join.token_{exc.reason}", _token_text(exc.reason)) from exc
        async with self.database.unit_of_work() as uow:
            invitation = await uow.invitations.get(claims.invitation_id)
            if (
                invitation is None
                or invitation.session_id != claims.session_id
                or invitation.participant_id != claims.participant_id
            ):
                raise AuthenticationFailed("join.token_forged", _token_text("forged"))
            if invitation.revoked_at is not None:
                raise AuthenticationFailed("join.token_revoked", _token_text("revoked"))
            if not invitation.is_usable(now):
                raise AuthenticationFailed("join.token_expired", _token_text("expired"))
            session = await uow.sessions.get(claims.session_id)
        participant = session.participants.get(claims.participant_id)
        if participant is None:
            raise AuthenticationFailed("join.token_forged", _token_text("forged"))
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

        A concurrent save by another writer is retried on fresh state, so two judges' clicks
        never overwrite each other.
        """
        detail = detail or {}
        for attempt in range(SAVE_ATTEMPTS):
            async with self.database.unit_of_work() as uow:
                try:
                    session = await uow.sessions.get(session_id)
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
                if after is not None:
                    await after(uow, session, result)
                names = [e.name for e in events]
                await self._audit(
                    uow, actor, action, session_id, "accepted", {**detail, "events": names}
                )
                await uow.commit()
            await self.bus.publish(events, session.version)
            return result
        raise ConcurrentUpdate(session_id)

    # ------------------------------------------------------------------ alerts

    async def raise_alert(
        self,
        session_id: SessionId,
        participant_id: ParticipantId | None,
        kind: AlertKind,
        **facts: object,
    ) -> Alert:
        """The system noticed something staff must see; kept until acknowledged."""
        alert = raise_alert(session_id, participant_id, kind, self.clock(), **facts)
        async with self.database.unit_of_work() as uow:
            await uow.alerts.add(alert)
            detail = {"alert": alert.id, "kind": kind.value, "participant_id": participant_id}
            await self._audit(uow, Actor.system(), "alert.raise", session_id, "accepted", detail)
            await uow.commit()
        return alert

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
                staff_id = actor.id.removeprefix("staff:")
                acknowledged = alert.acknowledge(staff_id, actor.name, self.clock())
            except DomainError as error:
                await self._refuse(uow, actor, "alert.acknowledge", session_id, error, detail)
                raise
            await uow.alerts.save(acknowledged)
            await self._audit(uow, actor, "alert.acknowledge", session_id, "accepted", detail)
            await uow.commit()
        return acknowledged

    async def alerts(self, session_id: SessionId, *, open_only: bool = True) -> list[Alert]:
        async with self.database.unit_of_work() as uow:
            return await uow.alerts.for_session(session_id, open_only=open_only)

    # ------------------------------------------------------------------ audit

    async def audit_trail(
        self, actor: Actor, session_id: str | None = None, after_seq: int = 0, limit: int = 200
    ) -> list[SealedEntry]:
        ensure_staff_actor(actor, StaffAction.VIEW_AUDIT)
        async with self.database.unit_of_work() as uow:
            return await uow.audit.read(session_id, after_seq, limit)

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

    async def verify_audit(self) -> tuple[int, list[ChainBreak]]:
        async with self.database.unit_of_work() as uow:
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
            InvitationId(new_id()), session.id, participant_id, now, expires_at, actor.id
        )
        await uow.invitations.add(invitation)
        await self._audit(
            uow,
            actor,
            "link.issue",
            session.id,
            "accepted",
            {"participant": participant_id, "invitation": invitation.id},
        )
        token = self.signer.join_token(invitation.id, session.id, participant_id, now, expires_at)
        return JoinLink(invitation, token, f"{self.base_url}/join/{token}")

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
    ) -> None:
        """Refusals are kept too: undo the command's work, then record why it was refused."""
        await uow.rollback()
        await self._audit(
            uow,
            actor,
            action,
            session_id,
            "refused",
            {**detail, "code": error.code},
            rule=error.rule,
        )
        await uow.commit()


def _staff_actor(user: StaffUser) -> Actor:
    return Actor.staff(user.id, user.role, user.display_name or user.username)


_BAD_LOGIN = Text("Sai tên đăng nhập hoặc mật khẩu.", "Wrong username or password.")

_TOKEN_TEXTS = {
    "expired": Text("Đường dẫn hoặc phiên đăng nhập đã hết hạn.", "The link or token has expired."),
    "revoked": Text(
        "Đường dẫn hoặc phiên đăng nhập đã bị thu hồi.", "The link or token was revoked."
    ),
    "forged": Text("Đường dẫn không hợp lệ.", "The link or token is not valid."),
    "wrong_kind": Text(
        "Mã truy cập không dùng được ở đây.", "This kind of token is not accepted here."
    ),
    "malformed": Text("Mã truy cập bị hỏng.", "The token is malformed."),
}


def _token_text(reason: str) -> Text:
    return _TOKEN_TEXTS.get(reason, _TOKEN_TEXTS["forged"])


def _no_participant(participant_id: str) -> Text:
    return Text(
        f"Không tìm thấy người tham gia {participant_id}.",
        f"No such participant: {participant_id}.",
    )


ALERT_NOT_FOUND = Text("Không có cảnh báo này.", "There is no such alert.")
