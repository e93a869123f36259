"""Command dispatch: every client message is limited, looked up, checked, parsed and handled
here, and every refusal, however it arises, takes one path: answered (acknowledgement and
``error`` event), audited (coalesced per credential when it keeps coming) and counted towards
abuse. A message that makes a handler fail unexpectedly is refused as ``server.error``; a
full disk as ``server.storage_full``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from hearing_server.persistence.database import is_storage_full
from rooms.errors import DomainError
from rooms.participants import Actor
from signaling import protocol as p
from signaling.connections import Connection
from signaling.edge import Edge
from signaling.ratelimit import RefusalVerdict

log = logging.getLogger(__name__)

Handler = Callable[[Connection, p.Payload], Awaitable[dict[str, Any]]]
MAX_EVENT_NAME_CHARS = 64
_UNCOUNTED = RefusalVerdict(write=True, abusive=False, first_abuse=False)


class Audited(Exception):
    """A refusal the service has already written to the audit log."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(error.rule)
        self.error = error


def event_label(event: object) -> str:
    """The event's name as replies, logs and the audit log show it, whatever was sent."""
    name = event if isinstance(event, str) else repr(event)
    return name[:MAX_EVENT_NAME_CHARS]


class Refusals:
    """The one refusal-and-audit path, also used for refused connections."""

    def __init__(self, edge: Edge) -> None:
        self._edge = edge
        self._logged: set[tuple[str, str]] = set()

    async def refuse(
        self,
        connection: Connection,
        event: str,
        ref: str | None,
        error: DomainError,
        *,
        audited: bool = False,
        counted: bool = True,
    ) -> dict[str, Any]:
        """Tell the client, keep the refusal, and close a credential that keeps being refused.

        Inside a rate-limited burst only the first refusal is written: a flood must not turn
        into a flood of audit rows.
        """
        edge = self._edge
        session_id = connection.session_id
        verdict = (
            edge.refusals.refuse(connection.credential, connection.actor.id, session_id)
            if counted
            else _UNCOUNTED
        )
        body = p.refusal_body(error, event, ref)
        repeat_in_burst = error.rule == "protocol.rate_limited" and connection.rate_limited
        if not audited and verdict.write and not repeat_in_burst:
            await self.audit(
                connection.actor, "signal.message", session_id, error, {"event": event}
            )
        if error.rule == "protocol.rate_limited":
            connection.rate_limited = True
        await edge.emit(connection.sid, "error", body)
        if verdict.abusive and not connection.departed and not connection.closing:
            connection.closing = True
            abuse = p.abuse()
            if verdict.first_abuse:
                refusals = edge.refusals.refusals(connection.credential)
                detail = {"refusals": refusals, "credential": connection.credential}
                await self.audit(connection.actor, "signal.abuse", session_id, abuse, detail)
            await edge.emit(connection.sid, "error", p.refusal_body(abuse, event, ref))
            await edge.goodbye(connection.sid, abuse.rule, abuse.message)
            # Not "departed": a participant thrown out for abuse is disconnected in the domain.
            edge.spawn(edge.sio.disconnect(connection.sid, ignore_queue=True))
        await self.write_coalesced()
        return {"ok": False, "ref": ref, "error": body}

    async def refuse_unauthenticated(
        self, credential: str, actor: Actor, action: str, error: DomainError
    ) -> None:
        """A refused connection, counted by address (or by the credential, if it was valid)."""
        verdict = self._edge.refusals.refuse(credential, actor.id, None)
        if verdict.write:
            await self.audit(actor, action, None, error, {"credential": credential})
        await self.write_coalesced()

    def unexpected(self, exc: Exception, event: str) -> p.Refusal:
        """The refusal for a failure of ours; the traceback is logged once per kind."""
        if is_storage_full(exc):
            log.error("storage is full: %r refused (%s)", event, type(exc).__name__)
            return p.storage_full()
        kind = (event, type(exc).__name__)
        if kind not in self._logged and len(self._logged) < 1000:
            self._logged.add(kind)
            log.error("handling %r failed", event, exc_info=exc)
        else:
            log.warning("handling %r failed again (%s)", event, type(exc).__name__)
        return p.server_error()

    async def audit(
        self,
        actor: Actor,
        action: str,
        session_id: str | None,
        error: DomainError,
        detail: dict[str, Any],
    ) -> None:
        """Write a refusal; when even that fails (a full disk), the refusal is still answered."""
        try:
            await self._edge.service.audit_edge(
                actor, action, session_id, "refused", {**detail, "code": error.code}, error.rule
            )
        except Exception as exc:
            log.warning("a refusal (%s) could not be audited: %s", error.rule, type(exc).__name__)

    async def write_coalesced(self, *, everything: bool = False) -> None:
        """One entry with the count for each credential's refusals that were only counted."""
        for coalesced in self._edge.refusals.due(everything=everything):
            detail = {"refusals": coalesced.count, "credential": coalesced.credential}
            await self.audit(
                Actor(id=coalesced.actor),
                "signal.coalesced",
                coalesced.session_id,
                p.abuse(),
                detail,
            )


class Dispatcher:
    """Every client event comes through ``dispatch``: limit, look up, check, parse, handle."""

    def __init__(self, edge: Edge, refusals: Refusals, handlers: Mapping[str, Handler]) -> None:
        self._edge = edge
        self._refusals = refusals
        self._handlers = handlers

    async def dispatch(self, sid: str, event: object, args: tuple[object, ...]) -> dict[str, Any]:
        name = event_label(event)
        connection = self._edge.registry.get(sid)
        if connection is None:
            return {"ok": False, "error": p.refusal_body(p.left(), name, None)}
        ref = p.client_ref(args)
        try:
            result = await self._handle(connection, event, name, args)
        except Audited as audited:
            return await self._refuse(connection, name, ref, audited.error, audited=True)
        except DomainError as error:
            return await self._refuse(connection, name, ref, error)
        except Exception as exc:
            failure = self._refusals.unexpected(exc, name)
            counted = failure.rule != "server.storage_full"  # the disk is not the client's fault
            return await self._refuse(connection, name, ref, failure, counted=counted)
        return {"ok": True, "ref": ref, **result}

    async def _handle(
        self, connection: Connection, event: object, name: str, args: tuple[object, ...]
    ) -> dict[str, Any]:
        if not connection.bucket.take():
            raise p.rate_limited()
        connection.rate_limited = False
        if isinstance(event, str) and event in p.RESERVED_EVENTS:
            raise p.reserved_event(event)
        spec = p.CLIENT_EVENTS.get(name)
        if spec is None or name != event:
            raise p.unknown_event(name)
        if connection.sender not in spec.senders:
            raise p.not_for_sender(name, connection.sender)
        payload = p.parse_payload(spec.model, args)
        return await self._handlers[name](connection, payload)

    async def _refuse(
        self,
        connection: Connection,
        event: str,
        ref: str | None,
        error: DomainError,
        *,
        audited: bool = False,
        counted: bool = True,
    ) -> dict[str, Any]:
        try:
            return await self._refusals.refuse(
                connection, event, ref, error, audited=audited, counted=counted
            )
        except Exception as exc:  # e.g. the connection vanished while we answered
            log.warning("answering a refusal of %r failed: %s", event, type(exc).__name__)
            return {"ok": False, "ref": ref, "error": p.refusal_body(error, event, ref)}
