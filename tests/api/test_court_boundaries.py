"""Court boundaries: a staff account of one court neither reads nor changes another court's
sessions, links, audit entries or accounts; every refusal is on record. And the links of the
people who conduct a hearing are a privileged act even inside one's own court."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.conftest import API, CLERK_PASSWORD, Api, login_token

OTHER_COURT = "staff_permission.other_court"


@dataclass
class Stranger:
    """IT staff of another court: allowed by role to do everything below, but not here."""

    api: Api
    user_id: str
    court_id: str


async def _staff_of(api: Api, username: str, role: str, court_id: str | None = None) -> Api:
    body: dict[str, Any] = {"username": username, "role": role, "password": CLERK_PASSWORD}
    if court_id is not None:
        body["court_id"] = court_id
    reply = await api.post(f"{API}/users", body)
    assert reply.status == 201, reply.body
    return api.as_token(await login_token(api.client, username, CLERK_PASSWORD))


@pytest.fixture
async def stranger(api: Api) -> Stranger:
    hue = await api.post(f"{API}/courts", {"code": "TAND-HUE", "name": "TAND thành phố Huế"})
    assert hue.status == 201, hue.body
    other = await _staff_of(api, "it_hue", "it_staff", hue.body["id"])
    me = (await other.get(f"{API}/auth/me")).body
    assert me["court_id"] == hue.body["id"]
    return Stranger(other, me["id"], hue.body["id"])


async def _home_hearing(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """A hearing of this server's court with its presiding judge, and that judge's link."""
    hearing = await api.schedule_hearing()
    judge = await api.add_participant(
        hearing["id"], hearing["points"][0]["id"], "presiding_judge", "Lê Văn Chủ Tọa"
    )
    return hearing, judge


async def test_another_courts_staff_can_neither_read_nor_change_a_session(
    api: Api, stranger: Stranger
) -> None:
    hearing, judge = await _home_hearing(api)
    sid, pj = hearing["id"], judge["participant"]["id"]
    invitation = judge["join_link"]["invitation"]["id"]
    before = await api.read_session(sid)
    other = stranger.api

    # Lists are limited to the stranger's own court; naming this court is refused.
    for path in ("sessions", "hearings", "meetings"):
        assert (await other.get(f"{API}/{path}")).body == []
    (await other.get(f"{API}/sessions", params={"court_id": hearing["court_id"]})).error(
        403, "forbidden", OTHER_COURT
    )
    assert (await other.get(f"{API}/hearings", params={"on": "2026-12-01"})).body == []
    refusals = {
        "read": await other.get(f"{API}/sessions/{sid}"),
        "update": await other.patch(
            f"{API}/sessions/{sid}", {"scheduled_end": "2026-12-01T12:00:00+07:00"}
        ),
        "cancel": await other.post(f"{API}/sessions/{sid}/cancel"),
        "point": await other.post(
            f"{API}/sessions/{sid}/points", {"name": "Nhà riêng", "kind": "home"}
        ),
        "participant": await other.post(
            f"{API}/sessions/{sid}/participants",
            {"name": "Kẻ mạo danh", "role": "witness", "point_id": hearing["points"][0]["id"]},
        ),
        "links": await other.get(f"{API}/sessions/{sid}/participants/{pj}/links"),
        "everyone's links": await other.get(f"{API}/sessions/{sid}/links"),
        "links as CSV": await other.get(f"{API}/sessions/{sid}/links.csv"),
        "judge's link": await other.post(f"{API}/sessions/{sid}/participants/{pj}/links"),
        "revoke": await other.delete(f"{API}/sessions/{sid}/links/{invitation}"),
        "audit": await other.get(f"{API}/audit", params={"session_id": sid}),
    }
    for name, reply in refusals.items():
        assert reply.status == 403, (name, reply.body)
        reply.error(403, "forbidden", OTHER_COURT)

    # Nothing changed: no new link for the presiding judge, the old one still valid.
    assert await api.read_session(sid) == before
    links = (await api.get(f"{API}/sessions/{sid}/participants/{pj}/links")).body
    assert [(x["id"], x["revoked_at"]) for x in links] == [(invitation, None)]

    # Every refusal is on record, under the stranger's name.
    refused = [
        e
        for e in await api.audit()
        if e["actor"] == f"staff:{stranger.user_id}" and e["outcome"] == "refused"
    ]
    assert {e["rule"] for e in refused} == {OTHER_COURT}
    assert len(refused) == len(refusals) + 1
    assert {e["action"] for e in refused} >= {
        "session.list",
        "session.read",
        "session.add_point",
        "session.add_participant",
        "link.issue",
        "link.list",
        "link.export",
        "link.revoke",
        "audit.read",
    }


async def test_another_courts_staff_see_only_their_own_court(api: Api, stranger: Stranger) -> None:
    await _home_hearing(api)
    other = stranger.api
    courts = (await other.get(f"{API}/courts")).body
    assert [c["id"] for c in courts] == [stranger.court_id]
    # Their own court works as before: a hearing scheduled without a court is theirs.
    own = await other.schedule_hearing()
    assert own["court_id"] == stranger.court_id
    assert [s["id"] for s in (await other.get(f"{API}/sessions")).body] == [own["id"]]
    # The audit log they may read holds only their court's sessions.
    trail = (await other.get(f"{API}/audit")).body
    assert trail and {e["session_id"] for e in trail} == {own["id"]}
    # The system-wide administrator still sees both courts.
    assert len((await api.get(f"{API}/sessions")).body) == 2
    assert len((await api.get(f"{API}/courts")).body) == 2


async def test_accounts_stay_within_their_court(api: Api, stranger: Stranger) -> None:
    hue_admin = await _staff_of(api, "admin_hue", "admin", stranger.court_id)
    names = sorted(u["username"] for u in (await hue_admin.get(f"{API}/users")).body)
    assert names == ["admin_hue", "it_hue"]
    # A court's administrator makes accounts for that court only, never a system-wide one.
    made = await hue_admin.post(
        f"{API}/users", {"username": "thuky_hue", "role": "clerk", "password": CLERK_PASSWORD}
    )
    assert made.status == 201 and made.body["court_id"] == stranger.court_id
    home = (await api.get(f"{API}/courts")).body
    home_id = next(c["id"] for c in home if c["code"] == "TAND-DEMO")
    elsewhere = await hue_admin.post(
        f"{API}/users",
        {"username": "x_home", "role": "clerk", "password": CLERK_PASSWORD, "court_id": home_id},
    )
    elsewhere.error(403, "forbidden", OTHER_COURT)
    admin_id = next(
        u["id"] for u in (await api.get(f"{API}/users")).body if u["username"] == "admin"
    )
    (await hue_admin.patch(f"{API}/users/{admin_id}", {"active": False})).error(
        403, "forbidden", OTHER_COURT
    )
    (await hue_admin.post(f"{API}/courts", {"code": "TAND-X", "name": "X"})).error(
        403, "forbidden", OTHER_COURT
    )


async def test_a_clerk_cannot_issue_the_links_of_those_who_conduct_the_hearing(
    api: Api, clerk: Api
) -> None:
    hearing, judge = await _home_hearing(api)
    sid, courtroom = hearing["id"], hearing["points"][0]["id"]
    pj = judge["participant"]["id"]
    # Parties are routine scheduling for a clerk.
    await clerk.add_participant(sid, courtroom, "defendant", "Nguyễn Văn Bị Cáo")
    for role in ("judge", "peoples_assessor", "procurator", "clerk", "court_it"):
        reply = await clerk.post(
            f"{API}/sessions/{sid}/participants",
            {"name": "Cán bộ", "role": role, "point_id": courtroom},
        )
        reply.error(403, "forbidden", "staff_permission.issue_official_link")
    (await clerk.post(f"{API}/sessions/{sid}/participants/{pj}/links")).error(
        403, "forbidden", "staff_permission.issue_official_link"
    )
    links = (await api.get(f"{API}/sessions/{sid}/participants/{pj}/links")).body
    assert len(links) == 1
    refused = [e for e in await api.audit(session_id=sid) if e["outcome"] == "refused"]
    # Five identical refusals within a minute: three are written, the rest only counted.
    assert [e["action"] for e in refused] == ["session.add_participant"] * 3 + ["link.issue"]

    # A judge of the court may; so may its IT staff.
    judge_staff = await _staff_of(api, "tham_phan", "judge")
    issued = await judge_staff.post(f"{API}/sessions/{sid}/participants/{pj}/links")
    assert issued.status == 201, issued.body
    it_staff = await _staff_of(api, "ky_thuat", "it_staff")
    await it_staff.add_participant(sid, courtroom, "procurator", "Kiểm sát viên Hà")
