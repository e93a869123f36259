"""Forwarded headers are believed from a configured reverse proxy only."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hearing_server.settings import Settings
from web.proxy import client_of, forwarded_middleware, trusted_networks


async def _echo(request: web.Request) -> web.Response:
    return web.json_response(
        {"remote": request.remote, "secure": request.secure, "host": request.host}
    )


async def _seen(trusted: list[str], headers: dict[str, str]) -> dict[str, Any]:
    app = web.Application(middlewares=[forwarded_middleware(trusted_networks(trusted))])
    app.router.add_get("/", _echo)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        response = await client.get("/", headers=headers)
        body: dict[str, Any] = await response.json()
        return body


FORWARDED = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "toa.example.vn",
}


async def test_a_trusted_proxy_is_believed() -> None:
    seen = await _seen(["127.0.0.0/8"], FORWARDED)
    assert seen == {"remote": "203.0.113.7", "secure": True, "host": "toa.example.vn"}


@pytest.mark.parametrize("trusted", [[], ["10.0.0.0/8"]])
async def test_anyone_else_cannot_claim_another_address_or_https(trusted: list[str]) -> None:
    seen = await _seen(trusted, FORWARDED)
    assert seen["remote"] == "127.0.0.1" and seen["secure"] is False
    assert seen["host"] != "toa.example.vn"


def test_an_address_a_client_wrote_itself_before_the_proxy_proves_nothing() -> None:
    proxies = trusted_networks(["10.0.0.1", "10.0.1.0/24"])
    # client -> 10.0.1.9 (inner proxy) -> 10.0.0.1 (edge proxy) -> server
    assert client_of("6.6.6.6, 198.51.100.4, 10.0.1.9", "10.0.0.1", proxies) == "198.51.100.4"
    assert client_of("198.51.100.4", "10.0.0.1", proxies) == "198.51.100.4"


def test_a_bad_proxy_address_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="not-an-address"):
        Settings(trusted_proxies=["not-an-address"])


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"trusted_proxies": ["127.0.0.1"]})


async def test_behind_https_the_servers_cookies_are_secure(client: TestClient[Any, Any]) -> None:
    behind = await client.get("/?lang=en", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in behind.headers["Set-Cookie"]
    plain = await client.get("/?lang=vi")
    assert "Secure" not in plain.headers["Set-Cookie"]
