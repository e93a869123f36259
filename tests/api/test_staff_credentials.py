"""Staff credentials end when they should: logout revokes the token on the server, a
deactivated account's tokens are refused at once, repeated failed logins wait (per address and
per account, never locking a judge out), and every refusal is audited without one client
filling the log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from hearing_server.persistence import tables as t
from hearing_server.services import AuthenticationFailed, RateLimited
from tests.api.conftest import ADMIN_PASSWORD, API, CLERK_PASSWORD, Api, login, login_token
from tests.conftest import FakeClock

ADDRESS = "address:127.0.0.1"


# ---------------------------------------------------------------------- logout


async def test_logout_revokes_the_token_on_the_server(api: Api) -> None:
    other_login = await login_token(api.client, "admin", ADMIN_PASSWORD)
    reply = await api.post(f"{API}/auth/logout")
    assert reply.status == 204, reply.body
    (await api.get(f"{API}/auth/me")).error(401, "unauthenticated", "auth.token_revoked")
    (await api.post(f"{API}/auth/logout")).error(401, "unauthenticated", "auth.token_revoked")
    # Only that one token ends: the account's other login goes on.
    assert (await api.get(f"{API}/auth/me", token=other_login)).status == 200
    logouts = [e for e in await api.as_token(other_login).audit() if e["action"] == "auth.logout"]
    assert [e["outcome"] for e in logouts] == ["accepted"]


async def test_revoked_tokens_are_forgotten_once_they_would_have_expired(
    api: Api, clock: FakeClock
) -> None:
    await api.post(f"{API}/auth/logout")
    fresh = await login_token(api.client, "admin", ADMIN_PASSWORD)
    clock.advance(timedelta(hours=13))  # the first token has expired by now
    newest = await login_token(api.client, "admin", ADMIN_PASSWORD)
    assert (await api.post(f"{API}/auth/logout", token=newest)).status == 204
    async with api.service.database.engine.connect() as conn:
        rows = (
            await conn.execute(select(func.count()).select_from(t.revoked_staff_tokens))
        ).scalar_one()
    assert rows == 1  # the expired one was dropped when the next logout came
    (await api.get(f"{API}/auth/me", token=fresh)).error(
        401, "unauthenticated", "auth.token_expired"
    )


# ---------------------------------------------------------------------- deactivation


async def test_an_administrator_deactivates_an_account_and_its_tokens_stop_at_once(
    api: Api, clerk: Api
) -> None:
    me = (await clerk.get(f"{API}/auth/me")).body
    second_token = await login_token(api.client, "thuky", CLERK_PASSWORD)
    # Not the clerk's to decide, and an administrator cannot lock themselves out.
    (await clerk.patch(f"{API}/users/{me['id']}", {"active": False})).error(
        403, "forbidden", "staff_permission.manage_users"
    )
    admin_id = (await api.get(f"{API}/auth/me")).body["id"]
    (await api.patch(f"{API}/users/{admin_id}", {"active": False})).error(
        422, "invalid_input", "user.deactivate_self"
    )
    (await api.patch(f"{API}/users/nosuchuser", {"active": False})).error(
        404, "not_found", "user.not_found"
    )

    reply = await api.patch(f"{API}/users/{me['id']}", {"active": False})
    assert reply.status == 200 and reply.body["active"] is False
    for token in (clerk.token, second_token):
        (await api.get(f"{API}/auth/me", token=token)).error(
            401, "unauthenticated", "auth.token_revoked"
        )
    (await login(api.client, "thuky", CLERK_PASSWORD)).error(
        401, "unauthenticated", "auth.bad_credentials"
    )
    assert [u["active"] for u in (await api.get(f"{API}/users")).body if u["id"] == me["id"]] == [
        False
    ]
    # Back on: a new login works (old tokens too, since only the account was off).
    assert (await api.patch(f"{API}/users/{me['id']}", {"active": True})).body["active"] is True
    assert (await login(api.client, "thuky", CLERK_PASSWORD)).status == 200
    changes = [e for e in await api.audit() if e["action"] == "user.set_active"]
    assert [(e["outcome"], e["detail"]["active"]) for e in changes] == [
        ("refused", False),
        ("refused", False),
        ("refused", False),
        ("accepted", False),
        ("accepted", True),
    ]


# ---------------------------------------------------------------------- refusals on record


async def test_refused_tokens_and_forbidden_reads_are_audited(api: Api, clerk: Api) -> None:
    (await api.get(f"{API}/hearings", token="not.a.jwt")).error(401, "unauthenticated")
    (await api.as_token(None).get(f"{API}/sessions")).error(401, "unauthenticated")
    (await clerk.get(f"{API}/users")).error(403, "forbidden")
    (await clerk.get(f"{API}/audit")).error(403, "forbidden")
    entries = [e for e in await api.audit() if e["outcome"] == "refused"]
    assert [(e["actor"], e["action"], e["rule"]) for e in entries] == [
        (ADDRESS, "api.list_hearings", "auth.token_malformed"),
        (ADDRESS, "api.list_sessions", "auth.missing_token"),
        (entries[2]["actor"], "user.list", "staff_permission.manage_users"),
        (entries[2]["actor"], "audit.read", "staff_permission.view_audit"),
    ]
    assert entries[0]["detail"] == {
        "code": "unauthenticated",
        "method": "GET",
        "path": f"{API}/hearings",
        "why": {  # the refusal in words, for the audit page
            "vi": "Mã đăng nhập không đúng định dạng. Hãy đăng nhập lại.",
            "en": "The login token is malformed.",
        },
    }
    assert entries[2]["actor"].startswith("staff:")


async def test_repeated_refusals_are_coalesced_per_address_not_per_connection(
    api: Api, clock: FakeClock
) -> None:
    async def probe() -> None:
        # A new connection each time: reconnecting must not reset the count.
        reply = await api.get(f"{API}/sessions", token="not.a.jwt", headers={"Connection": "close"})
        assert reply.status == 401

    def refused(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in entries if e["actor"] == ADDRESS]

    for _ in range(20):
        await probe()
    written = refused(await api.audit())
    assert len(written) == 3 and all("coalesced" not in e["detail"] for e in written)

    clock.advance(timedelta(seconds=61))
    await probe()
    after = refused(await api.audit())
    assert len(after) == 5
    summary, fresh = after[3], after[4]
    assert summary["detail"]["coalesced"] == 17
    assert summary["rule"] == "auth.token_malformed" and summary["action"] == "api.list_sessions"
    assert "coalesced" not in fresh["detail"]
    # Another refusal (another rule) is counted on its own.
    (await api.get(f"{API}/sessions", token="")).error(401, "unauthenticated")
    assert len(refused(await api.audit())) == 6


# ---------------------------------------------------------------------- login back-off


async def test_failed_logins_from_one_address_must_wait_longer_and_longer(
    api: Api, clock: FakeClock
) -> None:
    for _ in range(5):
        (await login(api.client, "admin", "wrong-password")).error(401, "unauthenticated")
    # The sixth try waits, even with the right password: guessing no longer runs at full speed.
    throttled = await login(api.client, "admin", ADMIN_PASSWORD)
    err = throttled.error(429, "rate_limited", "auth.login_throttled_address")
    assert throttled.headers["Retry-After"] == "1"
    assert "1 giây" in err["message"]["vi"] and "1 seconds" in err["message"]["en"]

    delays = []
    for _ in range(12):
        reply = await login(api.client, "admin", "wrong-password")
        while reply.status == 429:
            wait = int(reply.headers["Retry-After"])
            delays.append(wait)
            clock.advance(timedelta(seconds=wait))
            reply = await login(api.client, "admin", "wrong-password")
        assert reply.status == 401
    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]  # capped at 15 min

    clock.advance(timedelta(seconds=900))
    assert (await login(api.client, "admin", ADMIN_PASSWORD)).status == 200
    throttles = [e for e in await api.audit() if e["rule"].startswith("auth.login_throttled")]
    assert throttles and all(e["outcome"] == "refused" for e in throttles)
    assert throttles[0]["detail"]["code"] == "rate_limited"


async def test_an_attacker_elsewhere_never_locks_the_judge_out(
    api: Api, clerk: Api, clock: FakeClock
) -> None:
    service = api.service
    # Many addresses guess the clerk's password once each: no address is held back by its
    # own count, so the account's climbs past its limit.
    for n in range(12):
        with pytest.raises(AuthenticationFailed):
            await service.login("thuky", "guess", address=f"203.0.113.{n}")
    # A guessing address that has failed before now waits for the account's back-off...
    with pytest.raises(RateLimited) as held:
        await service.login("thuky", CLERK_PASSWORD, address="203.0.113.1")
    assert held.value.rule == "auth.login_throttled_account"
    assert held.value.retry_after_seconds > 1
    # ...but the clerk at the usual desk, with no failures there, logs in at once.
    result = await service.login("thuky", CLERK_PASSWORD, address="198.51.100.7")
    assert result.user.username == "thuky"
    # The success cleared the account's count; the guessing addresses keep their own.
    with pytest.raises(AuthenticationFailed):
        await service.login("thuky", "guess", address="203.0.113.1")
