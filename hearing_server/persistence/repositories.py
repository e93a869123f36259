"""Repositories: the only code that turns rows into domain objects and back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hearing_server.persistence import tables as t
from rooms.accounts import Invitation, StaffUser
from rooms.alerts import Alert, AlertKind
from rooms.audit import GENESIS_HASH, AuditEntry, SealedEntry, chain_hash
from rooms.cases import Case, CaseType, Instance, MeetingInfo
from rooms.courts import Court
from rooms.errors import InvalidInput, NotFound
from rooms.ids import (
    ConsultationRoomId,
    CourtId,
    InvitationId,
    ParticipantId,
    PointId,
    SessionId,
    UserId,
    new_id,
)
from rooms.media import RecordingState, Screening
from rooms.participants import Participant
from rooms.points import ConnectionPoint, PointKind
from rooms.policy import JurisdictionPolicy
from rooms.recordings import Recording, RecordingStatus
from rooms.roles import Role, SessionKind, StaffRole
from rooms.session import CourtSession
from rooms.short_codes import ShortCode
from rooms.states import (
    ENDED_SESSION_STATES,
    PRESENT_STATES,
    ParticipantState,
    SessionState,
)
from rooms.text import Text


class ConcurrentUpdate(Exception):
    """Another writer saved the same session first; the caller reloads and retries."""


@dataclass(frozen=True, slots=True)
class SessionFilter:
    court_id: CourtId | None = None
    kind: SessionKind | None = None
    states: frozenset[SessionState] | None = None
    case_number: str | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    limit: int = 100
    offset: int = 0


class CourtRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, court: Court) -> None:
        await self._conn.execute(
            insert(t.courts).values(
                id=court.id, code=court.code, name=court.name, time_zone=court.time_zone
            )
        )

    async def get(self, court_id: CourtId) -> Court:
        row = (await self._conn.execute(select(t.courts).where(t.courts.c.id == court_id))).first()
        if row is None:
            raise NotFound(
                "court.not_found",
                Text(f"Không tìm thấy tòa án {court_id}.", f"No such court: {court_id}."),
            )
        return _court(row)

    async def by_code(self, code: str) -> Court | None:
        row = (await self._conn.execute(select(t.courts).where(t.courts.c.code == code))).first()
        return None if row is None else _court(row)

    async def all(self) -> list[Court]:
        rows = await self._conn.execute(select(t.courts).order_by(t.courts.c.code))
        return [_court(r) for r in rows]


def _court(row: Row[Any]) -> Court:
    return Court(CourtId(row.id), row.code, row.name, row.time_zone)


class UserRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, user: StaffUser, created_at: datetime) -> None:
        if await self.by_username(user.username) is not None:
            raise InvalidInput(
                "user.username_taken",
                Text(
                    "Tên đăng nhập đã có người dùng.", f"The username '{user.username}' is taken."
                ),
            )
        await self._conn.execute(
            insert(t.staff_users).values(
                id=user.id,
                username=user.username,
                display_name=user.display_name,
                role=user.role.value,
                password_hash=user.password_hash,
                court_id=user.court_id,
                active=user.active,
                created_at=created_at,
            )
        )

    async def get(self, user_id: UserId) -> StaffUser | None:
        row = (
            await self._conn.execute(select(t.staff_users).where(t.staff_users.c.id == user_id))
        ).first()
        return None if row is None else _user(row)

    async def by_username(self, username: str) -> StaffUser | None:
        row = (
            await self._conn.execute(
                select(t.staff_users).where(t.staff_users.c.username == username)
            )
        ).first()
        return None if row is None else _user(row)

    async def set_active(self, user_id: UserId, active: bool) -> None:
        await self._conn.execute(
            update(t.staff_users).where(t.staff_users.c.id == user_id).values(active=active)
        )

    async def set_password_hash(self, user_id: UserId, password_hash: str) -> None:
        await self._conn.execute(
            update(t.staff_users)
            .where(t.staff_users.c.id == user_id)
            .values(password_hash=password_hash)
        )

    async def all(self) -> list[StaffUser]:
        rows = await self._conn.execute(select(t.staff_users).order_by(t.staff_users.c.username))
        return [_user(r) for r in rows]

    async def count(self) -> int:
        return int(
            (await self._conn.execute(select(func.count()).select_from(t.staff_users))).scalar_one()
        )


def _user(row: Row[Any]) -> StaffUser:
    return StaffUser(
        id=UserId(row.id),
        username=row.username,
        role=StaffRole(row.role),
        password_hash=row.password_hash,
        display_name=row.display_name,
        court_id=CourtId(row.court_id) if row.court_id else None,
        active=row.active,
    )


@dataclass(frozen=True, slots=True)
class _SessionRows:
    """A session as the rows that store it, to compare what was loaded with what is saved."""

    session: dict[str, Any]
    case: dict[str, Any] | None
    children: dict[str, dict[tuple[Any, ...], dict[str, Any]]]
    "Per child table, each row's values by its key."


_CHILD_TABLES = (t.points, t.participants, t.consultation_rooms, t.screenings)
_KEPT_WHEN_GONE = frozenset({t.points.name, t.participants.name})
"""Points and participants are never deleted (invitations and the audit refer to them)."""


class SessionRepository:
    """Loads and saves the whole aggregate; ``version`` guards against lost updates.

    A save writes only the rows and columns that differ from what this unit of work loaded:
    muting one person updates the session row and that person's row, whatever the size of
    the hearing.
    """

    def __init__(self, conn: AsyncConnection, policy: JurisdictionPolicy) -> None:
        self._conn = conn
        self._policy = policy
        self._loaded: dict[str, _SessionRows] = {}

    async def add(self, session: CourtSession, now: datetime) -> None:
        rows = _rows_of(session)
        case_id = await self._upsert_case(session.case, rows.case)
        session.version = 1
        await self._conn.execute(
            insert(t.sessions).values(
                id=session.id,
                created_by=session.created_by,
                created_at=now,
                case_id=case_id,
                updated_at=now,
                version=1,
                **rows.session,
            )
        )
        await self._write_children(rows, _SessionRows({}, None, {}))
        self._loaded[session.id] = rows

    async def save(self, session: CourtSession, now: datetime) -> None:
        before = self._loaded.get(session.id) or await self._stored_rows(session.id)
        rows = _rows_of(session)
        changed = {k: v for k, v in rows.session.items() if before.session.get(k) != v}
        if rows.case != before.case:
            changed["case_id"] = await self._upsert_case(session.case, rows.case)
        expected = session.version
        result = await self._conn.execute(
            update(t.sessions)
            .where(and_(t.sessions.c.id == session.id, t.sessions.c.version == expected))
            .values(**changed, updated_at=now, version=expected + 1)
        )
        if result.rowcount != 1:
            raise ConcurrentUpdate(session.id)
        session.version = expected + 1
        await self._write_children(rows, before)
        self._loaded[session.id] = rows

    async def get(
        self,
        session_id: SessionId,
        *,
        for_update: bool = False,
        known: CourtSession | None = None,
    ) -> CourtSession:
        """``for_update`` locks the session's row until the transaction ends, so writers of
        one session on any process take turns instead of failing each other's saves (it
        does not block rows that merely refer to the session; SQLite has one writer).

        ``known``: the session as this process last saved it. If the stored version is
        still that one, its rows are what ``known`` holds (every write of a session's rows
        is a save, and a save bumps the version), so a copy of it is returned and only the
        case is read again (another session of the same case may rewrite it): two queries
        instead of six, each a turn of a loop that also forwards media."""
        query = select(t.sessions).where(t.sessions.c.id == session_id)
        if for_update:
            query = query.with_for_update(key_share=True)
        row = (await self._conn.execute(query)).first()
        if row is None:
            raise NotFound(
                "session.not_found",
                Text(f"Không tìm thấy phiên {session_id}.", f"No such session: {session_id}."),
            )
        if known is not None and known.id == row.id and known.version == row.version:
            return await self._copy_of(known, row)
        return (await self._load([row]))[0]

    async def _copy_of(self, known: CourtSession, row: Row[Any]) -> CourtSession:
        """A session of its own for the caller to change: ``known`` stays as it was saved."""
        session = known.copy_to_change()
        if row.case_id:
            case_row = (
                await self._conn.execute(select(t.cases).where(t.cases.c.id == row.case_id))
            ).first()
            session.case = None if case_row is None else _case(case_row)
        self._loaded[session.id] = _rows_of(session)
        return session

    async def find(self, query: SessionFilter) -> list[CourtSession]:
        stmt = select(t.sessions).order_by(t.sessions.c.scheduled_start, t.sessions.c.id)
        if query.court_id:
            stmt = stmt.where(t.sessions.c.court_id == query.court_id)
        if query.kind:
            stmt = stmt.where(t.sessions.c.kind == query.kind.value)
        if query.states:
            stmt = stmt.where(t.sessions.c.state.in_([s.value for s in query.states]))
        if query.starts_from:
            stmt = stmt.where(t.sessions.c.scheduled_start >= query.starts_from)
        if query.starts_before:
            stmt = stmt.where(t.sessions.c.scheduled_start < query.starts_before)
        if query.case_number:
            stmt = stmt.join(t.cases, t.cases.c.id == t.sessions.c.case_id).where(
                t.cases.c.number == query.case_number
            )
        rows = (await self._conn.execute(stmt.limit(query.limit).offset(query.offset))).all()
        return await self._load(rows)

    async def present_participants(self) -> list[tuple[SessionId, ParticipantId]]:
        """Everyone the database believes connected (lobby, session, consultation) to a
        session that has not ended, in the order they were added."""
        present = [state.value for state in PRESENT_STATES]
        ended = [state.value for state in ENDED_SESSION_STATES]
        rows = await self._conn.execute(
            select(t.participants.c.session_id, t.participants.c.id)
            .join(t.sessions, t.sessions.c.id == t.participants.c.session_id)
            .where(t.participants.c.state.in_(present), t.sessions.c.state.not_in(ended))
            .order_by(t.sessions.c.scheduled_start, t.participants.c.position)
        )
        return [(SessionId(r.session_id), ParticipantId(r.id)) for r in rows]

    # ------------------------------------------------------------------ mapping

    async def _stored_rows(self, session_id: SessionId) -> _SessionRows:
        """What is stored, for a session saved by a unit of work that did not load it."""
        await self.get(session_id)
        return self._loaded[session_id]

    async def _upsert_case(self, case: Case | None, values: dict[str, Any] | None) -> str | None:
        if case is None or values is None:
            return None
        existing = (
            await self._conn.execute(
                select(t.cases.c.id).where(
                    and_(t.cases.c.court_id == case.court_id, t.cases.c.number == case.number)
                )
            )
        ).scalar_one_or_none()
        if existing is not None:
            await self._conn.execute(
                update(t.cases).where(t.cases.c.id == existing).values(**values)
            )
            return str(existing)
        case_id = new_id()
        await self._conn.execute(
            insert(t.cases).values(id=case_id, court_id=case.court_id, number=case.number, **values)
        )
        return case_id

    async def _write_children(self, rows: _SessionRows, before: _SessionRows) -> None:
        """Insert new rows, update changed columns, delete rows gone (where that is allowed)."""
        for table in _CHILD_TABLES:
            old = before.children.get(table.name, {})
            new = rows.children[table.name]
            keys = [c for c in table.primary_key.columns if c.name != "session_id"]
            added = [values for key, values in new.items() if key not in old]
            if added:
                await self._conn.execute(insert(table), added)
            for key, values in new.items():
                if key in old and values != old[key]:
                    delta = {k: v for k, v in values.items() if old[key].get(k) != v}
                    await self._conn.execute(
                        update(table).where(_key_matches(table, keys, key)).values(**delta)
                    )
            if table.name in _KEPT_WHEN_GONE:
                continue
            for key in old.keys() - new.keys():
                where = and_(
                    table.c.session_id == old[key]["session_id"], _key_matches(table, keys, key)
                )
                await self._conn.execute(delete(table).where(where))

    async def _load(self, rows: Sequence[Row[Any]]) -> list[CourtSession]:
        if not rows:
            return []
        ids = [r.id for r in rows]
        case_ids = [r.case_id for r in rows if r.case_id]
        case_rows = (
            {
                c.id: c
                for c in await self._conn.execute(select(t.cases).where(t.cases.c.id.in_(case_ids)))
            }
            if case_ids
            else {}
        )
        children: dict[str, dict[str, list[Row[Any]]]] = {i: {} for i in ids}
        for name, table in (
            ("points", t.points),
            ("participants", t.participants),
            ("rooms", t.consultation_rooms),
            ("screenings", t.screenings),
        ):
            order = [table.c.position] if "position" in table.c else []
            for child in await self._conn.execute(
                select(table).where(table.c.session_id.in_(ids)).order_by(*order)
            ):
                children[child.session_id].setdefault(name, []).append(child)
        sessions = [self._session(r, case_rows.get(r.case_id), children[r.id]) for r in rows]
        for session in sessions:
            self._loaded[session.id] = _rows_of(session)
        return sessions

    def _session(
        self, row: Row[Any], case_row: Row[Any] | None, kids: dict[str, list[Row[Any]]]
    ) -> CourtSession:
        case = None if case_row is None else _case(case_row)
        meeting = None
        if row.kind == SessionKind.MEETING.value:
            meeting = MeetingInfo(
                CourtId(row.court_id), row.meeting_title or "", row.organiser or "", row.chair or ""
            )
        session = CourtSession(
            id=SessionId(row.id),
            kind=SessionKind(row.kind),
            court_id=CourtId(row.court_id),
            policy=self._policy,
            scheduled_start=row.scheduled_start,
            scheduled_end=row.scheduled_end,
            case=case,
            meeting=meeting,
            state=SessionState(row.state),
            floor_holder=ParticipantId(row.floor_holder) if row.floor_holder else None,
            recording=RecordingState(row.recording),
            recording_paused_by_suspension=row.recording_paused_by_suspension,
            record_automatically=row.record_automatically,
            created_by=row.created_by,
            version=row.version,
        )
        for p in kids.get("points", []):
            session.points[PointId(p.id)] = ConnectionPoint(
                PointId(p.id), p.name, PointKind(p.kind), p.location
            )
        for p in kids.get("participants", []):
            session.participants[ParticipantId(p.id)] = Participant(
                id=ParticipantId(p.id),
                name=p.name,
                role=Role(p.role),
                point_id=PointId(p.point_id),
                state=ParticipantState(p.state),
                identity_verified=p.identity_verified,
                muted=p.muted,
                media_locked=p.media_locked,
                hand_raised=p.hand_raised,
                screen_sharing=p.screen_sharing,
                consultation_room=ConsultationRoomId(p.consultation_room)
                if p.consultation_room
                else None,
                state_before_disconnect=ParticipantState(p.state_before_disconnect)
                if p.state_before_disconnect
                else None,
            )
        for r in kids.get("rooms", []):
            session.consultation_rooms[ConsultationRoomId(r.id)] = r.name
        session.screenings = {
            Screening(ParticipantId(x.protected), ParticipantId(x.hidden_from), x.audio)
            for x in kids.get("screenings", [])
        }
        return session


def _case(row: Row[Any]) -> Case:
    return Case(
        court_id=CourtId(row.court_id),
        number=row.number,
        case_type=CaseType(row.case_type),
        instance=Instance(row.instance),
        title=row.title,
        closed_hearing=row.closed_hearing,
        state_secret=row.state_secret,
        penal_chapters=frozenset(row.penal_chapters),
    )


def _key_matches(table: Any, keys: Sequence[Any], key: tuple[Any, ...]) -> Any:
    return and_(*(column == value for column, value in zip(keys, key, strict=True)))


def _rows_of(s: CourtSession) -> _SessionRows:
    """The one mapping from the aggregate to its rows (reading back is ``_session``)."""
    session = {
        "kind": s.kind.value,
        "court_id": s.court_id,
        "state": s.state.value,
        "scheduled_start": s.scheduled_start,
        "scheduled_end": s.scheduled_end,
        "meeting_title": s.meeting.title if s.meeting else None,
        "organiser": s.meeting.organiser if s.meeting else None,
        "chair": s.meeting.chair if s.meeting else None,
        "floor_holder": s.floor_holder,
        "recording": s.recording.value,
        "recording_paused_by_suspension": s.recording_paused_by_suspension,
        "record_automatically": s.record_automatically,
    }
    case = None
    if s.case is not None:
        case = {
            "case_type": s.case.case_type.value,
            "instance": s.case.instance.value,
            "title": s.case.title,
            "closed_hearing": s.case.closed_hearing,
            "state_secret": s.case.state_secret,
            "penal_chapters": sorted(s.case.penal_chapters),
        }
    points = {
        (point.id,): {
            "id": point.id,
            "session_id": s.id,
            "position": position,
            "name": point.name,
            "kind": point.kind.value,
            "location": point.location,
        }
        for position, point in enumerate(s.points.values())
    }
    participants = {
        (p.id,): {
            "id": p.id,
            "session_id": s.id,
            "point_id": p.point_id,
            "position": position,
            "name": p.name,
            "role": p.role.value,
            "state": p.state.value,
            "identity_verified": p.identity_verified,
            "muted": p.muted,
            "media_locked": p.media_locked,
            "hand_raised": p.hand_raised,
            "screen_sharing": p.screen_sharing,
            "consultation_room": p.consultation_room,
            "state_before_disconnect": p.state_before_disconnect.value
            if p.state_before_disconnect
            else None,
        }
        for position, p in enumerate(s.participants.values())
    }
    rooms = {
        (rid,): {"id": rid, "session_id": s.id, "name": name}
        for rid, name in s.consultation_rooms.items()
    }
    screenings = {
        (x.protected, x.hidden_from): {
            "session_id": s.id,
            "protected": x.protected,
            "hidden_from": x.hidden_from,
            "audio": x.audio,
        }
        for x in s.screenings
    }
    return _SessionRows(
        session,
        case,
        {
            t.points.name: points,
            t.participants.name: participants,
            t.consultation_rooms.name: rooms,
            t.screenings.name: screenings,
        },
    )


class InvitationRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, invitation: Invitation) -> None:
        await self._conn.execute(
            insert(t.invitations).values(
                id=invitation.id,
                session_id=invitation.session_id,
                participant_id=invitation.participant_id,
                issued_at=invitation.issued_at,
                expires_at=invitation.expires_at,
                issued_by=invitation.issued_by,
                short_code=invitation.short_code,
                revoked_at=invitation.revoked_at,
                replaced_by=invitation.replaced_by,
            )
        )

    async def by_short_code(self, code: ShortCode) -> Invitation | None:
        row = (
            await self._conn.execute(
                select(t.invitations).where(t.invitations.c.short_code == code)
            )
        ).first()
        return None if row is None else _invitation(row)

    async def get(self, invitation_id: str) -> Invitation | None:
        row = (
            await self._conn.execute(
                select(t.invitations).where(t.invitations.c.id == invitation_id)
            )
        ).first()
        return None if row is None else _invitation(row)

    async def for_participant(self, participant_id: ParticipantId) -> list[Invitation]:
        rows = await self._conn.execute(
            select(t.invitations)
            .where(t.invitations.c.participant_id == participant_id)
            .order_by(t.invitations.c.issued_at)
        )
        return [_invitation(r) for r in rows]

    async def for_session(self, session_id: SessionId) -> list[Invitation]:
        rows = await self._conn.execute(
            select(t.invitations)
            .where(t.invitations.c.session_id == session_id)
            .order_by(t.invitations.c.issued_at, t.invitations.c.id)
        )
        return [_invitation(r) for r in rows]

    async def revoke(
        self, invitation_id: str, at: datetime, replaced_by: InvitationId | None = None
    ) -> None:
        """Revoke once: a second revocation keeps the first one's time."""
        await self._conn.execute(
            update(t.invitations)
            .where(and_(t.invitations.c.id == invitation_id, t.invitations.c.revoked_at.is_(None)))
            .values(revoked_at=at, replaced_by=replaced_by)
        )


