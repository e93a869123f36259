"""The forwarder on an event loop of its own, in a thread of the same process.

At a hundred points one packet of the chair's camera is 99 rewrites, SRTP protects and
sends, about 3 ms of loop, 140 times a second; on a shared loop every ``await`` of an
``admit`` (each database round trip) waited behind those callbacks, and the chair's ``admit``
took 0.4–1 s at p95. Here the forwarder (any :class:`MediaGateway`, built on its loop) keeps
its own loop and the signalling loop only competes with it for the interpreter, which both
release in every system call (each send and receive).

Everything crosses between the loops as a coroutine handed to the other loop: signalling's
calls go to the media loop, and what the forwarder calls back (server offers, the active
speaker, the recorder's openings and endings) comes back to the signalling loop. Nothing of
one loop's objects is touched from the other.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from rooms.forwarding import ForwardingPlan
from rooms.text import Text
from signaling.draining import drain
from signaling.gateway import (
    ActiveSpeakerListener,
    IceCandidateInfo,
    LinkReport,
    MediaGateway,
    OutgoingTrack,
    RecordingSpace,
    ServerOfferSender,
)
from signaling.loop_lag import LoopLagMonitor

if TYPE_CHECKING:
    from rooms.session import CourtSession

log = logging.getLogger(__name__)
T = TypeVar("T")
P = ParamSpec("P")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]
SETTLE_SECONDS = 10.0
"""How long shutdown lets the forwarder's work on the signalling loop finish."""


class SignallingLoop:
    """Where calls from the media thread go back to: the loop signalling runs on, known from
    the first call signalling makes (the app is built before its loop runs)."""

    def __init__(self) -> None:
        self.__loop: asyncio.AbstractEventLoop | None = None
        self.__running: set[asyncio.Task[Any]] = set()
        """What the forwarder started here and has not finished (touched on this loop only)."""

    def note_running(self) -> None:
        self.__loop = asyncio.get_running_loop()

    async def run(self, work: Awaitable[T]) -> T:
        """On the media loop: run ``work`` on the signalling loop and wait for it."""
        loop = self.__loop
        coroutine = work if asyncio.iscoroutine(work) else _awaiting(work)
        if loop is None or loop.is_closed():
            coroutine.close()
            raise RuntimeError("the signalling loop is not running")
        running = asyncio.run_coroutine_threadsafe(self.__tracked(coroutine), loop)
        return await asyncio.wrap_future(running)

    async def settle(self, within: float) -> None:
        """At shutdown, on the signalling loop: let what the forwarder started here finish
        (an active speaker's announcement reads the session from the database), then cancel
        what is left. Work still running once the database is closed would open a connection
        on it that nothing closes."""
        await drain(self.__running, within)

    async def __tracked(self, work: Coroutine[Any, Any, T]) -> T:
        task = asyncio.current_task()
        if task is not None:
            self.__running.add(task)
        try:
            return await work
        finally:
            if task is not None:
                self.__running.discard(task)

    def soon(self, call: Callable[P, None]) -> Callable[P, None]:
        """``call`` made on the signalling loop, whichever thread calls it (the recorder's
        callbacks, which the pipeline takes on its loop)."""

        def hop(*args: P.args, **kwargs: P.kwargs) -> None:
            loop = self.__loop
            if loop is None or loop.is_closed():
                # Called here it would start the pipeline's database work on the media loop,
                # which shutdown stops with that work unfinished; the next start's sweep
                # finds and seals what the recorder left.
                log.warning("signalling loop gone: %s not delivered", call.__qualname__)
                return
            loop.call_soon_threadsafe(lambda: call(*args, **kwargs))

        return hop


MediaGatewayBuilder = Callable[[ServerOfferSender, SignallingLoop], MediaGateway]
"""Builds the forwarder on the media loop: it sends offers with the ``ServerOfferSender`` it
is given and hands callbacks meant for the signalling loop to ``SignallingLoop.soon``."""


