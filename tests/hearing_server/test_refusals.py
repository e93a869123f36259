"""Coalescing repeated refusals: pure, with the time passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hearing_server.refusals import CoalescingRule, RefusalCoalescer, RefusalKey

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
KEY = RefusalKey("address:10.0.0.1", "api.list_sessions", "unauthenticated", "auth.token_forged")


def test_the_first_few_of_a_window_are_written_the_rest_counted() -> None:
    coalescer = RefusalCoalescer(CoalescingRule(window=timedelta(minutes=1), kept_per_window=2))
    written = [coalescer.admit(KEY, None, NOW + timedelta(seconds=i))[0] for i in range(10)]
    assert written == [True, True] + [False] * 8
    own, ended = coalescer.admit(KEY, None, NOW + timedelta(minutes=1))
    assert own is True
    assert [(e.key, e.count, e.window_started) for e in ended] == [(KEY, 8, NOW)]


def test_other_keys_are_counted_apart_and_ended_windows_are_swept() -> None:
    coalescer = RefusalCoalescer(CoalescingRule(kept_per_window=1))
    other = RefusalKey("staff:u-1", "session.read", "forbidden", "staff_permission.other_court")
    for _ in range(3):
        coalescer.admit(KEY, "s-1", NOW)
    assert coalescer.admit(other, None, NOW)[0] is True
    assert coalescer.sweep(NOW + timedelta(seconds=59)) == []
    [ended] = coalescer.sweep(NOW + timedelta(minutes=1))
    assert (ended.key, ended.count, ended.session_id) == (KEY, 2, "s-1")


def test_memory_is_bounded_and_evicted_counts_are_not_lost() -> None:
    coalescer = RefusalCoalescer(CoalescingRule(kept_per_window=1, max_keys=2))
    coalescer.admit(KEY, None, NOW)
    coalescer.admit(KEY, None, NOW)
    coalescer.admit(RefusalKey("a", "x", "c", "r"), None, NOW)
    _, ended = coalescer.admit(RefusalKey("b", "x", "c", "r"), None, NOW)
    assert [(e.key, e.count) for e in ended] == [(KEY, 1)]


def test_a_rule_must_make_sense() -> None:
    with pytest.raises(ValueError):
        CoalescingRule(window=timedelta(0))
