"""Where domain events go after a commit: subscribers in this process, or every process
through Redis. One interface; the choice is made once, at wiring time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum
from typing import Any, Protocol

from redis.asyncio import Redis

from rooms.events import Event

log = logging.getLogger(__name__)

EventMessage = dict[str, Any]
"""An event as it travels: ``{"name", "session_id", "actor", "payload", "version", "last"}``."""
Subscriber = Callable[[EventMessage], Awaitable[None]]

REDIS_EVENTS_CHANNEL = "hearing:events"
CREDENTIAL_ENDED = "credential_ended"
"""A message (not a session's event): what a credential holds open must close, everywhere."""


class CredentialKind(StrEnum):
    JOIN_LINK = "join_link"
    """An invitation: the personal join link."""
    PARTICIPANT = "participant"
    STAFF_USER = "staff_user"
    STAFF_TOKEN = "staff_token"
    """One staff bearer token, by its ``jti``."""


def credential_ended(kind: CredentialKind, credential_id: str, reason: str) -> EventMessage:
    return {"name": CREDENTIAL_ENDED, "kind": kind.value, "id": credential_id, "reason": reason}


def event_message(event: Event, version: int | None = None, last: bool = True) -> EventMessage:
    """``version`` is the session's version once the command's events are saved: every event
    of one command carries the same, so a subscriber can load the session once for all;
    ``last`` marks the command's last event, so a subscriber can act on them together."""
    return {
        "name": event.name,
        "version": version,
        "last": last,
        "session_id": event.session_id,
        "actor": event.actor,
        "affects_media": event.affects_media,
        "payload": event.payload(),
    }


class EventBus(Protocol):
    async def publish(self, events: Sequence[Event], version: int | None = None) -> None: ...
    async def announce(self, message: EventMessage) -> None:
        """Deliver a message that is not a session's event (e.g. ``credential_ended``)."""
        ...

    def subscribe(self, subscriber: Subscriber) -> None: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class LocalEventBus:
    """Embedded mode: deliver to subscribers in this process, in order."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    async def publish(self, events: Sequence[Event], version: int | None = None) -> None:
        for index, event in enumerate(events, 1):
            await self.deliver(event_message(event, version, index == len(events)))

    async def announce(self, message: EventMessage) -> None:
        await self.deliver(message)

    async def deliver(self, message: EventMessage) -> None:
        for subscriber in self._subscribers:
            try:
                await subscriber(message)
            except Exception:  # one broken subscriber must not silence the others
                log.exception("event subscriber failed on %s", message.get("name"))

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class RedisEventBus:
    """Cluster mode: publish through Redis; every process delivers what it hears locally."""

    def __init__(self, redis: Redis, channel: str = REDIS_EVENTS_CHANNEL) -> None:
        self._redis = redis
        self._channel = channel
        self._local = LocalEventBus()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    def subscribe(self, subscriber: Subscriber) -> None:
        self._local.subscribe(subscriber)

    async def publish(self, events: Sequence[Event], version: int | None = None) -> None:
        for index, event in enumerate(events, 1):
            message = json.dumps(event_message(event, version, index == len(events)), default=str)
            await self._redis.publish(self._channel, message)

    async def announce(self, message: EventMessage) -> None:
        await self._redis.publish(self._channel, json.dumps(message, default=str))

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="redis-event-bus")
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._channel)
        self._ready.set()
        try:
            async for raw in pubsub.listen():
                if raw.get("type") != "message":
                    continue
                try:
                    message = json.loads(raw["data"])
                except (TypeError, ValueError):
                    log.warning("ignored a malformed event on %s", self._channel)
                    continue
                await self._local.deliver(message)
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
