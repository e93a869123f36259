"""Staff login, bearer tokens and the staff role checks."""

from __future__ import annotations

from datetime import datetime, timedelta

import jwt
from sqlalchemy import delete, update

from hearing_server.persistence import tables as t
from tests.api.conftest import (
    ADMIN_PASSWORD,
    API,
    CLERK_PASSWORD,
    Api,
    login,
    login_token,
)
from tests.conftest import FakeClock

OTHER_KEY = "another-signing-key-that-is-long-enough-987654321"


async def test_login_returns_a_bearer_token_for_the_account(api: Api, clock: FakeClock) -> None:
    reply = await login(api.client, "admin", ADMIN_PASSWORD)
    assert reply.status == 200
    body = reply.body
    assert body["token_type"] == "Bearer"
    assert datetime.fromisoformat(body["expires_at"]) == clock.now + timedelta(hours=12)
    user = body["user"]
    assert user["username"] == "admin"
    assert user["role"] == "admin"
    assert user["role_label"] == {"vi": "Quản trị hệ thống", "en": "Administrator"}
    assert user["display_name"] == "Quản trị viên"
    assert user["active"] is True
    # The token really is a staff token, for this account.
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["aud"] == "staff"
    assert claims["sub"] == user["id"]

    me = await api.get(f"{API}/auth/me", token=body["token"])
    assert me.status == 200
    assert me.body == user


async def test_bad_logins_are_refused_alike_and_audited(api: Api) -> None:
    wrong_password = await login(api.client, "admin", "not-the-password")
    unknown_user = await login(api.client, "nobody", ADMIN_PASSWORD)
    for reply in (wrong_password, unknown_user):
        err = reply.error(401, "unauthenticated", "auth.bad_credentials")
        assert err["message"] == {
            "vi": "Sai tên đăng nhập hoặc mật khẩu.",
            "en": "Wrong username or password.",
        }
    # The two refusals say exactly the same thing: usernames cannot be probed.
    assert wrong_password.body == unknown_user.body

    refused = [e for e in await api.audit() if e["action"] == "auth.login"]
    by_outcome = {(e["actor"], e["outcome"]) for e in refused}
    assert ("login:admin", "refused") in by_outcome
    assert ("login:nobody", "refused") in by_outcome
    for entry in refused:
        if entry["outcome"] == "refused":
            assert entry["rule"] == "auth.bad_credentials"
            assert entry["detail"]["code"] == "unauthenticated"
            # No password is kept, neither tried nor real, nor any field for one.
            kept = str(entry["detail"])
            assert "not-the-password" not in kept and ADMIN_PASSWORD not in kept
            assert not any("password" in key for key in entry["detail"])
            assert ADMIN_PASSWORD not in str(entry)


async def test_a_malformed_login_body_is_invalid_input(api: Api) -> None:
    reply = await api.post(f"{API}/auth/login", {"username": "admin"}, token="")
    err = reply.error(422, "invalid_input", "request.schema")
    assert [p["loc"] for p in err["problems"]] == [["password"]]


async def test_requests_without_a_usable_token_are_refused(api: Api, clock: FakeClock) -> None:
    path = f"{API}/hearings"
    cases = {
        "missing": ({}, "auth.missing_token"),
        "not bearer": ({"Authorization": f"Basic {api.token}"}, "auth.missing_token"),
        "empty bearer": ({"Authorization": "Bearer   "}, "auth.missing_token"),
        "garbage": ({"Authorization": "Bearer not.a.jwt"}, "auth.token_malformed"),
        "oversized": ({"Authorization": "Bearer " + "a" * 5000}, "auth.token_malformed"),
    }
    for name, (headers, rule) in cases.items():
        reply = await api.as_token(None).get(path, headers=headers)
        assert reply.status == 401, name
        reply.error(401, "unauthenticated", rule)


async def test_a_token_signed_with_another_key_is_forged(api: Api, clock: FakeClock) -> None:
    claims = jwt.decode(str(api.token), options={"verify_signature": False})
    forged = jwt.encode(claims, OTHER_KEY, algorithm="HS256")
    reply = await api.get(f"{API}/auth/me", token=forged)
    reply.error(401, "unauthenticated", "auth.token_forged")

    # Promoting oneself in the payload breaks the signature too.
    clerk_claims = {**claims, "role": "clerk"}
    header, _, signature = str(api.token).split(".")
    payload = jwt.encode(clerk_claims, "x" * 32, algorithm="HS256").split(".")[1]
    reply = await api.get(f"{API}/auth/me", token=f"{header}.{payload}.{signature}")
    reply.error(401, "unauthenticated", "auth.token_forged")

    # An unsigned token is not accepted whatever it says.
    unsigned = jwt.encode(claims, None, algorithm="none")
    reply = await api.get(f"{API}/auth/me", token=unsigned)
    assert reply.status == 401


async def test_a_staff_token_expires_after_staff_token_hours(api: Api, clock: FakeClock) -> None:
    clock.advance(timedelta(hours=11, minutes=59))
    assert (await api.get(f"{API}/auth/me")).status == 200
    clock.advance(timedelta(minutes=1))
    reply = await api.get(f"{API}/auth/me")
    err = reply.error(401, "unauthenticated", "auth.token_expired")
    assert err["message"]["en"] == "The login has expired. Log in again."
    # Logging in again gives a fresh token.
    token = await login_token(api.client, "admin", ADMIN_PASSWORD)
    assert (await api.get(f"{API}/auth/me", token=token)).status == 200


