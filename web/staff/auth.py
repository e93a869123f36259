"""Logging in and out of the staff pages, and the guard every other staff page sits behind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from aiohttp import web

from hearing_server.services import AuthenticationFailed, RateLimited
from rooms.errors import DomainError
from web.endpoint import client_address
from web.keys import SERVICE
from web.pages import render
from web.staff import session_cookie as cookie
from web.staff.layout import (
    StaffLogin,
    error_page,
    in_language,
    private,
    see_other,
    staff_render,
)

HOME = "/staff/"
LOGIN = "/staff/login"

StaffHandler = Callable[[web.Request, StaffLogin], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def current_login(request: web.Request) -> StaffLogin | None:
    """The login the cookie holds, if the service still honours it (account active, same
    role, token unexpired)."""
    token = cookie.login_token_of(request)
    if token is None:
        return None
    try:
        actor, user = await request.app[SERVICE].authenticate_staff(token)
    except AuthenticationFailed:
        return None
    return StaffLogin(token, actor, user, cookie.csrf_token(request.app[cookie.CSRF_KEY], token))


def staff_page(handler: StaffHandler) -> Handler:
    """Log in first (coming back here afterwards), refuse forms without this login's token,
    and show the service's refusals as a page in the visitor's language."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        login = await current_login(request)
        if login is None:
            return _to_login(request)
        if request.method == "POST":
            form = await request.post()
            if not cookie.csrf_matches(login.csrf, _text(form.get(cookie.CSRF_FIELD))):
                return await staff_render(
                    request, login, "staff/error.html", section="", status=403, csrf_refused=True
                )
        try:
            return await handler(request, login)
        except DomainError as error:
            return await error_page(request, login, error)

    guarded.__name__ = handler.__name__
    return guarded


def _to_login(request: web.Request) -> web.StreamResponse:
    target = request.path_qs if request.method == "GET" else HOME
    location = LOGIN if target == HOME else f"{LOGIN}?{urlencode({'next': target})}"
    response = see_other(location)
    if cookie.login_token_of(request) is not None:
        cookie.clear_login(response)
    return response


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


async def login_page(request: web.Request) -> web.StreamResponse:
    target = cookie.safe_next(request.query.get("next"), HOME)
    if await current_login(request) is not None:
        return see_other(target)
    return await _login_form(request, target)


async def log_in(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    target = cookie.safe_next(_text(form.get("next")), HOME)
    username = _text(form.get("username")).strip()
    expected = cookie.login_form_token_of(request)
    if not expected or not cookie.csrf_matches(expected, _text(form.get(cookie.CSRF_FIELD))):
        return await _login_form(request, target, username, status=403, expired=True)
    service = request.app[SERVICE]
    try:
        result = await service.login(username, _text(form.get("password")), client_address(request))
    except AuthenticationFailed as refusal:
        # The service says the same for an unknown name and a wrong password.
        message = in_language(request, refusal.message)
        return await _login_form(request, target, username, status=401, message=message)
    except RateLimited as throttled:
        message = in_language(request, throttled.message)
        response = await _login_form(request, target, username, status=429, message=message)
        response.headers["Retry-After"] = str(throttled.retry_after_seconds)
        return response
    response = see_other(target)
    cookie.set_login(request, response, result.token, result.expires_at, service.clock())
    cookie.clear_login_form_token(response)
    return response


async def _login_form(
    request: web.Request,
    target: str,
    username: str = "",
    status: int = 200,
    message: str = "",
    expired: bool = False,
) -> web.Response:
    form_token = cookie.new_login_form_token()
    response = await render(
        request,
        "staff/login.html",
        status=status,
        next=target,
        username=username,
        message=message,
        expired=expired,
        form_token=form_token,
    )
    private(response)
    cookie.remember_login_form_token(request, response, form_token)
    return response


@staff_page
async def log_out(request: web.Request, login: StaffLogin) -> web.StreamResponse:
    """The token is revoked on the server (refused from now on, by the API too) and the
    cookie goes."""
    await request.app[SERVICE].logout(login.token)
    response = see_other(LOGIN)
    cookie.clear_login(response)
    return response
