"""Outbound webhooks: the case registry (or any system an administrator names) is told when a
hearing is scheduled, starts, is suspended, resumes, closes, is postponed or cancelled, when
its recording is ready and when its minutes are signed.

Each notification is written to the database as one delivery per registered receiver before
anything is sent (the outbox), so a crash, a restart or a receiver that is down loses
nothing; a worker sends due deliveries, signed with the receiver's own secret (HMAC-SHA256
over the timestamp and the body), and retries failures with back-off. Every attempt is
recorded. Notifications are made where events are published (:class:`NotifyingBus`), which
is the process that made the change: in a cluster each event is notified once, not once per
process; a unique (receiver, notification) pair makes a repeat a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from hearing_server.bus import EventBus, EventMessage, Subscriber
from hearing_server.persistence import tables as t
from hearing_server.persistence.database import Database, UnitOfWork
from hearing_server.services import HearingService
from rooms import events as ev
from rooms.errors import InvalidInput, NotFound
from rooms.events import Event
from rooms.ids import new_id
from rooms.participants import Actor
from rooms.permissions import StaffAction, ensure_staff_actor
from rooms.states import SessionState
from rooms.text import Text

__all__ = [
    "NOTIFICATION_KINDS",
    "Notification",
    "NotifyingBus",
    "WebhookDispatcher",
    "WebhookOutbox",
    "WebhookRegistry",
    "new_webhook_secret",
    "notifications_of",
    "signature_of",
]

log = logging.getLogger(__name__)

NOTIFICATION_KINDS = (
    "session.scheduled",
    "session.started",
    "session.suspended",
    "session.resumed",
    "session.closed",
    "session.postponed",
    "session.cancelled",
    "recording.ready",
    "minutes.signed",
)

_STATE_KINDS: Mapping[str, str] = {
    SessionState.SUSPENDED.value: "session.suspended",
    SessionState.CLOSED.value: "session.closed",
    SessionState.POSTPONED.value: "session.postponed",
    SessionState.CANCELLED.value: "session.cancelled",
}

SIGNATURE_HEADER = "X-Hearing-Signature"
TIMESTAMP_HEADER = "X-Hearing-Timestamp"


@dataclass(frozen=True, slots=True)
class Notification:
    id: str
    "Stable for one fact: a repeat of it is the same notification."
    kind: str
    session_id: str | None
    occurred_at: datetime
    data: Mapping[str, Any]

    def body(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "type": self.kind,
                "session_id": self.session_id,
                "occurred_at": self.occurred_at.isoformat(),
                "data": dict(self.data),
            },
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )


def notifications_of(
    events: Sequence[Event], version: int | None, now: datetime
) -> list[Notification]:
    """The lifecycle facts among a command's events, in the vocabulary receivers see."""
    found: list[Notification] = []
    for index, event in enumerate(events):
        kind = _kind_of(event)
        if kind is None:
            continue
        stamp = f"{event.session_id}:{version if version is not None else now.isoformat()}"
        found.append(
            Notification(f"{stamp}:{index}:{kind}", kind, event.session_id, now, event.payload())
        )
    return found


def _kind_of(event: Event) -> str | None:
    if isinstance(event, ev.SessionScheduled):
        return "session.scheduled"
    if isinstance(event, ev.SessionStateChanged):
        if event.current == SessionState.IN_SESSION.value:
            if event.previous == SessionState.SUSPENDED.value:
                return "session.resumed"
            return "session.started"
        return _STATE_KINDS.get(event.current)
    return None


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