class MediaLoopGateway:
    """A :class:`MediaGateway` whose forwarder runs on a loop and thread of its own."""

    def __init__(
        self,
        build: MediaGatewayBuilder,
        send_offer: ServerOfferSender,
        loop_factory: LoopFactory = asyncio.new_event_loop,
    ) -> None:
        self.signalling = SignallingLoop()
        self.lag = LoopLagMonitor()
        """The media loop's own lateness: consent checks and RTCP wait on this loop."""
        self.__send_offer = send_offer
        self.__loop = loop_factory()
        self.__thread = threading.Thread(target=self.__run, name="media-loop", daemon=True)
        self.__thread.start()
        self.__inner: MediaGateway = self.__call(self.__build(build))
        self.__enabled = self.__inner.enabled

    async def inspect(self, look: Callable[[MediaGateway], T]) -> T:
        """``look(forwarder)`` run on the media loop, where the forwarder's state may be read
        (diagnostics: the benchmarks' report of every link, the tests)."""

        async def looking() -> T:
            return look(self.__inner)

        return await self.__there(looking())

    @property
    def enabled(self) -> bool:
        return self.__enabled

    async def offer(
        self,
        session_id: str,
        participant_id: str,
        sdp: str,
        sources: Mapping[str, str],
        plan: ForwardingPlan,
    ) -> str:
        return await self.__there(
            self.__inner.offer(session_id, participant_id, sdp, sources, plan)
        )

    async def answer(self, session_id: str, participant_id: str, sdp: str) -> None:
        await self.__there(self.__inner.answer(session_id, participant_id, sdp))

    async def ice_candidate(
        self, session_id: str, participant_id: str, candidate: IceCandidateInfo
    ) -> None:
        await self.__there(self.__inner.ice_candidate(session_id, participant_id, candidate))

    async def renegotiate(self, session_id: str, participant_id: str) -> None:
        await self.__there(self.__inner.renegotiate(session_id, participant_id))

    async def leave(self, session_id: str, participant_id: str) -> None:
        await self.__there(self.__inner.leave(session_id, participant_id))

    async def apply_plan(self, session_id: str, plan: ForwardingPlan) -> None:
        await self.__there(self.__inner.apply_plan(session_id, plan))

    async def links(self, session_id: str) -> dict[str, LinkReport]:
        return await self.__there(self.__inner.links(session_id))

    def sessions(self) -> tuple[str, ...]:
        return self.__inner.sessions()  # a tuple of the forwarder's keys, made in one step

    def listen_active_speaker(self, listener: ActiveSpeakerListener) -> None:
        async def on_signalling_loop(session_id: str, participant_id: str | None) -> None:
            await self.signalling.run(listener(session_id, participant_id))

        self.__loop.call_soon_threadsafe(self.__inner.listen_active_speaker, on_signalling_loop)

    async def session_changed(
        self, session: CourtSession, events: Sequence[Mapping[str, Any]]
    ) -> None:
        # The saved aggregate: commands change copies of it, never it (saved_sessions).
        await self.__there(self.__inner.session_changed(session, events))

    def recording_refusal(self) -> Text | None:
        return self.__inner.recording_refusal()

    def recording_space(self) -> RecordingSpace | None:
        return self.__inner.recording_space()

    async def close(self) -> None:
        if self.__loop.is_closed():
            return
        try:
            await self.__there(self.__inner.close())
        finally:
            await self.__there(self.lag.stop())
            self.__loop.call_soon_threadsafe(self.__loop.stop)
            await asyncio.get_running_loop().run_in_executor(None, self.__thread.join)
            await self.signalling.settle(SETTLE_SECONDS)

    # -- crossing ------------------------------------------------------------------------

    async def __there(self, work: Coroutine[Any, Any, T]) -> T:
        """From signalling: run ``work`` on the media loop and wait for it."""
        self.signalling.note_running()
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.__loop))

    def __call(self, work: Coroutine[Any, Any, T]) -> T:
        """Blocking: only while the app is being built, before its loop serves anyone."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(work, self.__loop)
        return future.result()

    async def __build(self, build: MediaGatewayBuilder) -> MediaGateway:
        self.lag.start()
        return build(self.__offer_from_media_loop, self.signalling)

    async def __offer_from_media_loop(
        self,
        session_id: str,
        participant_id: str,
        sdp: str,
        tracks: Mapping[str, OutgoingTrack | None],
    ) -> None:
        await self.signalling.run(self.__send_offer(session_id, participant_id, sdp, tracks))

    def __run(self) -> None:
        asyncio.set_event_loop(self.__loop)
        try:
            self.__loop.run_forever()
        finally:
            self.__loop.close()


def on_a_loop_of_its_own(
    build: MediaGatewayBuilder, loop_factory: LoopFactory = asyncio.new_event_loop
) -> Callable[[ServerOfferSender], MediaGateway]:
    """A gateway factory (what ``SignalingServer`` takes) that puts the forwarder on a loop
    of its own."""

    def factory(send_offer: ServerOfferSender) -> MediaGateway:
        return MediaLoopGateway(build, send_offer, loop_factory)

    return factory


async def _awaiting(work: Awaitable[T]) -> T:
    return await work
