"""Server-rendered pages (jinja2); the browser client for hearings builds on these."""

from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web

from hearing_server import __version__
from web.keys import HEALTH_CHECKS, SETTINGS

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(["html"]),
    enable_async=True,
)


async def render(template: str, status: int = 200, **context: object) -> web.Response:
    body = await environment.get_template(template).render_async(**context)
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


async def index(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    checks = {name: await check() for name, check in request.app[HEALTH_CHECKS].items()}
    return await render(
        "index.html",
        version=__version__,
        court=settings.court,
        mode="embedded" if settings.is_embedded else "cluster",
        checks=checks,
    )


def add_page_routes(app: web.Application) -> None:
    app.router.add_get("/", index, name="index")
    app.router.add_static("/static", STATIC, name="static")