def signature_of(secret: str, timestamp: str, body: str) -> str:
    """``sha256=<hex>`` of ``<timestamp>.<body>``: a receiver recomputes it to know the
    notification is ours and fresh (it refuses old timestamps)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookOutbox:
    """Writes one pending delivery per active receiver that wants each notification."""

    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self.database = database
        self.clock = clock

    async def record(self, notifications: Iterable[Notification]) -> int:
        wanted = list(notifications)
        if not wanted:
            return 0
        now = self.clock()
        written = 0
        async with self.database.engine.begin() as conn:
            hooks = (
                await conn.execute(select(t.webhooks).where(t.webhooks.c.active.is_(True)))
            ).all()
            for notification in wanted:
                for hook in hooks:
                    if notification.kind not in hook.events:
                        continue
                    try:
                        async with conn.begin_nested():
                            await conn.execute(
                                insert(t.webhook_deliveries).values(
                                    id=new_id(),
                                    webhook_id=hook.id,
                                    notification_id=notification.id,
                                    kind=notification.kind,
                                    session_id=notification.session_id,
                                    body=notification.body(),
                                    status="pending",
                                    attempts=0,
                                    next_attempt_at=now,
                                    created_at=now,
                                )
                            )
                        written += 1
                    except IntegrityError:  # the same fact again: delivered once
                        continue
        return written

    async def notify_fact(self, kind: str, session_id: str, data: dict[str, Any]) -> None:
        """A fact that is not a session event; it happens once per session (and recording)."""
        subject = str(data.get("recording_id", ""))
        notification = Notification(
            f"{session_id}:{kind}:{subject}", kind, session_id, self.clock(), data
        )
        try:
            await self.record([notification])
        except Exception:
            log.exception("webhook notification %s for %s not recorded", kind, session_id)


class NotifyingBus:
    """The event bus, with webhook notifications recorded for what is published here."""

    def __init__(self, inner: EventBus, outbox: WebhookOutbox) -> None:
        self.inner = inner
        self.outbox = outbox

    async def publish(self, events: Sequence[Event], version: int | None = None) -> None:
        try:
            await self.outbox.record(notifications_of(events, version, self.outbox.clock()))
        except Exception:  # a notification must never stop the hearing's own events
            log.exception("webhook notifications for %d events not recorded", len(events))
        await self.inner.publish(events, version)

    async def announce(self, message: EventMessage) -> None:
        await self.inner.announce(message)

    def subscribe(self, subscriber: Subscriber) -> None:
        self.inner.subscribe(subscriber)

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self) -> None:
        await self.inner.stop()


def retry_delay(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s … doubling, at most an hour between attempts."""
    return timedelta(seconds=min(3600, 5 * 2 ** max(0, attempts - 1)))


class WebhookDispatcher:
    """Sends due deliveries; any process may run one, a delivery is claimed before it is
    sent so two processes never send it twice at once."""

    MAX_ATTEMPTS = 10
    CLAIM = timedelta(seconds=60)
    TIMEOUT_SECONDS = 10.0

    def __init__(
        self,
        database: Database,
        clock: Callable[[], datetime],
        *,
        poll_seconds: float = 2.0,
    ) -> None:
        self.database = database
        self.clock = clock
        self.poll_seconds = poll_seconds
        self._task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.TIMEOUT_SECONDS)
        )
        self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _run(self) -> None:
        while True:
            try:
                await self.send_due()
            except Exception:
                log.exception("webhook dispatch failed; trying again")
            await asyncio.sleep(self.poll_seconds)

    async def send_due(self, limit: int = 50) -> int:
        """Send what is due now; returns how many were attempted."""
        own_session = self._http is None
        http = self._http or aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.TIMEOUT_SECONDS)
        )
        try:
            attempted = 0
            for delivery in await self._claim_due(limit):
                await self._send(http, delivery)
                attempted += 1
            return attempted
        finally:
            if own_session:
                await http.close()

    async def _claim_due(self, limit: int) -> list[Any]:
        now = self.clock()
        d = t.webhook_deliveries
        async with self.database.engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(d, t.webhooks.c.url, t.webhooks.c.secret)
                    .join(t.webhooks, t.webhooks.c.id == d.c.webhook_id)
                    .where(
                        d.c.status == "pending",
                        d.c.next_attempt_at <= now,
                        or_(d.c.claimed_until.is_(None), d.c.claimed_until < now),
                    )
                    .order_by(d.c.next_attempt_at, d.c.created_at)
                    .limit(limit)
                )
            ).all()
            claimed = []
            for row in rows:
                result = await conn.execute(
                    update(d)
                    .where(
                        and_(
                            d.c.id == row.id,
                            d.c.status == "pending",
                            or_(d.c.claimed_until.is_(None), d.c.claimed_until < now),
                        )
                    )
                    .values(claimed_until=now + self.CLAIM)
                )
                if result.rowcount == 1:
                    claimed.append(row)
        return claimed

    async def _send(self, http: aiohttp.ClientSession, delivery: Any) -> None:
        now = self.clock()
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Hearing-Event": delivery.kind,
            "X-Hearing-Delivery": delivery.id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature_of(delivery.secret, timestamp, delivery.body),
        }
        status: int | None = None
        error: str | None = None
        try:
            async with http.post(
                delivery.url, data=delivery.body.encode("utf-8"), headers=headers
            ) as response:
                status = response.status
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        attempts = delivery.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_attempt_at": now,
            "last_status": status,
            "last_error": error,
            "claimed_until": None,
        }
        if error is None:
            values.update(status="delivered", delivered_at=now)
        elif attempts >= self.MAX_ATTEMPTS:
            values.update(status="failed")
            log.warning("webhook %s to %s failed for good: %s", delivery.kind, delivery.url, error)
        else:
            values.update(next_attempt_at=now + retry_delay(attempts))
            log.info("webhook %s to %s failed (%s); retrying", delivery.kind, delivery.url, error)
        async with self.database.engine.begin() as conn:
            await conn.execute(
                update(t.webhook_deliveries)
                .where(t.webhook_deliveries.c.id == delivery.id)
                .values(**values)
            )


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    url: str
    events: tuple[str, ...]
    active: bool
    created_at: datetime
    secret: str | None = None
    "Shown once, when the receiver is registered; it signs every notification."


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    notification_id: str
    kind: str
    session_id: str | None
    status: str
    attempts: int
    last_status: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    next_attempt_at: datetime


