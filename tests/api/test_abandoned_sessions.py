"""Ending a suspended session nobody will resume, through the API: closed or postponed, with
a reason, audited; refused for the wrong state, account or missing reason (issue 10)."""

from __future__ import annotations

from rooms.ids import SessionId
from rooms.participants import Actor
from tests.api.conftest import API, Api


async def _suspended(api: Api) -> str:
    session_id = (await api.schedule_hearing())["id"]
    system = Actor.system()
    for action, command in (
        ("session.open_lobby", lambda s: s.open_lobby(system)),
        ("session.start", lambda s: s.start(system)),
        ("session.suspend", lambda s: s.suspend(system, "courtroom_connection_lost")),
    ):
        await api.service.execute(system, SessionId(session_id), action, command)
    return str(session_id)


async def test_an_abandoned_session_is_postponed_with_a_reason_and_audited(
    api: Api, clerk: Api
) -> None:
    session_id = await _suspended(api)
    path = f"{API}/sessions/{session_id}/end"
    missing = await api.post(path, {"outcome": "closed", "reason": ""})
    assert missing.status == 422, missing.body
    blank = await api.post(path, {"outcome": "closed", "reason": "   "})
    blank.error(422, "invalid_input", "request.schema")
    by_clerk = await clerk.post(path, {"outcome": "closed", "reason": "Không ai tiếp tục"})
    by_clerk.error(403, "forbidden", "staff_permission.end_abandoned")
    assert (await api.read_session(session_id))["state"] == "suspended"

    ended = await api.post(path, {"outcome": "postponed", "reason": "Phòng xử án mất kết nối"})
    assert ended.status == 200, ended.body
    assert ended.body["state"] == "postponed"
    again = await api.post(path, {"outcome": "closed", "reason": "x"})
    again.error(409, "invalid_state", "session_state.end_abandoned")
    audited = [
        e for e in await api.audit(session_id=session_id) if e["action"] == "session.end_abandoned"
    ]
    assert [(e["outcome"], e["detail"].get("outcome")) for e in audited] == [
        ("refused", "closed"),
        ("accepted", "postponed"),
        ("refused", "closed"),
    ]
    [accepted] = [e for e in audited if e["outcome"] == "accepted"]
    assert accepted["detail"]["reason"] == "Phòng xử án mất kết nối"
