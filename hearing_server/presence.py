"""Which server process holds whose connection, so a process that dies (SIGKILL, power cut)
does not leave its people "in session" for ever: their losses are recorded through the
domain (suspension of a hearing whose courtroom is lost, alerts) by a process still alive.

One small interface, two implementations, chosen once at wiring time:

- ``LocalPresence`` (embedded mode): this process holds every connection, so on start
  everyone the database shows present was held by the process before it, and is lost.
- ``RedisPresence`` (cluster mode) wraps it: each process has a node id and a heartbeat key
  with a TTL; a participant's connection is recorded as ``participant → node`` in a hash per
  session; every node sweeps, at start and periodically, the present participants whose
  holder has no heartbeat (or who have had no holder for longer than a grace period).
  A sweeping node first takes the participant over atomically, so only one node records
  each loss; a participant who comes back meanwhile is held again and is left alone.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import NewType, Protocol, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from rooms.ids import ParticipantId, SessionId

__all__ = [
    "HOLDERS_KEY",
    "NODE_KEY",
    "ConnectionPresence",
    "LocalPresence",
    "NodeId",
    "RedisPresence",
    "holders_key",
    "node_key",
]

log = logging.getLogger(__name__)

NodeId = NewType("NodeId", str)
Holding = tuple[SessionId, ParticipantId]
PresentParticipants = Callable[[], Awaitable[list[Holding]]]
"""Everyone the database shows connected to a session that has not ended."""
LossRecorder = Callable[[SessionId, ParticipantId, str], Awaitable[bool]]
"""Record a lost connection through the domain (and alert); whether it was recorded (False:
the domain refused, e.g. the person is already gone)."""
Clock = Callable[[], datetime]

NODE_KEY = "hearing:node:{node}"
"""A node's heartbeat: present while the node lives (it expires unless refreshed)."""
HOLDERS_KEY = "hearing:holders:{session}"
"""A hash per session: participant id → the node holding their connection."""
HOLDERS_TTL_SECONDS = 7 * 24 * 3600
"""A session's hash outlives any hearing; it is only there so ended sessions do not pile up."""
SWEEPING = "#sweeping"
"""Suffix of a holder value while that node records the participant's loss."""

RESTART_REASON = "server_restart"
NODE_LOST_REASON = "node_lost"
UNHELD_REASON = "connection_unheld"