async def test_a_join_token_is_not_a_staff_token(api: Api) -> None:
    hearing = await api.schedule_hearing()
    courtroom = hearing["points"][0]["id"]
    added = await api.add_participant(hearing["id"], courtroom, role="clerk", name="Trần Thị B")
    join_token = added["join_link"]["token"]
    for method, path in (("GET", f"{API}/auth/me"), ("GET", f"{API}/hearings")):
        reply = await api.request(method, path, token=join_token)
        reply.error(401, "unauthenticated", "auth.token_wrong_kind")
    reply = await api.post(f"{API}/hearings", {}, token=join_token)
    reply.error(401, "unauthenticated", "auth.token_wrong_kind")


async def test_a_deactivated_or_deleted_account_loses_its_token(api: Api) -> None:
    """There is no API to deactivate accounts yet; an administrator does it in the database."""
    user = await api.create_user("thuky2", "clerk", CLERK_PASSWORD)
    token = await login_token(api.client, "thuky2", CLERK_PASSWORD)
    assert (await api.get(f"{API}/auth/me", token=token)).status == 200
    async with api.service.database.engine.begin() as conn:
        await conn.execute(
            update(t.staff_users).where(t.staff_users.c.id == user["id"]).values(active=False)
        )
    reply = await api.get(f"{API}/auth/me", token=token)
    reply.error(401, "unauthenticated", "auth.token_revoked")
    (await login(api.client, "thuky2", CLERK_PASSWORD)).error(
        401, "unauthenticated", "auth.bad_credentials"
    )

    async with api.service.database.engine.begin() as conn:
        await conn.execute(delete(t.staff_users).where(t.staff_users.c.id == user["id"]))
    (await api.get(f"{API}/auth/me", token=token)).error(
        401, "unauthenticated", "auth.token_revoked"
    )


async def test_only_an_administrator_manages_users_and_reads_the_audit_log(
    api: Api, clerk: Api
) -> None:
    users_before = (await api.get(f"{API}/users")).body

    reply = await clerk.post(
        f"{API}/users",
        {"username": "hacker", "role": "admin", "password": "password-long-enough"},
    )
    err = reply.error(403, "forbidden", "staff_permission.manage_users")
    assert err["message"]["en"] == "A 'Court clerk' account may not perform 'manage_users'."
    (await clerk.get(f"{API}/users")).error(403, "forbidden", "staff_permission.manage_users")
    (await clerk.get(f"{API}/audit")).error(403, "forbidden", "staff_permission.view_audit")
    (await clerk.post(f"{API}/courts", {"code": "X", "name": "Y"})).error(
        403, "forbidden", "staff_permission.manage_courts"
    )
    # Nothing was created, and the refusal is on record.
    assert (await api.get(f"{API}/users")).body == users_before
    assert (await login(api.client, "hacker", "password-long-enough")).status == 401
    refusals = [e for e in await api.audit() if e["action"] == "user.add"]
    assert [(e["outcome"], e["rule"]) for e in refusals] == [
        ("accepted", ""),  # the administrator, made by the command line
        ("accepted", ""),  # the clerk
        ("refused", "staff_permission.manage_users"),
    ]
    assert [e["detail"]["username"] for e in refusals] == ["admin", "thuky", "hacker"]
    assert refusals[0]["actor"] == "cli"
    assert refusals[2]["actor"] == f"staff:{clerk_id(users_before)}"

    # The administrator can do both.
    created = await api.create_user("it_team", "it_staff", "it-staff-password")
    assert created["role"] == "it_staff"
    assert created["role_label"]["vi"] == "Cán bộ công nghệ thông tin"
    names = sorted(u["username"] for u in (await api.get(f"{API}/users")).body)
    assert names == ["admin", "it_team", "thuky"]


def clerk_id(users: list[dict[str, str]]) -> str:
    return next(u["id"] for u in users if u["username"] == "thuky")


async def test_user_creation_is_validated(api: Api) -> None:
    short = await api.post(
        f"{API}/users", {"username": "abc", "role": "clerk", "password": "short"}
    )
    err = short.error(422, "invalid_input", "request.schema")
    assert err["problems"][0]["loc"] == ["password"]
    bad_role = await api.post(
        f"{API}/users", {"username": "abcd", "role": "king", "password": "long-enough-pw"}
    )
    assert bad_role.error(422, "invalid_input")["problems"][0]["loc"] == ["role"]
    bad_name = await api.post(
        f"{API}/users", {"username": "a b c", "role": "clerk", "password": "long-enough-pw"}
    )
    bad_name.error(422, "invalid_input", "user.username")


async def test_courts_can_be_listed_and_added_by_an_administrator(api: Api) -> None:
    courts = (await api.get(f"{API}/courts")).body
    assert [c["code"] for c in courts] == ["TAND-DEMO"]
    assert courts[0]["time_zone"] == "Asia/Ho_Chi_Minh"
    reply = await api.post(
        f"{API}/courts", {"code": "TAND-HN", "name": "Tòa án nhân dân thành phố Hà Nội"}
    )
    assert reply.status == 201
    assert reply.body["time_zone"] == "Asia/Ho_Chi_Minh"
    # Days are counted in a court's zone, so the zone must be a real one.
    mars = await api.post(
        f"{API}/courts", {"code": "MARS", "name": "Sao Hỏa", "time_zone": "Mars/Olympus"}
    )
    err = mars.error(422, "invalid_input", "request.schema")
    assert err["problems"][0]["loc"] == ["time_zone"]
    again = await api.post(f"{API}/courts", {"code": "TAND-HN", "name": "Trùng mã"})
    again.error(422, "invalid_input", "court.code_taken")
    assert sorted(c["code"] for c in (await api.get(f"{API}/courts")).body) == [
        "TAND-DEMO",
        "TAND-HN",
    ]
