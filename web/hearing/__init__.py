"""What participants see: the page behind a personal join link (device check, lobby, hearing
room, and the consoles of those who run the session), rendered in the visitor's language.

The page only presents; the browser script talks socket.io (docs/signaling.md) and the
server decides every command. Which controls a page shows comes from the domain's permission
table here, on the server, never from the script.
"""

from __future__ import annotations

from aiohttp import web

from web.hearing.join import join_minutes_pdf, join_page, join_without_token, short_link

__all__ = ["add_hearing_routes"]


def add_hearing_routes(app: web.Application) -> None:
    app.router.add_get("/join/{token}", join_page, name="join")
    app.router.add_get("/join/{token}/minutes.pdf", join_minutes_pdf)
    app.router.add_get("/join/", join_without_token)
    app.router.add_get("/join", join_without_token)
    app.router.add_get("/j/{code}", short_link, name="short_link")
    app.router.add_get("/j/", join_without_token)
