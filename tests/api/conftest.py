"""Helpers for the REST API tests: a logged-in administrator and small request builders.

Every test gets a fresh database (SQLite file or the PostgreSQL server, through the shared
``client`` fixture) and one administrator made through the service, since the API has no
bootstrap endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

from hearing_server import passwords
from hearing_server.services import HearingService
from rooms.participants import Actor
from rooms.roles import StaffRole
from tests.conftest import FakeClock
from web.keys import SERVICE

API = "/api/v1"
ADMIN_PASSWORD = "password-long-enough"
CLERK_PASSWORD = "clerk-password-long"
CLI = Actor(id="cli", is_system=True)

Client = TestClient[Any, Any]


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def error(self, status: int, code: str, rule: str | None = None) -> dict[str, Any]:
        """Assert this is an API error of that kind and return its ``error`` object."""
        assert self.status == status, (self.status, self.body)
        err: dict[str, Any] = self.body["error"]
        assert err["code"] == code, err
        if rule is not None:
            assert err["rule"] == rule, err
        message = err["message"]
        assert message["vi"] and message["en"], err
        return err


@dataclass
class Api:
    """An HTTP client holding a bearer token (the administrator's unless told otherwise)."""

    client: Client
    token: str | None
    clock: FakeClock

    @property
    def service(self) -> HearingService:
        return self.client.server.app[SERVICE]

    def as_token(self, token: str | None) -> Api:
        return Api(self.client, token, self.clock)

    async def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        data: bytes | str | None = None,
        params: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        all_headers = dict(headers or {})
        bearer = token if token is not None else self.token
        if bearer is not None and "Authorization" not in all_headers:
            all_headers["Authorization"] = f"Bearer {bearer}"
        if data is not None:
            all_headers.setdefault("Content-Type", "application/json")
        async with self.client.request(
            method, path, json=json, data=data, params=params, headers=all_headers
        ) as response:
            if response.content_type == "application/json":
                body: Any = await response.json()
            else:
                body = await response.text()
            return Reply(response.status, body, dict(response.headers))

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> Reply:
        return await self.request("POST", path, json, **kwargs)

    async def patch(self, path: str, json: Any = None, **kwargs: Any) -> Reply:
        return await self.request("PATCH", path, json, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("DELETE", path, **kwargs)

    # ------------------------------------------------------------------ domain helpers

    async def schedule_hearing(
        self,
        start: str = "2026-12-01T08:00:00+07:00",
        end: str | None = "2026-12-01T11:30:00+07:00",
        **case: Any,
    ) -> dict[str, Any]:
        reply = await self.post(f"{API}/hearings", hearing_body(start, end, **case))
        assert reply.status == 201, reply.body
        return dict(reply.body)

    async def schedule_meeting(
        self, title: str = "Họp giao ban quý IV", **extra: Any
    ) -> dict[str, Any]:
        body = {
            "title": title,
            "organiser": "Văn phòng TANDTC",
            "chair": "Chánh án",
            "scheduled_start": "2026-12-02T14:00:00+07:00",
            "scheduled_end": "2026-12-02T17:00:00+07:00",
            **extra,
        }
        reply = await self.post(f"{API}/meetings", body)
        assert reply.status == 201, reply.body
        return dict(reply.body)

    async def add_point(
        self, session_id: str, name: str = "Trại tạm giam Chí Hòa", kind: str = "detention_centre"
    ) -> dict[str, Any]:
        reply = await self.post(
            f"{API}/sessions/{session_id}/points",
            {"name": name, "kind": kind, "location": "TP. Hồ Chí Minh"},
        )
        assert reply.status == 201, reply.body
        return dict(reply.body)

    async def add_participant(
        self, session_id: str, point_id: str, role: str = "defendant", name: str = "Nguyễn Văn A"
    ) -> dict[str, Any]:
        reply = await self.post(
            f"{API}/sessions/{session_id}/participants",
            {"name": name, "role": role, "point_id": point_id},
        )
        assert reply.status == 201, reply.body
        return dict(reply.body)

    async def read_session(self, session_id: str) -> dict[str, Any]:
        reply = await self.get(f"{API}/sessions/{session_id}")
        assert reply.status == 200, reply.body
        return dict(reply.body)

    async def audit(self, **params: Any) -> list[dict[str, Any]]:
        reply = await self.get(f"{API}/audit", params=params or None)
        assert reply.status == 200, reply.body
        return list(reply.body)

    async def create_user(self, username: str, role: str, password: str) -> dict[str, Any]:
        reply = await self.post(
            f"{API}/users",
            {"username": username, "role": role, "password": password, "display_name": username},
        )
        assert reply.status == 201, reply.body
        return dict(reply.body)


def hearing_body(
    start: str = "2026-12-01T08:00:00+07:00",
    end: str | None = "2026-12-01T11:30:00+07:00",
    **case: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "case": {
            "number": "123/2026/HS-ST",
            "case_type": "criminal",
            "instance": "first_instance",
            "title": "Vụ án trộm cắp tài sản",
            "penal_chapters": [16],
            **case,
        },
        "scheduled_start": start,
        "courtroom_name": "Phòng xử án số 2",
    }
    if end is not None:
        body["scheduled_end"] = end
    return body


async def login(client: Client, username: str, password: str) -> Reply:
    async with client.post(
        f"{API}/auth/login", json={"username": username, "password": password}
    ) as response:
        return Reply(response.status, await response.json(), dict(response.headers))


async def login_token(client: Client, username: str, password: str) -> str:
    reply = await login(client, username, password)
    assert reply.status == 200, reply.body
    return str(reply.body["token"])


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with the production cost takes about 0.17 s a hash here; these tests make and
    check a few passwords each, so they use the same code with the cheapest parameters."""
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
async def api(client: Client, clock: FakeClock) -> Api:
    """The server with one administrator, logged in."""
    service: HearingService = client.server.app[SERVICE]
    await service.add_user(CLI, "admin", StaffRole.ADMIN, ADMIN_PASSWORD, "Quản trị viên")
    return Api(client, await login_token(client, "admin", ADMIN_PASSWORD), clock)


@pytest.fixture
async def clerk(api: Api) -> Api:
    """A clerk account created through the API, logged in."""
    await api.create_user("thuky", "clerk", CLERK_PASSWORD)
    return api.as_token(await login_token(api.client, "thuky", CLERK_PASSWORD))
