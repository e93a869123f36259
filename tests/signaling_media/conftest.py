"""Fixtures for media tests: real aiortc peers, signalled in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from signaling.media import AllowAll, ForwardingPolicy
from signaling.media.bandwidth import BandwidthSettings
from signaling.media.rtp_forwarding import FORWARDING_MODES, ForwardingMode

from .harness import Harness


@pytest.fixture(params=FORWARDING_MODES)
def forwarding(request: pytest.FixtureRequest) -> ForwardingMode:
    """Both forwarding paths run every room test: RTP-level (the default) and frame-level."""
    mode: ForwardingMode = request.param
    return mode


@pytest.fixture
async def harness_factory(forwarding: ForwardingMode) -> AsyncIterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(
        policy: ForwardingPolicy | None = None,
        keyframe_interval: float = 1.0,
        video_codec: str = "video/VP8",
        bandwidth: BandwidthSettings | None = None,
    ) -> Harness:
        harness = Harness(
            policy or AllowAll(), keyframe_interval, video_codec, forwarding, bandwidth=bandwidth
        )
        made.append(harness)
        return harness

    yield make
    for harness in made:
        await harness.close()
