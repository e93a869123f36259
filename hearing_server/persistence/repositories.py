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
from rooms.roles import Role, SessionKind, StaffRole
from rooms.session import CourtSession
from rooms.states import ParticipantState, SessionState
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


class SessionRepository:
    """Loads and saves the whole aggregate; ``version`` guards against lost updates."""

    def __init__(self, conn: AsyncConnection, policy: JurisdictionPolicy) -> None:
        self._conn = conn
        self._policy = policy

    async def add(self, session: CourtSession, now: datetime) -> None:
        case_id = await self._upsert_case(session.case)
        session.version = 1
        await self._conn.execute(
            insert(t.sessions).values(
                id=session.id,
                created_by=session.created_by,
                created_at=now,
                **self._session_values(session, case_id, now),
            )
        )
        await self._write_children(session)

    async def save(self, session: CourtSession, now: datetime) -> None:
        case_id = await self._upsert_case(session.case)
        expected = session.version
        result = await self._conn.execute(
            update(t.sessions)
            .where(and_(t.sessions.c.id == session.id, t.sessions.c.version == expected))
            .values(**self._session_values(session, case_id, now, version=expected + 1))
        )
        if result.rowcount != 1:
            raise ConcurrentUpdate(session.id)
        session.version = expected + 1
        for table in (t.screenings, t.consultation_rooms):
            await self._conn.execute(delete(table).where(table.c.session_id == session.id))
        await self._write_children(session, replace=True)

    async def get(self, session_id: SessionId) -> CourtSession:
        row = (
            await self._conn.execute(select(t.sessions).where(t.sessions.c.id == session_id))
        ).first()
        if row is None:
            raise NotFound(
                "session.not_found",
                Text(f"Không tìm thấy phiên {session_id}.", f"No such session: {session_id}."),
            )
        return (await self._load([row]))[0]

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

    # ------------------------------------------------------------------ mapping

    def _session_values(
        self, s: CourtSession, case_id: str | None, now: datetime, version: int | None = None
    ) -> dict[str, Any]:
        return {
            "kind": s.kind.value,
            "court_id": s.court_id,
            "case_id": case_id,
            "state": s.state.value,
            "scheduled_start": s.scheduled_start,
            "scheduled_end": s.scheduled_end,
            "meeting_title": s.meeting.title if s.meeting else None,
            "organiser": s.meeting.organiser if s.meeting else None,
            "chair": s.meeting.chair if s.meeting else None,
            "floor_holder": s.floor_holder,
            "recording": s.recording.value,
            "recording_paused_by_suspension": s.recording_paused_by_suspension,
            "updated_at": now,
            "version": s.version if version is None else version,
        }

    async def _upsert_case(self, case: Case | None) -> str | None:
        if case is None:
            return None
        values = {
            "case_type": case.case_type.value,
            "instance": case.instance.value,
            "title": case.title,
            "closed_hearing": case.closed_hearing,
            "state_secret": case.state_secret,
            "penal_chapters": sorted(case.penal_chapters),
        }
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

    async def _write_children(self, s: CourtSession, replace: bool = False) -> None:
        """Points and participants are upserted (invitations refer to them); the rest is
        rewritten whole, it is small."""
        for position, point in enumerate(s.points.values()):
            values = {
                "position": position,
                "name": point.name,
                "kind": point.kind.value,
                "location": point.location,
            }
            await self._upsert(t.points, point.id, s.id, values, replace)
        for position, p in enumerate(s.participants.values()):
            values = {
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
            await self._upsert(t.participants, p.id, s.id, values, replace)
        if s.consultation_rooms:
            await self._conn.execute(
                insert(t.consultation_rooms),
                [
                    {"id": rid, "session_id": s.id, "name": name}
                    for rid, name in s.consultation_rooms.items()
                ],
            )
        if s.screenings:
            await self._conn.execute(
                insert(t.screenings),
                [
                    {
                        "session_id": s.id,
                        "protected": x.protected,
                        "hidden_from": x.hidden_from,
                        "audio": x.audio,
                    }
                    for x in s.screenings
                ],
            )

    async def _upsert(
        self, table: Any, row_id: str, session_id: str, values: dict[str, Any], replace: bool
    ) -> None:
        if replace:
            result = await self._conn.execute(
                update(table).where(table.c.id == row_id).values(**values)
            )
            if result.rowcount == 1:
                return
        await self._conn.execute(insert(table).values(id=row_id, session_id=session_id, **values))

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
        return [self._session(r, case_rows.get(r.case_id), children[r.id]) for r in rows]

    def _session(
        self, row: Row[Any], case_row: Row[Any] | None, kids: dict[str, list[Row[Any]]]
    ) -> CourtSession:
        case = None
        if case_row is not None:
            case = Case(
                court_id=CourtId(case_row.court_id),
                number=case_row.number,
                case_type=CaseType(case_row.case_type),
                instance=Instance(case_row.instance),
                title=case_row.title,
                closed_hearing=case_row.closed_hearing,
                state_secret=case_row.state_secret,
                penal_chapters=frozenset(case_row.penal_chapters),
            )
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
                revoked_at=invitation.revoked_at,
            )
        )

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

    async def revoke(self, invitation_id: str, at: datetime) -> None:
        await self._conn.execute(
            update(t.invitations)
            .where(and_(t.invitations.c.id == invitation_id, t.invitations.c.revoked_at.is_(None)))
            .values(revoked_at=at)
        )


def _invitation(row: Row[Any]) -> Invitation:
    return Invitation(
        id=InvitationId(row.id),
        session_id=SessionId(row.session_id),
        participant_id=ParticipantId(row.participant_id),
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        issued_by=row.issued_by,
        revoked_at=row.revoked_at,
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

    async def for_session(self, session_id: SessionId, *, open_only: bool) -> list[Alert]:
        query = select(t.alerts).where(t.alerts.c.session_id == session_id)
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
        session_id=SessionId(row.session_id),
        participant_id=None if row.participant_id is None else ParticipantId(row.participant_id),
        kind=AlertKind(row.kind),
        message=Text(row.message_vi, row.message_en),
        raised_at=row.raised_at,
        acknowledged_by=row.acknowledged_by,
        acknowledged_by_name=row.acknowledged_by_name,
        acknowledged_at=row.acknowledged_at,
    )


class AuditRepository:
    """Appends sealed entries; PostgreSQL serialises appenders with an advisory lock, and the
    embedded SQLite database has one writer at a time anyway."""

    ADVISORY_LOCK_KEY = 0x48454152  # "HEAR"

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def append(self, entry: AuditEntry) -> SealedEntry:
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
        seq, previous = (last.seq + 1, last.hash) if last else (1, GENESIS_HASH)
        sealed = SealedEntry(seq, entry, previous, chain_hash(previous, entry))
        await self._conn.execute(
            insert(t.audit_events).values(
                seq=seq,
                at=entry.at,
                actor=entry.actor,
                action=entry.action,
                outcome=entry.outcome,
                session_id=entry.session_id,
                rule=entry.rule,
                detail=json.dumps(entry.detail, sort_keys=True, ensure_ascii=False, default=str),
                previous_hash=previous,
                hash=sealed.hash,
            )
        )
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
