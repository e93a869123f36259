"""A session's links as a clerk hands them out: the list of every person's current link, the
CSV export, and short links (``/j/<code>``) with their refusals and back-off."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import pytest

from hearing_server.services import AuthenticationFailed
from rooms.short_codes import SHORT_CODE_ALPHABET, SHORT_CODE_BITS, SHORT_CODE_LENGTH, grouped
from tests.api.conftest import ADMIN_PASSWORD, API, Api, Reply, login_token

HOST = "http://hearings.test"
UNKNOWN = "0000000000"
"""A well-formed code; one of 2^50, so no test ever drew it."""


async def _hearing_with_people(api: Api) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A hearing with its presiding judge (an official link), a defendant and a witness."""
    hearing = await api.schedule_hearing()
    court_point = hearing["points"][0]["id"]
    remote = await api.add_point(hearing["id"])
    people = {
        "judge": await api.add_participant(
            hearing["id"], court_point, "presiding_judge", "Trần Thị Thẩm Phán"
        ),
        "defendant": await api.add_participant(
            hearing["id"], remote["id"], "defendant", "Lê Văn Đức"
        ),
        "witness": await api.add_participant(hearing["id"], remote["id"], "witness", "Phạm Thị Hà"),
    }
    return hearing, people


async def _short(api: Api, code: str) -> Reply:
    async with api.client.get(f"/j/{code}", allow_redirects=False) as response:
        return Reply(response.status, await response.text(), dict(response.headers))


async def test_the_list_holds_every_persons_current_link(api: Api) -> None:
    hearing, people = await _hearing_with_people(api)
    session_id = hearing["id"]
    defendant_id = people["defendant"]["participant"]["id"]
    reissued = await api.post(f"{API}/sessions/{session_id}/participants/{defendant_id}/links")
    assert reissued.status == 201

    reply = await api.get(f"{API}/sessions/{session_id}/links")
    assert reply.status == 200, reply.body
    listed = reply.body
    assert [p["participant"]["name"] for p in listed] == [
        "Trần Thị Thẩm Phán",
        "Lê Văn Đức",
        "Phạm Thị Hà",
    ]
    current = {
        "Trần Thị Thẩm Phán": people["judge"]["join_link"],
        "Lê Văn Đức": reissued.body,
        "Phạm Thị Hà": people["witness"]["join_link"],
    }
    for item in listed:
        link, expected = item["join_link"], current[item["participant"]["name"]]
        # Rebuilt from the invitation row: the very link that was handed out.
        assert link["token"] == expected["token"]
        assert link["url"] == f"{HOST}/join/{expected['token']}"
        assert link["short_url"] == f"{HOST}/j/{expected['short_code']}"
        assert link["invitation"]["id"] == expected["invitation"]["id"]
        assert link["replaced"] == []
        code = link["short_code"]
        assert len(code) == SHORT_CODE_LENGTH and set(code) <= set(SHORT_CODE_ALPHABET)
        joined = await api.service.resolve_join_token(link["token"])
        assert joined.participant.name == item["participant"]["name"]
    assert SHORT_CODE_BITS >= 50

    # Once a link is revoked the person stays on the list, with no link to hand out.
    witness_link = people["witness"]["join_link"]
    revoked = await api.delete(
        f"{API}/sessions/{session_id}/links/{witness_link['invitation']['id']}"
    )
    assert revoked.status == 204
    listed = (await api.get(f"{API}/sessions/{session_id}/links")).body
    assert listed[2]["participant"]["name"] == "Phạm Thị Hà"
    assert listed[2]["join_link"] is None
    # And once it has expired, likewise.
    api.clock.now = datetime.fromisoformat(witness_link["invitation"]["expires_at"])
    later = api.as_token(await login_token(api.client, "admin", ADMIN_PASSWORD))
    listed = (await later.get(f"{API}/sessions/{session_id}/links")).body
    assert [p["join_link"] for p in listed] == [None, None, None]


async def test_a_clerk_lists_only_the_links_a_clerk_may_issue(api: Api, clerk: Api) -> None:
    hearing, _people = await _hearing_with_people(api)
    listed = (await clerk.get(f"{API}/sessions/{hearing['id']}/links")).body
    # The presiding judge's link lets its holder run the hearing: not a clerk's to hand out.
    assert [p["participant"]["name"] for p in listed] == ["Lê Văn Đức", "Phạm Thị Hà"]
    exported = await clerk.get(f"{API}/sessions/{hearing['id']}/links.csv")
    assert exported.status == 200
    assert "Trần Thị Thẩm Phán" not in exported.body and "Lê Văn Đức" in exported.body


async def test_the_links_export_as_csv_that_excel_reads_as_utf8(api: Api) -> None:
    hearing, people = await _hearing_with_people(api)
    session_id = hearing["id"]
    async with api.client.get(
        f"{API}/sessions/{session_id}/links.csv",
        headers={"Authorization": f"Bearer {api.token}"},
    ) as response:
        assert response.status == 200
        assert response.content_type == "text/csv"
        assert response.headers["Content-Disposition"] == (
            'attachment; filename="duong-dan-123-2026-HS-ST.csv"'
        )
        assert response.headers["Cache-Control"] == "no-store"
        raw = await response.read()
    assert raw.startswith(b"\xef\xbb\xbf")  # the byte order mark Excel needs
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [
        "Họ và tên",
        "Vai trò",
        "Điểm cầu",
        "Đường dẫn rút gọn",
        "Mã tham gia",
        "Đường dẫn đầy đủ",
        "Hiệu lực đến",
    ]
    defendant = people["defendant"]["join_link"]
    assert rows[2] == [
        "Lê Văn Đức",
        "Bị cáo",
        "Trại tạm giam Chí Hòa",
        defendant["short_url"],
        grouped(defendant["short_code"]),
        defendant["url"],
        "23:30, thứ Ba 01/12/2026",  # 16:30 UTC in the court's zone
    ]
    assert [r[0] for r in rows[1:]] == ["Trần Thị Thẩm Phán", "Lê Văn Đức", "Phạm Thị Hà"]

    # In English when asked; the export is audited with whose links it took away.
    english = await api.get(f"{API}/sessions/{session_id}/links.csv", params={"lang": "en"})
    assert english.body.lstrip("\ufeff").startswith("Name,Role,Connection point,Short link")
    exports = [e for e in await api.audit(session_id=session_id) if e["action"] == "link.export"]
    assert [e["detail"]["format"] for e in exports] == ["csv", "csv"]
    assert exports[0]["detail"]["participants"] == [p["participant"]["id"] for p in people.values()]


