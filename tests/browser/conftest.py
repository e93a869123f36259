"""Browser tests: the real server on a real port and Debian's headless Chromium, driven by
Playwright's async API in the test's own event loop (so a test can also call the service).

Fixtures (all function-scoped, each test gets a fresh server and database):

- ``live_server`` -> :class:`LiveServer`: ``base_url``, ``app``, ``service``, ``settings``,
  ``url(path)``, ``create_staff(...)``, ``staff_token(...)``. Join links point at ``base_url``.
- ``app_options`` -> ``dict``: extra keyword arguments for ``create_app`` (e.g. ``media=...``);
  override it in a test module to change how the server is built.
- ``settings_options`` -> ``dict``: extra ``Settings`` fields for the server (e.g.
  ``recording_min_free_mb``); override it in a test module.
- ``browser`` -> a Playwright ``Browser`` (Chromium with a fake camera and microphone).
- ``new_page`` -> ``async (name="person", **context_options) -> Page``: a new browser context
  per person (camera and microphone granted for the server), its console errors and page
  errors collected; any of them fails the test unless allowed with ``browser_errors.allow``.
- ``browser_errors`` -> :class:`BrowserErrors`: what the pages reported; ``allow(pattern)``.
- ``screenshot`` -> ``async (page, name) -> Path``: a full-page PNG in
  ``test-artifacts/screenshots/<test>-<name>.png``.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    async_playwright,
    expect,
)

from hearing_server.app import create_app
from hearing_server.services import HearingService
from hearing_server.settings import Settings
from rooms.accounts import StaffUser
from rooms.participants import Actor
from rooms.roles import StaffRole
from tests.conftest import TEST_SECRET
from web.keys import SERVICE

CHROMIUM = Path("/usr/bin/chromium")
HERE = Path(__file__).parent
ARTIFACTS = HERE.parent.parent / "test-artifacts" / "screenshots"
FIGURES = HERE.parent.parent / "test-artifacts" / "figures.jsonl"
"""Figures the browser tests measure (never assert): one JSON object a line, newest last."""
_measured: list[dict[str, Any]] = []


def record_figure(name: str, value: float, **labels: str) -> None:
    """Report a figure a test measured in the browser, in the artifacts and the summary."""
    figure = {"figure": name, "value": value, **labels}
    _measured.append(figure)
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    with FIGURES.open("a", encoding="utf-8") as out:
        out.write(json.dumps(figure, ensure_ascii=False) + "\n")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _measured:
        terminalreporter.section("figures measured in the browser")
        for figure in _measured:
            labels = " ".join(f"{k}={v}" for k, v in figure.items() if k not in ("figure", "value"))
            terminalreporter.write_line(f"{figure['figure']} {labels}: {figure['value']}")


STAFF_PASSWORD = "staff-password-long-enough"
"""The password ``LiveServer.create_staff`` gives accounts unless told otherwise."""
STEP_TIMEOUT_MS = 30_000
"""Playwright's deadline for any one step and assertion. A deadline, not a delay: each step
goes on as soon as the page shows what it waits for, so a loaded machine slows a test down
and never fails it; a page that never shows it still fails."""
MEDIA_TIMEOUT_MS = 45_000
"""Joining, ICE, DTLS and the first keyframe through the forwarder, on a busy 2-core host."""
# ``expect`` assertions keep their own deadline (5 s), apart from the context's default.
expect.set_options(timeout=STEP_TIMEOUT_MS)
EXTRA_DISABLED_FEATURE = "WebRtcHideLocalIpsWithMdns"
"""Without it, Chromium hides host addresses behind mDNS names the server resolves slowly."""
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-loopback-in-peer-connection",
]
_SYSTEM = Actor(id="browser-test", name="browser test", is_system=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without the system Chromium there is nothing to drive: skip this folder, saying why."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is not installed (`make test` installs it via scripts/ensure-chromium)"
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.skip(reason=reason))


# ---------------------------------------------------------------------- the server


@dataclass
class LiveServer:
    """The real application listening on 127.0.0.1."""

    base_url: str
    app: web.Application
    settings: Settings

    @property
    def service(self) -> HearingService:
        return self.app[SERVICE]

    def url(self, path: str) -> str:
        return self.base_url + path

    async def create_staff(
        self,
        username: str = "admin",
        role: StaffRole = StaffRole.ADMIN,
        password: str = STAFF_PASSWORD,
        display_name: str = "",
    ) -> StaffUser:
        """A staff account made through the service (as the CLI does)."""
        return await self.service.add_user(
            _SYSTEM, username, role, password, display_name or username
        )

    async def staff_token(self, username: str = "admin", password: str = STAFF_PASSWORD) -> str:
        return (await self.service.login(username, password)).token


@pytest.fixture
def app_options() -> dict[str, Any]:
    """Keyword arguments for ``create_app``; override in a module (e.g. a media factory)."""
    return {}


@pytest.fixture
def settings_options() -> dict[str, Any]:
    """Settings for the server beyond the defaults; override in a module (e.g. a free-space
    floor no disk meets, so the real recorder refuses as it would on a full disk)."""
    return {}


@pytest.fixture
async def live_server(
    tmp_path: Path, app_options: dict[str, Any], settings_options: dict[str, Any]
) -> AsyncIterator[LiveServer]:
    # The socket is bound first so the join links can name the port the server listens on.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'hearing.db'}",
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        public_base_url=base_url,
        **{"recording_warn_free_mb": 0, **settings_options},  # no warning about this disk
    )
    app = create_app(settings, **app_options)
    runner = web.AppRunner(app, shutdown_timeout=2.0)
    await runner.setup()
    try:
        await web.SockSite(runner, listener).start()
        yield LiveServer(base_url, app, settings)
    finally:
        await runner.cleanup()
        listener.close()


# ---------------------------------------------------------------------- the browser


@dataclass
class BrowserErrors:
    """Console errors and uncaught exceptions of every page a test opened."""

    messages: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(
        # Chromium asks every site for /favicon.ico on its own; the pages declare no icon.
        default_factory=lambda: [re.compile(r"status of 404 .*\(\S+/favicon\.ico\)$")]
    )

    def allow(self, pattern: str) -> None:
        """An error the test expects (e.g. the 401 of a refused login) does not fail it."""
        self.allowed.append(re.compile(pattern))

    def record(self, text: str) -> None:
        self.messages.append(text)

    @property
    def unexpected(self) -> list[str]:
        return [m for m in self.messages if not any(p.search(m) for p in self.allowed)]


_ERRORS_KEY = pytest.StashKey[BrowserErrors]()


@pytest.fixture
def browser_errors(request: pytest.FixtureRequest) -> BrowserErrors:
    errors = BrowserErrors()
    request.node.stash[_ERRORS_KEY] = errors
    return errors


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """A page's JavaScript error fails the test; if it failed anyway, the errors are shown."""
    try:
        result = yield
    except BaseException:
        errors = item.stash.get(_ERRORS_KEY, None)
        if errors is not None and errors.messages:
            item.add_report_section("call", "browser console", "\n".join(errors.messages))
        raise
    errors = item.stash.get(_ERRORS_KEY, None)
    if errors is not None and errors.unexpected:
        raise AssertionError("errors in the browser:\n" + "\n".join(errors.unexpected))
    return result


