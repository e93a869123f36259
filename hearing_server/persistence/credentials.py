"""Repositories for what guards staff credentials: tokens ended by logout, failed logins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from hearing_server.login_throttle import FailureRecord, ThrottleSubject
from hearing_server.persistence import tables as t
from rooms.ids import UserId


class RevokedTokenRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def revoke(
        self, token_id: str, user_id: UserId, revoked_at: datetime, expires_at: datetime
    ) -> None:
        """Idempotent: logging out twice with one token keeps one row. Rows of tokens that
        have expired anyway are dropped on the way."""
        await self._conn.execute(
            delete(t.revoked_staff_tokens).where(t.revoked_staff_tokens.c.expires_at <= revoked_at)
        )
        if await self.is_revoked(token_id):
            return
        await self._conn.execute(
            insert(t.revoked_staff_tokens).values(
                token_id=token_id, user_id=user_id, revoked_at=revoked_at, expires_at=expires_at
            )
        )

    async def is_revoked(self, token_id: str) -> bool:
        row = (
            await self._conn.execute(
                select(t.revoked_staff_tokens.c.token_id).where(
                    t.revoked_staff_tokens.c.token_id == token_id
                )
            )
        ).first()
        return row is not None


class LoginFailureRepository:
    """One row per (address or account); counting is one atomic upsert, so simultaneous
    failures on several server processes are all counted."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, kind: ThrottleSubject, subject: str) -> FailureRecord | None:
        row = (
            await self._conn.execute(
                select(t.login_failures.c.failures, t.login_failures.c.last_failure_at).where(
                    and_(
                        t.login_failures.c.subject_kind == kind.value,
                        t.login_failures.c.subject == subject,
                    )
                )
            )
        ).first()
        return None if row is None else FailureRecord(row.failures, row.last_failure_at)

    async def record_failure(
        self, kind: ThrottleSubject, subject: str, now: datetime, forget_before: datetime
    ) -> None:
        """Count one failure; a count whose last failure is older than ``forget_before``
        starts again at one, and such stale rows of anyone are dropped."""
        table = t.login_failures
        await self._conn.execute(delete(table).where(table.c.last_failure_at < forget_before))
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        upsert = dialect.insert(table).values(
            subject_kind=kind.value, subject=subject, failures=1, last_failure_at=now
        )
        await self._conn.execute(
            upsert.on_conflict_do_update(
                index_elements=[table.c.subject_kind, table.c.subject],
                set_={
                    "failures": case(
                        (table.c.last_failure_at < forget_before, 1),
                        else_=table.c.failures + 1,
                    ),
                    "last_failure_at": now,
                },
            )
        )

    async def clear(self, kind: ThrottleSubject, subject: str) -> None:
        await self._conn.execute(
            delete(t.login_failures).where(
                and_(
                    t.login_failures.c.subject_kind == kind.value,
                    t.login_failures.c.subject == subject,
                )
            )
        )