_BAD_URL = Text(
    "Địa chỉ nhận thông báo phải bắt đầu bằng https:// hoặc http://.",
    "A webhook address must start with https:// or http://.",
)
_BAD_KIND = Text(
    "Loại thông báo không có: {kinds}.",
    "There is no such notification: {kinds}.",
)
_NO_WEBHOOK = Text("Không có địa chỉ nhận thông báo này.", "There is no such webhook.")


class WebhookRegistry:
    """Administrators register, list and remove receivers; every change is audited."""

    def __init__(self, service: HearingService) -> None:
        self.service = service

    def _check(self, actor: Actor) -> Callable[[], None]:
        return lambda: ensure_staff_actor(actor, StaffAction.MANAGE_WEBHOOKS)

    async def register(self, actor: Actor, url: str, kinds: Sequence[str] | None = None) -> Webhook:
        if not url.startswith(("https://", "http://")):
            raise InvalidInput("webhook.url", _BAD_URL)
        chosen = tuple(kinds) if kinds else NOTIFICATION_KINDS
        unknown = [k for k in chosen if k not in NOTIFICATION_KINDS]
        if unknown:
            raise InvalidInput("webhook.events", _BAD_KIND.format(kinds=", ".join(unknown)))
        hook = Webhook(
            new_id(), url, chosen, True, self.service.clock(), secret=new_webhook_secret()
        )

        async def store(uow: UnitOfWork) -> Webhook:
            await uow.connection.execute(
                insert(t.webhooks).values(
                    id=hook.id,
                    url=hook.url,
                    secret=hook.secret,
                    events=list(hook.events),
                    active=True,
                    created_by=actor.id,
                    created_at=hook.created_at,
                )
            )
            return hook

        detail = {"webhook": hook.id, "url": url, "events": list(chosen)}
        return await self.service.staff_work(
            actor, "webhook.register", self._check(actor), store, detail
        )

    async def all(self, actor: Actor) -> list[Webhook]:
        async def read(uow: UnitOfWork) -> list[Webhook]:
            rows = await uow.connection.execute(
                select(t.webhooks).order_by(t.webhooks.c.created_at, t.webhooks.c.id)
            )
            return [Webhook(r.id, r.url, tuple(r.events), r.active, r.created_at) for r in rows]

        return await self.service.staff_work(
            actor, "webhook.list", self._check(actor), read, audit_accepted=False
        )

    async def remove(self, actor: Actor, webhook_id: str) -> None:
        """Stops notifying the receiver; its delivery history is kept."""

        async def deactivate(uow: UnitOfWork) -> None:
            result = await uow.connection.execute(
                update(t.webhooks)
                .where(t.webhooks.c.id == webhook_id, t.webhooks.c.active.is_(True))
                .values(active=False)
            )
            if result.rowcount != 1:
                raise NotFound("webhook.not_found", _NO_WEBHOOK)
            await uow.connection.execute(
                update(t.webhook_deliveries)
                .where(
                    t.webhook_deliveries.c.webhook_id == webhook_id,
                    t.webhook_deliveries.c.status == "pending",
                )
                .values(status="cancelled")
            )

        await self.service.staff_work(
            actor, "webhook.remove", self._check(actor), deactivate, {"webhook": webhook_id}
        )

    async def deliveries(self, actor: Actor, webhook_id: str, limit: int = 100) -> list[Delivery]:
        async def read(uow: UnitOfWork) -> list[Delivery]:
            d = t.webhook_deliveries
            exists = (
                await uow.connection.execute(
                    select(t.webhooks.c.id).where(t.webhooks.c.id == webhook_id)
                )
            ).first()
            if exists is None:
                raise NotFound("webhook.not_found", _NO_WEBHOOK)
            rows = await uow.connection.execute(
                select(d)
                .where(d.c.webhook_id == webhook_id)
                .order_by(d.c.created_at.desc(), d.c.id)
                .limit(limit)
            )
            return [
                Delivery(
                    r.id,
                    r.notification_id,
                    r.kind,
                    r.session_id,
                    r.status,
                    r.attempts,
                    r.last_status,
                    r.last_error,
                    r.last_attempt_at,
                    r.delivered_at,
                    r.next_attempt_at,
                )
                for r in rows
            ]

        return await self.service.staff_work(
            actor, "webhook.deliveries", self._check(actor), read, audit_accepted=False
        )
