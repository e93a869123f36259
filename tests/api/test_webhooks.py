"""Outbound webhooks against a real receiver on loopback: each lifecycle notification once,
signed with the receiver's secret, retried after a failure, every attempt recorded."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hearing_server.webhooks import WebhookDispatcher, notifications_of
from rooms import events as ev
from rooms.ids import SessionId
from tests.api.conftest import API, Api, hearing_body
from tests.api.test_minutes import hearing_with_signers
from web.keys import WEBHOOK_DISPATCHER


@dataclass
class Receiver:
    """A case registry's endpoint: answers with the statuses it is told to, keeps the rest."""

    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        self.arrived.set()
        return web.Response(status=self.statuses.pop(0) if self.statuses else 204)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    box = Receiver()
    app = web.Application()
    app.router.add_post("/hooks", box.handle)
    server = TestServer(app)
    await server.start_server()
    yield box, str(server.make_url("/hooks"))
    await server.close()


def _dispatcher(api: Api) -> WebhookDispatcher:
    return api.client.server.app[WEBHOOK_DISPATCHER]


async def _deliveries(api: Api, hook_id: str) -> list[dict[str, Any]]:
    reply = await api.get(f"{API}/webhooks/{hook_id}/deliveries")
    assert reply.status == 200, reply.body
    body: list[dict[str, Any]] = reply.body
    return body


async def _send_until(api: Api, box: Receiver, count: int) -> None:
    """Drive the dispatcher (its own loop may get there first) until ``count`` arrived."""
    async with asyncio.timeout(60):
        while len(box.requests) < count:
            await _dispatcher(api).send_due()
            box.arrived.clear()
            if len(box.requests) < count:
                with contextlib.suppress(TimeoutError):  # a poll, not a deadline
                    await asyncio.wait_for(box.arrived.wait(), 0.2)


async def test_a_scheduled_hearing_is_notified_once_signed_with_the_receivers_secret(
    api: Api, receiver: tuple[Receiver, str]
) -> None:
    box, url = receiver
    reply = await api.post(f"{API}/webhooks", {"url": url, "events": ["session.scheduled"]})
    assert reply.status == 201, reply.body
    hook = reply.body
    secret = hook["secret"]
    assert len(secret) >= 40
    listed = (await api.get(f"{API}/webhooks")).body
    assert [(h["id"], h["secret"]) for h in listed] == [(hook["id"], None)]

    created = await api.post(f"{API}/hearings", hearing_body())
    assert created.status == 201
    await _send_until(api, box, 1)
    headers, body = box.requests[0]
    expected = hmac.new(
        secret.encode(), headers["X-Hearing-Timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert headers["X-Hearing-Signature"] == f"sha256={expected}"
    notice = json.loads(body)
    assert notice["type"] == "session.scheduled"
    assert notice["session_id"] == created.body["id"]
    [delivery] = await _deliveries(api, hook["id"])
    assert (delivery["status"], delivery["attempts"], delivery["last_status"]) == (
        "delivered",
        1,
        204,
    )
    assert await _dispatcher(api).send_due() == 0  # delivered once, never again


async def test_a_failed_delivery_is_retried_after_its_back_off(
    api: Api, receiver: tuple[Receiver, str]
) -> None:
    box, url = receiver
    box.statuses = [503]
    hook = (await api.post(f"{API}/webhooks", {"url": url})).body
    await api.post(f"{API}/hearings", hearing_body())
    await _send_until(api, box, 1)
    [failed] = await _deliveries(api, hook["id"])
    assert (failed["status"], failed["attempts"], failed["last_error"]) == (
        "pending",
        1,
        "HTTP 503",
    )
    assert await _dispatcher(api).send_due() == 0  # not due yet: the clock has not moved
    api.clock.advance(timedelta(seconds=5))
    await _send_until(api, box, 2)
    [delivered] = await _deliveries(api, hook["id"])
    assert (delivered["status"], delivered["attempts"]) == ("delivered", 2)
    ids = {headers["X-Hearing-Delivery"] for headers, _ in box.requests}
    assert ids == {delivered["id"]}  # the same delivery, so the receiver can drop a repeat


async def test_only_an_administrator_registers_and_a_removed_receiver_gets_nothing(
    api: Api, clerk: Api, receiver: tuple[Receiver, str]
) -> None:
    box, url = receiver
    refused = await clerk.post(f"{API}/webhooks", {"url": url})
    assert refused.status == 403
    assert any(
        e["action"] == "webhook.register" and e["outcome"] == "refused" for e in await api.audit()
    )
    bad = await api.post(f"{API}/webhooks", {"url": "ftp://example", "events": ["x.y"]})
    assert bad.status == 422
    hook = (await api.post(f"{API}/webhooks", {"url": url})).body
    assert (await api.delete(f"{API}/webhooks/{hook['id']}")).status == 204
    await api.post(f"{API}/hearings", hearing_body())
    assert await _dispatcher(api).send_due() == 0
    assert box.requests == []
    assert any(e["action"] == "webhook.remove" for e in await api.audit())


def test_lifecycle_events_become_the_notifications_receivers_know() -> None:
    sid = SessionId("s1")
    now = datetime(2030, 1, 1, tzinfo=UTC)

    def change(previous: str, current: str) -> ev.Event:
        return ev.SessionStateChanged(session_id=sid, actor="x", previous=previous, current=current)

    events = [
        ev.SessionScheduled(session_id=sid, actor="x", kind="hearing"),
        change("open", "in_session"),
        change("in_session", "suspended"),
        change("suspended", "in_session"),
        change("in_session", "closed"),
        change("scheduled", "open"),
    ]
    kinds = [n.kind for n in notifications_of(events, 7, now)]
    assert kinds == [
        "session.scheduled",
        "session.started",
        "session.suspended",
        "session.resumed",
        "session.closed",
    ]
    assert len({n.id for n in notifications_of(events, 7, now)}) == 5


async def test_signed_minutes_are_notified_once(api: Api, receiver: tuple[Receiver, str]) -> None:
    box, url = receiver
    hook = (await api.post(f"{API}/webhooks", {"url": url, "events": ["minutes.signed"]})).body
    sid, people = await hearing_with_signers(api)
    for role in ("clerk", "presiding_judge"):
        signed = await api.post(
            f"{API}/sessions/{sid}/minutes/signatures", token=people["tokens"][role]
        )
        assert signed.status == 200, signed.body
    await _send_until(api, box, 1)
    notice = json.loads(box.requests[0][1])
    assert (notice["type"], notice["session_id"]) == ("minutes.signed", sid)
    assert notice["data"]["document_hash"] == signed.body["document_hash"]
    assert [d["kind"] for d in await _deliveries(api, hook["id"])] == ["minutes.signed"]
