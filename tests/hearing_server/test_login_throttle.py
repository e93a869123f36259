"""The login back-off rule as pure data: no database, no sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hearing_server.login_throttle import (
    Backoff,
    FailureRecord,
    LoginThrottlePolicy,
    ThrottleSubject,
    login_wait,
)

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
POLICY = LoginThrottlePolicy()


def test_the_delay_doubles_after_the_free_failures_and_is_capped() -> None:
    backoff = Backoff(5, timedelta(seconds=1), timedelta(minutes=15))
    assert [backoff.delay_after(n).total_seconds() for n in range(4, 17)] == [
        0,
        1,
        2,
        4,
        8,
        16,
        32,
        64,
        128,
        256,
        512,
        900,
        900,
    ]
    assert backoff.delay_after(10**6) == timedelta(minutes=15)


def test_the_address_waits_first_then_the_account() -> None:
    failing = FailureRecord(5, NOW)
    wait = login_wait(POLICY, failing, FailureRecord(5, NOW), NOW)
    assert wait is not None and wait.subject is ThrottleSubject.ADDRESS
    assert wait.retry_after_seconds == 1
    assert login_wait(POLICY, failing, None, NOW + timedelta(seconds=1)) is None
    # An account attacked from everywhere holds back addresses that have failed...
    account = FailureRecord(12, NOW)
    wait = login_wait(POLICY, FailureRecord(1, NOW), account, NOW)
    assert wait is not None and wait.subject is ThrottleSubject.ACCOUNT
    assert wait.retry_after == timedelta(seconds=4)
    # ...never one with no failures of its own, and no address is unknown to the rule.
    assert login_wait(POLICY, None, account, NOW) is None


def test_counts_are_forgotten_a_day_after_the_last_failure() -> None:
    old = FailureRecord(100, NOW - timedelta(days=1))
    assert login_wait(POLICY, old, old, NOW) is None
    recent = FailureRecord(100, NOW - timedelta(hours=23))
    assert login_wait(POLICY, recent, recent, NOW) is None  # the 15-minute cap has passed
    assert login_wait(POLICY, recent, recent, recent.last_failure_at + timedelta(minutes=1))