async def test_a_short_code_opens_the_same_invitation(api: Api) -> None:
    _hearing, people = await _hearing_with_people(api)
    link = people["defendant"]["join_link"]
    code = link["short_code"]
    for typed in (code, code.lower(), grouped(code), grouped(code).lower()):
        reply = await _short(api, typed)
        assert reply.status == 303, (typed, reply.body)
        assert reply.headers["Location"] == "/join/" + link["token"]
        assert reply.headers["Cache-Control"] == "no-store"
        assert reply.headers["Referrer-Policy"] == "no-referrer"
    # Followed, it is the join page of that person.
    async with api.client.get(f"/j/{code}") as page:
        assert page.status == 200
        assert "Lê Văn Đức" in await page.text()
    # Symbols read alike are read as the code's own: O as 0, I and L as 1.
    lookalike = code.replace("0", "O").replace("1", "I")
    assert (await _short(api, lookalike)).status == 303


async def test_unknown_and_revoked_codes_are_refused_and_held_back(api: Api) -> None:
    hearing, people = await _hearing_with_people(api)
    session_id = hearing["id"]
    witness = people["witness"]["join_link"]
    judge = people["judge"]["join_link"]
    await api.delete(f"{API}/sessions/{session_id}/links/{witness['invitation']['id']}")

    unknown = await _short(api, UNKNOWN)
    assert unknown.status == 404
    assert "Đường dẫn tham gia không hợp lệ." in unknown.body
    assert "Không thể sử dụng đường dẫn này" in unknown.body  # the bad-link page's title
    assert unknown.headers["Cache-Control"] == "no-store"
    malformed = await _short(api, "not-a-code-at-all!")
    assert malformed.status == 404
    revoked = await _short(api, witness["short_code"])
    assert revoked.status == 410 and "đã bị thu hồi" in revoked.body
    for _ in range(2):
        assert (await _short(api, UNKNOWN)).status == 404

    # Five refusals from this address: the next attempt waits, even with a valid code, so
    # a lucky guess would learn nothing. The long link is never held back.
    held = await _short(api, judge["short_code"])
    assert held.status == 429, held.body
    assert held.headers["Retry-After"] == "1"
    assert "thử lại sau 1 giây" in held.body
    assert (await api.get(f"{API}/sessions/{session_id}/me", token=judge["token"])).status == 200

    # After the wait one more wrong code doubles it.
    api.clock.advance(timedelta(seconds=1))
    assert (await _short(api, UNKNOWN)).status == 404
    held = await _short(api, judge["short_code"])
    assert held.status == 429 and held.headers["Retry-After"] == "2"
    api.clock.advance(timedelta(seconds=2))
    assert (await _short(api, judge["short_code"])).status == 303

    refusals = [e for e in await api.audit() if e["action"] == "join.short_code"]
    assert {e["rule"] for e in refusals} == {
        "join.code_unknown",
        "join.code_revoked",
        "join.code_throttled",
    }
    assert {e["actor"] for e in refusals} == {"address:127.0.0.1"}
    assert {e["session_id"] for e in refusals if e["rule"] == "join.code_revoked"} == {session_id}
    # A refused code is never written into the audit log.
    assert all(witness["short_code"] not in str(e) for e in refusals)


async def test_an_expired_code_is_refused_as_expired(api: Api) -> None:
    _hearing, people = await _hearing_with_people(api)
    link = people["defendant"]["join_link"]
    expires_at = datetime.fromisoformat(link["invitation"]["expires_at"])
    api.clock.now = expires_at - timedelta(seconds=1)
    assert (await _short(api, link["short_code"])).status == 303
    api.clock.now = expires_at
    expired = await _short(api, link["short_code"])
    assert expired.status == 410 and "đã hết hạn" in expired.body
    later = api.as_token(await login_token(api.client, "admin", ADMIN_PASSWORD))
    refusals = [e for e in await later.audit() if e["action"] == "join.short_code"]
    assert [e["rule"] for e in refusals] == ["join.code_expired"]


async def test_a_short_code_of_an_ended_session_shows_that_it_ended(api: Api) -> None:
    hearing, people = await _hearing_with_people(api)
    await api.post(f"{API}/sessions/{hearing['id']}/cancel")
    async with api.client.get(f"/j/{people['witness']['join_link']['short_code']}") as page:
        assert page.status == 410
        assert "đã kết thúc, bị hoãn hoặc bị hủy" in await page.text()


async def test_the_service_refuses_unknown_codes_with_the_bad_link_words(api: Api) -> None:
    with pytest.raises(AuthenticationFailed) as refused:
        await api.service.resolve_short_code(UNKNOWN, "192.0.2.7")
    assert refused.value.rule == "join.code_unknown"
    assert refused.value.message.en == (
        "This join link is not valid. Check the link the court sent you."
    )
