"""Server-rendered pages (jinja2), in the visitor's language; the browser client builds on these."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from hearing_server import __version__
from web.i18n import LOCALES, locale_of, make_environment, remember_locale, script_messages
from web.keys import HEALTH_CHECKS, SETTINGS

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
NODE_MODULES = Path(__file__).parent.parent / "node_modules"
VENDOR_FILES = {"socket.io.min.js": NODE_MODULES / "socket.io-client" / "dist" / "socket.io.min.js"}
"""Browser libraries installed from npm by ``make`` (package.json), never copied into the tree."""
FAVICON = STATIC / "favicon.svg"
"""The scales of justice; every page links it, and browsers that ask for /favicon.ico get it."""

ENVIRONMENTS = {code: make_environment(code, TEMPLATES) for code in LOCALES}


async def render(
    request: web.Request, template: str, status: int = 200, **context: object
) -> web.Response:
    """Render ``template`` in the request's language; the page also gets its scripts' messages
    (``script_messages``) and the path to switch language (``request_path``)."""
    code = locale_of(request)
    body = await (
        ENVIRONMENTS[code]
        .get_template(template)
        .render_async(
            script_messages=dict(script_messages(code)),
            request_path=request.path,
            **context,
        )
    )
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    response.headers["Content-Language"] = code
    # The language may follow the browser's Accept-Language: caches must key on it.
    response.headers["Vary"] = "Accept-Language, Cookie"
    remember_locale(request, response)
    return response


async def index(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    checks = {name: await check() for name, check in request.app[HEALTH_CHECKS].items()}
    return await render(
        request,
        "index.html",
        version=__version__,
        court=settings.court,
        embedded=settings.is_embedded,
        checks=checks,
    )


async def vendor_file(request: web.Request) -> web.StreamResponse:
    path = VENDOR_FILES.get(request.match_info["name"])
    if path is None or not path.is_file():
        raise web.HTTPNotFound(text="not installed: run `make` (npm ci) first")
    return web.FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})


async def favicon(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(FAVICON, headers={"Cache-Control": "public, max-age=86400"})


def add_page_routes(app: web.Application) -> None:
    app.router.add_get("/", index, name="index")
    app.router.add_get("/favicon.ico", favicon, name="favicon")
    app.router.add_get("/static/vendor/{name}", vendor_file, name="vendor")
    app.router.add_static("/static", STATIC, name="static")
