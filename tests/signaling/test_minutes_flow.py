"""A hearing run through the signalling stack writes the minutes draft: its automatic entries
are the events the court's console received, in the same order."""

from __future__ import annotations

from typing import Any

from tests.signaling.harness import Hearing, person_state, state_event

WRITES_AN_ENTRY = {
    "session_state_changed",
    "participant_state_changed",
    "identity_verified",
    "floor_changed",
    "recording_state_changed",
    "consultation_changed",
}


def _writes(event: dict[str, Any]) -> bool:
    payload = event["payload"]
    if event["name"] == "floor_changed":
        return payload["holder"] is not None
    return event["name"] in WRITES_AN_ENTRY


async def test_the_draft_lists_what_the_console_saw_in_order(hearing: Hearing) -> None:
    judge, _ = await hearing.join("judge")
    clerk, _ = await hearing.join("clerk")
    await hearing.join("defendant")
    await judge.wait_for("session_event", person_state(hearing.ids["defendant"], "in_lobby"))
    await hearing.admit(clerk, "defendant")
    assert (await judge.call("start"))["ok"]
    assert (await judge.call("give_floor", {"participant_id": hearing.ids["defendant"]}))["ok"]
    assert (await judge.call("suspend", {"reason": "nghỉ giải lao"}))["ok"]
    await judge.wait_for("session_event", state_event("suspended"))

    seen = [b["event"] for b in judge.received("session_event") if _writes(b["event"])]
    minutes = await hearing.service.minutes(hearing.session_id)
    tail = minutes.entries[-len(seen) :]
    names = {
        "session_state_changed": ("phiên tòa", "phòng chờ"),
        "participant_state_changed": ("điểm cầu",),
        "identity_verified": ("căn cước",),
        "floor_changed": ("được phát biểu",),
    }
    for event, entry in zip(seen, tail, strict=True):
        assert any(word in entry.line.vi for word in names[event["name"]]), (event, entry.line)
    assert tail[-1].line.vi == "Tạm ngừng phiên tòa. Lý do: nghỉ giải lao."
    assert [e.kind.value for e in tail].count("floor") == 1
