"""The active speaker of a MediaRoom, read from the audio levels real aiortc peers send."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from signaling.media import AllowAll, TrackKey
from signaling.media.active_speaker import SILENT_LEVEL
from signaling.media.synthetic import SyntheticAudioTrack

from .harness import Harness, wait_until

LOUD = 18
SOFT = 40


class Reports:
    """Every active-speaker change the room reported, in order."""

    def __init__(self) -> None:
        self.changes: list[str | None] = []

    async def __call__(self, speaker: str | None) -> None:
        self.changes.append(speaker)

    @property
    def latest(self) -> str | None:
        return self.changes[-1] if self.changes else None


@pytest.fixture
async def room() -> AsyncIterator[tuple[Harness, Reports]]:
    reports = Reports()
    harness = Harness(AllowAll(), forwarding="rtp", on_active_speaker=reports)
    try:
        yield harness, reports
    finally:
        await harness.close()


def microphone(harness: Harness, who: str) -> SyntheticAudioTrack:
    track = harness.clients[who].audio_track
    assert track is not None
    return track


async def test_the_speaker_follows_who_is_louder_and_a_muted_publisher_never_speaks(
    room: tuple[Harness, Reports],
) -> None:
    harness, reports = room
    for who in ("a", "b"):
        await harness.join(who, decode=False)
    await harness.join("listener", publish=False, decode=False)
    microphone(harness, "a").level = LOUD
    microphone(harness, "b").level = SOFT
    assert await wait_until(lambda: reports.latest == "a", 10.0), reports.changes
    assert harness.room.active_speaker == "a"
    assert "b" not in reports.changes

    microphone(harness, "a").level = SOFT
    microphone(harness, "b").level = LOUD
    assert await wait_until(lambda: reports.latest == "b", 5.0), reports.changes

    # the judge mutes b, who goes on talking louder than a: a speaks, b never again
    harness.room.set_paused(TrackKey("b", "microphone"), True)
    muted_at = len(reports.changes)
    assert await wait_until(lambda: reports.latest == "a", 5.0), reports.changes
    await asyncio.sleep(2.0)  # several hold times: b must not come back
    assert "b" not in reports.changes[muted_at:]

    for who in ("a", "b"):
        microphone(harness, who).level = SILENT_LEVEL
    assert await wait_until(lambda: reports.latest is None, 5.0), reports.changes


async def test_a_speaker_who_leaves_is_no_longer_the_speaker(
    room: tuple[Harness, Reports],
) -> None:
    harness, reports = room
    await harness.join("a", decode=False)
    await harness.join("b", publish=False, decode=False)
    microphone(harness, "a").level = LOUD
    assert await wait_until(lambda: reports.latest == "a", 10.0), reports.changes
    await harness.leave("a")
    assert await wait_until(lambda: reports.latest is None, 5.0), reports.changes
