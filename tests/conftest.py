"""Shared fixtures: real databases (SQLite file, the PostgreSQL server), a real HTTP server."""

from __future__ import annotations

import asyncio
import errno
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from hearing_server.app import create_app
from hearing_server.settings import Settings

BASE_POSTGRES_URL = os.environ.get(
    "HEARING_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
_RUN_DATABASE = f"{make_url(BASE_POSTGRES_URL).database}_run{os.getpid()}"
POSTGRES_URL = make_url(BASE_POSTGRES_URL).set(database=_RUN_DATABASE).render_as_string(False)
"""Each test run gets its own database beside ``test``, so runs in parallel never collide."""
_run_database_created = False
REDIS_URL = os.environ.get("HEARING_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


@dataclass
class FakeClock:
    """A clock the test moves by hand, so expiry is tested without sleeping."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 23, 1, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


async def _create_run_database() -> None:
    global _run_database_created
    if _run_database_created:
        return
    admin = create_async_engine(BASE_POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{_RUN_DATABASE}"'))
            await conn.execute(text(f'CREATE DATABASE "{_RUN_DATABASE}"'))
    finally:
        await admin.dispose()
    _run_database_created = True


async def _drop_run_database() -> None:
    admin = create_async_engine(BASE_POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{_RUN_DATABASE}" WITH (FORCE)'))
    finally:
        await admin.dispose()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _run_database_created:
        asyncio.run(_drop_run_database())


async def reset_postgres(url: str = POSTGRES_URL) -> None:
    await _create_run_database()
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
            await conn.execute(text("DROP FUNCTION IF EXISTS audit_events_append_only() CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Every test using this runs twice: on an SQLite file and on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'hearing.db'}"
        return
    await reset_postgres()
    yield POSTGRES_URL


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        public_base_url="http://hearings.test",
        turn_urls=["turn:turn.hearings.test:3478"],
        turn_secret="turn-shared-secret",  # type: ignore[arg-type]
        # Webhook deliveries are sent when a test drives the dispatcher with its own clock.
        webhook_poll_seconds=600,
        # No warning about the test machine's own disk, unless a test asks for one.
        recording_warn_free_mb=0,
    )


@pytest.fixture
async def client(settings: Settings, clock: FakeClock) -> AsyncIterator[TestClient[object, object]]:
    """A real server on a real socket; PostgreSQL is migrated first like ``db upgrade``."""
    if settings.effective_database_url.startswith("postgresql"):
        from hearing_server.persistence.database import Database

        database = Database(settings.effective_database_url, settings.jurisdiction())
        await database.upgrade()
        await database.dispose()
    app = create_app(settings, clock=clock)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never read the developer's HEARING_* variables or config file."""
    for key in list(os.environ):
        if key.startswith("HEARING_") and not key.startswith("HEARING_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HEARING_CONFIG", "/nonexistent/hearing-server.toml")
    yield


# ---------------------------------------------------------------------- a disk that fills up


@pytest.fixture
def small_disk_bytes() -> int:
    """The size of ``small_disk``; a module overrides it for a smaller or larger one."""
    return 24 * 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path, small_disk_bytes: int) -> Iterator[Path]:
    """A real filesystem of ``small_disk_bytes``, mounted for the test, to fill up."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    mount = tmp_path / "small-disk"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={small_disk_bytes}", "tmpfs", str(mount)],
        check=True,
    )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=True)


def fill_disk(disk: Path) -> Path:
    """Take every byte left on ``disk``."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as handle:
        for size in (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1):
            try:
                while True:
                    handle.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    return filler
