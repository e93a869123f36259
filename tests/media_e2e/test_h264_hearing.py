"""A server configured for H.264 runs a hearing in H.264 through the whole stack."""

from __future__ import annotations

import pytest

from hearing_server.settings import Settings
from signaling.client import HeadlessParticipant
from signaling.media.synthetic import h264_test_pattern_clip
from tests.media_e2e.conftest import MediaHearing


@pytest.fixture
def media_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"ice_servers": [], "video_codec": "H264"})


async def test_an_h264_hearing_forwards_h264_between_participants(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    clip = h264_test_pattern_clip(320, 240, 30, 2.0, 300_000, 30)
    for who in ("judge", "clerk"):
        person = HeadlessParticipant(
            media.hearing.url.rstrip("/"), media.hearing.tokens[who], video_clip=clip
        )
        media.people[who] = person
        await person.join()
        await person.publish()

    await media.wait_flowing("clerk", "judge", "camera")
    await media.wait_flowing("judge", "clerk", "microphone")
    frames = await media.people["clerk"].wait_frames(media.id("judge"), "camera", 10)
    assert frames >= 10
    room = media.gateway.room(str(media.hearing.session_id))
    assert room is not None
    fanout = room.fanout(media.id("judge"), "camera")
    assert fanout is not None and fanout.codec is not None
    assert fanout.codec.mime_type.lower() == "video/h264"
