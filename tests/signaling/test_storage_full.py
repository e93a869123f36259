"""A full disk: every message still gets an answer, a clear ``server.storage_full``."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

from tests.signaling.harness import Hearing


async def _fill_the_database(hearing: Hearing) -> None:
    """SQLite's own limit on the file's pages: the next page it needs, it cannot have — the
    same ``database or disk is full`` a full disk gives."""
    engine = hearing.service.database.engine
    async with engine.connect() as conn:
        pages = (await conn.execute(text("PRAGMA page_count"))).scalar_one()

    def limit(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA max_page_count = {pages}")
        cursor.close()

    event.listen(engine.sync_engine, "connect", limit)
    await engine.dispose()


async def test_commands_on_a_full_disk_get_a_clear_answer(hearing: Hearing) -> None:
    if hearing.service.database.dialect != "sqlite":
        pytest.skip("the page limit that fills the database is SQLite's")
    judge, _ = await hearing.join("judge")
    await _fill_the_database(hearing)

    replies = []
    for n in range(30):
        replies.append(await judge.call("suspend" if n % 2 else "raise_hand", {"ref": str(n)}))
        if not replies[-1]["ok"] and replies[-1]["error"]["rule"] == "server.storage_full":
            break
    full = replies[-1]["error"]
    assert full["code"] == "unavailable"
    assert full["rule"] == "server.storage_full"
    assert "đầy" in full["message"]["vi"] and "full" in full["message"]["en"]
    assert full["ref"] == replies[-1]["ref"]
    assert await judge.wait_for("error", lambda b: b["rule"] == "server.storage_full")
    # The server still answers what needs no storage.
    assert (await judge.call("ping"))["ok"]
