"""The audit log: every accepted command is there, chained by hashes; tampering is found."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from rooms.audit import ChainBreak
from rooms.participants import Actor
from tests.api.conftest import API, Api, hearing_body
from tests.conftest import TEST_SECRET

GENESIS = "0" * 64
CLI = Path(sys.executable).parent / "hearing-server"


def _independent_hash(entry: dict[str, Any]) -> str:
    """The chain as documented, recomputed from what the API returns."""
    canonical = json.dumps(
        {
            "at": datetime.fromisoformat(entry["at"]).isoformat(timespec="microseconds"),
            "actor": entry["actor"],
            "action": entry["action"],
            "outcome": entry["outcome"],
            "session_id": entry["session_id"],
            "rule": entry["rule"],
            "detail": entry["detail"],
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256((entry["previous_hash"] + canonical).encode()).hexdigest()


async def _busy_day(api: Api) -> dict[str, Any]:
    """One of everything a scheduler does through the API."""
    hearing = await api.schedule_hearing()
    api.clock.advance(timedelta(seconds=1, microseconds=250))
    point = await api.add_point(hearing["id"])
    added = await api.add_participant(hearing["id"], point["id"])
    participant_id = added["participant"]["id"]
    reissued = await api.post(f"{API}/sessions/{hearing['id']}/participants/{participant_id}/links")
    revoked = await api.delete(
        f"{API}/sessions/{hearing['id']}/links/{added['join_link']['invitation']['id']}"
    )
    assert (reissued.status, revoked.status) == (201, 204)
    changed = await api.patch(
        f"{API}/sessions/{hearing['id']}", {"scheduled_end": "2026-12-01T12:00:00+07:00"}
    )
    assert changed.status == 200
    meeting = await api.schedule_meeting()
    refused = await api.post(f"{API}/hearings", hearing_body(state_secret=True))
    assert refused.status == 422
    cancelled = await api.post(f"{API}/sessions/{meeting['id']}/cancel")
    assert cancelled.status == 200
    return {"hearing": hearing, "meeting": meeting, "participant": added["participant"]}


async def test_every_command_is_audited_in_a_hash_chain(api: Api) -> None:
    made = await _busy_day(api)
    hearing_id, meeting_id = made["hearing"]["id"], made["meeting"]["id"]
    entries = await api.audit()

    assert [(e["action"], e["outcome"], e["session_id"]) for e in entries] == [
        ("court.add", "accepted", None),  # the server's own court, on first start
        ("user.add", "accepted", None),  # the administrator, by the command line
        ("auth.login", "accepted", None),
        ("hearing.schedule", "accepted", hearing_id),
        ("session.add_point", "accepted", hearing_id),
        ("link.issue", "accepted", hearing_id),  # in the same transaction as the person
        ("session.add_participant", "accepted", hearing_id),
        ("link.revoke", "accepted", hearing_id),  # re-issuing revokes the first link...
        ("link.issue", "accepted", hearing_id),  # ...in the transaction that issues the new one
        ("link.revoke", "accepted", hearing_id),  # revoked by hand again: a no-op, still audited
        ("session.update", "accepted", hearing_id),
        ("meeting.schedule", "accepted", meeting_id),
        ("hearing.schedule", "refused", None),
        ("session.cancel", "accepted", meeting_id),
    ]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0]["previous_hash"] == GENESIS
    for before, after in itertools.pairwise(entries):
        assert after["previous_hash"] == before["hash"]
    for entry in entries:
        assert _independent_hash(entry) == entry["hash"], entry["seq"]

    admin_id = entries[2]["actor"]
    assert admin_id.startswith("staff:")
    assert {e["actor"] for e in entries[3:]} == {admin_id}
    assert entries[0]["actor"] == "system"
    assert entries[1]["actor"] == "cli"
    by_action = {e["action"]: e for e in entries}
    assert by_action["session.add_participant"]["detail"] == {
        "name": "Nguyễn Văn A",
        "role": "defendant",
        "point_id": made["participant"]["point_id"],
        "events": ["participant_added"],
    }
    assert entries[3]["detail"] == {
        "case_number": "123/2026/HS-ST",
        "case_type": "criminal",
        "record_automatically": False,
    }
    assert entries[12]["rule"] == "policy.state_secret"
    # Times come from the server's clock, in UTC, to the microsecond.
    assert datetime.fromisoformat(entries[4]["at"]) == api.clock.now

    count, breaks = await api.service.verify_audit(Actor.system())
    assert (count, breaks) == (len(entries), [])

    # Reading by session and in pages.
    hearing_only = await api.audit(session_id=hearing_id)
    assert [e["seq"] for e in hearing_only] == [4, 5, 6, 7, 8, 9, 10, 11]
    page = await api.audit(after_seq=5, limit=3)
    assert [e["seq"] for e in page] == [6, 7, 8]
    bad = await api.get(f"{API}/audit", params={"limit": "5000"})
    bad.error(422, "invalid_input", "request.schema")


async def test_the_database_refuses_edits_and_the_chain_finds_them_anyway(
    api: Api, database_url: str, tmp_path: Path
) -> None:
    await _busy_day(api)
    entries = await api.audit()
    engine = api.service.database.engine
    postgres = engine.dialect.name == "postgresql"

    for statement in (
        "UPDATE audit_events SET detail = '{}' WHERE seq = 5",
        "DELETE FROM audit_events WHERE seq = 13",
    ):
        with pytest.raises(DBAPIError, match="audit_events is append-only"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))
    assert await api.audit() == entries

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HEARING_")},
        "HEARING_DATABASE_URL": database_url,
        "HEARING_SECRET_KEY": TEST_SECRET,
        "HEARING_DATA_DIR": str(tmp_path / "cli-data"),
        "HEARING_CONFIG": "/nonexistent/hearing-server.toml",
    }
    code, out, err = await _run_cli(env, "audit", "verify")
    assert (code, err) == (0, ""), err
    assert f"audit log intact: {len(entries)} entries" in out

    # An attacker with database access drops the protection and rewrites one entry.
    async with engine.begin() as conn:
        if postgres:
            await conn.execute(text("DROP TRIGGER audit_events_no_change ON audit_events"))
        else:
            await conn.execute(text("DROP TRIGGER audit_events_no_update"))
        forged = json.dumps({"case_number": "999/2026/HS-ST", "case_type": "criminal"})
        await conn.execute(
            text("UPDATE audit_events SET detail = :detail WHERE seq = 4"), {"detail": forged}
        )

    tampered = await api.audit()
    assert tampered[3]["detail"]["case_number"] == "999/2026/HS-ST"
    assert _independent_hash(tampered[3]) != tampered[3]["hash"]
    count, breaks = await api.service.verify_audit(Actor.system())
    assert count == len(entries)
    assert breaks == [ChainBreak(4, "content does not match its hash")]

    code, out, err = await _run_cli(env, "audit", "verify")
    assert code == 1
    assert out == ""
    assert f"audit log TAMPERED: 1 problem(s) in {len(entries)} entries" in err
    assert "entry 4: content does not match its hash" in err


async def _run_cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        str(CLI),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), _without_log_lines(err.decode())


def _without_log_lines(stderr: str) -> str:
    """The CLI logs at INFO to stderr (alembic says what it did); keep only its own words."""
    return "\n".join(
        line for line in stderr.splitlines() if not line[:4].isdigit() and "INFO" not in line
    ).strip()
