"""KeyframeRequester: immediate first request, then at most one per interval."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from signaling.media import KeyframeRequester


class Upstream:
    def __init__(self, ok: bool = True) -> None:
        self.sent: list[float] = []
        self.ok = ok

    async def send(self) -> bool:
        self.sent.append(asyncio.get_running_loop().time())
        return self.ok


async def test_first_request_goes_out_at_once_then_coalesces() -> None:
    upstream = Upstream()
    requester = KeyframeRequester(upstream.send, min_interval=0.3)
    requester.start()
    start = asyncio.get_running_loop().time()
    requester.request()
    await asyncio.sleep(0.02)
    assert len(upstream.sent) == 1 and upstream.sent[0] - start < 0.02
    for _ in range(20):
        requester.request()
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.35)
    assert len(upstream.sent) == 2  # twenty requests merged into one, after the interval
    assert upstream.sent[1] - upstream.sent[0] >= 0.29
    assert requester.sent == 2
    await requester.stop()


async def test_keyframe_seen_cancels_a_pending_request() -> None:
    upstream = Upstream()
    requester = KeyframeRequester(upstream.send, min_interval=0.2)
    requester.start()
    requester.request()
    await asyncio.sleep(0.01)
    requester.request()
    assert requester.pending
    requester.keyframe_seen()
    await asyncio.sleep(0.25)
    assert len(upstream.sent) == 1
    await requester.stop()


async def test_unsent_request_does_not_start_the_interval() -> None:
    upstream = Upstream(ok=False)
    requester = KeyframeRequester(upstream.send, min_interval=10)
    requester.start()
    requester.request()
    await asyncio.sleep(0.01)
    upstream.ok = True
    requester.request()
    await asyncio.sleep(0.01)
    assert len(upstream.sent) == 2 and requester.sent == 1
    await requester.stop()


async def test_stop_is_idempotent_and_never_hangs() -> None:
    requester = KeyframeRequester(Upstream().send)
    await requester.stop()  # never started
    requester.start()
    await requester.stop()
    await requester.stop()
    with pytest.raises(ValueError):
        KeyframeRequester(Upstream().send, min_interval=-1)


async def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait for ``condition`` generously: a busy machine delays, it must not fail."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.005)


async def test_attach_requests_do_not_wait_for_the_throttle() -> None:
    """Joins a little apart each get their keyframe at once; a long interval proves that no
    throttle is waited for (each join used to wait up to a second)."""
    upstream = Upstream()
    requester = KeyframeRequester(upstream.send, min_interval=60)
    requester.start()
    requester.request_for_attach()
    await until(lambda: len(upstream.sent) == 1)
    requester.keyframe_seen()
    requester.request_for_attach()
    await until(lambda: len(upstream.sent) == 2)
    requester.keyframe_seen()
    requester.request()  # loss, relayed from a receiver: this one is throttled
    requester.request_for_attach()  # ... and a join cuts the throttle short
    await until(lambda: len(upstream.sent) == 3)
    assert requester.pending, "asks again after the interval unless the keyframe comes"
    requester.keyframe_seen()
    assert not requester.pending
    await requester.stop()


async def test_attach_joins_an_unanswered_request_instead_of_sending_another() -> None:
    upstream = Upstream()
    clock = [100.0]
    requester = KeyframeRequester(upstream.send, min_interval=1.0, clock=lambda: clock[0])
    requester.start()
    requester.request_for_attach()
    await until(lambda: len(upstream.sent) == 1)
    for _ in range(20):  # twenty people join while the keyframe is on its way
        requester.request_for_attach()
        await asyncio.sleep(0)
    assert len(upstream.sent) == 1
    clock[0] += 1.5  # ... and it never came: the next join asks again, at once
    requester.request_for_attach()
    await until(lambda: len(upstream.sent) == 2)
    requester.keyframe_seen()
    assert requester.sent == 2
    await requester.stop()


async def test_an_unanswered_attach_request_is_repeated_once() -> None:
    upstream = Upstream()
    requester = KeyframeRequester(upstream.send, min_interval=0.05)
    requester.start()
    requester.request_for_attach()
    await until(lambda: len(upstream.sent) == 2)  # no keyframe came: asked once more
    await asyncio.sleep(0.2)
    assert len(upstream.sent) == 2, "... and only once"
    await requester.stop()
