"""What every staff page shares: who is logged in, which court, the navigation, error pages."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from rooms.accounts import StaffUser
from rooms.courts import Court
from rooms.errors import DomainError
from rooms.participants import Actor
from rooms.permissions import StaffAction, staff_may
from rooms.text import Text
from web.errors import STATUS_BY_ERROR
from web.i18n import locale_of
from web.keys import SERVICE
from web.pages import render


@dataclass(frozen=True, slots=True)
class StaffLogin:
    """A checked login: the account as it is now in the database, and its form token."""

    token: str
    actor: Actor
    user: StaffUser
    csrf: str

    @property
    def name(self) -> str:
        return self.user.display_name or self.user.username

    def may(self, action: str) -> bool:
        """For showing or hiding navigation only; the service still decides every action."""
        return staff_may(self.user.role, StaffAction(action))


def in_language(request: web.Request, text: Text) -> str:
    return text.vi if locale_of(request) == "vi" else text.en


async def court_of(request: web.Request, login: StaffLogin) -> Court:
    """The account's own court, or (for a system-wide administrator) this server's."""
    service = request.app[SERVICE]
    return await service.court(login.actor, service.default_court_id(login.actor))


async def staff_render(
    request: web.Request,
    login: StaffLogin,
    template: str,
    section: str,
    status: int = 200,
    **context: object,
) -> web.Response:
    court = await court_of(request, login)
    response = await render(
        request,
        template,
        status=status,
        login=login,
        court=court,
        court_zone=court.time_zone,
        section=section,
        **context,
    )
    return private(response)


def private(response: web.Response) -> web.Response:
    """Staff pages (and the join links on them) stay out of caches and out of other sites'
    frames, and their addresses are not sent to other sites."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def see_other(location: str) -> web.Response:
    """After a form: the browser fetches ``location`` with GET (post/redirect/get)."""
    return web.Response(status=303, headers={"Location": location})


def status_of(error: DomainError) -> int:
    return next((s for cls, s in STATUS_BY_ERROR if isinstance(error, cls)), 400)


async def error_page(request: web.Request, login: StaffLogin, error: DomainError) -> web.Response:
    """A refusal by the service, told in the page's language with the rule that refused."""
    return await staff_render(
        request,
        login,
        "staff/error.html",
        section="",
        status=status_of(error),
        message=in_language(request, error.message),
        rule=error.rule,
    )