_COMPARE_AND_SET = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
"""
_COMPARE_AND_DELETE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


def node_key(node: str) -> str:
    return NODE_KEY.format(node=node)


def holders_key(session_id: str) -> str:
    return HOLDERS_KEY.format(session=session_id)


def holder_node(value: str) -> str:
    """The node a holder value names (a sweeping claim is its node's too)."""
    return value.removesuffix(SWEEPING)


class ConnectionPresence(Protocol):
    @property
    def node_id(self) -> NodeId: ...

    async def hold(self, session_id: SessionId, participant_id: ParticipantId) -> None:
        """This process now holds the participant's connection (before the domain join)."""
        ...

    async def release(self, session_id: SessionId, participant_id: ParticipantId) -> None:
        """This process no longer holds it (the loss, if any, is recorded)."""
        ...

    async def start(self, present: PresentParticipants, record_loss: LossRecorder) -> None:
        """Sweep what a dead process left, then keep watching (before the server listens)."""
        ...

    async def stop(self) -> None: ...


class LocalPresence:
    """Embedded mode: one process holds every connection."""

    def __init__(self, node_id: NodeId | None = None) -> None:
        self._node_id = node_id or NodeId(uuid.uuid4().hex)
        self._held: set[Holding] = set()

    @property
    def node_id(self) -> NodeId:
        return self._node_id

    @property
    def held(self) -> frozenset[Holding]:
        return frozenset(self._held)

    async def hold(self, session_id: SessionId, participant_id: ParticipantId) -> None:
        self._held.add((session_id, participant_id))

    async def release(self, session_id: SessionId, participant_id: ParticipantId) -> None:
        self._held.discard((session_id, participant_id))

    async def start(self, present: PresentParticipants, record_loss: LossRecorder) -> None:
        # Swept before the server listens, so nobody who comes back is swept after returning.
        await record_losses(await present(), RESTART_REASON, record_loss)

    async def stop(self) -> None:
        return None


async def record_losses(lost: Iterable[Holding], reason: str, record_loss: LossRecorder) -> int:
    """How many of these were recorded lost; one failure does not stop the others."""
    tried = recorded = 0
    for session_id, participant_id in lost:
        tried += 1
        try:
            recorded += await record_loss(session_id, participant_id, reason)
        except Exception:
            log.exception("recording the loss of %s failed", participant_id)
    if tried:
        log.warning("%d of %d connections left by a stopped server marked lost", recorded, tried)
    return recorded


class _Periodic:
    """A step every ``interval`` seconds until stopped; a failing step is logged and tried
    again next time. ``started``/``exited`` as for the project's other workers."""

    def __init__(self, name: str, interval: float, step: Callable[[], Awaitable[object]]) -> None:
        self._name = name
        self._interval = interval
        self._step = step
        self._started = asyncio.Event()
        self._exited = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is None:
            return
        await self._started.wait()
        self._task.cancel()
        await self._exited.wait()

    async def _run(self) -> None:
        self._started.set()
        try:
            while True:
                await asyncio.sleep(self._interval)
                try:
                    await self._step()
                except RedisError as error:
                    log.warning("%s: Redis failed (%s)", self._name, type(error).__name__)
                except Exception:
                    log.exception("%s failed", self._name)
        except asyncio.CancelledError:
            pass
        finally:
            self._exited.set()


class RedisPresence:
    """Cluster mode: the local record of what this node holds, kept in Redis for the others."""

    def __init__(
        self,
        redis: Redis,
        local: LocalPresence,
        clock: Clock,
        *,
        heartbeat_seconds: float,
        sweep_seconds: float,
        unheld_grace: timedelta,
    ) -> None:
        self._redis = redis
        self._local = local
        self._clock = clock
        self._heartbeat_seconds = heartbeat_seconds
        self._unheld_grace = unheld_grace
        self._compare_and_set = redis.register_script(_COMPARE_AND_SET)
        self._compare_and_delete = redis.register_script(_COMPARE_AND_DELETE)
        self._unheld_since: dict[Holding, datetime] = {}
        self._present: PresentParticipants | None = None
        self._record_loss: LossRecorder | None = None
        self._heartbeat = _Periodic("node-heartbeat", heartbeat_seconds, self.beat)
        self._sweeper = _Periodic("lost-connection-sweep", sweep_seconds, self.sweep)
        self.sweeps = 0
        """Completed sweeps (tests wait on it)."""

    @property
    def node_id(self) -> NodeId:
        return self._local.node_id

    async def hold(self, session_id: SessionId, participant_id: ParticipantId) -> None:
        await self._local.hold(session_id, participant_id)
        key = holders_key(session_id)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, participant_id, self.node_id)
                pipe.expire(key, HOLDERS_TTL_SECONDS)
                await pipe.execute()
        except RedisError as error:  # the next heartbeat writes it
            log.warning("holding %s in Redis failed: %s", participant_id, type(error).__name__)

    async def release(self, session_id: SessionId, participant_id: ParticipantId) -> None:
        await self._local.release(session_id, participant_id)
        try:
            await self._compare_and_delete(
                keys=[holders_key(session_id)], args=[participant_id, self.node_id]
            )
        except RedisError as error:  # a stale holder of a live node is never swept
            log.warning("releasing %s in Redis failed: %s", participant_id, type(error).__name__)

    async def start(self, present: PresentParticipants, record_loss: LossRecorder) -> None:
        self._present, self._record_loss = present, record_loss
        await self.beat()
        await self.sweep()
        self._heartbeat.start()
        self._sweeper.start()

    async def stop(self) -> None:
        """Stops the heartbeat; the key is left to expire, so the people this node held
        have its TTL to reconnect elsewhere before another node sweeps them."""
        await self._sweeper.stop()
        await self._heartbeat.stop()

    async def beat(self) -> None:
        """Say this node lives, and write again what it holds (Redis may have restarted)."""
        ttl_ms = int(self._heartbeat_seconds * 3 * 1000)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(node_key(self.node_id), self._clock().isoformat(), px=ttl_ms)
            for session_id, participant_id in self._local.held:
                pipe.hsetnx(holders_key(session_id), participant_id, self.node_id)
            await pipe.execute()

    async def sweep(self) -> int:
        """Record as lost the present participants no live node holds; how many."""
        if self._present is None or self._record_loss is None:
            raise RuntimeError("the presence was not started")
        present = await self._present()
        holders = await self._holders(present)
        live = await self._live_nodes({holder_node(v) for v in holders.values() if v is not None})
        now = self._clock()
        self._unheld_since = {h: t for h, t in self._unheld_since.items() if h in holders}
        recorded = 0
        for holding, value in holders.items():
            held_here = holding in self._local.held
            if held_here or (value is not None and holder_node(value) in live):
                self._unheld_since.pop(holding, None)
                continue
            if value is None:
                since = self._unheld_since.setdefault(holding, now)
                if now - since < self._unheld_grace:
                    continue
            reason = NODE_LOST_REASON if value is not None else UNHELD_REASON
            recorded += await self._take_over_and_record(holding, value, reason)
        self.sweeps += 1
        return recorded

    async def _holders(self, present: list[Holding]) -> dict[Holding, str | None]:
        by_session: dict[SessionId, list[ParticipantId]] = defaultdict(list)
        for session_id, participant_id in present:
            by_session[session_id].append(participant_id)
        sessions = list(by_session)
        async with self._redis.pipeline(transaction=False) as pipe:
            for session_id in sessions:
                pipe.hmget(holders_key(session_id), by_session[session_id])
            replies = await pipe.execute()
        holders: dict[Holding, str | None] = {}
        for session_id, values in zip(sessions, replies, strict=True):
            for participant_id, value in zip(by_session[session_id], values, strict=True):
                holders[(session_id, participant_id)] = None if value is None else value.decode()
        return holders

    async def _live_nodes(self, nodes: set[str]) -> set[str]:
        ordered = sorted(nodes)
        async with self._redis.pipeline(transaction=False) as pipe:
            for node in ordered:
                pipe.exists(node_key(node))
            replies = await pipe.execute()
        return {node for node, exists in zip(ordered, replies, strict=True) if exists}

    async def _take_over_and_record(self, holding: Holding, value: str | None, reason: str) -> int:
        """Claim the participant (only one node wins), record the loss, let the claim go."""
        session_id, participant_id = holding
        key = holders_key(session_id)
        claim = f"{self.node_id}{SWEEPING}"
        if value is None:
            # redis-py 5's async client is typed as maybe-sync; it always awaits here.
            reply = self._redis.hsetnx(key, participant_id, claim)
            claimed = bool(await cast("Awaitable[int]", reply))
        else:
            claimed = bool(
                await self._compare_and_set(keys=[key], args=[participant_id, value, claim])
            )
        if not claimed:  # another node sweeps it, or the person is back
            return 0
        assert self._record_loss is not None
        try:
            recorded = await record_losses([holding], reason, self._record_loss)
        finally:
            # A person who came back meanwhile is held again: the claim is then gone already.
            await self._compare_and_delete(keys=[key], args=[participant_id, claim])
        self._unheld_since.pop(holding, None)
        return recorded
