"""The staff login as a browser cookie, and the CSRF tokens that guard every staff form.

The cookie holds the same signed staff token the REST API takes as a bearer token, so a
login through the pages and one through the API are checked by one service call. It is
HttpOnly (scripts cannot read it), SameSite=Strict (other sites cannot make the browser send
it) and Secure on https. Each form also carries a token derived from the login with the
server's key: a forged form from anywhere else fails even if a browser ignored SameSite.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Final

from aiohttp import web

LOGIN_COOKIE: Final = "staff_session"
LOGIN_FORM_COOKIE: Final = "staff_login_form"
"""Before login there is no token to bind to: the login form uses a random value that must
come back both in the form and in this cookie (double submit)."""
COOKIE_PATH: Final = "/staff"
CSRF_FIELD: Final = "csrf_token"
CSRF_KEY = web.AppKey("staff_csrf_key", bytes)


def derive_csrf_key(signing_key: str) -> bytes:
    """A key for form tokens only, so a form token can never be taken for anything signed."""
    return hmac.new(signing_key.encode(), b"staff-form-csrf", hashlib.sha256).digest()


def csrf_token(key: bytes, staff_token: str) -> str:
    """The form token of one login: the same for every form while that login lasts."""
    return hmac.new(key, staff_token.encode(), hashlib.sha256).hexdigest()


def csrf_matches(expected: str, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(expected, str(submitted))


def login_token_of(request: web.Request) -> str | None:
    return request.cookies.get(LOGIN_COOKIE) or None


def set_login(
    request: web.Request,
    response: web.StreamResponse,
    token: str,
    expires_at: datetime,
    now: datetime,
) -> None:
    lifetime = max(0, int((expires_at - now).total_seconds()))
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=lifetime,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


def clear_login(response: web.StreamResponse) -> None:
    response.del_cookie(LOGIN_COOKIE, path=COOKIE_PATH)


def new_login_form_token() -> str:
    return secrets.token_urlsafe(32)


def remember_login_form_token(
    request: web.Request, response: web.StreamResponse, value: str
) -> None:
    """The login form's double-submit value, in its own short-lived cookie."""
    response.set_cookie(
        LOGIN_FORM_COOKIE,
        value,
        max_age=3600,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


def login_form_token_of(request: web.Request) -> str:
    return request.cookies.get(LOGIN_FORM_COOKIE, "")


def clear_login_form_token(response: web.StreamResponse) -> None:
    response.del_cookie(LOGIN_FORM_COOKIE, path=COOKIE_PATH)


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site's staff pages: never another host, scheme or ``//host``."""
    if not target or "\\" in target or any(ord(c) < 0x20 for c in target):
        return default
    if target.startswith("//") or not target.startswith(COOKIE_PATH):
        return default
    rest = target[len(COOKIE_PATH) :]
    if rest and rest[0] not in "/?":
        return default
    return target
