"""Court video meetings: many connection points, meeting roles only."""

from __future__ import annotations

from tests.api.conftest import API, Api


async def test_a_meeting_with_twenty_points_and_its_people(api: Api) -> None:
    meeting = await api.schedule_meeting("Hội nghị trực tuyến toàn ngành Tòa án")
    assert meeting["kind"] == "meeting"
    assert meeting["case"] is None
    assert meeting["meeting"] == {
        "title": "Hội nghị trực tuyến toàn ngành Tòa án",
        "organiser": "Văn phòng TANDTC",
        "chair": "Chánh án",
    }
    [main] = meeting["points"]
    assert main["kind"] == "main_room"
    assert main["name"] == "Điểm cầu trung tâm"

    # A meeting is not limited to three remote points like a hearing.
    points = [await api.add_point(meeting["id"], f"TAND tỉnh số {n}", "court") for n in range(20)]
    assert len({p["id"] for p in points}) == 20

    chair = await api.add_participant(meeting["id"], main["id"], "chair", "Chánh án TANDTC")
    speaker = await api.add_participant(meeting["id"], points[3]["id"], "speaker", "Chánh án 3")
    delegates = [
        await api.add_participant(meeting["id"], p["id"], "participant", f"Đại biểu {n}")
        for n, p in enumerate(points[:5])
    ]
    technician = await api.add_participant(meeting["id"], main["id"], "technician", "Kỹ thuật")
    assert chair["participant"]["role_label"] == {"vi": "Chủ trì cuộc họp", "en": "Chair"}
    assert speaker["participant"]["point_id"] == points[3]["id"]
    assert technician["participant"]["role"] == "technician"

    stored = await api.read_session(meeting["id"])
    assert [p["id"] for p in stored["points"]] == [main["id"]] + [p["id"] for p in points]
    assert [p["name"] for p in stored["points"][1:]] == [f"TAND tỉnh số {n}" for n in range(20)]
    added = [chair, speaker, *delegates, technician]
    assert [p["id"] for p in stored["participants"]] == [a["participant"]["id"] for a in added]
    assert all(p["state"] == "invited" for p in stored["participants"])

    # Hearing roles do not belong in a meeting, nor a courtroom, nor a second chair.
    for role in ("presiding_judge", "defendant", "observer"):
        reply = await api.post(
            f"{API}/sessions/{meeting['id']}/participants",
            {"name": "Nhầm vai", "role": role, "point_id": main["id"]},
        )
        err = reply.error(422, "invalid_input", "participant.role")
        assert "meeting" in err["message"]["en"]
    courtroom = await api.post(
        f"{API}/sessions/{meeting['id']}/points", {"name": "Phòng xử án", "kind": "courtroom"}
    )
    courtroom.error(422, "policy_violation", "policy.one_central_point")
    second_chair = await api.post(
        f"{API}/sessions/{meeting['id']}/participants",
        {"name": "Phó Chánh án", "role": "chair", "point_id": main["id"]},
    )
    second_chair.error(422, "policy_violation", "participant.single_chair")
    assert await api.read_session(meeting["id"]) == stored

    # Meeting roles do not belong in a hearing either.
    hearing = await api.schedule_hearing()
    reply = await api.post(
        f"{API}/sessions/{hearing['id']}/participants",
        {"name": "Đại biểu", "role": "participant", "point_id": hearing["points"][0]["id"]},
    )
    reply.error(422, "invalid_input", "participant.role")


async def test_a_meeting_title_and_chair_can_change(api: Api) -> None:
    meeting = await api.schedule_meeting()
    reply = await api.patch(
        f"{API}/sessions/{meeting['id']}", {"title": "Họp Ban cán sự", "chair": "Phó Chánh án"}
    )
    assert reply.status == 200, reply.body
    assert reply.body["meeting"] == {
        "title": "Họp Ban cán sự",
        "organiser": "Văn phòng TANDTC",
        "chair": "Phó Chánh án",
    }
    case = await api.patch(
        f"{API}/sessions/{meeting['id']}",
        {"case": {"number": "1/2026/DS-ST", "case_type": "civil"}},
    )
    case.error(422, "invalid_input", "session.case")
    assert await api.read_session(meeting["id"]) == reply.body


async def test_malformed_meetings_are_invalid_input(api: Api) -> None:
    cases = [
        ({"title": "Họp", "scheduled_start": "2026-12-02T14:00:00"}, ["scheduled_start"]),
        ({"scheduled_start": "2026-12-02T14:00:00+07:00"}, ["title"]),
        (
            {"title": "Họp", "scheduled_start": "2026-12-02T14:00:00+07:00", "agenda": []},
            ["agenda"],
        ),
    ]
    for body, loc in cases:
        reply = await api.post(f"{API}/meetings", body)
        err = reply.error(422, "invalid_input", "request.schema")
        assert [p["loc"] for p in err["problems"]] == [loc]
    ended = await api.post(
        f"{API}/meetings",
        {
            "title": "Họp",
            "scheduled_start": "2026-12-02T14:00:00+07:00",
            "scheduled_end": "2026-12-02T13:00:00+07:00",
        },
    )
    ended.error(422, "invalid_input", "session.end_before_start")
    bad_kind = await api.post(
        f"{API}/sessions/{(await api.schedule_meeting())['id']}/points",
        {"name": "X", "kind": "moon"},
    )
    assert bad_kind.error(422, "invalid_input")["problems"][0]["loc"] == ["kind"]
    assert len((await api.get(f"{API}/meetings")).body) == 1
