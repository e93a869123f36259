"""How long media forwarding may hold the event loop before it lets everything else run.

Forwarding one packet of a camera to 99 receivers takes about 3 ms, and a socket read hands
over up to 32 packets at once; the transport's receive task works through all of them
without yielding (``asyncio.Queue.get`` returns at once while packets wait). Signalling,
timers and the other peers' consent checks then wait a tenth of a second: at 100 points
that was an admission's acknowledgement and the loop's lag. A slice caps that stretch:
after ``SLICE_SECONDS`` of packets in a row, the receive task yields one turn.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["SLICE_SECONDS", "ForwardingSlice", "forwarding_slice"]

SLICE_SECONDS = 0.004
"""A turn's worth of forwarding: short beside the 50 ms the loop's lag may reach, long
beside what a yield costs (one task step, about 10 µs)."""


class ForwardingSlice:
    """Measures one stretch of forwarding; says when it is time to let the loop turn."""

    def __init__(
        self, seconds: float = SLICE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if seconds < 0:
            raise ValueError(f"a slice cannot be negative, got {seconds}")
        self.__seconds = seconds
        self.__clock = clock
        self.__started: float | None = None
        self.yields = 0
        "Times a slice ran out (for tests and profiles)."

    def spent(self) -> bool:
        """Called after each packet: whether the caller should yield now. The next packet
        after a yield starts a new slice."""
        now = self.__clock()
        started = self.__started
        if started is None:
            self.__started = now
            return self.__seconds == 0
        if now - started < self.__seconds:
            return False
        self.__started = None
        self.yields += 1
        return True


_SLICE = ForwardingSlice()


def forwarding_slice() -> ForwardingSlice:
    """The process's slice: one event loop forwards, whichever publisher a packet is of."""
    return _SLICE
