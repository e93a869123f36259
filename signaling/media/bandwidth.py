"""When a receiver's bandwidth estimate (REMB) says its link cannot carry a video track.

A forwarder without simulcast or transcoding cannot send one receiver less of a track than
the publisher sends: it can only stop that receiver's video for a while and try again, or
ask the publisher to send less for everyone. These rules decide both, without I/O, so they
are tested on numbers alone; the media edge feeds them estimates and rates and applies the
verdicts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "BandwidthSettings",
    "LinkGuard",
    "RateMeter",
    "ReceiverEstimate",
    "allowance",
    "receivers_cap",
    "upstream_estimate",
]


@dataclass(frozen=True, slots=True)
class BandwidthSettings:
    """How eagerly a receiver's video is paused for bandwidth, and how it is tried again."""

    margin: float = 0.5
    """A link is short when its estimate is below this share of what its video needs.
    Delay-based estimates dip to about 0.85 of the incoming rate whenever a machine on the
    way is busy; at 0.8 (held 2 s) the six-party benchmark hearing at load 4 lost 9 % of
    its video to pauses of links that were fine, at 0.5 (held 5 s) none."""
    hold: float = 5.0
    "Seconds the estimate must stay short before the video is paused (one dip is not a link)."
    first_retry: float = 8.0
    "Seconds from the first pause to the first try."
    max_retry: float = 60.0
    "Longest wait between tries; each pause after a short try doubles the wait up to this."
    good_spell: float = 60.0
    "Seconds of video without a pause after which the next pause waits ``first_retry`` again."
    estimate_max_age: float = 5.0
    "Seconds a receiver's estimate stands for its link (browsers repeat REMB every second)."
    rate_window: float = 2.0
    "Time constant, in seconds, of the smoothed rate of a publisher's track."

    def __post_init__(self) -> None:
        if not 0.0 < self.margin <= 1.0:
            raise ValueError(f"margin must be in (0, 1], got {self.margin}")
        if self.first_retry <= 0 or self.max_retry < self.first_retry:
            raise ValueError("retries must be positive, the longest at least the first")
        if min(self.hold, self.good_spell, self.estimate_max_age, self.rate_window) <= 0:
            raise ValueError("hold, good spell, estimate age and rate window must be positive")


class RateMeter:
    """A track's bitrate, smoothed over ``window`` seconds, from a running byte count.

    Sampled when an estimate arrives, not per packet: samples closer than a quarter of the
    window keep the last rate, so many receivers reporting at once do not make it noisy.
    """

    def __init__(self, window: float) -> None:
        self.__window = window
        self.__last: tuple[int, float] | None = None
        self.__rate: float | None = None

    def sample(self, total_bytes: int, now: float) -> float:
        """Bits per second; 0 until two samples a quarter window apart were taken."""
        last = self.__last
        if last is None:
            self.__last = (total_bytes, now)
            return 0.0
        elapsed = now - last[1]
        if elapsed < self.__window / 4:
            return self.__rate or 0.0
        measured = max(0, total_bytes - last[0]) * 8 / elapsed
        previous = self.__rate
        if previous is None:
            self.__rate = measured
        else:
            weight = 1.0 - math.exp(-elapsed / self.__window)
            self.__rate = previous + weight * (measured - previous)
        self.__last = (total_bytes, now)
        return self.__rate


def allowance(estimate: float, rate: float, demand: float) -> float:
    """The part of a receiver's estimate one track may use: a browser's REMB is for all the
    video it receives (``demand``, this track's ``rate`` included), shared in proportion."""
    if demand <= 0 or rate <= 0 or demand <= rate:
        return estimate
    return estimate * rate / demand


class LinkGuard:
    """One receiver's video of one track: whether it is paused for bandwidth, and when to
    try it again.

    The video is paused once the receiver's estimate has stayed below ``margin`` times the
    video's rate for ``hold`` seconds. A try resumes it; estimates from before the try are
    forgotten. A pause soon after a try waits twice as long as the last (up to
    ``max_retry``); after a ``good_spell`` without pause, the next waits ``first_retry``.
    Audio is never given to a guard: it is small, and a hearing without it stops.
    """

    def __init__(self, settings: BandwidthSettings) -> None:
        self.__settings = settings
        self.__short_since: float | None = None
        self.__last_estimate_at: float | None = None
        self.__resumed_at: float | None = None
        self.__next_retry = settings.first_retry
        self.limited = False
        "Whether the video is paused for bandwidth now."

    def estimate(self, estimate: float, rate: float, now: float) -> bool:
        """Take the receiver's estimate for this video (its share, see :func:`allowance`)
        against the video's smoothed ``rate``; returns whether to pause it now."""
        if self.limited:
            return False  # what it says of a link that carries no video is stale
        settings = self.__settings
        last_at, self.__last_estimate_at = self.__last_estimate_at, now
        if last_at is None or now - last_at > settings.estimate_max_age:
            self.__short_since = None  # a silence between two estimates is no evidence
        if rate <= 0 or estimate >= settings.margin * rate:
            self.__short_since = None
            return False
        if self.__short_since is None:
            self.__short_since = now
        return now - self.__short_since >= settings.hold

    def pause(self, now: float) -> float:
        """The video is paused now; returns the seconds until it is tried again."""
        settings = self.__settings
        resumed = self.__resumed_at
        if resumed is not None and now - resumed >= settings.good_spell:
            self.__next_retry = settings.first_retry
        delay = self.__next_retry
        self.__next_retry = min(delay * 2, settings.max_retry)
        self.limited = True
        self.__short_since = None
        return delay

    def resume(self, now: float) -> None:
        """The video is tried again now."""
        self.limited = False
        self.__short_since = None
        self.__last_estimate_at = None
        self.__resumed_at = now


@dataclass(frozen=True, slots=True)
class ReceiverEstimate:
    """What one receiver of a track last said its link allows for it."""

    bitrate: float | None
    "Its share of its latest estimate, bits per second (None: it never sent one)."
    at: float
    "When that estimate arrived (monotonic seconds)."
    limited: bool
    "Whether its video is paused for bandwidth (its last estimate then stands until a try)."


def receivers_cap(
    receivers: Iterable[ReceiverEstimate], now: float, max_age: float
) -> tuple[float | None, float]:
    """The most a track's receivers can take: the highest of their estimates, so that the
    publisher is asked to slow down only when every receiver is short, never for one weak
    receiver. A receiver of the video without a recent estimate may take anything, so there
    is no cap (None); one paused for bandwidth keeps its last estimate until it is tried.

    Returns the cap and until when it holds unless an estimate arrives (an estimate goes
    stale then).
    """
    best: float | None = None
    until = math.inf
    for receiver in receivers:
        if receiver.bitrate is None:
            return None, math.inf
        if not receiver.limited:
            expires = receiver.at + max_age
            if expires <= now:
                return None, math.inf
            until = min(until, expires)
        if best is None or receiver.bitrate > best:
            best = receiver.bitrate
    return best, until


def upstream_estimate(own: int, cap: float | None) -> int:
    """The estimate sent to the publisher: what reaches the server, and no more than the
    best receiver takes."""
    if cap is None:
        return own
    return max(0, min(own, int(cap)))
