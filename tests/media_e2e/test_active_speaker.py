"""The active speaker through the whole server: headless participants publish Opus with the
audio-level extension at different levels, and every page is told who is speaking."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hearing_server.settings import Settings
from signaling.client import HeadlessParticipant
from signaling.media.active_speaker import SILENT_LEVEL
from signaling.media.synthetic import SyntheticAudioTrack
from tests.media_e2e.conftest import MediaHearing

LOUD = 18
SOFT = 40
UNSET = object()


@pytest.fixture(params=["shared", "own"])
def media_settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """Both media loops: on a loop of its own, the speaker is told from the signalling loop."""
    return settings.model_copy(update={"ice_servers": [], "media_loop": request.param})


def microphone(person: HeadlessParticipant) -> SyntheticAudioTrack:
    track = person.media.audio_track
    assert track is not None
    return track


def speakers(person: HeadlessParticipant) -> list[Any]:
    """Every ``active_speaker`` this page was told, in order."""
    return [body["participant_id"] for name, body in person.events if name == "active_speaker"]


async def wait_speaker(person: HeadlessParticipant, expected: str | None) -> None:
    """Until the latest ``active_speaker`` this page was told names ``expected``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10.0
    while (speakers(person) or [UNSET])[-1] != expected:
        assert loop.time() < deadline, f"told {speakers(person)}, not {expected}"
        await asyncio.sleep(0.05)


async def test_the_louder_speaks_the_speaker_switches_and_a_muted_voice_never_speaks(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    for who in ("judge", "clerk", "defendant"):
        await media.join(who)
    await media.admit("defendant")
    judge, clerk, defendant = (media.people[w] for w in ("judge", "clerk", "defendant"))
    microphone(judge).level = LOUD
    microphone(clerk).level = SILENT_LEVEL
    microphone(defendant).level = SOFT
    for page in (judge, clerk, defendant):
        await wait_speaker(page, media.id("judge"))
    body = next(b for n, b in defendant.events if n == "active_speaker")
    assert body["session_id"] == media.hearing.session_id

    microphone(judge).level = SOFT
    microphone(defendant).level = LOUD
    for page in (judge, clerk, defendant):
        await wait_speaker(page, media.id("defendant"))

    # The judge mutes the defendant, who goes on louder than anyone: the judge speaks.
    await judge.call("mute", {"participant_id": media.id("defendant")})
    told_before_mute = len(speakers(clerk))
    await wait_speaker(clerk, media.id("judge"))
    await media.wait_stopped("clerk", "defendant", "microphone")  # a while, all still loud
    assert media.id("defendant") not in speakers(clerk)[told_before_mute + 1 :]
    assert speakers(clerk)[-1] == media.id("judge")

    microphone(judge).level = SILENT_LEVEL
    await wait_speaker(clerk, None)
