"""Flood control: a token bucket per connection for the message rate, and refusals counted per
credential in a sliding window that tells a misbehaving client from a clumsy one."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

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

    def live(self) -> bool:
        """Whether any refusal is still inside the window."""
        now = self._clock()
        while self._times and self._times[0] <= now - self._window:
            self._times.popleft()
        return bool(self._times)

    def __len__(self) -> int:
        return len(self._times)


@dataclass(frozen=True, slots=True)
class RefusalVerdict:
    """What to do with one refusal of a credential."""

    write: bool
    """Audit it as its own entry (False: it is counted into the coalesced entry)."""
    abusive: bool
    """The credential has reached the limit: close its connection."""
    first_abuse: bool
    """This refusal reached the limit: report the abuse (once per blocked window)."""


@dataclass
class _CredentialRefusals:
    window: RefusalWindow
    actor: str
    blocked_until: float | None = None
    unwritten: int = 0
    """Refusals counted while blocked, not yet written."""
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class CoalescedRefusals:
    """Refusals of one credential that were counted, not written one by one."""

    credential: str
    actor: str
    session_id: str | None
    count: int


class RefusalLedger:
    """Refusals counted per credential (a join invitation, a staff user, or the address of a
    client that has none), shared by every connection of that credential in this process: a
    client cannot reset its count by reconnecting.

    Below the limit each refusal is written; reaching it blocks the credential for one window
    (its connections are closed, new ones refused); refusals while blocked are only counted,
    and written as one entry with the count when the window is over.
    """

    def __init__(self, limit: int, window: float, clock: Monotonic = time.monotonic) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._by_credential: dict[str, _CredentialRefusals] = {}

    def refuse(self, credential: str, actor: str, session_id: str | None) -> RefusalVerdict:
        now = self._clock()
        state = self._state(credential, actor)
        state.session_id = session_id
        self._unblock_if_over(state, now)
        if state.blocked_until is not None:
            state.unwritten += 1
            return RefusalVerdict(write=False, abusive=True, first_abuse=False)
        if state.window.add():
            state.blocked_until = now + self._window
            return RefusalVerdict(write=True, abusive=True, first_abuse=True)
        return RefusalVerdict(write=True, abusive=False, first_abuse=False)

    def refusals(self, credential: str) -> int:
        state = self._by_credential.get(credential)
        return 0 if state is None else len(state.window) + state.unwritten

    def blocked(self, credential: str) -> bool:
        state = self._by_credential.get(credential)
        if state is None:
            return False
        self._unblock_if_over(state, self._clock())
        return state.blocked_until is not None

    def due(self, *, everything: bool = False) -> list[CoalescedRefusals]:
        """Counted refusals whose window is over (or all of them, at shutdown), taken out;
        credentials with nothing left to remember are forgotten."""
        now = self._clock()
        found: list[CoalescedRefusals] = []
        for credential, state in list(self._by_credential.items()):
            over = state.blocked_until is None or now >= state.blocked_until
            if state.unwritten and (over or everything):
                found.append(
                    CoalescedRefusals(credential, state.actor, state.session_id, state.unwritten)
                )
                state.unwritten = 0
            self._unblock_if_over(state, now)
            if state.blocked_until is None and not state.unwritten and not state.window.live():
                del self._by_credential[credential]
        return found

    def _state(self, credential: str, actor: str) -> _CredentialRefusals:
        state = self._by_credential.get(credential)
        if state is None:
            state = _CredentialRefusals(
                RefusalWindow(self._limit, self._window, self._clock), actor
            )
            self._by_credential[credential] = state
        return state

    def _unblock_if_over(self, state: _CredentialRefusals, now: float) -> None:
        if state.blocked_until is not None and now >= state.blocked_until:
            state.blocked_until = None
            state.window = RefusalWindow(self._limit, self._window, self._clock)