def _invitation(row: Row[Any]) -> Invitation:
    return Invitation(
        id=InvitationId(row.id),
        session_id=SessionId(row.session_id),
        participant_id=ParticipantId(row.participant_id),
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        issued_by=row.issued_by,
        short_code=ShortCode(row.short_code),
        revoked_at=row.revoked_at,
        replaced_by=None if row.replaced_by is None else InvitationId(row.replaced_by),
    )


class AlertRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, alert: Alert) -> None:
        await self._conn.execute(insert(t.alerts).values(**_alert_row(alert)))

    async def save(self, alert: Alert) -> None:
        await self._conn.execute(
            update(t.alerts).where(t.alerts.c.id == alert.id).values(**_alert_row(alert))
        )

    async def get(self, alert_id: str) -> Alert | None:
        row = (await self._conn.execute(select(t.alerts).where(t.alerts.c.id == alert_id))).first()
        return None if row is None else _alert(row)

    async def for_session(self, session_id: SessionId | None, *, open_only: bool) -> list[Alert]:
        """A session's alerts, or with ``None`` those about the whole server."""
        column = t.alerts.c.session_id
        query = select(t.alerts).where(
            column.is_(None) if session_id is None else column == session_id
        )
        if open_only:
            query = query.where(t.alerts.c.acknowledged_at.is_(None))
        rows = await self._conn.execute(query.order_by(t.alerts.c.raised_at, t.alerts.c.id))
        return [_alert(r) for r in rows]


