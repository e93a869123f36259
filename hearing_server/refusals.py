"""Every refusal is audited, but one misbehaving client must not fill the audit log.

Identical refusals (same actor or address, same action, same code and rule) are counted in
a window:
the first few of a window get their own entries, the rest are only counted, and the count is
written as one entry when the window ends (with the next identical refusal, or by the sweep
that runs on every refusal). The key names the credential or the address, never the
connection, so reconnecting does not reset the count. State lives in this process: in
cluster mode each process writes at most a few entries a window for one key, which still
bounds the log.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["CoalescedRefusals", "CoalescingRule", "RefusalCoalescer", "RefusalKey"]


@dataclass(frozen=True, slots=True)
class CoalescingRule:
    window: timedelta = timedelta(minutes=1)
    kept_per_window: int = 3
    """Refusals of one key written one by one in a window: a person who mistypes twice is
    on record twice; a script that repeats itself is counted."""
    max_keys: int = 10_000
    """Keys remembered at once; the oldest windows are closed (and their counts written)
    first, so memory stays bounded whatever a client sends."""

    def __post_init__(self) -> None:
        if self.window <= timedelta(0) or self.kept_per_window < 1 or self.max_keys < 1:
            raise ValueError("a coalescing rule needs a positive window, kept count and size")


@dataclass(frozen=True, slots=True)
class RefusalKey:
    actor: str
    """A credential (``staff:<id>``, ``login:<name>``) or an address (``address:<ip>``)."""
    action: str
    code: str
    rule: str


@dataclass(frozen=True, slots=True)
class CoalescedRefusals:
    """Refusals that got no entry of their own in one window, to be written as one entry."""

    key: RefusalKey
    session_id: str | None
    window_started: datetime
    count: int


@dataclass(slots=True)
class _Window:
    started: datetime
    session_id: str | None
    seen: int = 1

    def left_out(self, rule: CoalescingRule) -> int:
        return max(0, self.seen - rule.kept_per_window)


class RefusalCoalescer:
    def __init__(self, rule: CoalescingRule | None = None) -> None:
        self.rule = rule or CoalescingRule()
        self._windows: OrderedDict[RefusalKey, _Window] = OrderedDict()
        """Ordered by window start: a window that starts again moves to the end."""

    def admit(
        self, key: RefusalKey, session_id: str | None, now: datetime
    ) -> tuple[bool, list[CoalescedRefusals]]:
        """Whether this refusal gets its own entry, and the counts of windows that ended
        (this key's previous one among them) to be written first."""
        window = self._windows.get(key)
        if window is not None and now < window.started + self.rule.window:
            window.seen += 1
            return window.seen <= self.rule.kept_per_window, self.sweep(now)
        ended = self.sweep(now)
        previous = self._windows.pop(key, None)
        if previous is not None and previous.left_out(self.rule):
            ended.append(self._closed(key, previous))
        self._windows[key] = _Window(now, session_id)
        while len(self._windows) > self.rule.max_keys:
            oldest_key, oldest = self._windows.popitem(last=False)
            if oldest.left_out(self.rule):
                ended.append(self._closed(oldest_key, oldest))
        return True, ended

    def sweep(self, now: datetime) -> list[CoalescedRefusals]:
        """Close every window that has ended; return those that left refusals out."""
        ended: list[CoalescedRefusals] = []
        while self._windows:
            key, window = next(iter(self._windows.items()))
            if now < window.started + self.rule.window:
                break
            del self._windows[key]
            if window.left_out(self.rule):
                ended.append(self._closed(key, window))
        return ended

    def _closed(self, key: RefusalKey, window: _Window) -> CoalescedRefusals:
        return CoalescedRefusals(key, window.session_id, window.started, window.left_out(self.rule))
