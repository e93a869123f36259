"""Input a fuzzer found to crash the server (500) or to be accepted against the document:
every one is a clear 4xx in the API's error shape, and none changes anything."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import API, Api, Reply, hearing_body

LISTS = ["sessions", "hearings", "meetings"]
CONTROL_CHARACTERS = ["\x00", "\x07", "\x1b", "\x7f", "\x85"]


async def _everything(api: Api) -> tuple[Any, ...]:
    """What a refusal must leave as it was: sessions, courts, accounts, accepted audit."""
    sessions = (await api.get(f"{API}/sessions")).body
    courts = (await api.get(f"{API}/courts")).body
    users = (await api.get(f"{API}/users")).body
    accepted = [e["seq"] for e in await api.audit() if e["outcome"] == "accepted"]
    return sessions, courts, users, accepted


def _schema_refusal(reply: Reply, field: str) -> None:
    err = reply.error(422, "invalid_input", "request.schema")
    assert any(field in problem["loc"] for problem in err["problems"]), err


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("offset", ["99999999999999999999", str(2**63), str(2**31)])
async def test_an_offset_beyond_what_storage_counts_is_refused(
    api: Api, path: str, offset: str
) -> None:
    await api.schedule_hearing()
    _schema_refusal(await api.get(f"{API}/{path}", params={"offset": offset}), "offset")
    assert len((await api.get(f"{API}/{path}", params={"offset": "0"})).body) <= 1


@pytest.mark.parametrize("after_seq", ["99999999999999999999", str(2**31)])
async def test_an_audit_position_beyond_the_sequence_column_is_refused(
    api: Api, after_seq: str
) -> None:
    _schema_refusal(await api.get(f"{API}/audit", params={"after_seq": after_seq}), "after_seq")
    assert await api.audit(after_seq=str(2**31 - 1)) == []


@pytest.mark.parametrize(
    "params",
    [
        {"on": "0001-01-01"},
        {"on": "9999-12-31"},
        {"starts_from": "9999-12-31T23:59:59-23:59"},
        {"starts_before": "0001-01-01T00:00:00+23:59"},
    ],
)
async def test_a_search_outside_the_schedulable_years_is_refused(
    api: Api, params: dict[str, str]
) -> None:
    for path in LISTS:
        reply = await api.get(f"{API}/{path}", params=params)
        reply.error(422, "invalid_input", "session.schedule_range")


@pytest.mark.parametrize(
    "start",
    ["9999-12-31T23:00:00-12:00", "9999-12-31T10:00:00Z", "1999-12-31T23:59:59+00:00"],
)
async def test_a_session_outside_the_schedulable_years_is_refused(api: Api, start: str) -> None:
    before = await _everything(api)
    reply = await api.post(f"{API}/hearings", hearing_body(start=start, end=None))
    err = reply.error(422, "invalid_input", "session.schedule_range")
    assert "2000" in err["message"]["en"] and "2100" in err["message"]["vi"]
    meeting = {"title": "Họp", "scheduled_start": start}
    reply = await api.post(f"{API}/meetings", meeting)
    reply.error(422, "invalid_input", "session.schedule_range")
    assert await _everything(api) == before

    hearing = await api.schedule_hearing()
    session = f"{API}/sessions/{hearing['id']}"
    before = await _everything(api)
    reply = await api.patch(session, {"scheduled_end": start})
    reply.error(422, "invalid_input", "session.schedule_range")
    assert await _everything(api) == before
    # The hearing that stayed in range still takes people (their links expire in range).
    point = await api.add_point(hearing["id"])
    await api.add_participant(hearing["id"], point["id"])


@pytest.mark.parametrize("character", CONTROL_CHARACTERS)
async def test_control_characters_are_refused_in_every_text_field(api: Api, character: str) -> None:
    hearing = await api.schedule_hearing()
    point = await api.add_point(hearing["id"])
    session = f"{API}/sessions/{hearing['id']}"
    before = await _everything(api)
    bad = f"Nguyễn{character}Văn A"

    reply = await api.post(
        f"{session}/participants", {"name": bad, "role": "defendant", "point_id": point["id"]}
    )
    _schema_refusal(reply, "name")
    _schema_refusal(await api.post(f"{API}/courts", {"code": bad, "name": "Tòa"}), "code")
    _schema_refusal(await api.post(f"{API}/hearings", hearing_body(number=bad)), "number")
    _schema_refusal(
        await api.patch(session, {"case": {"number": bad, "case_type": "civil"}}), "number"
    )
    _schema_refusal(await api.get(f"{API}/sessions", params={"case_number": bad}), "case_number")
    _schema_refusal(await api.get(f"{API}/sessions", params={"court_id": bad}), "court_id")
    _schema_refusal(await api.get(f"{API}/audit", params={"session_id": bad}), "session_id")
    point_reply = await api.post(
        f"{session}/participants", {"name": "B", "role": "witness", "point_id": bad}
    )
    _schema_refusal(point_reply, "point_id")
    # Ids in the path are text too.
    _schema_refusal(await api.get(f"{API}/sessions/{hearing['id']}{character}"), "session_id")
    # No token is needed to reach the login form.
    login = await api.as_token(None).post(
        f"{API}/auth/login", {"username": f"ad{character}min", "password": "whatever-it-is"}
    )
    _schema_refusal(login, "username")
    assert await _everything(api) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"scheduled_start": 0}, "scheduled_start"),
        ({"scheduled_start": "0"}, "scheduled_start"),
        ({"scheduled_start": "1764547200"}, "scheduled_start"),
        ({"scheduled_start": "2026-12-01"}, "scheduled_start"),
        (
            {"case": {"number": "1/2026/HS-ST", "case_type": "civil", "closed_hearing": "true"}},
            "closed_hearing",
        ),
        (
            {"case": {"number": "1/2026/HS-ST", "case_type": "criminal", "penal_chapters": ["3"]}},
            "penal_chapters",
        ),
        ({"case": {"number": 12, "case_type": "civil"}}, "number"),
    ],
)
async def test_values_of_another_type_than_documented_are_refused(
    api: Api, change: dict[str, Any], field: str
) -> None:
    before = await _everything(api)
    _schema_refusal(await api.post(f"{API}/hearings", {**hearing_body(), **change}), field)
    assert await _everything(api) == before


@pytest.mark.parametrize(
    "params",
    [
        {"starts_from": "0.5"},
        {"starts_before": "1764547200"},
        {"on": "0"},
        {"on": "2026-12-01T00:00:00Z"},
    ],
)
async def test_query_times_must_be_written_as_the_document_says(
    api: Api, params: dict[str, str]
) -> None:
    (name,) = params
    _schema_refusal(await api.get(f"{API}/sessions", params=params), name)


async def test_a_body_is_required_where_the_document_requires_one(api: Api) -> None:
    hearing = await api.schedule_hearing()
    session = f"{API}/sessions/{hearing['id']}"
    before = await _everything(api)
    for reply in (await api.patch(session), await api.post(f"{API}/courts")):
        err = reply.error(422, "invalid_input", "request.body_required")
        assert "JSON" in err["message"]["en"]
    assert await _everything(api) == before


async def test_a_body_that_is_not_declared_json_is_refused(api: Api) -> None:
    before = await _everything(api)
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "application/jsonx"]:
        reply = await api.post(
            f"{API}/courts",
            data='{"code": "TAND-HN", "name": "TAND Hà Nội"}',
            headers={"Content-Type": content_type},
        )
        reply.error(415, "unsupported_media_type", "request.content_type")
    assert await _everything(api) == before
    # A charset parameter is still JSON.
    reply = await api.post(
        f"{API}/courts",
        data='{"code": "TAND-HN", "name": "TAND Hà Nội"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert reply.status == 201, reply.body


async def test_a_method_not_allowed_names_the_allowed_ones(api: Api) -> None:
    reply = await api.request("PUT", f"{API}/courts")
    reply.error(405, "http_error", "http.405")
    assert set(reply.headers["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


async def test_an_account_for_a_court_that_does_not_exist_is_refused(api: Api) -> None:
    before = await _everything(api)
    reply = await api.post(
        f"{API}/users",
        {"username": "thuky2", "role": "clerk", "password": "long-enough-pw", "court_id": "nosuch"},
    )
    reply.error(404, "not_found", "court.not_found")
    assert await _everything(api) == before


async def test_a_lone_surrogate_is_not_text(api: Api) -> None:
    """JSON may escape half of a surrogate pair; no database can store it."""
    hearing = await api.schedule_hearing()
    point = await api.add_point(hearing["id"])
    before = await _everything(api)
    sent = json.dumps({"name": "A\ud800", "role": "defendant", "point_id": point["id"]})
    assert "\\ud800" in sent
    reply = await api.post(f"{API}/sessions/{hearing['id']}/participants", data=sent)
    reply.error(422, "invalid_input", "request.schema")
    assert await _everything(api) == before