def _alert_row(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "session_id": alert.session_id,
        "participant_id": alert.participant_id,
        "kind": alert.kind.value,
        "message_vi": alert.message.vi,
        "message_en": alert.message.en,
        "raised_at": alert.raised_at,
        "acknowledged_by": alert.acknowledged_by,
        "acknowledged_by_name": alert.acknowledged_by_name,
        "acknowledged_at": alert.acknowledged_at,
    }


def _alert(row: Row[Any]) -> Alert:
    return Alert(
        id=row.id,
        session_id=None if row.session_id is None else SessionId(row.session_id),
        participant_id=None if row.participant_id is None else ParticipantId(row.participant_id),
        kind=AlertKind(row.kind),
        message=Text(row.message_vi, row.message_en),
        raised_at=row.raised_at,
        acknowledged_by=row.acknowledged_by,
        acknowledged_by_name=row.acknowledged_by_name,
        acknowledged_at=row.acknowledged_at,
    )


class AuditRepository:
    """Entries are kept back and sealed into the chain just before the transaction commits:
    the chain's one global order is taken there, in a critical section as short as one
    append, never while a command is still loading or deciding. PostgreSQL serialises those
    appends with an advisory lock; the embedded SQLite database has one writer anyway."""

    ADVISORY_LOCK_KEY = 0x48454152  # "HEAR"

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._pending: list[AuditEntry] = []

    async def append(self, entry: AuditEntry) -> None:
        self._pending.append(entry)

    def discard(self) -> None:
        """The transaction was rolled back: what it meant to record did not happen."""
        self._pending.clear()

    async def seal(self) -> list[SealedEntry]:
        """Chain and write the kept-back entries; called by the unit of work's commit."""
        if not self._pending:
            return []
        if self._conn.dialect.name == "postgresql":
            await self._conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": self.ADVISORY_LOCK_KEY}
            )
        last = (
            await self._conn.execute(
                select(t.audit_events.c.seq, t.audit_events.c.hash)
                .order_by(t.audit_events.c.seq.desc())
                .limit(1)
            )
        ).first()
        seq, previous = (last.seq, last.hash) if last else (0, GENESIS_HASH)
        sealed: list[SealedEntry] = []
        for entry in self._pending:
            seq += 1
            sealed.append(SealedEntry(seq, entry, previous, chain_hash(previous, entry)))
            previous = sealed[-1].hash
        await self._conn.execute(
            insert(t.audit_events),
            [
                {
                    "seq": s.seq,
                    "at": s.entry.at,
                    "actor": s.entry.actor,
                    "action": s.entry.action,
                    "outcome": s.entry.outcome,
                    "session_id": s.entry.session_id,
                    "rule": s.entry.rule,
                    "detail": json.dumps(
                        s.entry.detail, sort_keys=True, ensure_ascii=False, default=str
                    ),
                    "previous_hash": s.previous_hash,
                    "hash": s.hash,
                }
                for s in sealed
            ],
        )
        self._pending.clear()
        return sealed

    async def read(
        self,
        session_id: str | None = None,
        after_seq: int = 0,
        limit: int | None = None,
        court_id: CourtId | None = None,
    ) -> list[SealedEntry]:
        """Entries after ``after_seq``; of one session, or (``court_id``) of one court's
        sessions only."""
        stmt = (
            select(t.audit_events)
            .where(t.audit_events.c.seq > after_seq)
            .order_by(t.audit_events.c.seq)
        )
        if session_id is not None:
            stmt = stmt.where(t.audit_events.c.session_id == session_id)
        if court_id is not None:
            courts_sessions = select(t.sessions.c.id).where(t.sessions.c.court_id == court_id)
            stmt = stmt.where(t.audit_events.c.session_id.in_(courts_sessions))
        if limit is not None:
            stmt = stmt.limit(limit)
        return [
            SealedEntry(
                r.seq,
                AuditEntry(
                    at=r.at,
                    actor=r.actor,
                    action=r.action,
                    outcome=r.outcome,
                    session_id=r.session_id,
                    rule=r.rule,
                    detail=json.loads(r.detail),
                ),
                r.previous_hash,
                r.hash,
            )
            for r in await self._conn.execute(stmt)
        ]


