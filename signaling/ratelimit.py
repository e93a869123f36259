"""Per-connection flood control: a token bucket for the message rate, and a sliding window of
refusals that tells a misbehaving client from a clumsy one."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

Monotonic = Callable[[], float]


class TokenBucket:
    """``burst`` messages at once, then ``rate`` a second; time is injected for tests."""

    def __init__(self, burst: int, rate: float, clock: Monotonic = time.monotonic) -> None:
        if burst < 1 or rate <= 0:
            raise ValueError(f"a bucket needs burst >= 1 and rate > 0, got {burst}, {rate}")
        self._burst = float(burst)
        self._rate = rate
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()

    def take(self) -> bool:
        """Spend one token if there is one; False means the message is over the limit."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class RefusalWindow:
    """Counts refusals in the last ``window`` seconds; ``add`` says when the limit is hit."""

    def __init__(self, limit: int, window: float, clock: Monotonic = time.monotonic) -> None:
        if limit < 1 or window <= 0:
            raise ValueError(f"a window needs limit >= 1 and window > 0, got {limit}, {window}")
        self._limit = limit
        self._window = window
        self._clock = clock
        self._times: deque[float] = deque()

    def add(self) -> bool:
        """Record one refusal; True once ``limit`` refusals fall within the window."""
        now = self._clock()
        self._times.append(now)
        while self._times and self._times[0] <= now - self._window:
            self._times.popleft()
        return len(self._times) >= self._limit

    def __len__(self) -> int:
        return len(self._times)