_verified_command_lines: set[str] = set()


async def _playwright_disabled_features(playwright: Playwright) -> str:
    """Playwright's own ``--disable-features=…`` switch, read from a browser it started.

    Chromium keeps only the last ``--disable-features``, so ours must replace Playwright's
    with the merged list rather than add a second one.
    """
    probe = await playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
    )
    try:
        switches = await _command_line(probe)
    finally:
        await probe.close()
    found = [s for s in switches if s.startswith("--disable-features=")]
    assert len(found) == 1, f"expected one --disable-features in {switches}"
    return found[0]


async def _command_line(browser: Browser) -> list[str]:
    page = await browser.new_page()
    try:
        await page.goto("chrome://version")
        return (await page.locator("#command_line").inner_text()).split()
    finally:
        await page.close()


_features_switch: dict[str, str] = {}


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        if "default" not in _features_switch:
            _features_switch["default"] = await _playwright_disabled_features(playwright)
        default = _features_switch["default"]
        merged = f"{default},{EXTRA_DISABLED_FEATURE}"
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*CHROMIUM_ARGS, merged],
            ignore_default_args=[default],
        )
        try:
            if merged not in _verified_command_lines:
                switches = await _command_line(launched)
                features = [s for s in switches if s.startswith("--disable-features=")]
                assert features == [merged], f"Chromium runs with {features}, wanted [{merged}]"
                _verified_command_lines.add(merged)
            yield launched
        finally:
            await launched.close()


NewPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def new_page(
    browser: Browser, live_server: LiveServer, browser_errors: BrowserErrors
) -> AsyncIterator[NewPage]:
    """One browser context per person, so cookies and permissions are theirs alone."""
    contexts = []

    async def open_page(name: str = "person", **context_options: Any) -> Page:
        context = await browser.new_context(
            base_url=live_server.base_url, locale="vi-VN", **context_options
        )
        await context.grant_permissions(["camera", "microphone"], origin=live_server.base_url)
        context.set_default_timeout(STEP_TIMEOUT_MS)
        contexts.append(context)
        page = await context.new_page()

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                where = message.location.get("url", "")
                browser_errors.record(f"[{name}] console: {message.text} ({where})")

        def on_page_error(error: Exception) -> None:
            browser_errors.record(f"[{name}] page error: {error}")

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        return page

    try:
        yield open_page
    finally:
        for context in contexts:
            await context.close()


Screenshot = Callable[[Page, str], Awaitable[Path]]


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Screenshot:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")

    async def take(page: Page, name: str) -> Path:
        path = ARTIFACTS / f"{test}-{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path

    return take