@dataclass(frozen=True, slots=True)
class RecordingFilter:
    """A search of the recordings catalogue; every field left None matches everything."""

    court_id: CourtId | None = None
    case_number: str | None = None
    "A part of the case number, case-insensitive: '123/2030' finds '123/2030/HS-ST'."
    session_id: SessionId | None = None
    started_from: datetime | None = None
    started_before: datetime | None = None
    include_deleted: bool = False
    limit: int = 200


class RecordingRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def put(self, recording: Recording) -> None:
        """Insert the recording, or bring its row up to what is on disk; a legal hold and a
        deletion are the court's decisions and are never undone by the files."""
        values = _recording_row(recording)
        existing = await self.get(recording.id)
        if existing is None:
            await self._conn.execute(insert(t.recordings).values(**values))
            return
        for kept in ("legal_hold", "deleted_at"):
            values.pop(kept)
        await self._conn.execute(
            update(t.recordings).where(t.recordings.c.id == recording.id).values(**values)
        )

    async def get(self, recording_id: str) -> Recording | None:
        row = (
            await self._conn.execute(select(t.recordings).where(t.recordings.c.id == recording_id))
        ).first()
        return None if row is None else _recording(row)

    async def find(self, query: RecordingFilter) -> list[Recording]:
        r = t.recordings.c
        statement = select(t.recordings)
        if query.court_id is not None:
            statement = statement.where(r.court_id == query.court_id)
        if query.case_number:
            pattern = "%" + query.case_number.lower().replace("%", r"\%").replace("_", r"\_") + "%"
            statement = statement.where(func.lower(r.case_number).like(pattern, escape="\\"))
        if query.session_id is not None:
            statement = statement.where(r.session_id == query.session_id)
        if query.started_from is not None:
            statement = statement.where(r.started_at >= query.started_from)
        if query.started_before is not None:
            statement = statement.where(r.started_at < query.started_before)
        if not query.include_deleted:
            statement = statement.where(r.deleted_at.is_(None))
        rows = await self._conn.execute(
            statement.order_by(r.started_at.desc(), r.id).limit(query.limit)
        )
        return [_recording(row) for row in rows]

    async def set_legal_hold(self, recording_id: str, hold: bool) -> None:
        await self._conn.execute(
            update(t.recordings).where(t.recordings.c.id == recording_id).values(legal_hold=hold)
        )

    async def mark_deleted(self, recording_id: str, at: datetime) -> None:
        await self._conn.execute(
            update(t.recordings).where(t.recordings.c.id == recording_id).values(deleted_at=at)
        )


def _recording_row(recording: Recording) -> dict[str, Any]:
    return {
        "id": recording.id,
        "session_id": recording.session_id,
        "court_id": recording.court_id,
        "case_number": recording.case_number,
        "case_type": recording.case_type,
        "started_at": recording.started_at,
        "ended_at": recording.ended_at,
        "state": recording.status.value,
        "progress": recording.progress,
        "legal_hold": recording.legal_hold,
        "deleted_at": recording.deleted_at,
        "directory": recording.path,
        "manifest_sha256": recording.manifest_sha256,
        "size_bytes": recording.size_bytes,
    }


def _recording(row: Row[Any]) -> Recording:
    return Recording(
        id=row.id,
        session_id=SessionId(row.session_id),
        court_id=CourtId(row.court_id),
        case_number=row.case_number,
        case_type=row.case_type,
        started_at=row.started_at,
        ended_at=row.ended_at,
        status=RecordingStatus(row.state),
        progress=row.progress,
        legal_hold=row.legal_hold,
        deleted_at=row.deleted_at,
        path=row.directory,
        manifest_sha256=row.manifest_sha256,
        size_bytes=row.size_bytes,
    )
