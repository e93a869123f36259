"""Fixtures for media tests: real aiortc peers, signalled in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from signaling.media import AllowAll, ForwardingPolicy

from .harness import Harness


@pytest.fixture
async def harness_factory() -> AsyncIterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(
        policy: ForwardingPolicy | None = None,
        keyframe_interval: float = 1.0,
        video_codec: str = "video/VP8",
    ) -> Harness:
        harness = Harness(policy or AllowAll(), keyframe_interval, video_codec)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        await harness.close()
