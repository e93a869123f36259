"""The engine, the unit of work, and schema migrations."""

from __future__ import annotations

import errno
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from hearing_server.persistence.credentials import LoginFailureRepository, RevokedTokenRepository
from hearing_server.persistence.minutes import MinutesRepository
from hearing_server.persistence.repositories import (
    AlertRepository,
    AuditRepository,
    CourtRepository,
    InvitationRepository,
    RecordingRepository,
    SessionRepository,
    UserRepository,
)
from rooms.policy import JurisdictionPolicy

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
SQLITE_FULL = 13
POSTGRES_DISK_FULL = "53100"
STORAGE_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})

StorageFullListener = Callable[[BaseException], Awaitable[None]]
CommitListener = Callable[[], Awaitable[None]]


def is_storage_full(exc: BaseException) -> bool:
    """Whether a failure, or anything it was raised from, is storage running out: SQLite's
    SQLITE_FULL, PostgreSQL's disk_full, or the system's ENOSPC/EDQUOT. The one test both
    edges (REST and socket.io) use to answer "storage full" instead of a bare error."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in STORAGE_FULL_ERRNOS:
            return True
        if getattr(current, "sqlite_errorcode", None) == SQLITE_FULL:
            return True
        if getattr(current, "sqlstate", None) == POSTGRES_DISK_FULL:
            return True
        # SQLAlchemy keeps the driver's error in ``orig``; drivers chain their own causes.
        for inner in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(inner, BaseException):
                pending.append(inner)
    return False


class UnitOfWork:
    """One transaction; leaving without ``commit()`` rolls everything back."""

    courts: CourtRepository
    users: UserRepository
    sessions: SessionRepository
    invitations: InvitationRepository
    alerts: AlertRepository
    audit: AuditRepository
    revoked_tokens: RevokedTokenRepository
    login_failures: LoginFailureRepository
    minutes: MinutesRepository
    recordings: RecordingRepository

    def __init__(self, database: Database) -> None:
        self._engine = database.engine
        self._policy = database.policy
        self._database = database
        self._conn: AsyncConnection | None = None
        self._committed = False

    async def __aenter__(self) -> UnitOfWork:
        conn = await self._engine.connect()
        await conn.begin()
        self._conn = conn
        self.courts = CourtRepository(conn)
        self.users = UserRepository(conn)
        self.sessions = SessionRepository(conn, self._policy)
        self.invitations = InvitationRepository(conn)
        self.alerts = AlertRepository(conn)
        self.audit = AuditRepository(conn)
        self.revoked_tokens = RevokedTokenRepository(conn)
        self.login_failures = LoginFailureRepository(conn)
        self.minutes = MinutesRepository(conn)
        self.recordings = RecordingRepository(conn)
        return self

    @property
    def connection(self) -> AsyncConnection:
        """The transaction's connection, for an edge's own tables (webhooks)."""
        assert self._conn is not None, "outside the unit of work"
        return self._conn

    async def commit(self) -> None:
        """Seal the audit entries last, so the chain's global lock is held only for their
        append and the commit itself."""
        assert self._conn is not None
        await self.audit.seal()
        await self._conn.commit()
        self._committed = True

    async def rollback(self) -> None:
        """Undo everything so far and carry on in a fresh transaction on the same
        connection (the embedded database has only one)."""
        assert self._conn is not None
        self.audit.discard()
        await self._conn.rollback()
        await self._conn.begin()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()
        # Listeners are told after the close: the embedded database's one connection is
        # free again for what they write.
        storage_full, committed = self._database.on_storage_full, self._database.after_commit
        if exc is not None and storage_full is not None and is_storage_full(exc):
            await storage_full(exc)
        elif self._committed and committed is not None:
            await committed()


class Database:
    def __init__(self, url: str, policy: JurisdictionPolicy) -> None:
        self.url = url
        self.policy = policy
        self.engine = _engine(url)
        self.on_storage_full: StorageFullListener | None = None
        "Told when a unit of work failed because the storage is full."
        self.after_commit: CommitListener | None = None
        "Told after a unit of work that committed is closed: writing works."

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def upgrade(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(_upgrade)

    async def current_revision(self) -> str | None:
        async with self.engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )

    async def dispose(self) -> None:
        await self.engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # The embedded database has one writer: one pooled connection queues writers in-process
    # instead of failing them with "database is locked".
    engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=30)

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    return engine


def _alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(_alembic_config(connection), "head")
