"""How long a login must wait after failures: pure data and functions, the clock passed in.

Failures are counted per client address and per account (the counts live in the database,
so every process of a cluster agrees). The rule, and why:

- an address that keeps failing waits first: after ``free_failures`` failures each next
  attempt waits a delay that doubles, capped at 15 minutes, and the count is forgotten a
  day after its last failure. A success does not clear it, or an attacker holding any one
  valid account could reset the count between guesses;
- an account under attack from many addresses waits too (more failures allowed, so the
  address limit bites first), with the same capped back-off;
- the account's wait never holds back an address with no failures of its own: the judge at
  the usual desk logs in even while someone elsewhere is guessing the password, so an
  attacker can never lock a judge out. The price is one guess per fresh address, which the
  address's own back-off limits from then on. A success clears the account's count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = [
    "Backoff",
    "FailureRecord",
    "LoginThrottlePolicy",
    "ThrottleSubject",
    "Wait",
    "login_wait",
]

NO_WAIT = timedelta(0)


class ThrottleSubject(StrEnum):
    ADDRESS = "address"
    ACCOUNT = "account"


@dataclass(frozen=True, slots=True)
class Backoff:
    free_failures: int
    """Failures allowed before any wait."""
    first_delay: timedelta
    cap: timedelta

    def delay_after(self, failures: int) -> timedelta:
        if failures < self.free_failures:
            return NO_WAIT
        doublings = min(failures - self.free_failures, 40)
        return min(self.first_delay * (1 << doublings), self.cap)


@dataclass(frozen=True, slots=True)
class LoginThrottlePolicy:
    per_address: Backoff = field(
        default_factory=lambda: Backoff(5, timedelta(seconds=1), timedelta(minutes=15))
    )
    per_account: Backoff = field(
        default_factory=lambda: Backoff(10, timedelta(seconds=1), timedelta(minutes=15))
    )
    forget_after: timedelta = timedelta(days=1)
    """A count with no failure for this long starts again from zero."""


@dataclass(frozen=True, slots=True)
class FailureRecord:
    failures: int
    last_failure_at: datetime

    def counts_at(self, now: datetime, policy: LoginThrottlePolicy) -> bool:
        return now - self.last_failure_at < policy.forget_after


@dataclass(frozen=True, slots=True)
class Wait:
    """A login refused for now: who is held back and for how long."""

    subject: ThrottleSubject
    retry_after: timedelta

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds, rounded up: a client that waits this long is let through."""
        return max(1, -int(-self.retry_after.total_seconds() // 1))


def login_wait(
    policy: LoginThrottlePolicy,
    address: FailureRecord | None,
    account: FailureRecord | None,
    now: datetime,
) -> Wait | None:
    """The wait before this address may try this account again, or None to go ahead."""
    live_address = address if address is not None and address.counts_at(now, policy) else None
    if live_address is not None:
        wait = _remaining(policy.per_address, live_address, now)
        if wait > NO_WAIT:
            return Wait(ThrottleSubject.ADDRESS, wait)
    if live_address is None:
        return None  # an address without failures is never held back by the account's
    if account is not None and account.counts_at(now, policy):
        wait = _remaining(policy.per_account, account, now)
        if wait > NO_WAIT:
            return Wait(ThrottleSubject.ACCOUNT, wait)
    return None


def _remaining(backoff: Backoff, record: FailureRecord, now: datetime) -> timedelta:
    return max(NO_WAIT, record.last_failure_at + backoff.delay_after(record.failures) - now)
