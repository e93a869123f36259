"""Personal join links: what a participant sees, TURN credentials, and every refused token."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

import jwt

from tests.api.conftest import API, Api, Reply
from tests.conftest import TEST_SECRET

OTHER_KEY = "another-signing-key-that-is-long-enough-987654321"


async def _hearing_with_defendant(api: Api, **case: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    hearing = await api.schedule_hearing(**case)
    point = await api.add_point(hearing["id"])
    added = await api.add_participant(hearing["id"], point["id"], "defendant", "Nguyễn Văn A")
    return hearing, added


async def _me(api: Api, session_id: str, token: str) -> Any:
    return await api.get(f"{API}/sessions/{session_id}/me", token=token)


async def _short(api: Api, code: str) -> Reply:
    """Open a short link as a participant's browser would, without following the redirect."""
    async with api.client.get(f"/j/{code}", allow_redirects=False) as response:
        return Reply(response.status, await response.text(), dict(response.headers))


def _turn_password(username: str) -> str:
    digest = hmac.new(b"turn-shared-secret", username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


async def test_adding_a_participant_issues_a_personal_link(api: Api) -> None:
    hearing, added = await _hearing_with_defendant(api)
    participant, link = added["participant"], added["join_link"]
    assert participant["name"] == "Nguyễn Văn A"
    assert participant["role_label"] == {"vi": "Bị cáo", "en": "Defendant"}
    assert participant["state"] == "invited"
    assert participant["identity_verified"] is False
    assert link["url"] == "http://hearings.test/join/" + link["token"]
    invitation = link["invitation"]
    assert invitation["participant_id"] == participant["id"]
    assert datetime.fromisoformat(invitation["issued_at"]) == api.clock.now
    # Planned end (11:30 in Hanoi, 04:30 UTC) plus join_link_grace_hours (12).
    assert datetime.fromisoformat(invitation["expires_at"]) == datetime.fromisoformat(
        "2026-12-01T16:30:00+00:00"
    )
    assert invitation["revoked_at"] is None
    claims = jwt.decode(
        link["token"],
        TEST_SECRET,
        algorithms=["HS256"],
        audience="join",
        issuer="hearing-server",
        # Issued and checked by the test's clock, never the wall clock: the outcome must not
        # depend on today's date. Expiry is checked below against that clock.
        options={"verify_iat": False, "verify_exp": False, "verify_nbf": False},
    )
    assert claims["iat"] == int(api.clock.now.timestamp()) < claims["exp"]
    assert claims["exp"] == int(datetime.fromisoformat(invitation["expires_at"]).timestamp())
    assert claims["sub"] == participant["id"]
    assert claims["sid"] == hearing["id"]
    assert claims["jti"] == invitation["id"]


async def test_the_participant_sees_their_session_with_turn_credentials(api: Api) -> None:
    hearing, added = await _hearing_with_defendant(api)
    token = added["join_link"]["token"]
    participant_id = added["participant"]["id"]
    session = await api.read_session(hearing["id"])
    # Days later, long after the staff token has expired, the link still works.
    api.clock.advance(timedelta(days=2))

    reply = await _me(api, hearing["id"], token)
    assert reply.status == 200, reply.body
    view = reply.body
    assert view["participant"] == added["participant"]
    for key in ("id", "kind", "state", "scheduled_start", "scheduled_end", "case"):
        assert view["session"][key] == session[key], key
    assert view["link_expires_at"] == added["join_link"]["invitation"]["expires_at"]
    # Nobody else's details reach a party: no participant list, no other point's location.
    assert "participants" not in view["session"] and "points" not in view["session"]
    assert view["session"]["own_point"]["id"] == added["participant"]["point_id"]

    # No public STUN server by default: only the court's own TURN, when configured.
    (turn,) = view["ice_servers"]
    assert turn["urls"] == ["turn:turn.hearings.test:3478"]
    expiry, _, user = turn["username"].partition(":")
    assert user == participant_id
    assert int(expiry) == int((api.clock.now + timedelta(hours=12)).timestamp())
    assert turn["credential"] == _turn_password(turn["username"])
    assert base64.b64decode(turn["credential"]) == hmac.digest(
        b"turn-shared-secret", turn["username"].encode(), "sha1"
    )


async def test_forged_tokens_are_refused(api: Api) -> None:
    hearing, added = await _hearing_with_defendant(api)
    token = added["join_link"]["token"]
    other = await api.add_participant(
        hearing["id"], hearing["points"][0]["id"], "presiding_judge", "Thẩm phán"
    )
    claims = jwt.decode(token, options={"verify_signature": False})
    header, payload, signature = token.split(".")

    # Claiming to be the presiding judge with the defendant's signature.
    judge_claims = {**claims, "sub": other["participant"]["id"]}
    judge_payload = jwt.encode(judge_claims, OTHER_KEY, algorithm="HS256").split(".")[1]
    tampered_payload = f"{header}.{judge_payload}.{signature}"
    # The right claims signed by somebody else.
    other_key = jwt.encode(claims, OTHER_KEY, algorithm="HS256")
    # A signature with one byte changed.
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0xFF
    flipped = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    tampered_signature = f"{header}.{payload}.{flipped}"

    for forged in (tampered_payload, other_key, tampered_signature):
        err = (await _me(api, hearing["id"], forged)).error(
            401, "unauthenticated", "join.token_forged"
        )
        assert err["message"] == {
            "vi": "Đường dẫn tham gia không hợp lệ. Hãy kiểm tra lại đường dẫn Tòa án đã gửi "
            "cho bạn.",
            "en": "This join link is not valid. Check the link the court sent you.",
        }
    garbage = await _me(api, hearing["id"], "not-a-token")
    garbage.error(401, "unauthenticated", "join.token_malformed")
    missing = await api.as_token(None).get(f"{API}/sessions/{hearing['id']}/me")
    missing.error(401, "unauthenticated", "auth.missing_token")
    # The genuine token still works.
    assert (await _me(api, hearing["id"], token)).status == 200


async def test_a_link_expires_after_the_session_end_plus_grace(api: Api) -> None:
    hearing, added = await _hearing_with_defendant(api)
    token = added["join_link"]["token"]
    expires_at = datetime.fromisoformat(added["join_link"]["invitation"]["expires_at"])
    api.clock.now = expires_at - timedelta(seconds=1)
    assert (await _me(api, hearing["id"], token)).status == 200
    api.clock.now = expires_at
    err = (await _me(api, hearing["id"], token)).error(401, "unauthenticated", "join.token_expired")
    assert err["message"]["vi"].startswith("Đường dẫn tham gia này đã hết hạn.")


async def test_a_link_with_no_planned_end_lasts_eight_hours_plus_grace(api: Api) -> None:
    hearing = await api.schedule_hearing(end=None)
    added = await api.add_participant(hearing["id"], hearing["points"][0]["id"], "clerk")
    expires_at = datetime.fromisoformat(added["join_link"]["invitation"]["expires_at"])
    start = datetime.fromisoformat(hearing["scheduled_start"])
    assert expires_at == start + timedelta(hours=8 + 12)


async def test_revoking_and_reissuing_links(api: Api) -> None:
    hearing, added = await _hearing_with_defendant(api)
    session_id, participant_id = hearing["id"], added["participant"]["id"]
    first = added["join_link"]
    assert first["replaced"] == []
    api.clock.advance(timedelta(minutes=5))

    # Re-issuing replaces the person's link: the old one (and its short code) is revoked in
    # the same transaction.
    reply = await api.post(f"{API}/sessions/{session_id}/participants/{participant_id}/links")
    assert reply.status == 201, reply.body
    second = reply.body
    assert second["token"] != first["token"]
    assert second["invitation"]["id"] != first["invitation"]["id"]
    assert second["short_code"] != first["short_code"]
    assert second["url"] == "http://hearings.test/join/" + second["token"]
    assert second["short_url"] == "http://hearings.test/j/" + second["short_code"]
    assert second["replaced"] == [first["invitation"]["id"]]
    err = (await _me(api, session_id, first["token"])).error(
        401, "unauthenticated", "join.token_revoked"
    )
    assert err["message"]["en"].startswith("This join link was withdrawn.")
    view = await _me(api, session_id, second["token"])
    assert view.status == 200
    assert view.body["participant"]["id"] == participant_id
    old_code = await _short(api, first["short_code"])
    assert old_code.status == 410 and "đã bị thu hồi" in old_code.body
    new_code = await _short(api, second["short_code"])
    assert new_code.status == 303
    assert new_code.headers["Location"] == "/join/" + second["token"]

    links_path = f"{API}/sessions/{session_id}/participants/{participant_id}/links"
    listed = (await api.get(links_path)).body
    assert [i["id"] for i in listed] == [first["invitation"]["id"], second["invitation"]["id"]]
    assert datetime.fromisoformat(listed[0]["revoked_at"]) == api.clock.now
    assert listed[0]["replaced_by"] == second["invitation"]["id"]
    assert listed[1] == second["invitation"]
    assert listed[1]["revoked_at"] is None and listed[1]["replaced_by"] is None

    entries = [e for e in await api.audit(session_id=session_id) if e["action"] == "link.revoke"]
    assert [(e["outcome"], e["detail"]) for e in entries] == [
        (
            "accepted",
            {"invitation": first["invitation"]["id"], "replaced_by": second["invitation"]["id"]},
        )
    ]
    issued = [e for e in await api.audit(session_id=session_id) if e["action"] == "link.issue"]
    assert issued[-1]["detail"]["replaces"] == [first["invitation"]["id"]]

    # Revoking by hand: the link stops working at once.
    api.clock.advance(timedelta(minutes=5))
    revoke = await api.delete(f"{API}/sessions/{session_id}/links/{second['invitation']['id']}")
    assert revoke.status == 204
    assert revoke.body == ""
    (await _me(api, session_id, second["token"])).error(
        401, "unauthenticated", "join.token_revoked"
    )
    listed = (await api.get(links_path)).body
    assert datetime.fromisoformat(listed[1]["revoked_at"]) == api.clock.now
    assert listed[1]["replaced_by"] is None

    # Revoking again keeps the first revocation time.
    api.clock.advance(timedelta(minutes=5))
    again = await api.delete(f"{API}/sessions/{session_id}/links/{first['invitation']['id']}")
    assert again.status == 204
    assert (await api.get(links_path)).body == listed


async def test_unknown_links_and_participants(api: Api) -> None:
    hearing, added = await _hearing_with_defendant(api)
    other = await api.schedule_hearing(number="9/2026/HS-ST")
    invitation_id = added["join_link"]["invitation"]["id"]
    participant_id = added["participant"]["id"]

    # A link is revoked through its own session only.
    wrong = await api.delete(f"{API}/sessions/{other['id']}/links/{invitation_id}")
    wrong.error(404, "not_found", "invitation.not_found")
    unknown = await api.delete(f"{API}/sessions/{hearing['id']}/links/nosuchlink")
    unknown.error(404, "not_found", "invitation.not_found")
    assert (await _me(api, hearing["id"], added["join_link"]["token"])).status == 200

    nobody = await api.post(f"{API}/sessions/{hearing['id']}/participants/nobody/links")
    nobody.error(404, "not_found", "participant.not_found")
    elsewhere = await api.post(f"{API}/sessions/{other['id']}/participants/{participant_id}/links")
    elsewhere.error(404, "not_found", "participant.not_found")
    no_session = await api.post(f"{API}/sessions/nosuch/participants/{participant_id}/links")
    no_session.error(404, "not_found", "session.not_found")
    listed = await api.get(f"{API}/sessions/{other['id']}/participants/{participant_id}/links")
    assert listed.status == 200
    assert listed.body == []

    refusals = [e for e in await api.audit() if e["action"] == "link.revoke"]
    assert [(e["outcome"], e["rule"]) for e in refusals] == [
        ("refused", "invitation.not_found"),
        ("refused", "invitation.not_found"),
    ]


async def test_a_link_opens_only_its_own_session(api: Api) -> None:
    hearing_a, added_a = await _hearing_with_defendant(api)
    hearing_b, added_b = await _hearing_with_defendant(api, number="2/2026/HS-ST")
    err = (await _me(api, hearing_b["id"], added_a["join_link"]["token"])).error(
        403, "forbidden", "join.wrong_session"
    )
    assert err["message"]["en"] == "This join link belongs to another session."
    assert (await _me(api, hearing_b["id"], added_b["join_link"]["token"])).status == 200

    # A staff token is not a join token.
    staff = await _me(api, hearing_a["id"], str(api.token))
    staff.error(401, "unauthenticated", "join.token_wrong_kind")


async def test_no_new_links_once_a_session_has_ended(api: Api) -> None:
    hearing, added = await _hearing_with_defendant(api)
    participant_id = added["participant"]["id"]
    await api.post(f"{API}/sessions/{hearing['id']}/cancel")
    links_path = f"{API}/sessions/{hearing['id']}/participants/{participant_id}/links"
    reply = await api.post(links_path)
    reply.error(422, "invalid_input", "link.session_ended")
    assert len((await api.get(links_path)).body) == 1
    # The existing link shows the person that the hearing was cancelled.
    view = await _me(api, hearing["id"], added["join_link"]["token"])
    assert view.status == 200
    assert view.body["session"]["state"] == "cancelled"
