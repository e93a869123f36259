"""Throttled keyframe requests towards one publisher track."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

__all__ = ["DEFAULT_KEYFRAME_INTERVAL", "KeyframeRequester"]

logger = logging.getLogger(__name__)

DEFAULT_KEYFRAME_INTERVAL = 1.0
"""Seconds between two PLIs to one publisher track: a keyframe is many packets."""


class KeyframeRequester:
    """Coalesces keyframe requests into at most one PLI per ``min_interval``.

    Two kinds of request. :meth:`request` is for loss, relayed from receivers: the first
    goes out at once; requests inside the interval are merged into one that goes out when
    the interval ends, unless a keyframe arrived in the meantime (:meth:`keyframe_seen`).
    Subscribers ask for keyframes on every loss, so without this a publisher on a bad uplink
    would be asked for a keyframe per subscriber per lost frame.

    :meth:`request_for_attach` is for a receiver (or the recorder) that starts or resumes:
    it waits for no throttle, since each join that followed another within the interval
    would otherwise wait for it (Janus asks for one keyframe per join). While a PLI is
    outstanding (sent, no keyframe since) a new attach joins it instead of sending another:
    the keyframe on its way serves everyone. If none comes within the interval, the request
    goes out again, once.
    """

    def __init__(
        self,
        send: Callable[[], Awaitable[bool]],
        *,
        min_interval: float = DEFAULT_KEYFRAME_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if min_interval < 0:
            raise ValueError(f"min_interval must be >= 0, got {min_interval}")
        self.__send = send
        self.__min_interval = min_interval
        self.__clock = clock
        self.__last_sent: float | None = None
        self.__outstanding = False
        "A PLI went out and no keyframe has arrived since."
        self.__pending = False
        self.__urgent = False
        self.__wake = asyncio.Event()
        self.__started = asyncio.Event()
        self.__exited = asyncio.Event()
        self.__task: asyncio.Task[None] | None = None
        self.sent = 0
        "How many keyframe requests actually went out."

    @property
    def pending(self) -> bool:
        return self.__pending

    def start(self) -> None:
        """Start the worker; needs a running event loop."""
        if self.__task is None:
            self.__task = asyncio.get_running_loop().create_task(self.__run())

    async def stop(self) -> None:
        """Cancel the worker and wait until it has exited."""
        if self.__task is None:
            return
        await self.__started.wait()
        self.__task.cancel()
        await self.__exited.wait()

    def request(self) -> None:
        """Ask for a keyframe; cheap to call often."""
        self.__pending = True
        self.__wake.set()

    def request_for_attach(self) -> None:
        """Ask for a keyframe for a receiver that starts now: sent without waiting for the
        throttle, unless a PLI sent less than an interval ago is still unanswered."""
        last = self.__last_sent
        unanswered = self.__outstanding and last is not None
        if not unanswered or self.__clock() - (last or 0.0) >= self.__min_interval:
            self.__urgent = True
        self.__pending = True
        self.__wake.set()

    def keyframe_seen(self) -> None:
        """A keyframe arrived: any pending request is satisfied."""
        self.__pending = False
        self.__urgent = False
        self.__outstanding = False

    async def __throttle(self, seconds: float) -> None:
        """Sleep out the interval, cut short by an attach request."""
        deadline = self.__clock() + seconds
        with contextlib.suppress(TimeoutError):
            while not self.__urgent and (left := deadline - self.__clock()) > 0:
                self.__wake.clear()
                await asyncio.wait_for(self.__wake.wait(), left)

    async def __run(self) -> None:
        self.__started.set()
        try:
            while True:
                await self.__wake.wait()
                self.__wake.clear()
                if not self.__pending:
                    continue
                if self.__last_sent is not None and not self.__urgent:
                    wait = self.__last_sent + self.__min_interval - self.__clock()
                    if wait > 0:
                        await self.__throttle(wait)
                if not self.__pending:
                    continue
                self.__pending = False
                for_attach, self.__urgent = self.__urgent, False
                try:
                    sent = await self.__send()
                except ConnectionError:
                    sent = False
                if sent:
                    self.sent += 1
                    self.__last_sent = self.__clock()
                    self.__outstanding = True
                    if for_attach:
                        # Someone waits for this keyframe: ask once more after the interval
                        # unless it comes (a PLI can be lost, or name a stale SSRC).
                        self.request()
        except asyncio.CancelledError:
            pass
        finally:
            self.__exited.set()
