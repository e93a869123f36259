"""A full disk, for real: the SQLite database lives on a small filesystem the test mounts and
then fills until writes fail. REST answers a clear "storage full", IT staff are alerted (the
alert waits in memory until it can be written), nothing half-written is left, and a lost
connection that could not be recorded is recorded once space is back."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from rooms.alerts import AlertKind
from rooms.ids import SessionId
from rooms.participants import Actor
from rooms.states import ParticipantState
from tests.api.conftest import API, Api, hearing_body
from tests.conftest import fill_disk
from tests.signaling.harness import schedule_hearing

DISK_BYTES = 8 * 1024 * 1024
WAIT_SECONDS = 20.0

SYSTEM = Actor.system()


@pytest.fixture
def small_disk_bytes() -> int:
    return DISK_BYTES


@pytest.fixture
def database_url(small_disk: Path) -> str:
    """Overrides the shared fixture: this module runs on SQLite on the small disk only."""
    return f"sqlite+aiosqlite:///{small_disk / 'hearing.db'}"


async def _until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Poll the database-backed ``condition`` (nothing to wait on but the data itself)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while not await condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_a_full_disk_is_answered_alerted_and_leaves_the_database_whole(
    api: Api, small_disk: Path
) -> None:
    first = await api.schedule_hearing()
    filler = fill_disk(small_disk)

    refused = await api.post(f"{API}/hearings", hearing_body(number="99/2026/HS-ST"))

    refused.error(507, "server.storage_full", "server.storage_full")
    assert (await api.read_session(first["id"]))["id"] == first["id"]  # reads still work
    [alert] = [a for a in await api.service.alerts(SYSTEM, first["id"]) if a.session_id is None]
    assert alert.kind is AlertKind.STORAGE_FULL and alert.message.vi and alert.message.en
    again = await api.post(f"{API}/hearings", hearing_body(number="98/2026/HS-ST"))
    again.error(507, "server.storage_full")
    assert (
        len([a for a in await api.service.alerts(SYSTEM, first["id"]) if a.session_id is None]) == 1
    )

    filler.unlink()
    written = await api.post(f"{API}/hearings", hearing_body(number="97/2026/HS-ST"))
    assert written.status == 201, written.body

    async with api.service.database.unit_of_work() as uow:
        assert await uow.alerts.for_session(None, open_only=True) == [alert]
    numbers = [s["case"]["number"] for s in (await api.get(f"{API}/hearings")).body]
    assert sorted(numbers) == ["123/2026/HS-ST", "97/2026/HS-ST"]
    raised = [e for e in await api.audit() if e["action"] == "alert.raise"]
    assert [e["detail"]["kind"] for e in raised] == ["storage_full"]
    count, breaks = await api.service.verify_audit(SYSTEM)
    assert breaks == [] and count > 0
    with sqlite3.connect(small_disk / "hearing.db") as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_a_lost_connection_the_full_disk_refused_is_recorded_once_space_is_back(
    api: Api, small_disk: Path
) -> None:
    hearing = await schedule_hearing(api.client)
    try:
        defendant, _welcome = await hearing.join("defendant")
        filler = fill_disk(small_disk)

        await defendant.sio.disconnect()
        await _until(lambda: _has_alert(api, hearing.session_id, AlertKind.STORAGE_FULL))
        session = await hearing.session()
        assert session.participants[hearing.ids["defendant"]].state is ParticipantState.IN_LOBBY

        filler.unlink()

        async def recorded() -> bool:
            person = (await hearing.session()).participants[hearing.ids["defendant"]]
            return person.state is ParticipantState.DISCONNECTED

        await _until(recorded)
        await _until(lambda: _has_alert(api, hearing.session_id, AlertKind.DISCONNECTED))
        assert len(await hearing.audit("participant.disconnect")) == 1
    finally:
        await hearing.close()


async def _has_alert(api: Api, session_id: SessionId, kind: AlertKind) -> bool:
    return any(a.kind is kind for a in await api.service.alerts(SYSTEM, session_id))
