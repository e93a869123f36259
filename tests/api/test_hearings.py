"""Scheduling hearings: case metadata, filters, changes, cancellation and every refusal."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tests.api.conftest import API, Api, hearing_body


async def _snapshot(api: Api) -> tuple[Any, int]:
    """What a refusal must leave untouched: every session, and the accepted audit entries."""
    sessions = (await api.get(f"{API}/sessions")).body
    accepted = [e for e in await api.audit() if e["outcome"] == "accepted"]
    return sessions, len(accepted)


async def test_a_hearing_is_scheduled_with_its_case(api: Api) -> None:
    court = (await api.get(f"{API}/courts")).body[0]
    reply = await api.post(
        f"{API}/hearings",
        hearing_body(
            number="45/2026/HS-ST",
            title="Vụ án Nguyễn Văn A - trộm cắp tài sản",
            penal_chapters=[16, 17],
            closed_hearing=True,
        ),
    )
    assert reply.status == 201, reply.body
    hearing = reply.body
    assert hearing["kind"] == "hearing"
    assert hearing["court_id"] == court["id"]
    assert hearing["state"] == "scheduled"
    assert hearing["state_label"] == {"vi": "Đã lên lịch", "en": "Scheduled"}
    assert datetime.fromisoformat(hearing["scheduled_start"]) == datetime.fromisoformat(
        "2026-12-01T01:00:00+00:00"
    )
    assert datetime.fromisoformat(hearing["scheduled_end"]) == datetime.fromisoformat(
        "2026-12-01T04:30:00+00:00"
    )
    assert hearing["case"] == {
        "number": "45/2026/HS-ST",
        "case_type": "criminal",
        "case_type_label": {"vi": "Hình sự", "en": "Criminal"},
        "instance": "first_instance",
        "instance_label": {"vi": "Sơ thẩm", "en": "First instance"},
        "title": "Vụ án Nguyễn Văn A - trộm cắp tài sản",
        "closed_hearing": True,
        "state_secret": False,
        "penal_chapters": [16, 17],
    }
    assert hearing["meeting"] is None
    assert hearing["participants"] == []
    assert hearing["recording"] == "off"
    assert hearing["floor_holder"] is None
    [courtroom] = hearing["points"]
    assert courtroom["name"] == "Phòng xử án số 2"
    assert courtroom["kind"] == "courtroom"
    assert courtroom["kind_label"]["vi"] == "Điểm cầu trung tâm (phòng xử án)"

    assert await api.read_session(hearing["id"]) == hearing
    assert (await api.get(f"{API}/hearings")).body == [hearing]
    assert (await api.get(f"{API}/meetings")).body == []


async def test_the_court_can_be_named_and_must_exist(api: Api) -> None:
    other = (await api.post(f"{API}/courts", {"code": "TAND-HN", "name": "TAND Hà Nội"})).body
    hearing = (await api.post(f"{API}/hearings", {**hearing_body(), "court_id": other["id"]})).body
    assert hearing["court_id"] == other["id"]
    reply = await api.post(f"{API}/hearings", {**hearing_body(), "court_id": "nosuchcourt"})
    reply.error(404, "not_found")
    assert [h["id"] for h in (await api.get(f"{API}/hearings")).body] == [hearing["id"]]


async def test_hearings_are_listed_by_court_state_case_number_kind_and_day(api: Api) -> None:
    courts = (await api.get(f"{API}/courts")).body
    hanoi = (await api.post(f"{API}/courts", {"code": "TAND-HN", "name": "TAND Hà Nội"})).body
    # 23:30 on 1 December in Hanoi is 16:30 UTC the same day; 00:30 on 2 December is
    # still 1 December in UTC. A filter on UTC days would mix them up.
    late = await api.schedule_hearing(
        "2026-12-01T23:30:00+07:00", "2026-12-01T23:59:00+07:00", number="1/2026/DS-ST"
    )
    early = await api.schedule_hearing(
        "2026-12-02T00:30:00+07:00",
        None,
        number="2/2026/DS-ST",
        case_type="civil",
        penal_chapters=[],
    )
    # The same instant written in UTC is the same local day.
    utc_written = await api.schedule_hearing(
        "2026-12-01T02:00:00Z", "2026-12-01T03:00:00Z", number="3/2026/HS-ST"
    )
    elsewhere = (
        await api.post(
            f"{API}/hearings",
            {**hearing_body("2026-12-01T10:00:00+07:00", None), "court_id": hanoi["id"]},
        )
    ).body
    meeting = await api.schedule_meeting(
        scheduled_start="2026-12-01T11:00:00+07:00", scheduled_end=None
    )
    cancelled = await api.post(f"{API}/sessions/{utc_written['id']}/cancel")
    assert cancelled.body["state"] == "cancelled"

    async def ids(path: str, **params: Any) -> list[str]:
        reply = await api.get(f"{API}/{path}", params=params)
        assert reply.status == 200, reply.body
        return [s["id"] for s in reply.body]

    local_court = courts[0]["id"]
    assert await ids("hearings", on="2026-12-01") == [
        utc_written["id"],
        elsewhere["id"],
        late["id"],
    ]
    assert await ids("hearings", on="2026-12-02") == [early["id"]]
    assert await ids("hearings", on="2026-11-30") == []
    assert await ids("hearings", on="2026-12-01", court_id=local_court) == [
        utc_written["id"],
        late["id"],
    ]
    assert await ids("hearings", court_id=hanoi["id"]) == [elsewhere["id"]]
    assert await ids("sessions", on="2026-12-01") == [
        utc_written["id"],
        elsewhere["id"],
        meeting["id"],
        late["id"],
    ]
    assert await ids("sessions", kind="meeting") == [meeting["id"]]
    assert await ids("meetings") == [meeting["id"]]
    assert await ids("hearings", state="cancelled") == [utc_written["id"]]
    assert await ids("hearings", state=["scheduled", "cancelled"], court_id=local_court) == [
        utc_written["id"],
        late["id"],
        early["id"],
    ]
    assert await ids("hearings", case_number="2/2026/DS-ST") == [early["id"]]
    assert await ids("hearings", case_number="9/2026/XX") == []
    assert await ids(
        "hearings",
        starts_from="2026-12-01T16:00:00Z",
        starts_before="2026-12-01T17:00:00Z",
    ) == [late["id"]]
    assert await ids("hearings", limit="2", offset="1") == [elsewhere["id"], late["id"]]

    for bad in (
        {"on": "01/12/2026"},
        {"state": "sleeping"},
        {"kind": "party"},
        {"limit": "0"},
        {"color": "red"},
        {"starts_from": "2026-12-01T00:00:00"},
    ):
        reply = await api.get(f"{API}/hearings", params=bad)
        err = reply.error(422, "invalid_input", "request.schema")
        assert err["problems"][0]["loc"][0] == next(iter(bad))


async def test_details_change_while_scheduled_and_not_after_cancel(api: Api) -> None:
    hearing = await api.schedule_hearing()
    reply = await api.patch(
        f"{API}/sessions/{hearing['id']}",
        {
            "scheduled_start": "2026-12-03T13:30:00+07:00",
            "scheduled_end": "2026-12-03T16:00:00+07:00",
            "case": {
                "number": "123/2026/HS-ST",
                "case_type": "criminal",
                "instance": "appeal",
                "title": "Đã sửa",
                "penal_chapters": [16],
            },
        },
    )
    assert reply.status == 200, reply.body
    changed = reply.body
    assert changed["case"]["instance"] == "appeal"
    assert changed["case"]["instance_label"]["vi"] == "Phúc thẩm"
    assert changed["case"]["title"] == "Đã sửa"
    assert datetime.fromisoformat(changed["scheduled_start"]) == datetime.fromisoformat(
        "2026-12-03T06:30:00+00:00"
    )
    assert changed["version"] > hearing["version"]
    assert await api.read_session(hearing["id"]) == changed

    # Meeting details do not belong to a hearing: refused, not silently dropped.
    title = await api.patch(f"{API}/sessions/{hearing['id']}", {"title": "Đổi tên"})
    title.error(422, "invalid_input", "session.meeting")
    assert await api.read_session(hearing["id"]) == changed

    # Only the end moves; it must still come after the start.
    refused = await api.patch(
        f"{API}/sessions/{hearing['id']}", {"scheduled_end": "2026-12-03T10:00:00+07:00"}
    )
    refused.error(422, "invalid_input", "session.end_before_start")
    assert await api.read_session(hearing["id"]) == changed

    cancelled = await api.post(f"{API}/sessions/{hearing['id']}/cancel")
    assert cancelled.status == 200
    assert cancelled.body["state"] == "cancelled"
    assert cancelled.body["state_label"]["en"] == "Cancelled"

    late = await api.patch(
        f"{API}/sessions/{hearing['id']}", {"scheduled_start": "2026-12-04T08:00:00+07:00"}
    )
    err = late.error(409, "invalid_state", "session_state.update")
    assert "cancelled" in err["message"]["en"]
    again = await api.post(f"{API}/sessions/{hearing['id']}/cancel")
    again.error(409, "invalid_state")
    point = await api.post(
        f"{API}/sessions/{hearing['id']}/points", {"name": "Trại giam", "kind": "detention_centre"}
    )
    point.error(409, "invalid_state", "session_state.add_point")
    assert await api.read_session(hearing["id"]) == cancelled.body

    audit = await api.audit(session_id=hearing["id"])
    assert [(e["action"], e["outcome"]) for e in audit] == [
        ("hearing.schedule", "accepted"),
        ("session.update", "accepted"),
        ("session.update", "refused"),
        ("session.cancel", "accepted"),
        ("session.update", "refused"),
        ("session.cancel", "refused"),
        ("session.add_point", "refused"),
    ]


async def test_unknown_sessions_are_not_found(api: Api) -> None:
    for reply in (
        await api.get(f"{API}/sessions/nosuchsession"),
        await api.patch(f"{API}/sessions/nosuchsession", {"scheduled_end": None}),
        await api.post(f"{API}/sessions/nosuchsession/cancel"),
        await api.post(f"{API}/sessions/nosuchsession/points", {"name": "X", "kind": "home"}),
    ):
        err = reply.error(404, "not_found", "session.not_found")
        assert "nosuchsession" in err["message"]["en"]


POLICY_REFUSALS: list[tuple[dict[str, Any], str, str]] = [
    ({"state_secret": True}, "policy.state_secret", "state secrets"),
    ({"penal_chapters": [13]}, "policy.penal_chapter", "chapter XIII"),
    ({"penal_chapters": [16, 26]}, "policy.penal_chapter", "chapter XXVI"),
    ({"case_type": "bankruptcy", "penal_chapters": []}, "policy.case_type", "Bankruptcy cases"),
    ({"instance": "cassation"}, "policy.instance", "Cassation hearings"),
    ({"instance": "reopening"}, "policy.instance", "Reopening hearings"),
]


async def test_the_law_keeps_some_cases_in_the_courtroom(api: Api) -> None:
    before = await _snapshot(api)
    for case, rule, english in POLICY_REFUSALS:
        reply = await api.post(f"{API}/hearings", hearing_body(**case))
        err = reply.error(422, "policy_violation", rule)
        assert english in err["message"]["en"], err
        assert err["message"]["vi"]
    assert await _snapshot(api) == before
    refusals = [e for e in await api.audit() if e["outcome"] == "refused"]
    assert [(e["action"], e["rule"]) for e in refusals] == [
        ("hearing.schedule", rule) for _, rule, _ in POLICY_REFUSALS
    ]
    for refusal in refusals:
        assert refusal["detail"]["code"] == "policy_violation"
        assert refusal["detail"]["case_number"] == "123/2026/HS-ST"
        assert refusal["session_id"] is None
    # Vietnamese text names the chapter in Roman numerals, as the Penal Code does.
    reply = await api.post(f"{API}/hearings", hearing_body(penal_chapters=[13, 26]))
    assert "Chương XIII, XXVI" in reply.body["error"]["message"]["vi"]


async def test_a_change_may_not_turn_a_hearing_into_one_the_law_forbids(api: Api) -> None:
    hearing = await api.schedule_hearing()
    reply = await api.patch(
        f"{API}/sessions/{hearing['id']}",
        {"case": {**hearing_body()["case"], "state_secret": True}},
    )
    reply.error(422, "policy_violation", "policy.state_secret")
    assert await api.read_session(hearing["id"]) == hearing


async def test_at_most_three_remote_points(api: Api) -> None:
    hearing = await api.schedule_hearing()
    kinds = ["detention_centre", "lawyer_office", "home"]
    for number, kind in enumerate(kinds, start=1):
        point = await api.add_point(hearing["id"], f"Điểm cầu {number}", kind)
        assert point["kind"] == kind
        assert point["location"] == "TP. Hồ Chí Minh"
    before = await api.read_session(hearing["id"])
    assert [p["kind"] for p in before["points"]] == ["courtroom", *kinds]

    reply = await api.post(
        f"{API}/sessions/{hearing['id']}/points", {"name": "Điểm cầu 4", "kind": "court"}
    )
    err = reply.error(422, "policy_violation", "policy.max_remote_points")
    assert err["message"]["vi"] == "Phiên tòa trực tuyến chỉ có tối đa 3 điểm cầu thành phần."
    # A second courtroom is refused too, for another reason.
    second = await api.post(
        f"{API}/sessions/{hearing['id']}/points", {"name": "Phòng 2", "kind": "courtroom"}
    )
    second.error(422, "policy_violation", "policy.one_central_point")
    assert await api.read_session(hearing["id"]) == before


async def test_no_observers_in_a_closed_hearing(api: Api) -> None:
    hearing = await api.schedule_hearing(closed_hearing=True)
    courtroom = hearing["points"][0]["id"]
    judge = await api.add_participant(hearing["id"], courtroom, "presiding_judge", "Lê Văn C")
    assert judge["participant"]["role"] == "presiding_judge"
    before = await api.read_session(hearing["id"])
    reply = await api.post(
        f"{API}/sessions/{hearing['id']}/participants",
        {"name": "Người dân", "role": "observer", "point_id": courtroom},
    )
    err = reply.error(422, "policy_violation", "policy.closed_hearing")
    assert err["message"]["vi"] == "Phiên tòa xử kín: không có người dự khán."
    assert await api.read_session(hearing["id"]) == before
    links = [e for e in await api.audit() if e["action"] == "link.issue"]
    assert len(links) == 1  # the judge's only

    # In an open hearing an observer is welcome; then closing it is refused.
    open_hearing = await api.schedule_hearing(number="77/2026/HS-ST")
    observer = await api.add_participant(
        open_hearing["id"], open_hearing["points"][0]["id"], "observer", "Người dân"
    )
    assert observer["participant"]["role_label"]["vi"] == "Người dự khán"
    close = await api.patch(
        f"{API}/sessions/{open_hearing['id']}",
        {"case": {**hearing_body(number="77/2026/HS-ST")["case"], "closed_hearing": True}},
    )
    close.error(422, "policy_violation", "policy.closed_hearing")


async def test_a_second_presiding_judge_and_unknown_points_are_refused(api: Api) -> None:
    hearing = await api.schedule_hearing()
    courtroom = hearing["points"][0]["id"]
    await api.add_participant(hearing["id"], courtroom, "presiding_judge", "Lê Văn C")
    twice = await api.post(
        f"{API}/sessions/{hearing['id']}/participants",
        {"name": "Phạm D", "role": "presiding_judge", "point_id": courtroom},
    )
    twice.error(422, "policy_violation", "participant.single_presiding_judge")
    nowhere = await api.post(
        f"{API}/sessions/{hearing['id']}/participants",
        {"name": "Phạm D", "role": "witness", "point_id": "nosuchpoint"},
    )
    nowhere.error(404, "not_found", "point.not_found")
    assert len((await api.read_session(hearing["id"]))["participants"]) == 1


BAD_HEARINGS: list[tuple[str, Any, list[Any]]] = [
    ("unknown field", {**hearing_body(), "judge": "X"}, ["judge"]),
    (
        "unknown case field",
        {**hearing_body(), "case": {**hearing_body()["case"], "secret": 1}},
        ["case", "secret"],
    ),
    ("naive start", hearing_body("2026-12-01T08:00:00", None), ["scheduled_start"]),
    ("naive end", hearing_body(end="2026-12-01T11:00:00"), ["scheduled_end"]),
    ("not a date", hearing_body("tomorrow morning", None), ["scheduled_start"]),
    ("wrong case type", hearing_body(case_type="divorce"), ["case", "case_type"]),
    ("wrong instance", hearing_body(instance="supreme"), ["case", "instance"]),
    ("missing case", {"scheduled_start": "2026-12-01T08:00:00+07:00"}, ["case"]),
    ("empty case number", hearing_body(number=""), ["case", "number"]),
    ("chapters not numbers", hearing_body(penal_chapters=["XIII"]), ["case", "penal_chapters", 0]),
    ("not an object", [hearing_body()], []),
]


async def test_malformed_hearings_are_invalid_input(api: Api) -> None:
    before = await _snapshot(api)
    for name, body, loc in BAD_HEARINGS:
        reply = await api.post(f"{API}/hearings", body)
        err = reply.error(422, "invalid_input", "request.schema")
        assert err["message"] == {
            "vi": "Dữ liệu gửi lên không hợp lệ.",
            "en": "The request does not match the schema.",
        }
        assert [p["loc"] for p in err["problems"]] == [loc], name
        assert all(p["msg"] and p["type"] for p in err["problems"])
    assert await _snapshot(api) == before


async def test_rule_breaking_but_well_formed_input_is_invalid_input(api: Api) -> None:
    before = await _snapshot(api)
    cases = [
        (hearing_body(end="2026-12-01T07:00:00+07:00"), "session.end_before_start"),
        (hearing_body(end="2026-12-01T08:00:00+07:00"), "session.end_before_start"),
        (hearing_body(case_type="civil"), "case.penal_chapters"),
        (hearing_body(penal_chapters=[27]), "case.penal_chapters"),
        (hearing_body(number="   "), "request.schema"),
    ]
    for body, rule in cases:
        reply = await api.post(f"{API}/hearings", body)
        reply.error(422, "invalid_input", rule)
    assert await _snapshot(api) == before


async def test_invalid_json_and_oversized_bodies(api: Api) -> None:
    before = await _snapshot(api)
    broken = await api.post(f"{API}/hearings", data=b'{"case": {"number": ')
    err = broken.error(422, "invalid_input", "request.schema")
    assert err["problems"][0]["type"] == "json_invalid"
    empty = await api.post(f"{API}/hearings", data=b"")
    empty.error(422, "invalid_input", "request.body_required")
    missing = await api.post(f"{API}/hearings", {})
    assert {p["loc"][0] for p in missing.error(422, "invalid_input")["problems"]} == {
        "case",
        "scheduled_start",
    }

    big = hearing_body(title="x" * 300_000)
    too_big = await api.post(f"{API}/hearings", data=json.dumps(big).encode())
    err = too_big.error(413, "http_error", "http.413")
    assert err["message"]["en"] == "Request Entity Too Large"

    # Without a Content-Length (chunked), the limit still holds.
    async def chunks() -> Any:
        payload = json.dumps(big).encode()
        for start in range(0, len(payload), 65536):
            yield payload[start : start + 65536]

    async with api.client.post(
        f"{API}/hearings",
        data=chunks(),
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    ) as response:
        assert response.status == 413
        assert (await response.json())["error"]["rule"] == "http.413"
    assert await _snapshot(api) == before


async def test_a_clerk_schedules_hearings_too(api: Api, clerk: Api) -> None:
    """Clerks schedule hearings too; only what the role may not do is refused."""
    hearing = await clerk.schedule_hearing()
    assert hearing["state"] == "scheduled"
    assert (await clerk.get(f"{API}/hearings")).body == [hearing]


async def test_a_hearing_may_record_from_its_start(api: Api) -> None:
    plain = (await api.post(f"{API}/hearings", hearing_body())).body
    assert plain["record_automatically"] is False
    reply = await api.post(f"{API}/hearings", {**hearing_body(), "record_automatically": True})
    assert reply.status == 201, reply.body
    hearing = reply.body
    assert hearing["record_automatically"] is True
    assert await api.read_session(hearing["id"]) == hearing
    [scheduled] = [e for e in await api.audit() if e["action"] == "hearing.schedule"][-1:]
    assert scheduled["detail"]["record_automatically"] is True

    changed = await api.patch(f"{API}/sessions/{hearing['id']}", {"record_automatically": False})
    assert changed.status == 200, changed.body
    assert changed.body["record_automatically"] is False
    assert (await api.read_session(hearing["id"]))["record_automatically"] is False

    # Not a text, not for a meeting: refused, and nothing changes.
    wrong = await api.patch(f"{API}/sessions/{hearing['id']}", {"record_automatically": "yes"})
    wrong.error(422, "invalid_input", "request.schema")
    meeting = await api.schedule_meeting()
    refused = await api.patch(f"{API}/sessions/{meeting['id']}", {"record_automatically": True})
    refused.error(422, "invalid_input", "session.record_automatically")
    assert (await api.read_session(meeting["id"]))["record_automatically"] is False
